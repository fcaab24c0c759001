"""`crawl --sync` does everything a worker would, and a run never stays `running` unheld.

Every failure class of a step, through the real client against hubreplay: the transient ones
(429 with RateLimit headers, 5xx, the Hub's port closed, the database connection lost) are
retried with backoff and the run completes; a permanent one fails the run with its reason; and
after each, no run is `running` without a live lease.
"""

import threading
from datetime import timedelta

import httpx2
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from catalog import crawler, runs
from catalog.models import CrawlRun, HubModel
from catalog.signals import models_changed
from catalog.tasks import crawl as crawl_task
from licenses import assessment
from licenses.models import ModelLicense
from portal.models import SearchEntry
from tests.catalog.test_crawler import records

pytestmark = pytest.mark.django_db
ROOT = "meta-llama/Llama-2-7b-chat-hf"
FAMILY = len(records("family.jsonl.gz"))


@pytest.fixture(autouse=True)
def _fast_retries(settings):
    """A fault reaches the run at once (no client-side retries) and is retried after 50 ms."""
    settings.CANOPY_HUB_RETRIES = 0
    settings.CANOPY_CRAWL_BACKOFF_SECONDS = 0.05
    settings.CANOPY_CRAWL_RETRIES = 6
    settings.CANOPY_DETAILS_PER_RUN = 5


@pytest.fixture
def on_change():
    """Run `action` inside a step (from the crawler's own signal), the first `times` times."""
    receivers = []

    def connect(action, times=1):
        calls = []

        def receiver(sender, **kwargs):
            calls.append(kwargs["model_ids"])
            if len(calls) <= times:
                action()

        models_changed.connect(receiver, weak=False)
        receivers.append(receiver)
        return calls

    yield connect
    for receiver in receivers:
        models_changed.disconnect(receiver)


def unheld_running_runs() -> list[int]:
    """Runs `running` with no lease, or a lease whose heartbeat is stale: what must never be."""
    stale = timezone.now() - timedelta(seconds=60)
    running = CrawlRun.objects.filter(status=CrawlRun.Status.RUNNING)
    return list(running.filter(lease="").values_list("pk", flat=True)) + list(
        running.filter(heartbeat_at__lt=stale).values_list("pk", flat=True)
    )


def sync(server, hub_for, **kw):
    run, _ = runs.start(CrawlRun.Kind.FULL, endpoint=server.url, limit=0, **kw)
    return crawler.run_sync(run, hub=hub_for(server))


def statuses(server) -> list[int]:
    return [status for _, _, status in server.request_log]


# --- crawl --sync ---------------------------------------------------------------------------


def test_crawl_sync_returns_with_licenses_assessed_and_searchable(replay, client, settings):
    """No worker runs here: whatever the crawl triggers is done before the command returns."""
    settings.CANOPY_DETAILS_PER_RUN = 5000
    server = replay(["family.jsonl.gz"], page_size_cap=50)
    call_command("crawl", "--sync", "--limit", "0", "--endpoint", server.url, stdout=(out := Out()))
    assert HubModel.objects.count() == FAMILY

    root = client.get(f"/api/v1/models/{ROOT}").json()
    assert (root["declared_license"], root["commercial"]) == ("llama2", "conditional")
    assert root["assessed_at"] is not None
    # A child with a license of its own, in conflict with what it inherits.
    child = client.get("/api/v1/models/Arjs/Llama-2-7b-chatbot-finetune").json()
    assert (child["declared_license"], child["commercial"]) == ("apache-2.0", "allowed")
    assert (child["effective_commercial"], child["conflict"]) == ("conditional", True)
    # Two levels down, no license of its own: the root's terms, through its parent.
    leaf = client.get("/api/v1/models/tsavage68/chat_1000_STEPS_01beta_1e5rate_CDPOSFT").json()
    assert (leaf["commercial"], leaf["effective_commercial"]) == ("unknown", "conditional")
    quant = ModelLicense.objects.get(model__repo_id="ThisIs-Developer/Llama-2-GGML-Medical-Chatbot")
    # Its parent, TheBloke's GGML copy, declares `other` but names Llama 2 in its README.
    assert (quant.declared, quant.effective, quant.restrictor) == (
        "mit", "conditional", "TheBloke/Llama-2-7B-Chat-GGML",
    )  # fmt: skip

    # Every model assessed, and exactly as a whole-catalog pass would: nothing left to change.
    assert ModelLicense.objects.count() == FAMILY
    assert assessment.assess_all().changed == []
    # The search table holds every model with its license state.
    assert SearchEntry.objects.count() == FAMILY
    entry = SearchEntry.objects.get(repo_id="Arjs/Llama-2-7b-chatbot-finetune")
    assert (entry.declared, entry.verdict, entry.effective, entry.conflict) == (
        "apache-2.0", "allowed", "conditional", True,
    )  # fmt: skip
    listed = client.get("/api/v1/models?effective=conditional&q=Llama-2-7b-chatbot").json()
    assert "Arjs/Llama-2-7b-chatbot-finetune" in [i["id"] for i in listed["items"]]

    # The ancestors run the crawl queued (a merge's parent that is not in the snapshot) ran too.
    walk = CrawlRun.objects.get(kind="ancestors")
    assert walk.status == "done" and "allenai/tulu-2-dpo-7b" in walk.seen
    assert f"Ancestors crawl #{walk.pk} done" in out.text
    assert not CrawlRun.objects.filter(status__in=["queued", "running"]).exists()
    assert f"Full crawl #{CrawlRun.objects.get(kind='full').pk} done: {FAMILY} listed" in out.text
    assert f"{FAMILY} models searchable, {FAMILY} with a license verdict" in out.text


