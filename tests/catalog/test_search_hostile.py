"""A hostile record is still searchable: tests/fixtures/hostile.jsonl.gz (real records, one
constructed value in some: NUL bytes, lone surrogates, a 300-character id, megabyte cards and
fields) crawled through hubreplay with the real client, then searched for."""

import re

import pytest

from catalog import crawler, runs
from catalog.models import CrawlRun, HubModel, ModelFile
from tests.catalog.test_views import HTMX, repo_ids

pytestmark = pytest.mark.django_db


def test_every_hostile_record_stored_is_found_by_its_id(client, replay, hub_for):
    """Whatever was stored is found by its exact id, first, on the page and through the API,
    by the last words of its id, and by a word of its card's summary."""
    server = replay(["hostile.jsonl.gz"], ["hostile-repaired.jsonl.gz"])
    run, _ = runs.start(CrawlRun.Kind.FULL, endpoint=server.url, limit=0)
    run = crawler.run_sync(run, hub=hub_for(server))
    assert run.status == CrawlRun.Status.DONE
    stored = list(HubModel.objects.values_list("repo_id", "summary"))
    assert len(stored) > 30
    # The crawl read cards: each is the summary the search looks in, without a refresh_catalog.
    cards = set(ModelFile.objects.filter(path="README.md").values_list("model__repo_id", flat=True))
    assert len(cards) > 20
    assert [r for r, s in stored if r in cards and not s] == []
    for repo_id, summary in stored:
        assert "\x00" not in repo_id + summary
        assert repo_ids(client.get("/models/", {"q": repo_id}, headers=HTMX))[:1] == [repo_id], (
            repo_id
        )
        assert client.get("/api/v1/models", {"q": repo_id}).json()["items"][0]["id"] == repo_id
        words = " ".join(re.findall(r"[A-Za-z]+|[0-9]+", repo_id)[-3:])
        assert repo_id in ids(client, words), (repo_id, words)
        plain = [w for w in summary.split() if re.fullmatch("[A-Za-z]{5,}", w)]
        if plain:
            assert repo_id in ids(client, f"{words} {plain[-1]}"), (repo_id, plain[-1])


def ids(client, q: str) -> list[str]:
    out, page = [], 1
    while True:
        body = client.get("/api/v1/models", {"q": q, "page_size": 200, "page": page}).json()
        out += [i["id"] for i in body["items"]]
        if not body["next"]:
            return out
        page += 1
