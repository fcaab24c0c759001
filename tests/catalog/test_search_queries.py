"""Search finds what people type: words matched one by one against the repo id's tokens (or the
card summary), ranked exact id first, over the bundled real snapshot (tests/catalog/
search_queries.tsv), through the page and the JSON API alike."""

import csv
import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from django.db import connection, transaction
from django.test import override_settings

from catalog import crawler, runs
from catalog.hub import Hub
from catalog.models import CrawlRun
from tests.catalog.test_views import HTMX, repo_ids
from tests.conftest import DEMO

pytestmark = pytest.mark.django_db

TABLE = Path(__file__).with_name("search_queries.tsv")


def queries() -> list[tuple[str, list[str]]]:
    with TABLE.open() as f:
        rows = csv.DictReader((line for line in f if not line.startswith("#")), delimiter="\t")
        return [(r["query"], [i.strip() for i in r["first"].split("|")]) for r in rows]


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker, replay_index):
    """The bundled snapshot (2025 records over 2024's: 7,039 real repos) listed into the catalog
    once for the module, in a transaction rolled back after it. Listing only: the ids, authors
    and downloads are what search ranks on."""
    from hubreplay import ReplayServer

    layers = [[str(DEMO / "demo-2024.jsonl.gz"), str(DEMO / "demo-2025.jsonl.gz")]]
    server = ReplayServer(layers, index_dir=replay_index).start()
    with django_db_blocker.unblock(), transaction.atomic():
        try:
            with override_settings(CANOPY_HUB_API_BUDGET=10**6, CANOPY_DETAILS_PER_RUN=0,
                                   CANOPY_ASSESS_ON_CRAWL=False):  # fmt: skip
                run, _ = runs.start(CrawlRun.Kind.FULL, endpoint=server.url, limit=0)
                run = crawler.run_sync(run, hub=Hub(endpoint=server.url, token=""))
        finally:
            server.stop()
        assert run.status == CrawlRun.Status.DONE and run.listed > 7000
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE catalog_searchentry")
        yield run
        transaction.set_rollback(True)


def test_the_table_holds_thirty_real_queries():
    assert len(queries()) >= 30


@pytest.mark.parametrize(("q", "first"), queries(), ids=[q for q, _ in queries()])
def test_the_models_people_mean_come_first(client, demo, q, first):
    q = q.replace("+", " ")
    page = repo_ids(client.get("/models/", {"q": q}, headers=HTMX))
    assert sorted(page[: len(first)]) == sorted(first), page[:8]
    api = client.get("/api/v1/models", {"q": q, "page_size": 50}).json()
    assert [i["id"] for i in api["items"]] == page  # the same results in the same order


def test_every_word_must_match(client, demo):
    ids = repo_ids(client.get("/models/", {"q": "mistral 7b instruct"}, headers=HTMX))
    assert len(ids) == 50
    for i in ids:
        low = i.lower()
        assert "mistral" in low and "7b" in low and "instruct" in low, i


def test_a_size_matches_whole_numbers(client, demo):
    # "7b" is the tokens 7 and b: 17b or 70b repos do not match it.
    ids = repo_ids(client.get("/models/", {"q": "llama 7b"}, headers=HTMX))
    assert ids and not [i for i in ids if "70b" in i.lower() or "17b" in i.lower()]


def test_llama_ranks_llama_models_before_llamafile_repos(client, demo):
    ids = repo_ids(client.get("/models/", {"q": "llama"}, headers=HTMX))
    assert "meta-llama/Meta-Llama-3-8B-Instruct" in ids[:10]
    assert not [i for i in ids[:30] if "llamafile" in i], ids[:30]
    # Still found: "llama" starts the token llamafile.
    all_ids = [i["id"] for i in client.get("/api/v1/models", {"q": "llamafile"}).json()["items"]]
    assert "Mozilla/Mixtral-8x7B-Instruct-v0.1-llamafile" in all_ids


