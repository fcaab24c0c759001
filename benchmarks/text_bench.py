"""Text benchmark: every parser of Hub text on 1 MB of each adversarial input, worst case first.

    .venv/bin/python benchmarks/text_bench.py [--size BYTES] [--timeout SECONDS] [--only NAME,...]

The calls are those of tests/catalog/test_text_properties.py and
tests/licenses/test_text_properties.py (cards, hardware, lineage, formats; license names, links,
README sections, license texts, a whole resolution), the inputs those of tests/adversarial.py.
Each call runs in a child process so a quadratic one can be stopped: past --timeout (5 s) it is
measured again at 1/20 and 1/10 of the size and its time at full size extrapolated from the
growth between the two. Prints, per call, its worst input and CPU time, and the 3 slowest inputs.
"""

from __future__ import annotations

import argparse
import math
import os
import select
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def calls() -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from tests.catalog.test_text_properties import CALLS as CATALOG
    from tests.licenses.test_text_properties import CALLS as LICENSES

    return {**{f"catalog.{k}": v for k, v in CATALOG.items()},
            **{f"licenses.{k}": v for k, v in LICENSES.items()}}  # fmt: skip


def worker(name: str, size: int, kinds: list[str]) -> None:
    from tests.adversarial import text, timed

    call = calls()[name]
    print("ready", flush=True)
    for kind in kinds:
        cpu, _ = timed(call, text(kind, size))
        print(kind, cpu, flush=True)


def measure(name: str, size: int, kinds: list[str], timeout: float) -> dict[str, float | None]:
    """kind -> CPU seconds, None where one call took longer than `timeout`."""
    out: dict[str, float | None] = {}
    todo = list(kinds)
    while todo:
        cmd = [sys.executable, __file__, "--worker", name, "--size", str(size), *todo]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        assert proc.stdout is not None
        proc.stdout.readline()  # "ready": Django is set up
        while todo:
            ready, _, _ = select.select([proc.stdout], [], [], timeout)
            line = proc.stdout.readline() if ready else ""
            if not line:
                proc.kill()
                proc.wait()
                out[todo.pop(0)] = None
                break
            kind, cpu = line.split()
            out[kind] = float(cpu)
            todo.remove(kind)
        else:
            proc.wait()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--only", default="")
    parser.add_argument("--worker", default="")
    parser.add_argument("kinds", nargs="*")
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.size, args.kinds)

    from tests.adversarial import UNITS

    names = args.only.split(",") if args.only else list(calls())
    print(f"{'call':40} {'worst input':20} {'CPU s':>10}   next slowest")
    for name in names:
        times = measure(name, args.size, list(UNITS), args.timeout)
        shown = {}
        for kind, cpu in times.items():
            if cpu is None:  # too slow at full size: extrapolate from two smaller sizes
                small = measure(name, args.size // 20, [kind], args.timeout)[kind]
                large = measure(name, args.size // 10, [kind], args.timeout)[kind]
                if small and large:
                    power = math.log(large / small, 2)
                    shown[kind] = (large * 10**power, f"~{large * 10**power:,.0f} (x^{power:.1f})")
                else:
                    shown[kind] = (math.inf, f">{args.timeout:g} at 1/20")
            else:
                shown[kind] = (cpu, f"{cpu:.3f}")
        ranked = sorted(shown.items(), key=lambda kv: -kv[1][0])
        (kind, (_, label)), rest = ranked[0], ranked[1:3]
        others = ", ".join(f"{k} {v[1]}" for k, v in rest)
        print(f"{name:40} {kind:20} {label:>10}   {others}", flush=True)


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    if "--worker" not in sys.argv:
        print(f"({time.perf_counter() - started:.0f} s)")
