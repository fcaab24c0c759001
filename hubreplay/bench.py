"""Benchmark: start `python -m hubreplay FILES --port 0` and page through the whole list.

    python -m hubreplay.bench /work/shared/hub-snapshot/hub-list-2024-07-11.jsonl.gz \
        [--index-dir DIR] [--limit 1000] [--query "sort=likes"] [--client]

Prints start-up time (index build or cache hit), pages, items, seconds, pages/s and the server's
peak RSS (VmHWM from /proc).  `--client` pages with huggingface_hub's list_models instead of raw
HTTP (measures the client's parsing too).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import subprocess
import sys
import time
from typing import Any
from urllib.parse import urlsplit


def _rss_mb(pid: int) -> tuple[float, float]:
    cur = peak = 0.0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                cur = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
    return cur, peak


def crawl_raw(url: str, query: str) -> tuple[int, int]:
    u = urlsplit(url)
    if u.hostname is None:
        raise ValueError(f"no host in {url!r}")
    conn = http.client.HTTPConnection(u.hostname, u.port)
    path: str | None = "/api/models" + ("?" + query if query else "")
    pages = items = 0
    while path:
        conn.request("GET", path)
        r = conn.getresponse()
        body = r.read()
        if r.status != 200:
            raise RuntimeError(f"{r.status} {body[:200]!r}")
        items += len(json.loads(body))
        pages += 1
        link = r.getheader("Link")
        m = re.match(r"<([^>]+)>", link) if link else None
        path = None
        if m:
            nu = urlsplit(m.group(1))
            path = nu.path + "?" + nu.query
    conn.close()
    return pages, items


def crawl_client(url: str, query: str) -> tuple[int, int]:
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    from urllib.parse import parse_qs

    from huggingface_hub import HfApi

    # Whatever list_models arguments the query string names, passed through as given.
    kw: dict[str, Any] = {k: v[0] for k, v in parse_qs(query).items()}
    n = sum(1 for _ in HfApi(endpoint=url, token=False).list_models(**kw))
    return -1, n


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("files", nargs="+")
    p.add_argument("--index-dir")
    p.add_argument("--query", default="", help="extra query string, e.g. sort=likes")
    p.add_argument("--client", action="store_true")
    a = p.parse_args(argv)
    cmd = [sys.executable, "-m", "hubreplay", *a.files, "--port", "0"]
    if a.index_dir:
        cmd += ["--index-dir", a.index_dir]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None  # stdout=PIPE
        line = proc.stdout.readline()
        startup = time.monotonic() - t0
        print(line.strip())
        m = re.search(r"on (http://\S+)", line)
        if m is None:
            raise RuntimeError(f"hubreplay did not say where it serves: {line!r}")
        url = m.group(1)
        rss0 = _rss_mb(proc.pid)
        t1 = time.monotonic()
        pages, items = (crawl_client if a.client else crawl_raw)(url, a.query)
        dt = time.monotonic() - t1
        rss, peak = _rss_mb(proc.pid)
        print(
            json.dumps(
                {
                    "startup_s": round(startup, 2),
                    "pages": pages,
                    "items": items,
                    "crawl_s": round(dt, 2),
                    "pages_per_s": round(pages / dt, 1) if pages > 0 else None,
                    "items_per_s": round(items / dt),
                    "rss_idle_mb": round(rss0[0], 1),
                    "rss_after_mb": round(rss, 1),
                    "rss_peak_mb": round(peak, 1),
                    "query": a.query,
                    "client": a.client,
                }
            )
        )
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
