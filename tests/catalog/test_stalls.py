"""A run whose worker dies on the same step again and again is resumed a bounded number of
times, then failed with its reason; a run that makes progress between deaths, or that only
waits in the queue for a worker, is resumed for as long as it takes."""

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog import runs
from catalog.models import CrawlRun

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.CANOPY_CRAWL_RESUMPTIONS = 3


def start():
    run, _ = runs.start(CrawlRun.Kind.FULL, endpoint="http://127.0.0.1:9", limit=0)
    return run


def worker_dies(run, *, progress=False):
    """What a worker killed with SIGKILL leaves: the lease it claimed, a heartbeat that goes
    stale, and the checkpoint of its last finished step (moved on when it made progress)."""
    assert runs.claim(run.pk)
    stale = timezone.now() - timedelta(seconds=3600)
    CrawlRun.objects.filter(pk=run.pk).update(heartbeat_at=stale)
    if progress:
        CrawlRun.objects.filter(pk=run.pk).update(pages=CrawlRun.objects.get(pk=run.pk).pages + 1)


def test_a_run_killed_on_the_same_step_again_and_again_is_failed_with_its_reason():
    run = start()
    for _ in range(3):
        worker_dies(run)
        assert runs.resume_stalled() == [run.pk]
    worker_dies(run)  # the fourth death at the same checkpoint
    assert runs.resume_stalled() == []
    run.refresh_from_db()
    assert (run.status, run.lease) == ("failed", "") and run.finished_at
    reason = run.errors[-1]["error"]
    assert "worker died 4 times" in reason and "without progress" in reason
    assert runs.resume_stalled() == []  # and it stays failed


def test_progress_between_deaths_starts_the_count_again():
    run = start()
    for _ in range(10):
        worker_dies(run, progress=True)
        assert runs.resume_stalled() == [run.pk]
    run.refresh_from_db()
    assert run.status == "running" and run.resumptions == 1


def test_a_run_that_no_worker_picks_up_is_resumed_as_long_as_it_takes():
    run = start()
    CrawlRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(hours=1))
    for _ in range(10):  # beat every minute, every worker busy or none running
        assert runs.resume_stalled() == [run.pk]
    worker_dies(run)
    for _ in range(10):  # resumed, but the queue is long: nobody claimed it since
        assert runs.resume_stalled() == [run.pk]
    run.refresh_from_db()
    assert run.status == "running" and run.resumptions == 1
