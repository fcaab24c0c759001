"""Celery entry points for license assessment. The logic lives in licenses.assessment."""

from celery import shared_task

from catalog import crawler
from catalog.models import CrawlRun

from . import assessment

FAN_OUT_CHUNK = 500


@shared_task(acks_late=True)
def assess_models(model_ids: list[int]) -> int:
    """Re-assess these models; the children of those whose result changed are queued next.

    Fan-out follows changes only: a descendant whose inputs did not change is not visited,
    so a change reaches exactly the part of the tree it affects, never the whole catalog."""
    report = assessment.assess(model_ids)
    children = assessment.children_of(report.changed)
    for start in range(0, len(children), FAN_OUT_CHUNK):
        assess_models.delay_on_commit(children[start : start + FAN_OUT_CHUNK])
    if report.missing:
        queue_missing_ancestors.delay_on_commit(sorted(report.missing))
    return len(report.changed)


@shared_task
def queue_missing_ancestors(repo_ids: list[str]) -> list[int]:
    """A targeted ancestors crawl for each ancestor not crawled yet (one active run per id)."""
    from catalog.tasks import crawl

    runs = []
    for repo_id in repo_ids[:200]:
        run, created = crawler.start(CrawlRun.Kind.ANCESTORS, target=repo_id)
        if created:
            crawl.delay_on_commit(run.pk)
        runs.append(run.pk)
    return runs


@shared_task
def assess_all() -> int:
    return len(assessment.assess_all().changed)
