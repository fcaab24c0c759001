# ruff: noqa: F811  (the module-scoped `family` fixture is imported from test_views)
"""Trying to break the search's own SQL (portal.searchsql): every facet and pairs of facets, hostile
words, each sort with pages at the row window's edge, through the API and the page, against the
plain ORM query's answer (the real family snapshot); and the facet sample's TABLESAMPLE on
PostgreSQL over a catalog whose rows lie in the table the way a crawl writes them (CONSTRUCTED
rows, said where they are made)."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from catalog.models import HubModel, TrainingData
from licenses.models import License
from portal import facets, search, searchsql
from portal.forms import SORTS
from portal.models import SearchEntry
from tests.catalog.conftest import family  # noqa: F401 (the module's crawled fixture)
from tests.catalog.test_views import HTMX, repo_ids

pytestmark = pytest.mark.django_db


def _plain(data: dict) -> list[int]:
    """The matches in order, as the plain ORM query gives them (no window, no tiers' shortcuts)."""
    entries = search.ordered(search.apply(SearchEntry.objects.all(), data), data)
    return list(entries.values_list("model_id", flat=True))


def _counts(data: dict) -> dict[str, dict[str, int]]:
    """Each counted facet's values over the plain query's matches, as the page shows them."""
    rows = search.apply(SearchEntry.objects.all(), data)
    out = {}
    for facet in facets.COUNTED:
        counter = Counter(facet.shown(v) for v in rows.values_list(facet.column, flat=True))
        out[facet.name] = {k: n for k, n in counter.items() if k != "" and n}
    return out


def _values() -> list[tuple[str, str]]:
    """(facet, value) for every value a facet can take here: its choices, or what is stored."""
    out = []
    for facet in facets.FACETS:
        if facet.name == "usable":
            continue  # only with a profile: test_the_profile_filter_is_the_plain_query
        field = facet.field()
        choices = [c for c, _ in getattr(field, "choices", []) if c != ""]
        if not choices and not facet.column:  # a filter of its own table: its stored values
            stored = TrainingData.objects.values_list("dataset_repo_id", flat=True).distinct()
            choices = sorted(set(stored))[:3] + ["no such value"]
        elif not choices:
            stored = SearchEntry.objects.values_list(facet.column, flat=True).distinct()
            choices = sorted({v for v in stored if v}) + ["no such value"]
        out += [(facet.name, str(c)) for c in choices]
    return out


def _api(client, data: dict, **extra) -> dict:
    response = client.get("/api/v1/models", {**data, **extra})
    assert response.status_code == 200, (data, response.content[:300])
    return response.json()


def _ids(pks: list[int]) -> list[str]:
    by_pk = dict(HubModel.objects.filter(pk__in=pks).values_list("pk", "repo_id"))
    return [by_pk[p] for p in pks]


def _check(client, data: dict) -> None:
    """Count, facet counts and the first pages of the API and the page against the plain query."""
    expected = _plain(data)
    body = _api(client, data, page_size=7)
    assert body["count"] == len(expected) and not body["estimated"], data
    got = {
        name: {v["value"]: v["count"] for v in values} for name, values in body["facets"].items()
    }
    counted = data
    if not expected and (data.get("q") or "").strip():
        # Nothing matches: the facets count the filters alone (or the catalog, words alone).
        counted = {k: v for k, v in data.items() if k != "q"}
    counts = _counts(counted)
    for name, values in counts.items():
        order = facets.BY_NAME[name].order
        if order:
            items = sorted(values.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order
                           else len(order))  # fmt: skip
        else:
            items = sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))
        assert got[name] == dict(items[: search.TOP]), (data, name)
    conditions = Counter()
    for key, n in counts["license"].items():
        for code in License.codes_by_key().get(key, []):
            conditions[code] += n
    top = sorted(conditions.items(), key=lambda kv: (-kv[1], kv[0]))[: search.TOP]
    assert got["condition"] == dict(top), data
    # The answer above is page 1 (the API's page defaults to 1): asking for it again by
    # number was a quarter of this check's requests.
    assert [i["id"] for i in body["items"]] == _ids(expected[:7]), (data, 1)
    items = [i["id"] for i in _api(client, data, page_size=7, page=2)["items"]]
    assert items == _ids(expected[7:14]), (data, 2)
    html = client.get("/models/", data, headers=HTMX)
    assert html.status_code == 200, data
    assert repo_ids(html) == _ids(expected[:50]), data


