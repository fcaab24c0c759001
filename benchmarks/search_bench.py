"""Search and lineage-explorer latency on a crawled catalog (the 760,000-model list).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/canopy_search \\
        .venv/bin/python benchmarks/search_bench.py [--rounds 5] [--refresh]

Times whole requests through Django's test client (middleware, view, queries, template), so
the figures are server time. Prints p50/p95 over a fixed mix of text and facet queries (one
cold pass first, reported apart), then over the mix with the real queries of
tests/catalog/search_queries.tsv added, and the multi-word ones among them apart (two words or
more: each is matched word by word and ranked), then the first view of the largest family's
lineage explorer and family page (stabilityai/stable-diffusion-xl-base-1.0 in the 2024 list).
Without a PostgreSQL DATABASE_URL it uses canopy_bench (crawl_bench.py's database).
--refresh migrates, runs the bulk pass that fills the derived search columns (catalog.families)
and assesses every model's license first, so the verdict facets count real results, then
vacuums the tables as autovacuum would.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FAMILY = "stabilityai/stable-diffusion-xl-base-1.0"
MIX = [
    {},
    {"q": "llama"},
    {"q": "mistral-7b"},
    {"q": "gguf"},
    {"q": "bert"},
    {"q": "whisper"},
    {"q": "qwen2"},
    {"q": "sdxl lora"},
    {"q": "TheBloke"},
    {"q": "instruct", "task": "text-generation", "sort": "modified"},
    {"q": "llama", "relation": "finetune"},
    {"relation": "quantized"},
    {"format": "gguf"},
    {"relation": "adapter", "base": FAMILY},
    {"task": "text-generation"},
    {"library": "peft"},
    {"params": "3-8B", "format": "safetensors"},
    {"memory": "16", "format": "gguf"},
    {"gated": "yes"},
    {"sort": "likes"},
    {"effective": "allowed", "relation": "finetune"},
    {"author": "TheBloke", "format": "gguf"},
]


# Usage-profile filters (issue 15), reported apart so the old mix's figures stay comparable; they
# need the profiles evaluated (profile_bench.py, or manage.py evaluate_profiles).
PROFILE_MIX = [
    {"profile": "demo-platform", "usable": "true"},
    {"profile": "demo-startup-eu", "usable": "true", "effective": "conditional"},
    {"q": "llama", "profile": "demo-startup-eu", "usable": "true"},
    {"q": "mistral 7b instruct", "profile": "demo-platform", "usable": "true"},
    {"profile": "demo-platform", "usable": "false", "relation": "finetune"},
    {"q": "gguf", "profile": "demo-startup-eu", "usable": "false", "format": "gguf"},
]

TABLE = ROOT / "tests" / "catalog" / "search_queries.tsv"


def table_queries() -> list[dict]:
    """The queries of the search test table, as typed ("+" is a space in a URL)."""
    rows = [line.split("\t")[0] for line in TABLE.read_text().splitlines()[1:]]
    return [
        {"q": q.replace("+", " ")} for q in rows if q and not q.startswith("#") and q != "query"
    ]


def multi_word(params: dict) -> bool:
    from portal.searchwords import parse

    return len(parse(params.get("q", ""))) > 1


def show(label: str, times: list[float]) -> None:
    print(f"{label} ({len(times)} requests): p50 {pct(times, 50):.1f} ms, "
          f"p95 {pct(times, 95):.1f} ms, max {max(times):.1f} ms")  # fmt: skip


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def timed(client, url: str, params: dict | None = None) -> float:
    start = time.perf_counter()
    response = client.get(url, params or {})
    elapsed = (time.perf_counter() - start) * 1000
    assert response.status_code == 200, (url, params, response.status_code)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--refresh", action="store_true")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        # The database crawl_bench.py fills, as `make bench` runs it first.
        os.environ["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/canopy_bench"
        print(f"DATABASE_URL is not PostgreSQL: using {os.environ['DATABASE_URL']}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # Production settings: DEBUG keeps a record of every query, which is not server time.
    os.environ.setdefault("DJANGO_DEBUG", "0")
    # A key of its own (production settings refuse a weak one); nothing is signed that lasts.
    os.environ.setdefault("DJANGO_SECRET_KEY", "search-bench-" + "".join(map(chr, range(65, 123))))
    import django

    django.setup()
    from django.core.cache import cache
    from django.test import Client

    from catalog import families
    from catalog.models import HubModel

    if args.refresh:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        start = time.perf_counter()
        n = families.refresh_all()
        print(f"derived columns refreshed for {n:,} models in {time.perf_counter() - start:.0f} s")
        from licenses import assessment

        start = time.perf_counter()
        report = assessment.assess_all()  # the verdict facets count real assessments
        print(f"licenses assessed for {report.assessed:,} models in "
              f"{time.perf_counter() - start:.0f} s")  # fmt: skip
        # The steady state autovacuum reaches minutes after a bulk load (PostgreSQL 13+ vacuums
        # insert-only tables too): visibility maps set, so counts can be index-only scans.
        from django.db import connection

        connection.ensure_connection()
        connection.connection.autocommit = True
        with connection.cursor() as cursor:
            for table in ("catalog_hubmodel", "catalog_searchentry", "catalog_lineageedge",
                          "licenses_modellicense"):  # fmt: skip
                cursor.execute(f"VACUUM ANALYZE {table}")
    print(f"catalog: {HubModel.objects.count():,} models")
    cache.clear()
    client = Client()
    cold = [timed(client, "/models/", p) for p in MIX]
    warm = [timed(client, "/models/", p) for _ in range(args.rounds) for p in MIX]
    api = [timed(client, "/api/v1/models", p) for _ in range(max(args.rounds // 2, 1)) for p in MIX]
    print(f"search page, cold pass ({len(MIX)} queries): p50 {pct(cold, 50):.1f} ms, "
          f"p95 {pct(cold, 95):.1f} ms")  # fmt: skip
    show("search page, the old mix", warm)
    print(f"search API ({len(api)} requests): p50 {pct(api, 50):.1f} ms, p95 {pct(api, 95):.1f} ms")
    slow = sorted(zip(warm[: len(MIX)], MIX, strict=True), key=lambda t: -t[0])[:3]
    print("slowest:", "; ".join(f"{p or 'unfiltered'} {t:.0f} ms" for t, p in slow))
    table = table_queries()
    for p in table:  # their cold pass, not reported: the old mix's cold pass is above
        timed(client, "/models/", p)
    mixed = MIX + table
    times = [(timed(client, "/models/", p), p) for _ in range(args.rounds) for p in mixed]
    show("search page, the mix with the table's queries", [t for t, _ in times])
    show("  of which multi-word queries", [t for t, p in times if multi_word(p)])
    show("  of which one word or none", [t for t, p in times if not multi_word(p)])
    api_multi = [timed(client, "/api/v1/models", p) for _ in range(max(args.rounds // 2, 1))
                 for p in table if multi_word(p)]  # fmt: skip
    show("search API, multi-word queries", api_multi)
    worst = sorted(times, key=lambda t: -t[0])[:5]
    print("slowest:", "; ".join(f"{p or 'unfiltered'} {t:.0f} ms" for t, p in worst))
    from usage.models import ProfileVerdict

    if ProfileVerdict.objects.exists():
        for p in PROFILE_MIX:
            timed(client, "/models/", p)
        prof = [(timed(client, "/models/", p), p) for _ in range(args.rounds) for p in PROFILE_MIX]
        show("search page, usage-profile filters", [t for t, _ in prof])
        worst = sorted(prof, key=lambda t: -t[0])[:3]
        print("slowest:", "; ".join(f"{p} {t:.0f} ms" for t, p in worst))
    else:
        print("search page, usage-profile filters: no verdicts stored (run profile_bench.py)")

    model = HubModel.objects.filter(repo_id=FAMILY).first()
    if model is None:
        print(f"{FAMILY} is not in this catalog: no family figures")
        return
    # Warm the process (templates compiled) on another model: "first view" is the family's data.
    small = HubModel.objects.exclude(repo_id=FAMILY).order_by("-downloads").first()
    timed(client, f"/lineage/{small.repo_id}/")
    timed(client, f"/families/{small.repo_id}/")
    first = timed(client, f"/lineage/{FAMILY}/")
    again = [timed(client, f"/lineage/{FAMILY}/") for _ in range(args.rounds)]
    fam = [timed(client, f"/families/{FAMILY}/") for _ in range(args.rounds)]
    members = families.members(model).count()
    print(f"lineage explorer of {FAMILY} ({members:,} in its family): first view {first:.1f} ms, "
          f"then p50 {statistics.median(again):.1f} ms")  # fmt: skip
    print(f"family page: p50 {statistics.median(fam):.1f} ms, max {max(fam):.1f} ms")


if __name__ == "__main__":
    main()
