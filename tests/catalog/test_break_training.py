"""Breaking the crawler's training data (catalog.datasets, the DATASETS phase of catalog.steps).

Records written here are CONSTRUCTED (ids under `constructed/`); the crawls replay the real
tests/fixtures/training*.jsonl.gz through hubreplay."""

from __future__ import annotations

import time
import types

import huggingface_hub
import huggingface_hub.file_download
import huggingface_hub.utils._http
import pytest

from catalog import crawler, datasets, hub, ingest, runs
from catalog.models import CrawlRun, HubDataset, HubModel, TrainingData
from tests.conftest import FIXTURES


def _model(repo_id, card, tags=(), **extra):
    return {"id": repo_id, "_id": "h" + str(abs(hash(repo_id))), "author": "constructed",
            "tags": list(tags), "cardData": card, "sha": "s" * 40, "downloads": 1,
            **extra}  # fmt: skip


@pytest.mark.django_db
def test_break_a_dataset_back_on_the_hub_is_found_again():
    # CONSTRUCTED: a dataset the Hub answered 404 for once (made private for a day, say), then
    # listed again with the very same record: it must read as found.
    record = {"id": "constructed/flaky", "tags": ["license:mit"], "downloads": 3}
    datasets.store([record])
    datasets.not_found(["constructed/flaky"])
    assert not HubDataset.objects.get(repo_id="constructed/flaky").found
    datasets.store([dict(record)])
    assert HubDataset.objects.get(repo_id="constructed/flaky").found


@pytest.mark.django_db
def test_break_models_stored_before_training_data_get_their_links():
    # A catalog crawled before migration 0018 has models and no TrainingData rows (the
    # migration backfills none). Simulated: the links of an already-stored model removed.
    rec = _model("constructed/old-model", {"datasets": ["constructed/d1"]},
                 tags=["dataset:constructed/d1"])  # fmt: skip
    ingest.ingest([rec])
    TrainingData.objects.all().delete()  # as the catalog was before 0018
    # Migration 0019 reads the stored models' declared datasets (an unchanged record is never
    # written again by a crawl, so ingest alone would not).
    import importlib

    from django.apps import apps

    importlib.import_module("catalog.migrations.0019_backfill_training_data").backfill(apps, None)
    assert list(TrainingData.objects.values_list("dataset_repo_id", flat=True)) == [
        "constructed/d1"
    ]


@pytest.mark.django_db
def test_break_hostile_declared_datasets_through_ingest():
    card = {
        "datasets": [
            "constructed/nul\x00byte", "constructed/lone\ud800surrogate", 7, None, {"a": 1},
            ["nested"], "constructed/" + "x" * 188, "constructed/" + "y" * 189,
            " constructed/ws ", "constructed/ws", "\tconstructed/ws\n", "CONSTRUCTED/WS",
            "https://example.org/data.csv", "constructed/../up", "a/b/c", "",
            *[f"constructed/many-{i}" for i in range(5000)],
        ]
    }  # fmt: skip
    tags = ["dataset:constructed/nul\x00tag", "dataset:", "dataset: ", 5]
    counts = ingest.ingest([_model("constructed/hostile-card", card, tags=tags)])
    assert not counts.rejected, counts.rejected
    names = list(
        TrainingData.objects.filter(model__repo_id="constructed/hostile-card").values_list(
            "dataset_repo_id", flat=True
        )
    )
    assert len(names) <= datasets.MAX_DECLARED
    assert all(n and len(n) <= 200 and "\x00" not in n for n in names)
    assert all(not any(0xD800 <= ord(c) <= 0xDFFF for c in n) for n in names)
    assert names.count("constructed/ws") == 1
    assert "constructed/" + "x" * 188 in names and "constructed/" + "y" * 189 not in names
    # What the DATASETS phase would ask for: only ids the Hub can have.
    asked = [d for d in datasets.wanted(limit=10_000) if datasets.fetchable(d)]
    assert "constructed/../up" not in asked and "https://example.org/data.csv" not in asked
    datasets.not_found([d for d in datasets.wanted(limit=10_000) if not datasets.fetchable(d)])


