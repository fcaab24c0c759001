"""Celery entry points for license assessment. The logic lives in licenses.assessment."""

from celery import shared_task
from django.conf import settings

from approvals import review
from catalog import crawler
from config.celery import django_task

from . import assessment

FAN_OUT_CHUNK = 500


def on_models_changed(sender, *, model_ids: list[int], inline: bool = False, **kwargs) -> None:
    """catalog.signals.models_changed: the crawler wrote these models' records or files."""
    if not settings.CANOPY_ASSESS_ON_CRAWL:
        return
    if inline:
        assess_tree(model_ids, inline=True)
    else:
        assess_models.delay_on_commit(model_ids)


def assess_tree(model_ids: list[int], *, inline: bool) -> int:
    """Re-assess these models, then the children of those whose result changed, and so on;
    returns how many results changed. Queued, each level is a task of its own (chunks of
    FAN_OUT_CHUNK) and this does one level; inline (`crawl --sync`) it does them all.

    Fan-out follows changes only: a descendant whose inputs did not change is not visited,
    so a change reaches exactly the part of the tree it affects, never the whole catalog."""
    frontier, changed = [list(model_ids)], 0
    while frontier:
        ids = frontier.pop(0)
        report = assessment.assess(ids)
        changed += len(report.changed)
        # Approvals decided on these models' license results, gated status or revision.
        review.rereview(sorted(set(ids) | set(report.changed)))
        children = assessment.children_of(report.changed)
        chunks = [children[s : s + FAN_OUT_CHUNK] for s in range(0, len(children), FAN_OUT_CHUNK)]
        missing = sorted(report.missing)
        if inline:
            frontier.extend(chunks)
            if missing:
                crawler.queue_ancestors(missing)  # run_sync drives it after the current run
            continue
        for chunk in chunks:
            assess_models.delay_on_commit(chunk)
        if missing:
            queue_missing_ancestors.delay_on_commit(missing)
    return changed


@django_task
@shared_task(acks_late=True)
def assess_models(model_ids: list[int]) -> int:
    """Re-assess these models; the children of those whose result changed are queued next."""
    return assess_tree(model_ids, inline=False)


@django_task
@shared_task
def queue_missing_ancestors(repo_ids: list[str]) -> int | None:
    """One targeted ancestors crawl for the ancestors not crawled yet (see crawler.queue_ancestors)."""
    run = crawler.queue_ancestors(repo_ids)
    return run.pk if run else None


@shared_task
def assess_all() -> int:
    return len(assessment.assess_all().changed)