@pytest.mark.parametrize("sort", list(SORTS))
def test_every_facet_value_alone_is_the_plain_query(client, family, sort):
    for name, value in _values():
        _check(client, {name: value, "sort": sort})


def test_every_pair_of_facets_is_the_plain_query(client, family):
    """Each pair of facets, with the first value of each that some model has (and the sorts)."""
    firsts = {}
    for name, value in _values():
        if name not in firsts and _plain({name: value}):
            firsts[name] = value
    for (a, va), (b, vb) in itertools.combinations(firsts.items(), 2):
        for sort in ("downloads", "modified"):
            _check(client, {a: va, b: vb, "sort": sort})


def test_the_profile_filter_is_the_plain_query(client, family):
    from tests.usage.conftest import example_profiles
    from usage import evaluate
    from usage.models import UsageProfile

    example_profiles()
    for profile in UsageProfile.objects.all():
        evaluate.evaluate(profile)
        for usable in ("true", "false"):
            for extra in ({}, {"q": "chat"}, {"relation": "quantized", "sort": "likes"}):
                _check(client, {"profile": profile.slug, "usable": usable, **extra})


HOSTILE = ["llama \"chat", "%", "_", "100%", "llama_2", "\\", "\\%", "a\\_b", "'", "''",
           "\" OR 1=1 --", "lla%ma", "7b %", "Llama-2-7b-chat-hf", "ＬＬＡＭＡ", "llamá",
           "日本語", "🦙 llama", "$1", "%s", "%(q)s", "{0}", "?", ":q"]  # fmt: skip


@pytest.mark.parametrize("q", HOSTILE)
def test_hostile_words_with_facets_are_the_plain_query(client, family, q):
    for data in ({"q": q}, {"q": q, "format": "gguf"}, {"q": q, "sort": "likes"},
                 {"q": q, "relation": "finetune", "sort": "modified"},
                 {"q": q, "condition": facets.condition_choices()[1][0]}):  # fmt: skip
        _check(client, data)


@pytest.mark.parametrize("sort", ["downloads", "likes", "modified"])
@pytest.mark.parametrize("data", [{"relation": "finetune"}, {"q": "chat"}, {"gated": "unknown"},
                                  {"format": "gguf", "q": "7b"}, {"effective": "unassessed"}])  # fmt: skip
def test_pages_at_the_windows_edge_are_the_plain_querys(family, monkeypatch, sort, data):
    """searchsql.in_window reads a page among the first `size` entries of the sort: sizes just
    around the page's end and the number of matches in the window."""
    data = {**data, "sort": sort}
    entries = search.ordered(search.apply(SearchEntry.objects.all(), data), data)
    expected = list(entries.values_list("model_id", flat=True))
    every = list(SearchEntry.objects.order_by(*entries.query.order_by).values_list("model_id",
                                                                                   flat=True))  # fmt: skip
    n = len(expected)
    for start, stop in ((0, 1), (0, n), (n - 1, n), (n, n + 1), (max(n - 3, 0), n + 3), (5, 9)):
        if start < 0:  # no caller asks for one (the page and the API start at 0)
            continue
        last = every.index(expected[stop - 1]) + 1 if 0 < stop <= n else len(every)
        for size in {1, stop, stop + 1, last - 1, last, last + 1, len(every), 20_000}:
            if size < 1:
                continue
            found = searchsql.in_window(entries, start, stop, size=size)
            if found is not None:
                assert [e.model_id for e in found] == expected[start:stop], (data, start, stop,
                                                                              size)  # fmt: skip
            monkeypatch.setattr(search, "WINDOW", size)
            page = search.page_of(entries, start, stop)
            assert [e.model_id for e in page] == expected[start:stop], (data, start, stop, size)