def test_crawl_sync_exits_non_zero_with_the_reason_when_the_run_fails(replay, settings):
    server = replay(["family.jsonl.gz"], page_size_cap=50)
    server.stop()  # the port is closed for good
    settings.CANOPY_CRAWL_RETRIES = 2
    with pytest.raises(CommandError, match=r"failed: gave up after 2 retries: HubUnavailable"):
        call_command("crawl", "--sync", "--endpoint", server.url, stdout=(out := Out()))
    run = CrawlRun.objects.get()
    assert (run.status, run.lease) == ("failed", "") and run.finished_at
    assert f"Full crawl #{run.pk} failed" in out.text


class Out:
    def __init__(self):
        self.text = ""

    def write(self, s):
        self.text += s

    def flush(self):
        pass


# --- transient failures: retried with backoff, the run completes ----------------------------


def test_429_with_ratelimit_headers_is_retried_until_the_window_resets(replay, hub_for):
    # 10 per 2 s (9 for us): the crawl's API calls still span several windows after the 429,
    # without a window's wait for every second one that a quota of 3 (2 for us) cost.
    server = replay(["family.jsonl.gz"], page_size_cap=50, api_budget=10, window=2)
    # Another client spends the Hub's budget: our first request meets a 429 (and its headers).
    while (spent := httpx2.get(f"{server.url}/api/models?limit=1")).status_code != 429:
        pass
    assert "RateLimit" in spent.headers
    server.request_log.clear()
    run = sync(server, hub_for)
    assert run.status == "done" and run.listed == FAMILY and run.error_count == 0
    assert statuses(server)[0] == 429
    assert unheld_running_runs() == []


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_fail_the_step_and_the_step_is_retried(replay, hub_for, status):
    server = replay(["family.jsonl.gz"], page_size_cap=50)
    server.set_faults(status=status, every=3)
    run = sync(server, hub_for)
    assert run.status == "done" and run.error_count == 0
    assert run.listed == FAMILY == HubModel.objects.count() and run.details_fetched == 5
    assert statuses(server).count(status) >= 3
    assert unheld_running_runs() == []


def test_the_hub_going_away_mid_run_is_waited_out(replay, hub_for, on_change, caplog):
    server = replay(["family.jsonl.gz"], page_size_cap=50)

    def close_the_port_for_a_while():
        server.stop()  # from inside the first listing step; back 0.5 s later, same port
        threading.Timer(0.5, server.start).start()

    on_change(close_the_port_for_a_while)
    run = sync(server, hub_for)
    assert run.status == "done" and run.listed == FAMILY == HubModel.objects.count()
    assert run.pages == 3 and run.error_count == 0
    retried = [r.getMessage() for r in caplog.records if r.name == "catalog.runs"]
    assert retried and all("retry" in m and "HubUnavailable" in m for m in retried)
    assert any("ConnectError" in m for m in retried)  # the port was closed
    assert unheld_running_runs() == []


def test_the_hub_gone_for_good_fails_the_run_with_its_reason(replay, hub_for, on_change, settings):
    settings.CANOPY_CRAWL_RETRIES = 3
    server = replay(["family.jsonl.gz"], page_size_cap=50)
    on_change(server.stop)
    run = sync(server, hub_for)
    assert (run.status, run.lease) == ("failed", "") and run.pages == 1
    assert run.errors[-1]["error"].startswith("gave up after 3 retries: HubUnavailable: ")
    assert "ConnectError" in run.errors[-1]["error"]
    assert unheld_running_runs() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_database_connection_lost_mid_step_is_reopened_and_the_step_redone(
    replay, hub_for, on_change
):
    import psycopg

    server = replay(["family.jsonl.gz"], page_size_cap=50)
    db = connection.settings_dict

    def kill_our_connection():
        # Another session terminates ours, as a database restart or a proxy would.
        pid = connection.connection.info.backend_pid
        dsn = f"host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432} dbname={db['NAME']} user={db['USER'] or 'postgres'}"
        with psycopg.connect(dsn, autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s)", [pid])

    calls = on_change(kill_our_connection)
    run = sync(server, hub_for)
    assert run.status == "done" and run.error_count == 0
    # The first page's step was lost with its transaction and redone on a new connection
    # (new ids: the sequence does not roll back).
    assert len(calls[0]) == len(calls[1]) == 50 and not set(calls[0]) & set(calls[1])
    assert run.listed == FAMILY == HubModel.objects.count() and run.pages == 3
    assert unheld_running_runs() == []


