"""Usage-profile evaluation over a whole assessed catalog (the 760,000-model list).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/canopy_bench \\
        .venv/bin/python benchmarks/profile_bench.py [--rounds 3]

Needs a catalog whose licenses are assessed (crawl_bench.py then search_bench.py --refresh, as
`make bench` runs them). For each example profile, and a third constructed here (a mid-size
SaaS company, named as constructed), it evaluates the profile over every model three ways: with
nothing stored (every verdict new), again (nothing changed: nothing may be written), and after
an edit that moves some verdicts. Each is printed with the floor measured in the same run: one
SQL statement that reads the same columns for every model and writes one row per model
(INSERT ... SELECT into a scratch table), which no evaluation can beat. Then, per profile, how
many of the catalog's `conditional` models (effective verdict) it can use.
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

CONSTRUCTED = {  # not real: a profile a company might write, to show a third answer
    "slug": "bench-saas-us", "name": "Constructed: US SaaS, 5M users", "mau": 5_000_000,
    "revenue_usd": 20_000_000, "deployments": ["hosted"], "based_in": ["US"],
    "offered_in": ["WORLD"], "trains_on_outputs": False, "publishes_derivatives": False,
    "description": "Constructed by benchmarks/profile_bench.py (not an example of the product).",
}  # fmt: skip


def floor() -> float:
    """One statement reading the evaluation's columns for every model and writing a row per
    model: the least a whole-catalog pass that writes everything costs."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE bench_floor (model_id bigint, verdict varchar(8))")
        start = time.perf_counter()
        cursor.execute(
            "INSERT INTO bench_floor SELECT m.id, CASE WHEN l.declared = '' THEN 'review' "
            "ELSE 'usable' END FROM catalog_hubmodel m "
            "LEFT JOIN licenses_modellicense l ON l.model_id = m.id"
        )
        took = time.perf_counter() - start
        cursor.execute("DROP TABLE bench_floor")
    return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        os.environ["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/canopy_bench"
        print(f"DATABASE_URL is not PostgreSQL: using {os.environ['DATABASE_URL']}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_DEBUG", "0")
    os.environ.setdefault("DJANGO_SECRET_KEY", "profile-bench-" + "".join(map(chr, range(65, 123))))
    import django

    django.setup()
    from django.core.management import call_command

    from catalog.models import HubModel
    from licenses.models import ModelLicense
    from usage import evaluate
    from usage.models import ProfileVerdict, UsageProfile

    call_command("migrate", verbosity=0)
    n, assessed = HubModel.objects.count(), ModelLicense.objects.count()
    print(f"catalog: {n:,} models, {assessed:,} assessed")
    if not assessed:
        print("no license is assessed: run search_bench.py --refresh (or make bench) first")
        return
    UsageProfile.objects.update_or_create(slug=CONSTRUCTED["slug"], defaults=CONSTRUCTED)
    floors = [floor() for _ in range(args.rounds)]
    f = statistics.median(floors)
    print(f"floor (INSERT ... SELECT of one row per model): {min(floors):.1f}-{max(floors):.1f} s")

    for profile in UsageProfile.objects.order_by("slug"):
        firsts, agains, edits = [], [], []
        for _ in range(args.rounds):
            ProfileVerdict.objects.filter(profile=profile).delete()
            start = time.perf_counter()
            c = evaluate.evaluate(profile)
            firsts.append(time.perf_counter() - start)
            start = time.perf_counter()
            same = evaluate.evaluate(profile)
            agains.append(time.perf_counter() - start)
            assert same.inserted == same.updated == 0, same
            old = profile.trains_on_outputs
            profile.trains_on_outputs = not old
            profile.save()
            start = time.perf_counter()
            moved = evaluate.evaluate(profile)
            edits.append(time.perf_counter() - start)
            profile.trains_on_outputs = old
            profile.save()
            evaluate.evaluate(profile)
        print(f"{profile.slug}: first {min(firsts):.1f}-{max(firsts):.1f} s "
              f"({statistics.median(firsts) / f:.1f}x the floor; {c.inserted:,} verdicts, "
              f"{c.distinct_inputs:,} distinct inputs); unchanged {min(agains):.1f}-"
              f"{max(agains):.1f} s, 0 written; outputs-training flipped {min(edits):.1f}-"
              f"{max(edits):.1f} s, {moved.updated:,} changed")  # fmt: skip
    for row in evaluate.conditional_figure():
        print(f"conditional models usable for {row['profile'].slug}: {row['usable']:,} of "
              f"{row['total']:,} ({row['pct']}%), review {row['review']:,}, blocked "
              f"{row['blocked']:,}")  # fmt: skip
    # What autovacuum does minutes after a bulk write: the search bench's profile filters and
    # the family page then meet fresh statistics (stale ones seq-scanned 2.3M verdicts).
    from django.db import connection

    connection.ensure_connection()
    connection.connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE usage_profileverdict")


if __name__ == "__main__":
    main()
