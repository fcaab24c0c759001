"""What the Hub's 43 canonical moves change over the whole 2024 list (issue 13, item 1).

Every record of hub-list-2024-07-11.jsonl.gz (760,000) is resolved from its tags and its
`base_model:` parents read, as the crawler reads them (licenses.resolve, catalog.lineage
.parents_from_tags); the whole graph is then propagated twice with licenses.inherit.propagate:
once naming parents as the records do (a legacy id such as `gpt2` is no crawled model), once
with each old id an alias of its canonical model (hubreplay/data/canonical-moves.tsv, what the
crawler learns from the Hub's 307). It prints how many edges became known, how many models'
effective verdicts and lineage statuses changed, and examples. Needs no database.

    python benchmarks/legacy_bench.py [path/to/hub-list-2024-07-11.jsonl.gz]
"""

from __future__ import annotations

import gzip
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
LIST = ROOT.parent / "shared" / "hub-snapshot" / "hub-list-2024-07-11.jsonl.gz"


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from catalog.lineage import parents_from_tags
    from hubreplay import moves
    from licenses import inherit
    from licenses.classify import classify
    from licenses.resolve import resolve

    path = Path(sys.argv[1]) if len(sys.argv) > 1 else LIST
    started = time.perf_counter()
    own: dict[str, tuple[str | None, str]] = {}
    parents: dict[str, list[str]] = {}
    seen_keys: dict[tuple[str, ...], tuple[str | None, str]] = {}
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            tags = [t for t in rec.get("tags") or [] if isinstance(t, str)]
            lic = tuple(sorted(t for t in tags if t.startswith("license:")))
            if lic not in seen_keys:  # the same license tags resolve the same
                key = resolve(tags=list(lic)).key
                seen_keys[lic] = (key, classify(key)[0])
            own[rec["id"]] = seen_keys[lic]
            named = list(parents_from_tags(tags))
            if named:
                parents[rec["id"]] = named
    read = time.perf_counter() - started
    table = moves.load()
    moved = {old: new for old, new in table.items() if new in own}
    edges_to_old = sum(p in table for ps in parents.values() for p in ps)
    became_known = sum(p in moved and p not in own for ps in parents.values() for p in ps)
    aliased = {c: [moved.get(p, p) if p not in own else p for p in ps] for c, ps in parents.items()}
    t0 = time.perf_counter()
    before = inherit.propagate(own, parents)
    after = inherit.propagate(own, aliased)
    spent = time.perf_counter() - t0
    verdicts: Counter[tuple[str, str]] = Counter()
    statuses: Counter[tuple[str, str]] = Counter()
    examples: dict[tuple[str, str], str] = {}
    for node, b in before.items():
        a = after[node]
        if a.effective != b.effective:
            verdicts[(b.effective, a.effective)] += 1
            examples.setdefault((b.effective, a.effective), node)
        if a.status != b.status:
            statuses[(b.status, a.status)] += 1
    print(f"{len(own):,} models read in {read:.0f} s; two propagations in {spent:.0f} s")
    print(f"moves: {len(table)} in the table, {len(moved)} with the canonical model in the list")
    print(f"edges naming an old id: {edges_to_old:,}; became known (parent now a model): "
          f"{became_known:,}")  # fmt: skip
    print(f"effective verdicts changed: {sum(verdicts.values()):,}")
    for (b, a), n in verdicts.most_common():
        print(f"  {b:>11} -> {a:<11} {n:7,}  e.g. {examples[(b, a)]}")
    print(f"lineage statuses changed: {sum(statuses.values()):,}")
    for (b, a), n in statuses.most_common():
        print(f"  {b:>24} -> {a:<24} {n:7,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
