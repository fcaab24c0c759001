"""Crawl the 760,000-model real list through hubreplay into PostgreSQL with a real Celery worker.

Prints models/s, total time, peak RSS of the worker and of the replay server, and the ratio to a
floor measured here: json.loads + huggingface_hub ModelInfo + PostgreSQL COPY of the same
records in one thread (what a crawler cannot go below). Then re-crawls the unchanged list.

The replay serves the datasets the list's models declare (hub-datasets-2024-07, beside the
list): each crawl ends with its training-data phase (the dataset listing, then dataset_info for
the declared datasets it lacked), whose time is printed apart. `--no-datasets` crawls as before
training data was read, for the comparison.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/canopy_bench python benchmarks/crawl_bench.py
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SNAPSHOT = ROOT.parent / "shared" / "hub-snapshot" / "hub-list-2024-07-11.jsonl.gz"
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/canopy_bench"


def peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def tree_peak(pid: int) -> float:
    """Peak RSS of a process and its children (a Celery worker forks its pool)."""
    total = peak_rss_mb(pid)
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return max([total, *[peak_rss_mb(int(c)) for c in children]])


def recreate_database(url: str) -> None:
    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = {
        "host": parsed.hostname,
        "port": str(parsed.port or 5432),
        "user": parsed.username or "postgres",
    }
    import psycopg

    with psycopg.connect(dbname="postgres", autocommit=True, **admin) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def start_replay(files: list[str], port: int, *options: str) -> subprocess.Popen:
    """`python -m hubreplay` on these files; returns once it serves (its index built or cached)."""
    t = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "hubreplay", *files, "--port", str(port), *options],
                              cwd=ROOT, stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert server.stdout is not None
    line = server.stdout.readline()
    while "serving" not in line:
        if not line and server.poll() is not None:
            raise RuntimeError(f"hubreplay exited with {server.returncode}")
        print(line.rstrip())
        line = server.stdout.readline()
    print(f"{line.rstrip()}  (ready after {time.perf_counter() - t:.1f} s)")
    return server


def start_worker(env: dict, *options: str) -> subprocess.Popen:
    """A real Celery worker (one process: a SIGKILL takes all of it)."""
    return subprocess.Popen([sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo",
                             "--loglevel", "WARNING", "--without-mingle", "--without-gossip", *options],
                            cwd=ROOT, env=env)  # fmt: skip


def floor_rate(snapshot: Path, url: str, n: int) -> float:
    """json.loads + ModelInfo + COPY into a scratch table, models/s, one thread."""
    import psycopg
    from huggingface_hub.hf_api import ModelInfo

    with gzip.open(snapshot, "rt") as f:
        lines = [next(f) for _ in range(n)]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_floor")
        conn.execute(
            "CREATE TABLE bench_floor (id text primary key, downloads bigint, tags jsonb, raw jsonb)"
        )
        start = time.perf_counter()
        with conn.cursor() as cur, cur.copy("COPY bench_floor FROM STDIN") as copy:
            for line in lines:
                item = json.loads(line)
                item.pop("__capture", None)
                info = ModelInfo(**item)
                copy.write_row([info.id, info.downloads, json.dumps(info.tags), line])
        elapsed = time.perf_counter() - start
        conn.execute("DROP TABLE bench_floor")
    return n / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--snapshot",
        type=Path,
        default=Path(os.environ.get("CANOPY_BENCH_SNAPSHOT", DEFAULT_SNAPSHOT)),
    )
    parser.add_argument("--limit", type=int, default=0, help="models to crawl (0: all)")
    parser.add_argument("--port", type=int, default=8791)
    parser.add_argument("--no-datasets", action="store_true", help="no training-data phase")
    args = parser.parse_args()
    if not args.snapshot.exists():
        print(
            f"bench: snapshot {args.snapshot} not found (set CANOPY_BENCH_SNAPSHOT)",
            file=sys.stderr,
        )
        return 2
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        url = DEFAULT_DB
        print(f"bench: DATABASE_URL is not PostgreSQL; using {url}")
    recreate_database(url)
    work = Path(tempfile.mkdtemp(prefix="canopy-bench-"))
    endpoint = f"http://127.0.0.1:{args.port}"
    # The crawl alone: license assessment (license_bench.py) and the search columns
    # (search_bench.py --refresh) have their own benchmarks, and
    # details (one model_info per model) would be 760,000 more requests.
    env = dict(os.environ, DATABASE_URL=url, CANOPY_DATA_DIR=str(work), CANOPY_DETAILS_PER_RUN="0",
               HF_ENDPOINT=endpoint, CANOPY_ASSESS_ON_CRAWL="0", CANOPY_DERIVE_ON_CRAWL="0",
               CANOPY_HUB_API_BUDGET="1000000", CANOPY_PAGES_PER_TASK="100",
               HF_HUB_DISABLE_TELEMETRY="1", DJANGO_SETTINGS_MODULE="config.settings",
               CANOPY_CRAWL_DATASETS="0" if args.no_datasets else "1")  # fmt: skip
    py = sys.executable
    subprocess.run([py, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)

    sets = args.snapshot.parent / "hub-datasets-2024-07.jsonl.gz"
    served = [] if args.no_datasets else ["--datasets", str(sets)]
    server = start_replay([str(args.snapshot)], args.port, *served)
    worker = start_worker(env)
    results = {}
    try:
        for label in ("first crawl (all new)", "re-crawl (all unchanged)"):
            out = subprocess.run([py, "manage.py", "crawl", "--limit", str(args.limit), "--endpoint", endpoint],
                                 cwd=ROOT, env=env, check=True, capture_output=True, text=True)  # fmt: skip
            run_id = int(out.stdout.split("#")[1].split()[0])
            status = wait_for(run_id, env)
            results[label] = status
            s = status
            print(f"{label}: {s['status']}, {s['listed']:,} listed ({s['created']:,} new, "
                  f"{s['updated']:,} updated, {s['unchanged']:,} unchanged), {s['edges']:,} edges, "
                  f"{s['seconds']:.1f} s, {s['listed'] / s['seconds']:,.0f} models/s")  # fmt: skip
            if not args.no_datasets:
                print(f"  of which training data: {s['datasets_seconds']:.1f} s "
                      f"({s['datasets_listed']:,} datasets listed, {s['datasets_fetched']:,} "
                      f"dataset_info); models/s without it: "
                      f"{s['listed'] / (s['seconds'] - s['datasets_seconds']):,.0f}")  # fmt: skip
        worker_rss, server_rss = tree_peak(worker.pid), peak_rss_mb(server.pid)
    finally:
        worker.terminate()
        server.terminate()
        worker.wait(30)
        server.wait(30)
    floor = floor_rate(args.snapshot, url, 100_000)
    first = results["first crawl (all new)"]
    rate = first["listed"] / first["seconds"]
    print(f"peak RSS: worker {worker_rss:.0f} MB, hubreplay server {server_rss:.0f} MB")
    print(f"floor (json.loads + ModelInfo + COPY, one thread, 100k records): {floor:,.0f} models/s")
    print(f"crawl rate / floor: {rate / floor:.2f} (floor is {floor / rate:.2f}x faster)")
    return 0 if first["status"] == "done" else 1


def wait_for(run_id: int, env: dict) -> dict:
    import psycopg

    conn = psycopg.connect(env["DATABASE_URL"], autocommit=True)
    while True:
        row = conn.execute(
            "SELECT status, listed, created, updated, unchanged, edges_written, "
            "EXTRACT(EPOCH FROM (COALESCE(finished_at, now()) - started_at)), datasets_listed, "
            "datasets_fetched, phase_log FROM catalog_crawlrun WHERE id=%s",
            [run_id],
        ).fetchone()
        if row and row[0] in ("done", "failed"):
            conn.close()
            keys = ["status", "listed", "created", "updated", "unchanged", "edges", "seconds",
                    "datasets_listed", "datasets_fetched"]  # fmt: skip
            out = dict(zip(keys, [*row[:6], float(row[6]), row[7], row[8]], strict=True))
            out["datasets_seconds"] = _phase_seconds(row[9], "datasets")
            return out
        time.sleep(1)


def _phase_seconds(log: list, phase: str) -> float:
    from datetime import datetime

    for entry in log or []:
        if entry.get("phase") == phase and entry.get("started") and entry.get("finished"):
            started, finished = (datetime.fromisoformat(entry[k]) for k in ("started", "finished"))
            return (finished - started).total_seconds()
    return 0.0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
