"""A real Celery worker crawls through the replayed Hub; killed mid-crawl, another one finishes."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from catalog import runs
from catalog.models import CrawlRun, HubModel, LineageEdge
from catalog.tasks import crawl, resume_stalled_crawls
from config.celery import app
from tests.catalog.test_crawler import records

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def workers():
    """Start real Celery workers on a queue of this test's own; kill them at the end."""
    queue = f"canopy-test-{uuid.uuid4().hex[:8]}"
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    env = dict(
        os.environ, DATABASE_URL=database_url(), CANOPY_QUEUE=queue, CANOPY_STALL_SECONDS="3",
        CANOPY_PAGES_PER_TASK="1", CANOPY_DETAILS_PER_RUN="10", CANOPY_HUB_API_BUDGET="100000",
        CANOPY_HUB_RESOLVERS_BUDGET="100000", CANOPY_DATA_DIR=str(settings.DATA_DIR),
    )  # fmt: skip
    procs = []

    def start(endpoint):
        env["HF_ENDPOINT"] = endpoint  # where assessments send their ancestor crawls
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "-Q", queue,
             "--without-mingle", "--without-gossip", "--loglevel", "WARNING"],
            cwd=ROOT, env=env, start_new_session=True,
        )  # fmt: skip
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    app.conf.task_default_queue = previous


def wait_until(predicate, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_a_worker_killed_mid_crawl_loses_and_duplicates_nothing(replay, workers, settings):
    settings.CANOPY_STALL_SECONDS = 3
    server = replay(["family.jsonl.gz"], page_size_cap=10, delay_ms=60)
    expected = records("family.jsonl.gz")
    run, _ = runs.start(CrawlRun.Kind.FULL, endpoint=server.url, limit=0)
    crawl.delay(run.pk)

    first = workers(server.url)
    assert wait_until(lambda: CrawlRun.objects.get(pk=run.pk).pages >= 4), (
        "the worker never started"
    )
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(10)
    run.refresh_from_db()
    assert run.status == "running" and 4 <= run.pages < 15

    workers(server.url)
    time.sleep(settings.CANOPY_STALL_SECONDS + 1)
    resume_stalled_crawls.delay()  # what beat does every minute
    # Generous: on a loaded 2-core CI machine the resumed crawl alone took over 90 s once.
    assert wait_until(lambda: CrawlRun.objects.get(pk=run.pk).status == "done", timeout=240), (
        "not resumed"
    )

    run.refresh_from_db()
    assert run.listed == run.created == len(expected) == HubModel.objects.count()
    assert run.pages == 15 and run.error_count == 0
    assert set(HubModel.objects.values_list("repo_id", flat=True)) == set(expected)
    edges = list(LineageEdge.objects.values_list("child__repo_id", "parent_repo_id"))
    assert len(edges) == len(set(edges))
    assert {c for c, _ in edges} == {r for r, rec in expected.items()
                                     if any(t.startswith("base_model:") for t in rec["tags"])}  # fmt: skip
    assert run.details_fetched == 10
