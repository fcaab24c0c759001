"""CSV of the catalog view: the page's query, filters and order, streamed, in a few queries."""

import csv
import io
import re

import pytest
from django.http import StreamingHttpResponse

from catalog.models import HubModel
from licenses import assessment
from licenses.models import ModelLicense
from tests.catalog.conftest import ROOT

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def read(response) -> list[dict[str, str]]:
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def page_ids(response) -> list[str]:
    results = response.content.decode().split('id="results"', 1)[1]
    return re.findall(r'<td><a href="/models/([^"]+)/">', results)


@pytest.fixture
def assessed(family):
    """The family's license results: the crawl (run_sync) assessed them; a whole pass agrees."""
    assert assessment.assess_all().changed == []


def test_the_export_is_a_streamed_csv_attachment_with_a_header(client, family):
    response = client.get("/models/export.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert re.fullmatch(
        r'attachment; filename="canopy-models-\d{4}-\d{2}-\d{2}\.csv"',
        response["Content-Disposition"],
    )
    text = b"".join(response.streaming_content).decode()
    assert text.splitlines()[0] == (
        "repo_id,author,base_relation,base_parent,base_family,declared_license,own_verdict,"
        "effective_verdict,conflict,lineage_status,condition_codes,weights_format,quant,quant_guess,"
        "params_estimate,params_guess,memory_gb,memory_guess,downloads,likes,gated,last_modified,hub_url,canopy_url"
    )
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 150  # every match, not a page of 50
    root = next(r for r in rows if r["repo_id"] == ROOT)
    model = HubModel.objects.get(repo_id=ROOT)
    assert root["author"] == "meta-llama" and root["base_relation"] == "base"
    assert int(root["downloads"]) == model.downloads
    assert root["hub_url"] == model.hub_url
    assert root["last_modified"] == model.last_modified.isoformat()
    # Assessed by the crawl itself (run_sync does what a worker would).
    assert (root["declared_license"], root["own_verdict"]) == ("llama2", "conditional")
    assert (root["effective_verdict"], root["conflict"]) == ("conditional", "no")


def test_the_export_honours_the_filters(client, family):
    rows = read(client.get("/models/export.csv", {"relation": "quantized", "format": "gguf"}))
    expected = HubModel.objects.filter(base_relation="quantized", weights_format="gguf")
    assert rows and {r["repo_id"] for r in rows} == set(expected.values_list("repo_id", flat=True))
    assert {(r["base_relation"], r["weights_format"]) for r in rows} == {("quantized", "gguf")}

    rows = read(client.get("/models/export.csv", {"q": "gguf", "memory": "6"}))
    assert rows and all("gguf" in r["repo_id"].lower() for r in rows)
    assert all(float(r["memory_gb"]) <= 6 for r in rows)


def test_the_export_has_the_pages_rows_in_the_pages_order(client, family):
    query = {"q": "llama", "relation": "finetune", "sort": "likes"}
    shown = page_ids(client.get("/models/", query, headers=HTMX))
    rows = read(client.get("/models/export.csv", query))
    assert shown and [r["repo_id"] for r in rows][: len(shown)] == shown
    likes = [int(r["likes"]) for r in rows]
    assert likes == sorted(likes, reverse=True)


def test_the_export_carries_the_license_results(client, assessed):
    rows = read(client.get("/models/export.csv", {"effective": "conditional"}))
    states = {
        s.model.repo_id: s
        for s in ModelLicense.objects.filter(effective="conditional").select_related("model")
    }
    assert rows and {r["repo_id"] for r in rows} == set(states)
    root = next(r for r in rows if r["repo_id"] == ROOT)
    assert (root["declared_license"], root["own_verdict"], root["effective_verdict"]) == (
        "llama2",
        "conditional",
        "conditional",
    )
    assert root["conflict"] == "no"
    assert "mau_700m" in root["condition_codes"].split("; ")  # the 700M monthly users clause
    conflicted = read(client.get("/models/export.csv", {"conflict": "yes"}))
    assert conflicted and {r["conflict"] for r in conflicted} == {"yes"}


def test_the_export_makes_a_bounded_number_of_queries(
    client, assessed, django_assert_max_num_queries
):
    # The license table, then one query over the matches however many there are.
    with django_assert_max_num_queries(2):
        rows = read(client.get("/models/export.csv", {"q": "llama", "sort": "modified"}))
    assert len(rows) > 50


def test_a_bad_parameter_is_refused_not_exported_as_the_whole_catalog(client, family):
    response = client.get("/models/export.csv", {"relation": "cousin"})
    assert response.status_code == 400 and b"relation" in response.content


def test_the_page_links_the_export_of_its_query(client, family):
    html = client.get("/models/", {"relation": "adapter", "sort": "name"}).content.decode()
    assert 'href="/models/export.csv?relation=adapter&amp;sort=name"' in html
    fragment = client.get("/models/", {"q": "gguf"}, headers=HTMX).content.decode()
    assert 'href="/models/export.csv?q=gguf"' in fragment
    assert 'href="/models/export.csv"' in client.get("/models/").content.decode()


def test_the_export_needs_a_login_when_the_catalog_does(
    client, family, settings, django_user_model
):
    settings.CANOPY_LOGIN_REQUIRED = True
    response = client.get("/models/export.csv", {"relation": "adapter"})
    assert response.status_code == 302 and "/approvals/login/" in response["Location"]
    client.force_login(django_user_model.objects.create_user("reader", password="x"))
    assert client.get("/models/export.csv", {"relation": "adapter"}).status_code == 200