def test_a_quoted_phrase_matches_as_a_phrase(client, demo):
    loose = repo_ids(client.get("/models/", {"q": "llama 2"}, headers=HTMX))
    phrase = repo_ids(client.get("/models/", {"q": '"llama 2"'}, headers=HTMX))
    # Llama-2, Llama_2 and Llama2 alike: digits and letters are words of their own.
    assert phrase and all(re.search(r"llama[-_.]?2(?![0-9])", i.lower()) for i in phrase), phrase
    # Unquoted, the words may stand apart (Llama-3 ... v0.2), ranked after those that run together.
    count = {
        q: client.get("/api/v1/models", {"q": q}).json()["count"] for q in ("llama 2", '"llama 2"')
    }
    assert count["llama 2"] > count['"llama 2"'] > 0
    assert loose[:10] == phrase[:10]


def test_the_empty_page_keeps_the_facets_and_suggests_queries_that_match(client, demo):
    params = {"q": "mistral 7b instruct zzzqx", "format": "gguf"}
    html = client.get("/models/", params).content.decode()
    assert "No model matches" in html
    # The chosen filter stays on the page, with a link that removes it.
    assert 'data-facet="format"' in html and "✕ gguf" in html
    # Dropping the word that matches nothing gives results: suggested as a link.
    assert 'class="suggestions"' in html
    assert "?q=mistral+7b+instruct&amp;format=gguf" in html
    suggested = client.get("/models/", {"q": "mistral 7b instruct", "format": "gguf"},
                           headers=HTMX)  # fmt: skip
    assert repo_ids(suggested)


def test_words_that_find_nothing_alone_are_dropped_together(client, demo):
    body = client.get("/api/v1/models", {"q": "llama 2 7b chat awq zzzqx", "format": "gguf"})
    suggested = {(s["query"], s["dropped"]) for s in body.json()["suggestions"]}
    assert ("llama 2 7b chat", "“awq” “zzzqx”") in suggested


def test_the_api_suggests_the_same_queries_when_nothing_matches(client, demo):
    params = {"q": "mistral 7b instruct zzzqx", "format": "gguf"}
    body = client.get("/api/v1/models", params).json()
    assert body["count"] == 0 and body["items"] == []
    queries = [s["query"] for s in body["suggestions"]]
    assert {"q": ["mistral 7b instruct"], "format": ["gguf"]} in [
        parse_qs(urlparse(s["url"]).query) for s in body["suggestions"]
    ]
    assert all(s["count"] > 0 for s in body["suggestions"]) and queries
    html = client.get("/models/", params).content.decode()
    for s in body["suggestions"]:
        assert s["query"] in html


def test_a_result_carries_no_suggestions(client, demo):
    body = client.get("/api/v1/models", {"q": "mistral 7b instruct"}).json()
    assert body["count"] > 0 and body["suggestions"] == []


@pytest.mark.parametrize("path", ["/models/", "/api/v1/models"])
def test_too_many_words_are_refused_and_the_bound_said(client, demo, path):
    response = client.get(path, {"q": " ".join(["7b"] * 40)})  # within the 200 characters
    assert response.status_code in (400, 422)
    assert "at most 12 words" in response.content.decode()


@pytest.mark.parametrize("q", ['"', '"""', "- / _ .", "%", "_", "日本語", '"unclosed phrase'])
def test_odd_queries_answer(client, demo, q):
    assert client.get("/models/", {"q": q}).status_code == 200
    assert client.get("/api/v1/models", {"q": q}).status_code == 200


def test_the_database_cuts_ids_into_words_as_python_does(demo):
    """SearchEntry.words is written by canopy_words() in SQL (a regexp on PostgreSQL): it must
    agree with portal.searchwords.words, which cuts the queries, on every real id."""
    from portal.models import SearchEntry
    from portal.searchwords import words

    rows = list(SearchEntry.objects.values_list("repo_id", "words"))
    assert len(rows) > 7000
    assert [(r, w) for r, w in rows if w != words(r)] == []
    assert words("TheBloke/Mistral-7B-Instruct-v0.1-GGUF") == (
        " thebloke / mistral 7 b instruct v 0 1 gguf "
    )
    assert words("x/Q4_K_M") == " x / q 4 k m "
