"""Command line: python -m hubreplay FILE.jsonl.gz [...] [--then FILE ...]... [--datasets FILE ...]
--port N"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time

from .index import build_states_logged
from .server import FAULT_KINDS, ReplayServer


def _log(msg: str):
    print(msg, file=sys.stderr, flush=True)


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m hubreplay", description=__doc__)
    p.add_argument("files", nargs="+", help="snapshot files of state 0 (later ones win)")
    p.add_argument(
        "--then",
        nargs="+",
        action="append",
        default=[],
        metavar="FILE",
        help="files layered on the previous state to make the next state (repeatable)",
    )
    p.add_argument(
        "--datasets",
        nargs="+",
        action="extend",
        default=[],
        metavar="FILE",
        help="dataset snapshot files, served in every state (repeatable, later ones win)",
    )
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--api-budget", type=int, default=None)
    p.add_argument("--resolvers-budget", type=int, default=None)
    p.add_argument("--window", type=int, default=300)
    p.add_argument("--page-size-cap", type=int, default=1000)
    p.add_argument("--delay-ms", type=int, default=0)
    p.add_argument("--index-dir", default=None)
    p.add_argument("--accept-token", default=None, help="only this token opens gated repos")
    p.add_argument(
        "--fail-every", type=int, default=None, help="answer --fail-status on every Nth API request"
    )
    p.add_argument(
        "--fail-rate",
        type=float,
        default=None,
        help="answer --fail-status on API requests with this probability (0..1)",
    )
    p.add_argument("--fail-status", type=int, default=500)
    p.add_argument("--fail-seed", type=int, default=0)
    p.add_argument(
        "--fail-kinds",
        default=None,
        help=f"comma list of fault kinds ({','.join(FAULT_KINDS)}) or 'all'; API and file "
        "requests alike (without it: --fail-status on API requests)",
    )
    p.add_argument(
        "--slow-seconds", type=float, default=3.0, help="a 'slow' fault answers this late"
    )
    p.add_argument(
        "--fail-retry-after", type=int, default=1, help="t= (seconds) of an injected 429"
    )
    p.add_argument("--verbose", action="store_true", help="log one line per request to stderr")
    return p.parse_args(argv)


def main(argv=None) -> int:
    a = parse_args(argv)
    srv = ReplayServer(
        [a.files] + a.then,
        port=a.port,
        datasets=a.datasets,
        host=a.host,
        api_budget=a.api_budget,
        resolvers_budget=a.resolvers_budget,
        window=a.window,
        delay_ms=a.delay_ms,
        index_dir=a.index_dir,
        page_size_cap=a.page_size_cap,
        accept_token=a.accept_token,
        verbose=a.verbose,
    )
    if a.fail_every or a.fail_rate:
        kinds = a.fail_kinds
        srv.set_faults(
            status=a.fail_status,
            every=a.fail_every,
            rate=a.fail_rate,
            seed=a.fail_seed,
            kinds=FAULT_KINDS if kinds == "all" else kinds.split(",") if kinds else None,
            slow_seconds=a.slow_seconds,
            retry_after=a.fail_retry_after,
        )
    t0 = time.monotonic()
    # Build missing indexes in a child process: the serving process then stays small.
    ctx = multiprocessing.get_context("spawn")
    child = ctx.Process(target=build_states_logged, args=(srv.layers, a.index_dir, srv.datasets))
    child.start()
    child.join()
    if child.exitcode:
        print(f"hubreplay: index build failed (exit code {child.exitcode})", file=sys.stderr)
        return 1
    srv.build(log=_log)
    if a.verbose:
        print(f"hubreplay: indexes ready in {time.monotonic() - t0:.1f}s", file=sys.stderr)
    srv.make_httpd()
    n, d = srv.counts[0]["models"], srv.counts[0]["datasets"]
    what = f"{n} models" + (f" and {d} datasets" if srv.datasets else "")
    print(f"hubreplay: serving {what} (state 0 of {srv.num_states}) on {srv.url}", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
