"""Links to the Hub: the real Hub page for a real repo id, never the replay server the catalog was
crawled from (it serves the API, not pages: its links 404), and a page that says when the catalog
came from a replay. The CSV's URLs are the Hub's and this site's."""

from __future__ import annotations

import csv
import io

import pytest

from catalog import hublink
from catalog.models import CrawlRun, HubModel

from .conftest import ROOT

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "endpoint, replay",
    [
        ("https://huggingface.co", False),
        ("https://huggingface.co/", False),
        ("https://hf.co", False),
        ("http://127.0.0.1:8799", True),
        ("http://localhost:8765", True),
        ("http://[::1]:8765", True),
        ("http://hubreplay:8765", True),
        ("https://hub.internal.example", True),  # a mirror is not the Hub's pages either
    ],
)
def test_an_endpoint_other_than_the_hub_is_a_replay(endpoint, replay):
    assert hublink.is_replay(endpoint) is replay


@pytest.mark.parametrize("repo_id", ["org/model", "gpt2", "TheBloke/Llama-2-7B-Chat-GGUF"])
def test_a_real_repo_id_links_to_the_real_hub(repo_id):
    assert hublink.url(repo_id) == f"https://huggingface.co/{repo_id}"


@pytest.mark.parametrize(
    "repo_id", ["", "a/b/c", "org/mo del", "org/x\x00", "org/../x", "org/" + "x" * 200, "-org/x"]
)
def test_an_id_the_hub_cannot_have_gets_no_link(repo_id):
    assert hublink.url(repo_id) == ""


def test_the_model_page_links_the_real_hub_and_says_the_catalog_is_a_replay(client, family):
    html = client.get(f"/models/{ROOT}/").content.decode()
    assert family.endpoint.startswith("http://127.0.0.1")
    assert f'href="{family.endpoint}' not in html  # the replay serves no page: its links 404
    assert f'href="https://huggingface.co/{ROOT}"' in html
    assert 'id="hub-source"' in html and "replay" in html
    assert HubModel.objects.get(repo_id=ROOT).hub_url == f"https://huggingface.co/{ROOT}"


def test_a_catalog_crawled_from_the_hub_says_nothing_of_a_replay(client, family):
    CrawlRun.objects.update(endpoint="https://huggingface.co")
    html = client.get(f"/models/{ROOT}/").content.decode()
    assert f'href="https://huggingface.co/{ROOT}"' in html
    assert 'id="hub-source"' not in html


def test_the_csv_links_the_real_hub_and_this_sites_page_which_answers(client, family):
    response = client.get("/models/export.csv")
    text = b"".join(response.streaming_content).decode()
    assert family.endpoint not in text
    row = next(r for r in csv.DictReader(io.StringIO(text)) if r["repo_id"] == ROOT)
    assert row["hub_url"] == f"https://huggingface.co/{ROOT}"
    assert row["canopy_url"] == f"http://testserver/models/{ROOT}/"
    assert client.get(row["canopy_url"].removeprefix("http://testserver")).status_code == 200
