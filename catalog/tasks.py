"""Celery entry points for crawling. The logic lives in catalog.crawler; these stay thin."""

from celery import shared_task
from django.conf import settings

from config.celery import django_task

from . import crawler, runs
from .models import CrawlRun


@django_task
@shared_task
def start_crawl(kind: str, target: str = "", limit: int | None = None) -> int:
    run, created = runs.start(kind, target=target, limit=limit)
    if created:
        crawl.delay_on_commit(run.pk)
    return run.pk


@django_task
@shared_task(acks_late=True)
def crawl(run_id: int, attempt: int = 0) -> None:
    """A chunk of a run; it queues the next chunk itself, so no task runs for long.

    After a transient error the chunk is queued again with backoff (`attempt`: the failures in
    a row so far, which runs.after_error bounds); after any other the run fails with its
    reason."""
    if not CrawlRun.objects.filter(pk=run_id).exists():
        return  # deleted since it was queued (a database made again, the admin): nothing to do
    before = runs.progress(run_id)
    try:
        finished = crawler.advance(run_id, steps=settings.CANOPY_PAGES_PER_TASK)
    except Exception as exc:
        attempt = runs.failures_in_a_row(run_id, attempt, before)
        wait = runs.after_error(run_id, exc, attempt)
        if wait is not None:
            crawl.apply_async((run_id, attempt + 1), countdown=wait)
        return
    if finished is False:
        crawl.delay(run_id)


@shared_task
def resume_stalled_crawls() -> None:
    for run_id in runs.resume_stalled():
        crawl.delay(run_id)
