"""Every fault hubreplay injects is transient to the crawler: retried or HubUnavailable, never stored.

The backoff sleeps of huggingface_hub and of catalog.hub are skipped (their `time` module is
swapped for one whose sleep returns at once) so that dozens of faults cost no wall time; the
requests, their faults and the client's handling of each are the real ones.
"""

import time
import types

import huggingface_hub
import huggingface_hub.file_download
import huggingface_hub.utils._http
import pytest

from catalog import crawler, hub, runs
from catalog.hub import HubUnavailable
from catalog.models import CrawlRun, HubModel, LineageEdge, ModelFile

pytestmark = pytest.mark.django_db

PHI = "ALIN-LLM/finetune-llama-2-7b-chat-gsm8k"  # in family.jsonl.gz, not gated, a README
KINDS = ["429", "500", "502", "503", "slow", "reset", "truncate", "truncate_file"]
# A fault on every Nth request, sparser where each costs real time (a 429 blocks the budget for
# its t=1 s, a slow answer waits out the timeout).
EVERY = {"429": 10, "slow": 4}


@pytest.fixture
def no_backoff(monkeypatch):
    fast = types.SimpleNamespace(**{k: getattr(time, k) for k in dir(time) if k[0] != "_"})
    fast.sleep = lambda seconds: None
    monkeypatch.setattr(huggingface_hub.utils._http, "time", fast)
    monkeypatch.setattr(huggingface_hub.file_download, "time", fast)
    monkeypatch.setattr(hub, "time", fast)


@pytest.fixture
def short_timeout(settings):
    """A client that gives up on an answer after 0.3 s (the client is built once per process)."""
    settings.CANOPY_HUB_TIMEOUT_SECONDS = 0.3
    huggingface_hub.close_session()
    yield
    huggingface_hub.close_session()


def catalog():
    models = set(
        HubModel.objects.values_list("hub_id", "repo_id", "sha", "downloads", "details_key")
    )
    edges = set(LineageEdge.objects.values_list("child__repo_id", "parent_repo_id", "relation"))
    files = set(ModelFile.objects.values_list("model__repo_id", "path", "etag", "text"))
    return models, edges, files


def crawl(server, hub_for):
    run, _ = runs.start(CrawlRun.Kind.FULL, endpoint=server.url, limit=0)
    return crawler.run_sync(run, hub=hub_for(server))


@pytest.mark.parametrize("kind", KINDS)
def test_a_crawl_through_faults_stores_what_a_clean_crawl_stores(
    kind, replay, hub_for, settings, tmp_path, no_backoff, short_timeout
):
    settings.CANOPY_DETAILS_PER_RUN = 40
    server = replay(["family.jsonl.gz"], page_size_cap=50)
    settings.DATA_DIR = tmp_path / "clean"  # each crawl its own file cache
    assert crawl(server, hub_for).status == "done"
    clean = catalog()
    assert len(clean[2]) >= 5  # READMEs were read: the file faults have something to hit
    HubModel.objects.all().delete()
    CrawlRun.objects.all().delete()

    settings.DATA_DIR = tmp_path / "faulted"
    server.set_faults(every=EVERY.get(kind, 3), kinds=[kind], slow_seconds=0.5)
    run = crawl(server, hub_for)
    assert run.status == "done", run.errors
    assert server.stats["faults"].get(kind, 0) >= 3
    assert catalog() == clean
    assert run.error_count == 0


def test_a_file_whose_lookup_keeps_failing_is_unavailable_not_missing(
    replay, hub_for, tmp_path, settings, no_backoff
):
    # hf_hub_download turns a failed HEAD into LocalEntryNotFoundError, an EntryNotFoundError:
    # taken at its word, the crawl would record that the model has no README.
    settings.DATA_DIR = tmp_path
    server = replay(["family.jsonl.gz"])
    server.set_faults(every=1, kinds=["503"])
    with pytest.raises(HubUnavailable, match="503"):
        hub_for(server).read_file(PHI, "README.md")


@pytest.mark.parametrize("kind", ["truncate", "reset", "503"])
def test_an_answer_that_stays_broken_is_unavailable(kind, replay, hub_for, no_backoff):
    server = replay(["family.jsonl.gz"])
    server.set_faults(every=1, kinds=[kind])
    with pytest.raises(HubUnavailable):
        hub_for(server).model_info(PHI)
    with pytest.raises(HubUnavailable):
        hub_for(server).list_page(params=hub_for(server).list_params())


def test_a_file_that_does_not_hash_to_its_etag_is_downloaded_again(
    replay, hub_for, tmp_path, settings
):
    settings.DATA_DIR = tmp_path
    server = replay(["family.jsonl.gz"])
    text, etag = hub_for(server).read_file(PHI, "README.md")
    blob = next(tmp_path.rglob(f"blobs/{etag}"))
    blob.write_text(text[: len(text) // 2])  # a cache left half-written by an older client
    again, etag_again = hub_for(server).read_file(PHI, "README.md")
    assert (again, etag_again) == (text, etag)


@pytest.mark.django_db(transaction=True)  # the threads see only what is committed
def test_details_in_threads_through_every_fault_store_what_one_thread_stores(
    replay, hub_for, settings, tmp_path, no_backoff, short_timeout
):
    settings.CANOPY_DETAILS_PER_RUN = 60
    server = replay(["family.jsonl.gz"], page_size_cap=50)
    settings.CANOPY_DETAIL_THREADS, settings.DATA_DIR = 1, tmp_path / "one"
    assert crawl(server, hub_for).status == "done"
    one = catalog()
    HubModel.objects.all().delete()
    CrawlRun.objects.all().delete()

    settings.CANOPY_DETAIL_THREADS, settings.DATA_DIR = 6, tmp_path / "six"
    server.set_faults(every=5, kinds=KINDS, slow_seconds=0.5)
    run = crawl(server, hub_for)
    assert run.status == "done", run.errors
    assert sum(server.stats["faults"].values()) >= 10
    assert catalog() == one
    # The counters the threads added to, as saved (the ancestors run it queued fetched some).
    assert CrawlRun.objects.get(pk=run.pk).details_fetched == run.details_fetched
    runs = CrawlRun.objects.all()
    assert (
        sum(r.details_fetched for r in runs)
        == HubModel.objects.filter(details_at__isnull=False).count()
    )
    assert sum(r.files_fetched for r in runs) == ModelFile.objects.count()
