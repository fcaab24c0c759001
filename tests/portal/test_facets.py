"""Each facet is declared once (portal.facets) and everything else reads the declaration: the
form, the API's parameters and schema, the search table's columns, the counts and the page."""

from __future__ import annotations

import html
import re

import pytest

from portal import facets, searchindex
from portal.api import SearchParams
from portal.forms import ModelSearchForm
from portal.models import SearchEntry
from tests.catalog.conftest import family  # noqa: F401 (the module's crawled fixture)

NAMES = [f.name for f in facets.FACETS]
ITEM = re.compile(r'<a href="\?([^"]+)".*?</a> <small>([\d,]+)</small>')


def test_every_facet_is_a_form_field_an_api_parameter_and_a_search_column():
    assert [n for n in ModelSearchForm.base_fields if n in NAMES] == NAMES
    assert set(NAMES) <= set(SearchParams.model_fields)
    columns = {f.name for f in SearchEntry._meta.get_fields()}
    for f in facets.FACETS:
        if f.column:
            assert f.column in columns and searchindex.COLUMNS[f.column] == f.source, f.name


@pytest.mark.django_db
def test_the_schema_lists_each_facet_with_what_its_field_accepts(client):
    schema = client.get("/api/v1/openapi.json").json()
    params = {
        p["name"]: p["schema"] for p in schema["paths"]["/api/v1/models"]["get"]["parameters"]
    }
    for f in facets.FACETS:
        field = ModelSearchForm.base_fields[f.name]
        if hasattr(field, "choices"):
            assert params[f.name]["enum"] == [str(v) for v, _ in field.choices], f.name
        else:
            assert params[f.name]["maxLength"] == field.max_length, f.name


@pytest.mark.django_db
def test_the_page_heads_and_counts_the_facets_in_their_page_order(client, family):  # noqa: F811
    page = client.get("/models/")
    shown = [g["name"] for g in page.context["facets"]]
    page_order = [f.name for f in facets.ON_PAGE]
    assert sorted(page_order) == sorted(NAMES)  # every facet has its place on the page
    assert shown == [n for n in page_order if n in shown] and {"effective", "relation"} <= set(
        shown
    )
    labels = {g["name"]: g["label"] for g in page.context["facets"]}
    assert all(labels[n] == facets.BY_NAME[n].label for n in shown)
    # The first value of each facet, chosen, finds as many models as it was counted.
    for group in page.context["facets"]:
        if group["name"] == "usable":
            continue  # not counted: each profile's links (a count per profile is a join each)
        query, n = ITEM.search(str(group["items"])).groups()
        chosen = client.get("/models/?" + html.unescape(query))
        assert chosen.context["page"].paginator.count == int(n.replace(",", "")), group["name"]