@pytest.fixture
def no_backoff(monkeypatch):
    fast = types.SimpleNamespace(**{k: getattr(time, k) for k in dir(time) if k[0] != "_"})
    fast.sleep = lambda seconds: None
    monkeypatch.setattr(huggingface_hub.utils._http, "time", fast)
    monkeypatch.setattr(huggingface_hub.file_download, "time", fast)
    monkeypatch.setattr(hub, "time", fast)


def _datasets_state():
    return {
        (r, f, tuple(t), h)
        for r, f, t, h in HubDataset.objects.values_list("repo_id", "found", "tags", "record_hash")
    }


@pytest.mark.django_db(transaction=True)
def test_break_faults_in_the_datasets_phase_change_nothing(replay, hub_for, no_backoff):
    sets = [str(FIXTURES / "training-datasets.jsonl.gz")]
    clean = replay(["training.jsonl.gz"], datasets=sets)
    run, _ = runs.start(CrawlRun.Kind.FULL, endpoint=clean.url, limit=0)
    run = crawler.run_sync(run, hub=hub_for(clean))
    expected = _datasets_state()
    links = TrainingData.objects.count()
    assert run.status == CrawlRun.Status.DONE and expected
    HubDataset.objects.all().delete()
    HubModel.objects.all().delete()

    server = replay(["training.jsonl.gz"], datasets=sets)
    server.set_faults(rate=0.3, seed=7, kinds=["500", "502", "503", "reset", "truncate"])
    run, _ = runs.start(CrawlRun.Kind.FULL, endpoint=server.url, limit=0)
    for _ in range(30):  # a run the faults stop is resumed, as the worker would
        run = crawler.run_sync(run, hub=hub_for(server))
        if run.status == CrawlRun.Status.DONE:
            break
        run, _ = runs.start(CrawlRun.Kind.FULL, endpoint=server.url, limit=0)
    server.set_faults(every=None)
    assert run.status == CrawlRun.Status.DONE
    assert TrainingData.objects.count() == links
    assert _datasets_state() == expected


class _RenamingHub(hub.Hub):
    """dataset_info answers every id with another dataset's record (a rename on the Hub)."""

    def dataset_info(self, repo_id):
        item = super().dataset_info(repo_id)
        return {**item, "id": "constructed/renamed-" + repo_id.replace("/", "-")}

    def dataset_page(self, url):
        page = super().dataset_page(url)
        return hub.Page(items=[], next_url=page.next_url)  # the listing gives nothing


@pytest.mark.django_db(transaction=True)
def test_break_a_renamed_dataset_is_kept_under_the_declared_id(replay):
    sets = [str(FIXTURES / "training-datasets.jsonl.gz")]
    server = replay(["training.jsonl.gz"], datasets=sets)
    run, _ = runs.start(CrawlRun.Kind.FULL, endpoint=server.url, limit=0)
    run = crawler.run_sync(run, hub=_RenamingHub(endpoint=server.url, token=""))
    assert run.status == CrawlRun.Status.DONE
    alpaca = HubDataset.objects.get(repo_id="tatsu-lab/alpaca")
    assert alpaca.found and "license:cc-by-nc-4.0" in alpaca.tags
    assert not HubDataset.objects.filter(repo_id__startswith="constructed/renamed-").exists()


@pytest.mark.django_db
def test_break_store_takes_a_hostile_listing_page():
    page = [{"id": 5}, "x", None, [], {"id": ""}, {"id": "constructed/ok", "tags": ["license:mit"]},
            {"id": "constructed/ok", "tags": ["license:apache-2.0"]},
            {"id": "constructed/bad-types", "tags": {"a": 1}, "cardData": "text", "gated": [1],
             "downloads": "many", "lastModified": "not a date", "sha": 7},
            {"id": "constructed/nul\x00id"}, {"id": "constructed/lone\ud800"}]  # fmt: skip
    changed, rejected = datasets.store(page)
    assert "constructed/ok" in changed and "constructed/bad-types" in changed
    assert HubDataset.objects.get(repo_id="constructed/ok").tags == ["license:apache-2.0"]
    stored = set(HubDataset.objects.values_list("repo_id", flat=True))
    assert all("\x00" not in r and "\ud800" not in r for r in stored)
    assert len(rejected) >= 5