# --- permanent failures: the run fails with its reason, at once ------------------------------


def test_an_unexpected_error_in_a_step_fails_the_run_with_its_reason(replay, hub_for, on_change):
    server = replay(["family.jsonl.gz"], page_size_cap=50)

    def bug():
        raise RuntimeError("a bug in a step")

    calls = on_change(bug, times=99)
    run = sync(server, hub_for)
    assert (run.status, run.lease, run.phase) == ("failed", "", "listing")
    assert run.errors[-1]["error"] == "RuntimeError: a bug in a step"
    assert len(calls) == 1  # not retried
    assert run.pages == 0 and HubModel.objects.count() == 0  # the step's rows went with it
    assert unheld_running_runs() == []


# --- the Celery task: the same classes, through the task itself ------------------------------


def test_the_crawl_task_retries_a_transient_error_and_completes(replay, eager):
    server = replay(["family.jsonl.gz"], page_size_cap=50)
    server.set_faults(status=503, every=2)
    run, _ = runs.start(CrawlRun.Kind.FULL, endpoint=server.url, limit=0)
    crawl_task.delay(run.pk)
    run.refresh_from_db()
    assert run.status == "done" and run.listed == FAMILY and run.error_count == 0
    assert statuses(server).count(503) >= 3
    assert unheld_running_runs() == []


def test_the_crawl_task_gives_up_after_its_retries_with_the_reason(replay, eager, settings):
    settings.CANOPY_CRAWL_RETRIES = 2
    server = replay(["family.jsonl.gz"], page_size_cap=50)
    server.set_faults(status=502, every=1)
    run, _ = runs.start(CrawlRun.Kind.FULL, endpoint=server.url, limit=0)
    crawl_task.delay(run.pk)
    run.refresh_from_db()
    assert (run.status, run.lease) == ("failed", "")
    assert run.errors[-1]["error"].startswith("gave up after 2 retries: HubUnavailable: 502")
    assert statuses(server) == [502, 502, 502]  # the first try and two retries
    assert unheld_running_runs() == []


def test_the_crawl_task_fails_a_permanent_error_without_retrying(replay, eager, on_change):
    server = replay(["family.jsonl.gz"], page_size_cap=50)

    def bug():
        raise KeyError("cardData")

    calls = on_change(bug, times=99)
    run, _ = runs.start(CrawlRun.Kind.FULL, endpoint=server.url, limit=0)
    crawl_task.delay(run.pk)
    run.refresh_from_db()
    assert (run.status, run.lease) == ("failed", "") and len(calls) == 1
    assert run.errors[-1]["error"] == "KeyError: 'cardData'"
    assert unheld_running_runs() == []


def test_a_run_waiting_for_its_retry_is_queued_not_running(replay):
    server = replay(["family.jsonl.gz"], page_size_cap=50)
    server.set_faults(status=500, every=1)
    run, _ = runs.start(CrawlRun.Kind.FULL, endpoint=server.url, limit=0)
    with pytest.raises(Exception) as caught:
        crawler.advance(run.pk, steps=1)
    wait = runs.after_error(run.pk, caught.value, 0)
    run.refresh_from_db()
    assert wait is not None and 0 < wait <= 0.05
    assert (run.status, run.lease) == ("queued", "")
    assert runs.resume_stalled() == []  # fresh: its retry is coming


def test_an_interrupted_sync_crawl_is_left_queued_for_the_next_one(replay, hub_for, on_change):
    server = replay(["family.jsonl.gz"], page_size_cap=50)

    def interrupt():
        raise KeyboardInterrupt  # Ctrl-C in the middle of a step

    on_change(interrupt)
    run, _ = runs.start(CrawlRun.Kind.FULL, endpoint=server.url, limit=0)
    with pytest.raises(KeyboardInterrupt):
        crawler.run_sync(run, hub=hub_for(server))
    run.refresh_from_db()
    assert (run.status, run.lease, run.pages) == ("queued", "", 0)
    assert unheld_running_runs() == []
    run = crawler.run_sync(run, hub=hub_for(server))  # the next --sync finishes it
    assert run.status == "done" and run.listed == FAMILY


@pytest.mark.django_db
def test_a_crawl_task_for_a_run_that_is_gone_does_nothing():
    # Found by testing: a task left in the embedded broker by an earlier `make run`, whose
    # database was made again, raised DoesNotExist in the worker's log.
    from catalog.tasks import crawl

    assert crawl(987_654) is None and not CrawlRun.objects.exists()
