"""The crawler collects training data (issue 14, item 2): models' declared datasets become links,
the dataset records are listed first and asked for one by one only when the listing lacks them,
inside the shared budget, through the unmodified client against hubreplay.

Real records: tests/fixtures/training.jsonl.gz (models trained on tatsu-lab/alpaca, samsum...)
and training-datasets.jsonl.gz (their datasets' July 2024 licenses; those the study's table
lacks are not served, as on a Hub without them). CONSTRUCTED dataset records are written by the
tests that need them and named so (ids under `constructed/`, or a real id with a license the
snapshot does not give it).
"""

from __future__ import annotations

import gzip
import json

import pytest

from catalog import crawler, datasets, runs
from catalog.models import CrawlRun, HubDataset, HubModel, QuarantinedRecord, TrainingData
from tests.conftest import FIXTURES

SERVED = {"OpenAssistant/oasst1", "deepmind/code_contests", "gsm8k", "lambada",
          "nomic-ai/gpt4all_prompt_generations", "samsum", "tatsu-lab/alpaca"}  # fmt: skip
UNSERVED = {"aqua_rat", "djaym7/wiki_dialog", "esnli", "qed", "quasc", "svakulenk0/qrecc",
            "taskmaster2"}  # fmt: skip


def test_declared_reads_tags_and_the_card_once_each():
    tags = ["dataset:tatsu-lab/alpaca", "dataset:gsm8k", "license:mit", 7, "dataset:"]
    card = {"datasets": ["tatsu-lab/alpaca", "my own data", None, "x" * 201, " gsm8k "]}
    assert datasets.declared(tags, card) == [
        ("tatsu-lab/alpaca", "card,tags"), ("gsm8k", "card,tags"), ("my own data", "card"),
    ]  # fmt: skip
    assert datasets.declared([], {"datasets": "samsum"}) == [("samsum", "card")]
    assert datasets.declared("dataset:x", {"datasets": {"a": 1}}) == []


def test_an_id_the_hub_cannot_have_is_kept_but_never_asked():
    assert datasets.fetchable("tatsu-lab/alpaca") and datasets.fetchable("samsum")
    assert not datasets.fetchable("my own data")
    assert not datasets.fetchable("https://example.org/data.csv")


def _crawl(replay, hub_for, models, sets, kind=CrawlRun.Kind.FULL, **kw):
    server = replay(models, datasets=sets)
    run, _ = runs.start(kind, endpoint=server.url, limit=0, **kw)
    return server, crawler.run_sync(run, hub=hub_for(server))


def _dataset_calls(server) -> list[str]:
    paths = [path.split("?")[0] for _, path, _ in server.request_log]
    return [p for p in paths if p.startswith("/api/datasets/")]


@pytest.mark.django_db(transaction=True)
def test_a_full_crawl_lists_datasets_first_and_asks_only_for_the_rest(replay, hub_for):
    sets = [str(FIXTURES / "training-datasets.jsonl.gz")]
    server, run = _crawl(replay, hub_for, ["training.jsonl.gz"], sets)
    assert run.status == CrawlRun.Status.DONE and run.phase == CrawlRun.Phase.FINISHED
    assert run.datasets_listed == 7
    found = set(HubDataset.objects.filter(found=True).values_list("repo_id", flat=True))
    assert found == SERVED
    gone = set(HubDataset.objects.filter(found=False).values_list("repo_id", flat=True))
    assert gone == UNSERVED
    # dataset_info only for the declared legacy names the listing did not give, each once (a
    # namespaced id a whole listing lacks is not on the Hub; only a legacy name may redirect).
    asked = sorted(p.removeprefix("/api/datasets/") for p in _dataset_calls(server))
    legacy = sorted(d for d in UNSERVED if "/" not in d)
    assert asked == legacy and run.datasets_fetched == len(legacy)
    alpaca = HubModel.objects.get(repo_id="0-hero/flan-alpaca-ul2")
    assert list(alpaca.training_data.values_list("dataset_repo_id", "source")) == [
        ("tatsu-lab/alpaca", "card,tags")
    ]
    assert TrainingData.objects.filter(dataset_repo_id="tatsu-lab/alpaca").count() == 11
    assert HubDataset.objects.get(repo_id="samsum").tags == ["license:cc-by-nc-nd-4.0"]
    # The run's page has the phase, done.
    phases = [p["phase"] for p in run.phase_log]
    assert phases[-1] == "datasets" and "details" in phases

    # A second crawl lists them again (one call per 1,000) and asks for none of them:
    # the not-found ones were checked just now.
    before = len(_dataset_calls(server))
    again, _ = runs.start(CrawlRun.Kind.FULL, endpoint=server.url, limit=0)
    again = crawler.run_sync(again, hub=hub_for(server))
    assert again.datasets_listed == 7 and again.datasets_fetched == 0
    assert len(_dataset_calls(server)) == before


