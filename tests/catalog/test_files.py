"""License evidence files: every one the Hub serves is stored and counted, and one the Hub
could not be asked for (429, 5xx, the network) is fetched again, never taken for absent."""

import functools
import gzip
import json

import pytest
from huggingface_hub.utils import _http as hf_http

from catalog import crawler, ingest, runs, steps
from catalog.hub import HubUnavailable
from catalog.models import CrawlRun, HubModel, ModelFile
from tests.conftest import DEMO, FIXTURES

pytestmark = pytest.mark.django_db

# 2024-07-11 list items with their READMEs (demo-2024, kind api-list-item+readme): no
# `siblings`, so nothing in the record says which files the repo has.
NO_SIBLINGS = ["BAAI/bge-m3", "CompVis/stable-diffusion-v1-4"]
# A 2024 model_info record whose siblings list a README the snapshot holds (family.jsonl.gz).
WITH_README = "ALIN-LLM/finetune-llama-2-7b-chat-gsm8k"
# It, its gated root and a GGUF of the root: the family's crawl of 150 models, with details
# and files, was most of these tests' time; one model's file is what they ask about.
FAMILY_CUT = {WITH_README, "meta-llama/Llama-2-7b-chat-hf", "TheBloke/Llama-2-7B-Chat-GGUF"}


@pytest.fixture(autouse=True)
def _fast_retries(settings, monkeypatch):
    settings.CANOPY_HUB_RETRIES = 0
    settings.CANOPY_CRAWL_BACKOFF_SECONDS = 0.05
    settings.CANOPY_CRAWL_RETRIES = 2
    settings.CANOPY_HUB_BACKOFF_SECONDS = 0.01  # read_file's 4 tries, milliseconds apart
    # hf_hub_download retries a failed HEAD 5 times itself, waiting 1 s doubling to 8 s
    # (no setting for it): the same retries here, with waits of milliseconds.
    backoff = hf_http.http_backoff
    monkeypatch.setattr(
        hf_http, "http_backoff",
        functools.partial(backoff, base_wait_time=0.01, max_wait_time=0.02),
    )  # fmt: skip


def cut(tmp_path, source, ids):
    """The real records of `ids` from a snapshot file, as a snapshot file of their own."""
    out = tmp_path / "cut.jsonl.gz"
    out.parent.mkdir(exist_ok=True)
    with gzip.open(source, "rt") as f, gzip.open(out, "wt") as w:
        for line in f:
            if json.loads(line)["id"] in ids:
                w.write(line)
    return str(out)


def sync(server, hub_for):
    run, _ = runs.start(CrawlRun.Kind.FULL, endpoint=server.url, limit=0)
    return crawler.run_sync(run, hub=hub_for(server))


def test_a_record_without_siblings_still_gets_its_card_read_and_counted(replay, hub_for, tmp_path):
    server = replay([cut(tmp_path, DEMO / "demo-2024.jsonl.gz", NO_SIBLINGS)])
    run = sync(server, hub_for)
    assert run.status == "done" and run.details_fetched == 2
    assert set(ModelFile.objects.values_list("model__repo_id", "path")) == {
        (repo_id, "README.md") for repo_id in NO_SIBLINGS
    }
    assert run.files_fetched == 2
    readme = ModelFile.objects.get(model__repo_id="BAAI/bge-m3")
    assert "license: mit" in readme.text


def test_a_record_without_siblings_and_without_a_card_reads_nothing(replay, hub_for, tmp_path):
    # A 2024 list item with no README in the snapshot: its README request answers 404.
    ids = ["A5medAshraf/DeepSeek_1.3b_eval_Train_Elfagr"]
    server = replay([cut(tmp_path, DEMO / "demo-2024.jsonl.gz", ids)])
    run = sync(server, hub_for)
    assert run.status == "done" and run.details_fetched == 1
    assert run.files_fetched == 0 and not ModelFile.objects.exists()
    assert [p for _, p, s in server.request_log if "/resolve/" in p and s == 404]
    model = HubModel.objects.get()
    assert model.files_key == model.change_key  # asked, and known to have none


def test_a_file_the_hub_refuses_with_429_is_not_taken_for_absent(
    replay, hub_for, settings, tmp_path, monkeypatch
):
    server = replay([cut(tmp_path / "snapshot", FIXTURES / "family.jsonl.gz", FAMILY_CUT)])
    sync(server, hub_for)
    model = HubModel.objects.get(repo_id=WITH_README)
    assert model.files.filter(path="README.md").exists()
    model.files.all().delete()
    HubModel.objects.filter(pk=model.pk).update(files_key="", details_key="")
    model.refresh_from_db()
    settings.DATA_DIR = tmp_path  # an empty file cache (a cached copy would be used instead)

    # File downloads answer 429 (the resolvers bucket spent), the API answers: the client's
    # hf_hub_download says LocalEntryNotFoundError ("cannot find ... in the local cache").
    server.set_budget(resolvers=0, window=1)
    # Each retry of a 429 waits out its window (reset + 1 s, whatever base_wait_time says), and
    # this bucket never refills: the client's HEAD retries it once, not 5 times, on each of
    # read_file's 4 tries (20 waits of 2 s were most of this test's time).
    monkeypatch.setattr(
        hf_http, "http_backoff", functools.partial(hf_http.http_backoff, max_retries=1)
    )
    with pytest.raises(HubUnavailable, match="README.md"):
        steps.fetch_details(model, hub_for(server))
    model.refresh_from_db()
    assert model.files_key == "" and model.details_key == ""  # the next try reads it again

    server.set_budget()
    run = sync(server, hub_for)
    assert run.status == "done" and run.details_fetched == 1
    assert run.files_fetched == model.files.count() == 1


def test_a_file_download_with_the_hub_gone_is_retried(replay, hub_for, settings, tmp_path):
    server = replay([cut(tmp_path / "snapshot", FIXTURES / "family.jsonl.gz", FAMILY_CUT)])
    sync(server, hub_for)
    model = HubModel.objects.get(repo_id=WITH_README)
    model.files.all().delete()
    HubModel.objects.filter(pk=model.pk).update(files_key="")
    model.refresh_from_db()
    settings.DATA_DIR = tmp_path  # an empty file cache
    # model_info answered; the port closes before the file is asked for.
    hub = hub_for(server)
    server.stop()
    with pytest.raises(HubUnavailable):
        ingest.fetch_files(model, hub)
    model.refresh_from_db()
    assert model.files_key == ""
