"""License benchmark: classification and whole-graph propagation speed, and the DB write path.

    .venv/bin/python benchmarks/license_bench.py [--list PATH] [--rich PATH] [--db] [--db-limit N]

1. classify the 760,000-model list (tags only, in memory) and print models/s;
2. classify the full records of hub-rich (card metadata + README/LICENSE texts) and print models/s;
3. propagate effective licenses over the whole lineage graph of the list (edges from base_model
   tags) and print the time;
4. with --db and DATABASE_URL=postgres://...: load the list into an empty catalog, assess
   everything, assess again (nothing changes: nothing written), change one base model's license
   and assess again: only the rows whose result changed are written.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SNAP = ROOT.parent / "shared" / "hub-snapshot"


def read(path: Path, limit: int | None = None) -> list[dict]:
    out = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            out.append(json.loads(line))
            if limit and len(out) >= limit:
                break
    return out


def bench_classify(records: list[dict]) -> dict[str, tuple[str | None, str]]:
    from licenses.classify import classify
    from licenses.resolve import resolve

    start = time.perf_counter()
    own = {}
    for rec in records:
        res = resolve(repo_id=rec["id"], tags=rec.get("tags") or [])
        own[rec["id"]] = (res.key, classify(res.key)[0])
    took = time.perf_counter() - start
    print(f"classify, tags only: {len(records):,} models in {took:.2f} s = "
          f"{len(records) / took:,.0f} models/s")  # fmt: skip
    return own


def bench_rich(records: list[dict]) -> None:
    from licenses.classify import classify
    from licenses.resolve import resolve

    start = time.perf_counter()
    verdicts: dict[str, int] = {}
    for rec in records:
        files = rec.get("__files") or {}
        res = resolve(repo_id=rec["id"], tags=rec.get("tags") or [], card=rec.get("cardData"),
                      files=files)  # fmt: skip
        v = classify(res.key)[0]
        verdicts[v] = verdicts.get(v, 0) + 1
    took = time.perf_counter() - start
    print(f"classify, full records (card + README): {len(records):,} models in {took:.2f} s = "
          f"{len(records) / took:,.0f} models/s  {verdicts}")  # fmt: skip


def bench_propagate(records: list[dict], own: dict) -> None:
    from catalog.lineage import parents_from_tags
    from licenses import inherit

    parents = {}
    for rec in records:
        ps = list(parents_from_tags(rec.get("tags") or []))
        if ps:
            parents[rec["id"]] = ps
    edges = sum(len(p) for p in parents.values())
    start = time.perf_counter()
    states = inherit.propagate(own, parents)
    took = time.perf_counter() - start
    conflicts = sum(1 for s in states.values() if s.conflict)
    incomplete = sum(1 for s in states.values() if not s.complete)
    eff: dict[str, int] = {}
    for s in states.values():
        eff[s.effective] = eff.get(s.effective, 0) + 1
    print(f"propagate over the whole graph: {len(states):,} models, {edges:,} edges in {took:.2f} s "
          f"= {len(states) / took:,.0f} models/s; {conflicts:,} conflicts, {incomplete:,} with "
          f"ancestors not in the list; effective {eff}")  # fmt: skip


def bench_db(records: list[dict]) -> None:
    from django.db import connection

    from catalog import lineage
    from catalog.lineage import edges_for
    from catalog.models import HubModel, LineageEdge
    from licenses import assessment
    from licenses.models import Assessment, ModelLicense

    if connection.vendor != "postgresql":
        print("DB write path: skipped (DATABASE_URL is not PostgreSQL)")
        return
    existing = HubModel.objects.count()
    if existing and HubModel.objects.exclude(raw={"bench": True}).exists():
        print("DB write path: skipped (the catalog holds real data; use an empty bench database)")
        return
    if not existing:
        start = time.perf_counter()
        objs = [HubModel(repo_id=r["id"], hub_id=r.get("_id"), tags=r.get("tags") or [],
                         downloads=r.get("downloads") or 0, raw={"bench": True})
                for r in records]  # fmt: skip
        HubModel.objects.bulk_create(objs, batch_size=5000)
        ids = dict(HubModel.objects.values_list("repo_id", "pk"))
        edges = []
        for r in records:
            for e in edges_for(repo_id=r["id"], tags=r.get("tags") or [],
                               library=r.get("library_name") or "", files=None, card=None,
                               base_models=None):  # fmt: skip
                edges.append(LineageEdge(child_id=ids[r["id"]], parent_repo_id=e.parent,
                                         relation=e.relation, relation_source=e.source,
                                         origin=e.origin))  # fmt: skip
        LineageEdge.objects.bulk_create(edges, batch_size=5000, ignore_conflicts=True)
        print(f"DB: loaded {len(objs):,} models and {len(edges):,} edges in "
              f"{time.perf_counter() - start:.1f} s")  # fmt: skip
    for label in ("first assessment (everything new)", "re-assessment, nothing changed"):
        start = time.perf_counter()
        report = assessment.assess_all()
        print(f"DB: {label}: {report.assessed:,} assessed, {len(report.changed):,} rows written "
              f"in {time.perf_counter() - start:.1f} s")  # fmt: skip
    # One base model changes its license: its descendants' effective results change with it.
    base = (LineageEdge.objects.values("parent_repo_id")
            .annotate(n=__import__("django.db.models", fromlist=["Count"]).Count("id"))
            .order_by("-n").first())  # fmt: skip
    model = HubModel.objects.filter(repo_id=base["parent_repo_id"]).first()
    if model is None:
        return
    before = Assessment.objects.count()
    old = model.tags
    model.tags = [t for t in old if not t.startswith("license:")] + ["license:cc-by-nc-4.0"]
    model.save(update_fields=["tags"])
    start = time.perf_counter()
    report = assessment.assess_all()
    took = time.perf_counter() - start
    print(f"DB: {model.repo_id} relicensed to cc-by-nc-4.0: whole-catalog re-assessment wrote "
          f"{len(report.changed):,} rows ({Assessment.objects.count() - before:,} history rows) "
          f"in {took:.1f} s")  # fmt: skip
    start = time.perf_counter()
    model.tags = old
    model.save(update_fields=["tags"])
    frontier, written = [model.pk], 0
    while frontier:  # the Celery fan-out, run inline: the model, then the children that changed
        report = assessment.assess(frontier)
        written += len(report.changed)
        frontier = lineage.child_ids(report.changed)
    print(
        f"DB: relicensed back, incremental fan-out from the model: {written:,} rows written in "
        f"{time.perf_counter() - start:.1f} s; ModelLicense rows: {ModelLicense.objects.count():,}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", type=Path, default=SNAP / "hub-list-2024-07-11.jsonl.gz")
    parser.add_argument("--rich", type=Path, default=SNAP / "hub-rich.jsonl.gz")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--db", action="store_true", help="also measure the PostgreSQL write path")
    parser.add_argument("--db-limit", type=int, default=None)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    start = time.perf_counter()
    records = read(args.list, args.limit)
    print(
        f"read {len(records):,} list records in {time.perf_counter() - start:.1f} s (not counted)"
    )
    own = bench_classify(records)
    bench_rich(read(args.rich))
    bench_propagate(records, own)
    if args.db:
        bench_db(records[: args.db_limit] if args.db_limit else records)


if __name__ == "__main__":
    main()
