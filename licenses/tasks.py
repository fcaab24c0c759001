"""Celery entry points for license assessment. The logic lives in licenses.assessment."""

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError, connections

from catalog import lineage, runs
from config.celery import django_task

from . import assessment, signals

if TYPE_CHECKING:
    from celery.app.task import Task

FAN_OUT_CHUNK = 500

DB_LOST = (OperationalError, InterfaceError)

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _reopening(task: Callable[_P, _R]) -> Callable[_P, _R]:
    """Close the broken connection before the retry: the retry opens a fresh one."""

    @functools.wraps(task)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return task(*args, **kwargs)
        except DB_LOST:
            for conn in connections.all(initialized_only=True):
                if not conn.in_atomic_block:
                    conn.close()
            raise

    return run


def db_task(task: Callable[_P, _R]) -> "Task[_P, _R]":
    """A task retried with backoff while the database is gone (a restart, a failover), or
    its results are lost; safe as the tasks are idempotent, and acked late so a worker
    killed meanwhile costs none."""
    return shared_task(
        autoretry_for=DB_LOST,
        retry_backoff=2,
        retry_backoff_max=300,
        retry_jitter=True,
        max_retries=8,
        acks_late=True,
    )(_reopening(task))


def on_models_changed(
    sender, *, model_ids: list[int], inline: bool = False, run_id: int | None = None, **kwargs
) -> None:
    """catalog.signals.models_changed: the crawler wrote these models' records or files (in a
    step of run `run_id`, for whom the ancestors they lack are walked)."""
    if not settings.CANOPY_ASSESS_ON_CRAWL:
        return
    if inline:
        assess_tree(model_ids, inline=True, run_id=run_id)
    else:
        assess_models.delay_on_commit(model_ids, run_id)


def assess_tree(model_ids: list[int], *, inline: bool, run_id: int | None = None) -> int:
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
        signals.assessed.send(
            sender=assessment.Report, model_ids=ids, changed=report.changed, inline=inline
        )
        children = lineage.child_ids(report.changed)
        chunks = [children[s : s + FAN_OUT_CHUNK] for s in range(0, len(children), FAN_OUT_CHUNK)]
        missing = sorted(report.missing)
        if inline:
            frontier.extend(chunks)
            if missing:
                # run_sync drives it after the current run
                runs.queue_ancestors(missing, parent=run_id)
            continue
        for chunk in chunks:
            assess_models.delay_on_commit(chunk, run_id)
        if missing:
            queue_missing_ancestors.delay_on_commit(missing, run_id)
    return changed


@django_task
@db_task
def assess_models(model_ids: list[int], run_id: int | None = None) -> int:
    """Re-assess these models; the children of those whose result changed are queued next."""
    return assess_tree(model_ids, inline=False, run_id=run_id)


@django_task
@db_task
def queue_missing_ancestors(repo_ids: list[str], run_id: int | None = None) -> int | None:
    """One targeted ancestors crawl for the ancestors not crawled yet (see runs.queue_ancestors),
    grouped under run `run_id` when a crawl's models called for it."""
    run = runs.queue_ancestors(repo_ids, parent=run_id)
    return run.pk if run else None


@db_task
def assess_all() -> int:
    return len(assessment.assess_all().changed)
