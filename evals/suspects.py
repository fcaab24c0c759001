"""The suspected-base detector on real models whose declared base is hidden (evals/suspects.jsonl,
built by evals/build_suspects.py): precision and recall of the suspected family and of its license,
per family, and the false-suspicion rate on models that really are bases.

- a derivative's suspicion counts when the detector says a license (what `suspect` would show);
  its license is right when it is the license of the base its hidden declaration names, its family
  right when on the same line (Llama 3.x for Llama 3);
- precision: right / said; recall: right / cases;
- a base's suspicion is false when it names a license other than the base's own (the publisher
  repos) or any license at all (independent pretrained models).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET_PRECISION, TARGET_RECALL = 0.95, 0.8


def load(path: Path = HERE / "suspects.jsonl") -> list[dict]:
    return [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]


def said(case: dict):
    from licenses import suspects

    found = suspects.judge(
        suspects.signals(case["id"], case.get("tags", []), case.get("config"),
                         case.get("readme", ""), case.get("gguf")),
        case["id"].rsplit("/", 1)[-1],
    )  # fmt: skip
    if found is None or found.license is None or found.confidence < suspects.EMIT_AT:
        return None
    return found


def evaluate(cases: list[dict]) -> tuple[dict[str, dict[str, int]], dict[str, int], list[str]]:
    from licenses.suspects import line

    per: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    bases: dict[str, int] = defaultdict(int)
    wrong: list[str] = []
    for case in cases:
        found = said(case)
        if case["kind"] == "base":
            bases["cases"] += 1
            if found is not None and found.license != case["expected_license"]:
                bases["false"] += 1
                wrong.append(f"base {case['id']}: suspected {found.family} ({found.license}) "
                             f"from {[s.detail for s in found.signals]}; {case['rationale']}")  # fmt: skip
            continue
        rich = "config" in case or "readme" in case
        for s in (per[case["expected_family"]], per[" with config or README" if rich
                                                    else " list record only"]):  # fmt: skip
            s["cases"] += 1
            if found is None:
                continue
            s["said"] += 1
            s["license_right"] += found.license == case["expected_license"]
            fam, want = found.family, case["expected_family"]
            s["family_right"] += fam in line(want) or want in line(fam)
        if found is not None and found.license != case["expected_license"]:
            wrong.append(
                f"{case['id']}: suspected {found.family} ({found.license}), declared "
                f"base {case['expected_family']} ({case['expected_license']}) from "
                f"{[x.detail for x in found.signals]}"
            )
    return per, bases, wrong


def report(show: int = 0) -> bool:
    """Print the table; True when the pooled license precision and recall reach the targets."""
    per, bases, wrong = evaluate(load())
    print(f"\nsuspected bases (declared base hidden)  {'cases':>6} {'said':>6} "
          f"{'P family':>9} {'P license':>9} {'R license':>9}")  # fmt: skip
    total: dict[str, int] = defaultdict(int)
    for family, s in sorted(per.items()):
        if not family.startswith(" "):
            for k, v in s.items():
                total[k] += v
            _row(family, s)
    for family, s in sorted(per.items()):
        if family.startswith(" "):
            _row(family, s)
    _row("all derivatives", total)
    rate = bases["false"] / max(bases["cases"], 1)
    print(f"{'bases (false suspicion)':40} {bases['cases']:6} {bases['false']:6} "
          f"{'rate':>9} {rate:9.3f}")  # fmt: skip
    for line in wrong[:show]:
        print("    ", line)
    precision = total["license_right"] / max(total["said"], 1)
    recall = total["license_right"] / max(total["cases"], 1)
    print(f"targets: license precision >= {TARGET_PRECISION} ({precision:.3f}), "
          f"recall >= {TARGET_RECALL} ({recall:.3f})")  # fmt: skip
    return precision >= TARGET_PRECISION


def _row(name: str, s: dict[str, int]) -> None:
    n, k = s["cases"], s["said"]
    print(f"{name:40} {n:6} {k:6} {s['family_right'] / max(k, 1):9.3f} "
          f"{s['license_right'] / max(k, 1):9.3f} {s['license_right'] / max(n, 1):9.3f}")  # fmt: skip
