"""Trying to break the facet sample (portal.searchsql.grouping_sets, TABLESAMPLE SYSTEM (1)
REPEATABLE (0)) on PostgreSQL: the sample reads whole blocks, and a crawl writes an author's
models (a listing page, an author crawl) into neighbouring blocks, so one author's rows can fill
a sampled block or miss every one.

CONSTRUCTED catalogs: HubModel rows made here (an author's models together, other models
around them) and their search entries written by portal.searchindex.sync, as after a crawl step.
Which blocks the sample reads depends only on the block number and the seed (PostgreSQL's
tsm_system hashes the two), so the test asks PostgreSQL which, on a probe table, and places the
rows there, in a table that starts empty as a new catalog's does (TRUNCATE inside the test's
transaction, undone with it: earlier tests' rolled-back rows leave pages behind)."""

from __future__ import annotations

import itertools

import pytest
from django.db import connection

from catalog.models import HubModel
from portal import search, searchindex, searchsql

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
_names = itertools.count()


def _sampled_blocks() -> list[int]:
    """The block numbers the facet sample reads, in any table (the first 2,700)."""
    with connection.cursor() as c:
        c.execute("CREATE TEMP TABLE sample_probe (i int) WITH (fillfactor = 10)")
        c.execute("INSERT INTO sample_probe SELECT generate_series(1, 60000)")
        c.execute(
            "SELECT DISTINCT (ctid::text::point)[0]::int FROM sample_probe "
            f"TABLESAMPLE SYSTEM ({searchsql.SAMPLE_PERCENT}) REPEATABLE (0) ORDER BY 1"
        )
        blocks = [r[0] for r in c.fetchall()]
        c.execute("DROP TABLE sample_probe")
    return blocks


@pytest.fixture(autouse=True)
def _new_table(db):
    with connection.cursor() as c:
        c.execute(f"TRUNCATE {searchsql.TABLE}")


def _blocks() -> int:
    with connection.cursor() as c:
        c.execute("SELECT pg_relation_size(%s) / 8192", [searchsql.TABLE])
        return c.fetchone()[0]


def _models(author: str, n: int) -> list[int]:
    """n models of this author, written together and indexed together (one crawl step's)."""
    tag = next(_names)
    made = HubModel.objects.bulk_create(
        [HubModel(repo_id=f"{author}/model-{tag}-{i}", author=author, downloads=i,
                  base_relation="finetune", pipeline_tag="text-generation")
         for i in range(n)],
        batch_size=5000,
    )  # fmt: skip
    ids = [m.pk for m in made]
    searchindex.sync(ids)
    return ids


def _fill_to(block: int) -> None:
    """Other authors' models until the entries' last block is `block - 1`."""
    while (have := _blocks()) < block:
        _models(f"other{next(_names)}", 50 * (block - have - 2) if block - have > 3 else 10)


def _in_sample(author: str) -> int:
    with connection.cursor() as c:
        c.execute(
            f"SELECT count(*) FROM {searchsql.TABLE} TABLESAMPLE SYSTEM "
            f"({searchsql.SAMPLE_PERCENT}) REPEATABLE (0) WHERE author = %s",
            [author],
        )
        return c.fetchone()[0]


def test_an_authors_300_models_in_a_sampled_block_are_not_counted_as_thousands(client):
    """An author's 300 models, written together, fill a block the sample reads: it sees some 70
    of them, more than EXACT_LIMIT / 100, so facet_counts takes the sample's figures times 100
    without the exact count (which it only asks when the sample sees few). The API and the page
    say "about 5,800" for 300 models, and the page offers 116 pages, 110 of them empty."""
    sampled = _sampled_blocks()
    target = next(b for b in sampled if b >= _blocks() + 2)
    _fill_to(target - 1)
    _models("solo", 300)
    assert _in_sample("solo") > search.EXACT_LIMIT * searchsql.SAMPLE_PERCENT / 100  # placed
    _models("after", 200)  # the crawl goes on

    body = client.get("/api/v1/models", {"author": "solo", "page_size": 1}).json()
    assert HubModel.objects.filter(author="solo").count() == 300
    assert (body["count"], body["estimated"]) == (300, False), body["count"]
    html = client.get("/models/", {"author": "solo"}).content.decode()
    assert '<span class="count">300 of' in html


def test_an_authors_5200_models_the_sample_misses_keep_their_facets(client):
    """An author's 5,200 models (more than EXACT_LIMIT) fill blocks the sample does not read:
    the sample sees none, the exact count stops past EXACT_LIMIT, and facet_counts then keeps
    the sample's figures after all, which are empty. The page for the author shows no facet at
    all, not even its own author, for 5,200 models that all share author, task and relation."""
    sampled = [-1, *_sampled_blocks()]
    have = _blocks()
    start = next(a for a, b in itertools.pairwise(sampled) if a + 1 >= have and b - a > 90)
    _fill_to(start + 1)
    _models("big", 5200)
    assert _in_sample("big") == 0  # placed
    _fill_to(_blocks() + 120)  # other authors after them, some in sampled blocks

    body = client.get("/api/v1/models", {"author": "big", "page_size": 1}).json()
    assert body["estimated"] and body["count"] > search.EXACT_LIMIT
    got = {
        name: {v["value"]: v["count"] for v in values} for name, values in body["facets"].items()
    }
    assert got["author"], "the author's own facet is empty"
    assert got["task"].get("text-generation", 0) > search.EXACT_LIMIT / 2, got["task"]
