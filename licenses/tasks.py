"""Celery entry points for license assessment. The logic lives in licenses.assessment."""

from celery import shared_task

from approvals import review
from catalog import crawler
from config.celery import django_task

from . import assessment

FAN_OUT_CHUNK = 500


@django_task
@shared_task(acks_late=True)
def assess_models(model_ids: list[int]) -> int:
    """Re-assess these models; the children of those whose result changed are queued next.

    Fan-out follows changes only: a descendant whose inputs did not change is not visited,
    so a change reaches exactly the part of the tree it affects, never the whole catalog."""
    report = assessment.assess(model_ids)
    # Approvals decided on these models' license results, gated status or revision.
    review.rereview(sorted(set(model_ids) | set(report.changed)))
    children = assessment.children_of(report.changed)
    for start in range(0, len(children), FAN_OUT_CHUNK):
        assess_models.delay_on_commit(children[start : start + FAN_OUT_CHUNK])
    if report.missing:
        queue_missing_ancestors.delay_on_commit(sorted(report.missing))
    return len(report.changed)


@django_task
@shared_task
def queue_missing_ancestors(repo_ids: list[str]) -> int | None:
    """One targeted ancestors crawl for the ancestors not crawled yet (see crawler.queue_ancestors)."""
    run = crawler.queue_ancestors(repo_ids)
    return run.pk if run else None


@shared_task
def assess_all() -> int:
    return len(assessment.assess_all().changed)
