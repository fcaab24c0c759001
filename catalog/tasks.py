"""Celery entry points for crawling. The logic lives in catalog.crawler; these stay thin."""

from celery import shared_task
from django.conf import settings

from config.celery import django_task

from . import crawler
from .hub import HubUnavailable


@django_task
@shared_task
def start_crawl(kind: str, target: str = "", limit: int | None = None) -> int:
    run, created = crawler.start(kind, target=target, limit=limit)
    if created:
        crawl.delay_on_commit(run.pk)
    return run.pk


@django_task
@shared_task(
    bind=True,
    autoretry_for=(HubUnavailable,),
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=12,
    acks_late=True,
)
def crawl(self, run_id: int) -> None:
    """A chunk of a run; it queues the next chunk itself, so no task runs for long."""
    try:
        finished = crawler.advance(run_id, steps=settings.CANOPY_PAGES_PER_TASK)
    except HubUnavailable as exc:
        if self.request.retries >= self.max_retries:
            crawler.fail(run_id, f"Hub unavailable after {self.max_retries} retries: {exc}")
            return
        raise
    if finished is False:
        crawl.delay(run_id)


@shared_task
def resume_stalled_crawls() -> None:
    for run_id in crawler.resume_stalled():
        crawl.delay(run_id)