@pytest.mark.django_db(transaction=True)
def test_a_targeted_crawl_asks_for_its_models_datasets_only(replay, hub_for):
    sets = [str(FIXTURES / "training-datasets.jsonl.gz")]
    server, run = _crawl(replay, hub_for, ["training.jsonl.gz"], sets,
                         kind=CrawlRun.Kind.AUTHOR, target="philschmid")  # fmt: skip
    assert run.status == CrawlRun.Status.DONE and run.datasets_listed == 0
    assert [p.removeprefix("/api/datasets/") for p in _dataset_calls(server)] == ["samsum"]
    assert list(HubDataset.objects.values_list("repo_id", "found")) == [("samsum", True)]


@pytest.mark.django_db(transaction=True)
def test_a_stale_dataset_is_asked_for_again(replay, hub_for, settings):
    sets = [str(FIXTURES / "training-datasets.jsonl.gz")]
    server, _ = _crawl(replay, hub_for, ["training.jsonl.gz"], sets,
                       kind=CrawlRun.Kind.AUTHOR, target="philschmid")  # fmt: skip
    HubDataset.objects.update(checked_at="2024-01-01T00:00:00Z")
    run, _ = runs.start(CrawlRun.Kind.INCREMENTAL, endpoint=server.url, limit=0)
    run = crawler.run_sync(run, hub=hub_for(server))
    assert "/api/datasets/samsum" in _dataset_calls(server)[1:]


def _gz(path, records):
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("".join(json.dumps(r) + "\n" for r in records))
    return str(path)


@pytest.mark.django_db(transaction=True)
def test_hostile_dataset_records_cost_only_themselves(replay, hub_for, tmp_path):
    # CONSTRUCTED: what a hostile Hub could send for datasets the real models declare.
    hostile = _gz(tmp_path / "hostile-datasets.jsonl.gz", [
        {"id": "tatsu-lab/alpaca", "tags": ["license:cc-by-nc-4.0\u0000"], "author": "tatsu-lab"},
        {"id": "samsum", "tags": "license:mit", "cardData": {"license": "x" * 300_000}},
        {"id": "gsm8k", "tags": ["license:mit"], "downloads": 10**30},
        {"id": "constructed/" + "x" * 300, "tags": ["license:mit"]},
        {"id": "lambada", "tags": ["license:cc-by-4.0", {"not": "a tag"}], "sha": "s" * 5000},
    ])  # fmt: skip
    _, run = _crawl(replay, hub_for, ["training.jsonl.gz"], [hostile])
    assert run.status == CrawlRun.Status.DONE
    alpaca = HubDataset.objects.get(repo_id="tatsu-lab/alpaca")
    assert alpaca.tags == ["license:cc-by-nc-4.0"] and alpaca.ingest_notes
    samsum = HubDataset.objects.get(repo_id="samsum")
    assert samsum.found and samsum.tags == [] and any("tags" in n for n in samsum.ingest_notes)
    assert HubDataset.objects.get(repo_id="lambada").tags == ["license:cc-by-4.0"]
    # An integer past 64 bits reads as a float: not a count, dropped and said.
    gsm8k = HubDataset.objects.get(repo_id="gsm8k")
    assert gsm8k.found and gsm8k.downloads == 0 and gsm8k.tags == ["license:mit"]
    assert any("downloads" in n for n in gsm8k.ingest_notes)
    # An id no repo can have: that record is quarantined, the others stored.
    held = QuarantinedRecord.objects.filter(step="datasets", resolved_at__isnull=True)
    assert [r[:12] for r in held.values_list("repo_id", flat=True)] == ["constructed/"]
    assert "id of 312 characters" in held.get().error


@pytest.mark.django_db(transaction=True)
def test_dataset_info_goes_through_the_declared_ids_in_steps_each_once(
    replay, hub_for, monkeypatch, settings
):
    from catalog import steps

    monkeypatch.setattr(steps, "DATASETS_PER_STEP", 2)
    settings.CANOPY_DETAIL_THREADS = 1  # four a step
    server, run = _crawl(replay, hub_for, ["training.jsonl.gz"], [])  # no listing: all asked
    asked = [p.removeprefix("/api/datasets/") for p in _dataset_calls(server)]
    assert sorted(asked) == sorted(SERVED | UNSERVED) and run.datasets_fetched == 14
    assert run.datasets_after  # the keyset moved on step by step
