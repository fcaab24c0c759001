"""Crawl a slice of the real Hub list through faults and crashes; compare with a clean crawl.

The slice (the N most downloaded models of the 2024 list, plus the rich records with READMEs)
is crawled twice by a real Celery worker into PostgreSQL and Redis instances of the benchmark's
own (started in a temporary folder on other ports, so restarting them touches nothing else):
once fault-free, once with a share of hubreplay's answers faulted (429 with RateLimit, 500, 502,
503, slow past the client timeout, connection resets, truncated JSON, truncated downloads),
the worker SIGKILLed twice and restarted, PostgreSQL restarted once and Redis once, at moments
drawn from the seed. Then both catalogs are compared: models (ids and key columns), edges,
license files, license results, duplicates, quarantined records that the clean crawl stored,
runs left unfinished, and the most requests hubreplay saw in one window against the quota.
Exit status 1 when any of these differ.

Which models get details is the same in both crawls only when every model that needs them gets
them: with a binding CANOPY_DETAILS_PER_RUN the rest wait for a later run by design, and which
ones wait depends on how the work split into runs (ancestors runs take children of what they
walk into their scope). `--details` therefore defaults to more than the slice holds.

    python benchmarks/chaos_bench.py                # 50,000 models + 11,419 rich records
    python benchmarks/chaos_bench.py --short        # a few thousand, for CI (about 2-3 minutes)
    python benchmarks/chaos_bench.py --parallel     # both crawls at once: hours less, same checks
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import gzip
import heapq
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from crawl_bench import ROOT, start_replay, start_worker  # noqa: E402

SNAPSHOT = Path(os.environ.get("CANOPY_BENCH_SNAPSHOT_DIR") or next(
    (p for p in (ROOT.parent / "shared" / "hub-snapshot", Path("/work/shared/hub-snapshot")) if p.exists()),
    ROOT.parent / "shared" / "hub-snapshot",
))  # fmt: skip
DOWNLOADS = re.compile(rb'"downloads":\s*(\d+)')
KINDS = "429,500,502,503,slow,reset,truncate,truncate_file"
PY = sys.executable
# Set when the benchmark stops early: a crawl running in another thread stops too (and its finally
# ends its worker), rather than crawling on until its timeout.
STOP = threading.Event()


# --- the slice ----------------------------------------------------------------------------------


def write_slice(
    folder: Path, list_file: Path, rich_file: Path, models: int, rich: int
) -> list[str]:
    """The `models` most downloaded list records and the first `rich` rich records, as files:
    the real slice, hostile records (NULs included; ingest cleans them) and all."""
    with gzip.open(list_file, "rb") as f:
        top = heapq.nlargest(
            models, ((int(m[1]) if (m := DOWNLOADS.search(line)) else 0, i, line)
                     for i, line in enumerate(f)),
        )  # fmt: skip
    top.sort(key=lambda t: t[2])  # the format's order: by id
    out = folder / f"list-top-{models}.jsonl.gz"
    with gzip.open(out, "wb") as f:
        for _, _, line in top:
            f.write(line)
    rich_out = folder / f"rich-{rich}.jsonl.gz"
    with gzip.open(rich_file, "rb") as src, gzip.open(rich_out, "wb") as dst:
        for n, line in enumerate(src):
            if n >= rich:
                break
            dst.write(line)
    return [str(out), str(rich_out)]


# --- servers of our own ---------------------------------------------------------------------


def _as_postgres(cmd: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root.
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


class Postgres:
    def __init__(self, folder: Path, port: int, name: str = "pg"):
        self.dir, self.port = folder / name, port
        self.bin = Path(sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1])

    def ctl(self, *args: str) -> None:
        subprocess.run(_as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.dir), "-w", "-s",
                                     "-l", str(self.dir / "pg.log"), *args]),
                       check=True, stdout=subprocess.DEVNULL)  # fmt: skip

    def start(self) -> None:
        self.dir.mkdir(parents=True)
        if os.geteuid() == 0:
            self.dir.parent.chmod(0o755)  # mkdtemp's 0700 would keep the postgres user out
            shutil.chown(self.dir, "postgres")
        subprocess.run(_as_postgres([str(self.bin / "initdb"), "-D", str(self.dir), "-U", "postgres",
                                     "--auth=trust", "-E", "UTF8", "--no-sync"]),
                       check=True, stdout=subprocess.DEVNULL)  # fmt: skip
        opts = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c full_page_writes=off -c max_connections=50")  # fmt: skip
        self.ctl("-o", opts, "start")

    def restart(self) -> None:
        self.ctl("-m", "fast", "restart")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.ctl("-m", "fast", "stop")

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"


class Redis:
    def __init__(self, folder: Path, port: int, name: str = "redis"):
        self.dir, self.port = folder / name, port
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.dir.mkdir(exist_ok=True)
        # Saved on shutdown and loaded on start: a restart keeps the queue, as a real one would.
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                                      "--dir", str(self.dir), "--save", "3600 1", "--appendonly", "no",
                                      "--logfile", str(self.dir / "redis.log")])  # fmt: skip
        client = self.client()
        for _ in range(100):
            with contextlib.suppress(Exception):
                if client.ping():
                    return
            time.sleep(0.1)
        raise RuntimeError("redis did not start")

    def client(self, db: int = 0):
        import redis

        return redis.Redis(port=self.port, db=db, socket_timeout=5)

    def restart(self) -> None:
        self.stop()
        self.start()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(30)
            self.proc = None


# --- one crawl ----------------------------------------------------------------------------------


def _sql(url: str, query: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(url, connect_timeout=5) as conn:
        return conn.execute(query).fetchall()


def _idle(env: dict, redis_db) -> tuple[bool, str]:
    """(done, why not): no run queued or running, nothing queued or taken unacknowledged."""
    try:
        runs = dict(
            _sql(env["DATABASE_URL"], "SELECT status, count(*) FROM catalog_crawlrun GROUP BY 1")
        )
        queued = redis_db.llen("celery")
        unacked = redis_db.hlen("unacked")
    except Exception as exc:  # a server restarting
        return False, f"({type(exc).__name__})"
    active = runs.get("queued", 0) + runs.get("running", 0)
    return (bool(runs) and not active and not queued and not unacked,
            f"runs {runs}, queue {queued}, unacked {unacked}")  # fmt: skip


def crawl(label: str, env: dict, redis: Redis, redis_db: int, chaos: list[tuple[float, str]],
          pg: Postgres, timeout: float) -> float:  # fmt: skip
    """Crawl with a worker (and beat, which resumes stalled runs) until all work is done."""
    subprocess.run([PY, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    procs = {
        "worker": start_worker(env),
        "beat": subprocess.Popen([PY, "-m", "celery", "-A", "config", "beat", "--loglevel", "WARNING",
                                  "-s", env["CANOPY_DATA_DIR"] + "/beat-schedule"], cwd=ROOT, env=env),
    }  # fmt: skip
    t0 = time.perf_counter()
    try:
        subprocess.run([PY, "manage.py", "crawl", "--limit", "0", "--endpoint", env["HF_ENDPOINT"]],
                       cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)  # fmt: skip
        pending, calm, last = list(chaos), 0, 0.0
        while True:
            elapsed = time.perf_counter() - t0
            while pending and pending[0][0] <= elapsed:
                _, action = pending.pop(0)
                print(f"  {label} at {elapsed:5.1f} s: {action}", flush=True)
                if action == "kill worker":
                    procs["worker"].send_signal(signal.SIGKILL)
                    procs["worker"].wait()
                    time.sleep(1)
                    procs["worker"] = start_worker(env)
                elif action == "restart postgres":
                    pg.restart()
                elif action == "restart redis":
                    redis.restart()
            done, why = _idle(env, redis.client(redis_db))
            calm = calm + 1 if done and not pending else 0
            if calm >= 5:  # a few quiet seconds: no task is about to queue another
                return time.perf_counter() - t0 - 4
            if STOP.is_set():
                raise RuntimeError(f"{label}: stopped")
            if elapsed > timeout:
                raise TimeoutError(f"{label}: not done after {timeout:.0f} s: {why}")
            if elapsed - last >= 30:
                print(f"  {label} {elapsed:5.0f} s: {why}", flush=True)
                last = elapsed
            time.sleep(1)
    finally:
        for proc in procs.values():
            proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


# --- comparing the catalogs ---------------------------------------------------------------------

MODELS = ("SELECT repo_id, hub_id, sha, downloads, likes, gated, library_name, pipeline_tag, "
          "record_hash, change_key, details_key, files_key, base_relation, base_family "
          "FROM catalog_hubmodel")  # fmt: skip
EDGES = ("SELECT m.repo_id, e.parent_repo_id, e.relation, e.relation_source FROM catalog_lineageedge e "
         "JOIN catalog_hubmodel m ON m.id = e.child_id")  # fmt: skip
FILES = ("SELECT m.repo_id, f.path, f.etag, md5(f.text) FROM catalog_modelfile f "
         "JOIN catalog_hubmodel m ON m.id = f.model_id")  # fmt: skip
LICENSES = ("SELECT DISTINCT ON (a.model_id) m.repo_id, a.declared, a.verdict, a.effective, a.conflict "
            "FROM licenses_assessment a JOIN catalog_hubmodel m ON m.id = a.model_id "
            "ORDER BY a.model_id, a.assessed_at DESC, a.id DESC")  # fmt: skip


def snapshot(url: str) -> dict:
    models = _sql(url, MODELS)
    edges = _sql(url, EDGES)
    quarantine = [t for (t,) in _sql(url, "SELECT table_name FROM information_schema.tables "
                                          "WHERE table_name LIKE '%quarantin%'")]  # fmt: skip
    quarantined: set[str] = set()
    for table in quarantine:
        cols = {c for (c,) in _sql(url, "SELECT column_name FROM information_schema.columns "
                                        f"WHERE table_name = '{table}'")}  # fmt: skip
        col = next((c for c in ("repo_id", "record_id", "hub_id", "key") if c in cols), None)
        if col:
            quarantined |= {str(v) for (v,) in _sql(url, f'SELECT "{col}" FROM "{table}"')}
    return {
        "models": {r[0]: r for r in models},
        "hub_ids": [r[1] for r in models if r[1]],
        "edges": set(edges),
        "edge_rows": len(edges),
        "files": set(_sql(url, FILES)),
        "licenses": set(_sql(url, LICENSES)),
        "runs": dict(_sql(url, "SELECT status, count(*) FROM catalog_crawlrun GROUP BY 1")),
        "quarantine": quarantine,
        "quarantined": quarantined,
    }


def replay_stats(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_replay/stats", timeout=10) as r:
        return json.loads(r.read())


def compare(clean: dict, chaos: dict, stats: dict) -> list[str]:
    """Print the figures; return what differs."""
    failures = []

    def check(name: str, ok: bool, figure: str) -> None:
        print(f"  {'ok  ' if ok else 'FAIL'} {name}: {figure}")
        if not ok:
            failures.append(f"{name}: {figure}")

    a, b = clean["models"], chaos["models"]
    missing, extra = set(a) - set(b), set(b) - set(a)
    differ = sorted(k for k in set(a) & set(b) if a[k] != b[k])
    columns = MODELS.split("SELECT ")[1].split(" FROM")[0].split(", ")
    by_column = {c: sum(a[k][i] != b[k][i] for k in differ) for i, c in enumerate(columns)}
    check("models", not (missing or extra or differ),
          f"{len(b):,} stored vs {len(a):,} clean; {len(missing)} missing, {len(extra)} extra, "
          f"{len(differ)} with other key columns {({c: n for c, n in by_column.items() if n})} "
          f"e.g. {[(a[k], b[k]) for k in differ[:1]]}; missing e.g. {sorted(missing)[:3]}")  # fmt: skip
    dups = len(chaos["hub_ids"]) - len(set(chaos["hub_ids"]))
    edge_dups = chaos["edge_rows"] - len(chaos["edges"])
    check("duplicates", dups == 0 and edge_dups == 0, f"{dups} models, {edge_dups} edges")
    for key in ("edges", "files", "licenses"):
        x, y = clean[key], chaos[key]
        check(key, x == y, f"{len(y):,} vs {len(x):,} clean; {len(x - y)} missing, "
                           f"{len(y - x)} not in clean {sorted(x ^ y)[:2]}")  # fmt: skip
    lost = chaos["quarantined"] & set(a)
    check(
        "quarantined that the clean crawl stored",
        not lost,
        f"{len(lost)}" if chaos["quarantine"] else "0 (no quarantine table on this branch)",
    )
    unfinished = {s: n for s, n in chaos["runs"].items() if s != "done"}
    check("runs", not unfinished, f"{chaos['runs']} (clean: {clean['runs']})")
    for bucket, s in stats["buckets"].items():
        check(f"{bucket} requests per window", s["max_per_window"] <= s["quota"],
              f"at most {s['max_per_window']:,} in one {s['window']} s window, quota "
              f"{s['quota']:,}; {s['requests']:,} requests")  # fmt: skip
    print(f"  faults injected: {stats['faults']} ({sum(stats['faults'].values()):,})")
    return failures


def _stop(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def main() -> int:
    # Stopped with Ctrl-C or `kill` alike, the servers it started are stopped and its folder
    # removed; a shell that starts it in the background makes it ignore SIGINT otherwise.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _stop)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--short", action="store_true", help="CI size: 800 + 300 rich, one kill")
    parser.add_argument("--models", type=int, default=50_000, help="most downloaded list records")
    parser.add_argument("--rich", type=int, default=None, help="rich records (default: all)")
    parser.add_argument("--details", type=int, default=1_000_000, help="CANOPY_DETAILS_PER_RUN")
    parser.add_argument("--threads", type=int, default=4, help="CANOPY_DETAIL_THREADS")
    parser.add_argument("--fault-rate", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--api-budget", type=int, default=200, help="per window, client and server")
    parser.add_argument("--resolvers-budget", type=int, default=400)
    parser.add_argument("--window", type=int, default=10)
    parser.add_argument(
        "--chaos-threads",
        type=int,
        default=None,
        help="CANOPY_DETAIL_THREADS of the faulted crawl (default: --threads)",
    )
    parser.add_argument(
        "--parallel",
        action="store_true",
        help="run both crawls at once, each with PostgreSQL and Redis of its own",
    )
    parser.add_argument(
        "--expected-seconds",
        type=float,
        default=3000,
        help="with --parallel: the clean crawl's time, to draw the fault moments",
    )
    parser.add_argument("--port", type=int, default=18790, help="first of the ports used (6)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per crawl at most")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    if args.short:
        args.models, args.rich = 800, args.rich or 300
    kills = 1 if args.short else 2
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="canopy-chaos-"))
    pg, redis = Postgres(work, args.port + 2), Redis(work, args.port + 3)
    # In parallel the restarts must not reach the clean crawl: the faulted one gets servers of its own.
    chaos_pg, chaos_redis = (
        (Postgres(work, args.port + 4, "pg-chaos"), Redis(work, args.port + 5, "redis-chaos"))
        if args.parallel else (pg, redis)
    )  # fmt: skip
    servers: list[subprocess.Popen] = []
    t_all = time.perf_counter()
    try:
        files = write_slice(work, SNAPSHOT / "hub-list-2024-07-11.jsonl.gz", SNAPSHOT / "hub-rich.jsonl.gz",
                            args.models, args.rich or 1_000_000)  # fmt: skip
        print(f"chaos: slice of {args.models:,} list + {args.rich or 'all'} rich records in {work}")
        for server in {id(s): s for s in (pg, redis, chaos_pg, chaos_redis)}.values():
            server.start()
        budget = ["--api-budget", str(args.api_budget), "--resolvers-budget", str(args.resolvers_budget),
                  "--window", str(args.window), "--index-dir", str(work / "index")]  # fmt: skip
        clean_port, chaos_port = args.port, args.port + 1
        servers.append(start_replay(files, clean_port, *budget))
        servers.append(start_replay(files, chaos_port, *budget, "--fail-rate", str(args.fault_rate),
                                    "--fail-kinds", KINDS, "--fail-seed", str(args.seed),
                                    "--slow-seconds", "3"))  # fmt: skip
        import psycopg

        for server, name in ((pg, "clean"), (chaos_pg, "chaos")):
            with psycopg.connect(server.url("postgres"), autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE {name}")

        def env(name: str, port: int, db: int, pg: Postgres, redis: Redis, threads: int) -> dict:
            return dict(
                os.environ, DATABASE_URL=pg.url(name), REDIS_URL=f"redis://127.0.0.1:{redis.port}/{db}",
                CANOPY_DATA_DIR=str(work / f"data-{name}"), HF_ENDPOINT=f"http://127.0.0.1:{port}",
                CANOPY_DETAILS_PER_RUN=str(args.details), CANOPY_HUB_TIMEOUT_SECONDS="2",
                CANOPY_DETAIL_THREADS=str(threads),
                CANOPY_HUB_API_BUDGET=str(args.api_budget), CANOPY_HUB_RESOLVERS_BUDGET=str(args.resolvers_budget),
                CANOPY_HUB_WINDOW_SECONDS=str(args.window), CANOPY_STALL_SECONDS="20",
                CANOPY_PAGES_PER_TASK="5", CANOPY_BROKER_VISIBILITY_SECONDS="60",
                CANOPY_INCREMENTAL_EVERY_MINUTES="100000", CANOPY_LOG_LEVEL="WARNING",
                HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_DISABLE_PROGRESS_BARS="1",
                DJANGO_SETTINGS_MODULE="config.settings",
            )  # fmt: skip

        actions = ["kill worker"] * kills + ["restart postgres", "restart redis"]
        rng.shuffle(actions)
        clean_env = env("clean", clean_port, 1, pg, redis, args.threads)
        chaos_env = env(
            "chaos", chaos_port, 2, chaos_pg, chaos_redis, args.chaos_threads or args.threads
        )

        def chaos_crawl(expected: float) -> float:
            moments = sorted(rng.uniform(0.1, 0.7) * expected for _ in actions)
            return crawl("chaos", chaos_env, chaos_redis, 2, list(zip(moments, actions, strict=True)),
                         chaos_pg, args.timeout)  # fmt: skip

        if args.parallel:
            with ThreadPoolExecutor(1) as pool:
                chaos_future = pool.submit(chaos_crawl, args.expected_seconds)
                try:
                    clean_s = crawl("clean", clean_env, redis, 1, [], pg, args.timeout)
                    print(f"chaos: clean crawl done in {clean_s:.1f} s")
                    # Polled: a wait without a timeout would not see Ctrl-C (SIGINT).
                    while not chaos_future.done():
                        time.sleep(1)
                    chaos_s = chaos_future.result()
                except BaseException:
                    STOP.set()
                    raise
        else:
            clean_s = crawl("clean", clean_env, redis, 1, [], pg, args.timeout)
            print(f"chaos: clean crawl done in {clean_s:.1f} s")
            chaos_s = chaos_crawl(clean_s)
        print(f"chaos: faulted crawl done in {chaos_s:.1f} s")
        stats = replay_stats(chaos_port)
        clean, chaos = snapshot(pg.url("clean")), snapshot(chaos_pg.url("chaos"))
        print(f"chaos: {args.models:,} + {args.rich or 'all'} rich records, {args.fault_rate:.0%} of "
              f"answers faulted (seed {args.seed}), {kills} worker kills, PostgreSQL and Redis "
              f"restarted once")  # fmt: skip
        failures = compare(clean, chaos, stats)
        print(f"  time: clean {clean_s:.1f} s, chaos {chaos_s:.1f} s, slowdown {chaos_s / clean_s:.2f}x"
              f"{' (run at the same time, sharing the CPUs)' if args.parallel else ''}; "
              f"benchmark {time.perf_counter() - t_all:.0f} s")  # fmt: skip
        if failures:
            print("chaos: FAILED: " + "; ".join(failures))
            return 1
        print("chaos: the faulted crawl stored what the clean crawl stored")
        return 0
    finally:
        for server in servers:
            server.terminate()
            server.wait(30)
        for server in {id(s): s for s in (redis, chaos_redis, pg, chaos_pg)}.values():
            server.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
