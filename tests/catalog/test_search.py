# ruff: noqa: F811  (the module-scoped `family` fixture is imported from test_views)
"""Search: facets with counts that follow the filters, the same search in the JSON API."""

import re

import pytest

from catalog.models import HubModel
from tests.catalog.conftest import ROOT
from tests.catalog.test_views import HTMX, repo_ids

pytestmark = pytest.mark.django_db


def facet(html: str, name: str) -> dict[str, int]:
    """{value: count} of one facet's links in the page."""
    found = re.findall(
        rf'data-facet="{name}"[^>]*>(?:✕ )?([^<]+)</a> <small>([\d,]+)</small>', html
    )
    return {v: int(n.replace(",", "")) for v, n in found}


def test_the_facets_count_the_whole_catalog(client, family):
    html = client.get("/models/").content.decode()
    relation = facet(html, "relation")
    assert sum(relation.values()) == 150
    assert relation["quantized"] == HubModel.objects.filter(base_relation="quantized").count()
    assert relation["base"] == 1  # the root; every other model of the fixture derives from it
    # Merges sit in the family of their first parent: most of the fixture is in the root's.
    assert facet(html, "base")[ROOT] == HubModel.objects.filter(base_family=ROOT).count()
    assert facet(html, "base")[ROOT] >= 140
    assert set(facet(html, "format")) <= {"safetensors", "gguf", "pickle-only", "other"}


def test_choosing_a_facet_filters_and_recounts(client, family):
    response = client.get("/models/", {"relation": "quantized"}, headers=HTMX)
    html = response.content.decode()
    n = HubModel.objects.filter(base_relation="quantized").count()
    assert f"{n} of 150 models" in html
    assert facet(html, "relation") == {"quantized": n}
    # The chosen value links back to the unfiltered list; the state rides in a hidden input.
    assert 'class="on" aria-current="true"' in html
    assert '<input type="hidden" form="search" name="relation" value="quantized">' in html


def test_facets_combine_with_text(client, family):
    response = client.get("/models/", {"q": "gguf", "format": "gguf"}, headers=HTMX)
    ids = repo_ids(response)
    assert ids and all("gguf" in i.lower() for i in ids)
    assert all(m.weights_format == "gguf" for m in HubModel.objects.filter(repo_id__in=ids))


def test_the_memory_filter_keeps_what_fits(client, family):
    response = client.get("/models/", {"memory": "6"}, headers=HTMX)
    ids = repo_ids(response)
    assert ids
    assert all(m.memory_gb <= 6 for m in HubModel.objects.filter(repo_id__in=ids))
    assert ROOT not in ids  # 6.7B parameters in 16-bit need about 16 GB


def test_the_model_list_makes_a_bounded_number_of_queries(
    client, family, django_assert_max_num_queries
):
    # Cold cache included (the catalog's total is computed once, then cached).
    with django_assert_max_num_queries(8):
        client.get("/models/", {"q": "llama", "relation": "finetune", "sort": "likes"})


def test_the_api_answers_items_count_next_and_facets(client, family):
    body = client.get("/api/v1/models", {"relation": "adapter"}).json()
    n = HubModel.objects.filter(base_relation="adapter").count()
    assert body["count"] == n and len(body["items"]) == n
    assert body["facets"]["relation"] == [{"value": "adapter", "count": n}]
    assert all(i["base_relation"] == "adapter" for i in body["items"])
    assert {"verdict", "effective", "license", "condition", "conflict", "base", "author", "task",
            "library", "format", "gated", "params"} <= set(body["facets"])  # fmt: skip


def test_the_api_refuses_an_unknown_facet_value(client, family):
    response = client.get("/api/v1/models", {"relation": "cousin"})
    assert response.status_code == 422 and "relation" in response.json()["detail"]


@pytest.mark.parametrize("broad", [False, True])
@pytest.mark.parametrize("popular", [0, 100, 10**9])
@pytest.mark.parametrize("window", [20, 10_000])
def test_a_page_found_in_the_sort_window_is_the_page(family, monkeypatch, window, popular, broad):
    """PostgreSQL looks for a filtered page among the first `window` entries of its sort order
    first, and a ranked page a tier at a time among the popular rows (a tier that asks more
    downloads than that, such as the words in order, is whole there and the next tier follows):
    whether it finds it there (a wide window, every row popular) or falls back (a narrow one,
    no row popular), the page is the one the plain query gives."""
    from portal import search
    from portal.models import SearchEntry

    monkeypatch.setattr(search, "WINDOW", window)
    monkeypatch.setattr(search, "TIER_WINDOW", window)
    monkeypatch.setattr(search, "POPULAR", popular)
    # Ranked searches ("best match", the default with words) are read a tier at a time.
    for data in ({"relation": "quantized"}, {"q": "llama"}, {"q": "7b", "sort": "likes"},
                 {"q": "llama 2 7b chat"}, {"q": "llama 2"}, {"q": "llama chat"}, {"q": ROOT}, {"q": "Llama-2-7b-chat-hf"},
                 {"format": "gguf", "sort": "modified"}, {"condition": "no-such-code"}):  # fmt: skip
        entries = search.ordered(search.apply(SearchEntry.objects.all(), data), data)
        for start, stop in ((0, 10), (10, 20), (5, 6)):
            expected = list(entries.values_list("model_id", flat=True)[start:stop])
            page = search.page_of(entries, start, stop, data.get("q", ""), broad=broad)
            assert [e.model_id for e in page] == expected, data
