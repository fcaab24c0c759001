"""License accuracy on real cases: `make eval` (python evals/run.py [--min-accuracy 0.95]).

Prints accuracy per category and exits non-zero when any model is called `allowed` that should
not be, when a case the evidence decides is left `unknown`, or when a category falls below
--min-accuracy. The cases and the rationale of each expectation are in evals/cases.jsonl
(built from ../shared/hub-snapshot by evals/build_cases.py; the run needs only this repo).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def load_cases(path: Path = HERE / "cases.jsonl") -> list[dict]:
    return [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]


def judge(case: dict) -> dict:
    from licenses import inherit
    from licenses.classify import classify
    from licenses.resolve import resolve

    if case["category"] == "lineage-chains":
        own, parents, prev = {}, {}, None
        for model, lics in case["chain"]:
            res = resolve(tags=[f"license:{v}" for v in lics])
            own[model] = (res.key, classify(res.key)[0])
            if prev:
                parents[model] = [prev]
            prev = model
        state = inherit.propagate(own, parents)[prev]
        return {"verdict": state.effective, "key": state.key, "conflict": state.conflict}
    res = resolve(repo_id=case["id"], tags=case.get("tags", []), card=case.get("card"),
                  files=case.get("files"))  # fmt: skip
    return {"verdict": classify(res.key)[0], "key": res.key, "conflict": False}


def evaluate(cases: list[dict]) -> dict[str, dict]:
    stats: dict[str, dict] = defaultdict(lambda: defaultdict(int))
    stats_failures: dict[str, list] = defaultdict(list)
    for case in cases:
        got = judge(case)
        s = stats[case["category"]]
        s["cases"] += 1
        ok = got["verdict"] == case["expected_verdict"]
        if "expected_key" in case and case["expected_key"] is not None:
            ok = ok and got["key"] == case["expected_key"]
        if "expected_conflict" in case:
            ok = ok and got["conflict"] == case["expected_conflict"]
        s["correct"] += ok
        if got["verdict"] == "allowed" and case["expected_verdict"] != "allowed":
            s["false_allowed"] += 1
        if case.get("decidable") and got["verdict"] == "unknown":
            s["decidable_unknown"] += 1
        if not ok:
            stats_failures[case["category"]].append((case["id"], case["expected_verdict"],
                                                     case.get("expected_key"), got))  # fmt: skip
    for cat, s in stats.items():
        s["failures"] = stats_failures[cat]
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="License accuracy on real cases")
    parser.add_argument("--min-accuracy", type=float, default=0.95)
    parser.add_argument("--show-failures", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    stats = evaluate(load_cases())
    print(
        f"{'category':28} {'cases':>6} {'accuracy':>9} {'false allowed':>14} {'decidable→unknown':>18}"
    )
    bad = False
    total = correct = 0
    for cat, s in sorted(stats.items()):
        acc = s["correct"] / s["cases"]
        total, correct = total + s["cases"], correct + s["correct"]
        print(
            f"{cat:28} {s['cases']:6} {acc:9.3f} {s['false_allowed']:14} {s['decidable_unknown']:18}"
        )
        bad |= s["false_allowed"] > 0 or s["decidable_unknown"] > 0 or acc < args.min_accuracy
        if args.show_failures:
            for failure in s["failures"][:15]:
                print("    ", failure)
    print(f"{'all':28} {total:6} {correct / total:9.3f}")
    from evals import duties, suspects, training

    bad |= not suspects.report(show=40 if args.show_failures else 0)
    duties.report()
    training.report()
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
