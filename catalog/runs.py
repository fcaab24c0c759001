"""Crawl runs' bookkeeping: starting and queueing runs, their lease and heartbeat, checkpoints,
errors and retries, and resuming the runs whose worker died.

A run is held by one worker at a time through a lease (a conditional UPDATE) that goes stale
when its worker dies, after which `resume_stalled` hands it to another. Each step commits its
rows with the run's checkpoint (`checkpoint`), so a worker killed at any point loses at most the
step in flight. An error inside a step is either transient (the Hub's 429 / 5xx / network
errors and undecodable answers, a lost database connection): the step is retried with backoff,
the run waiting as `queued`; or anything else: the run fails with its reason. So a run is
`running` only while a worker holds its lease (see `after_error`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import uuid
from contextvars import ContextVar
from datetime import timedelta
from functools import partial
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import InterfaceError, OperationalError, connections, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from . import quarantine
from .hub import HubUnavailable
from .models import CrawlRun, HubModel, LineageEdge, RepoAlias
from .signals import models_changed

log = logging.getLogger(__name__)
CRAWL_TASK = "catalog.tasks.crawl"  # a run's chunk of steps

Kind, Status, Phase = CrawlRun.Kind, CrawlRun.Status, CrawlRun.Phase
# Errors a step is retried after; json's error covers orjson's and a truncated answer's.
# Redis too: the request budget lives there, and a Redis restart must not fail a run.
TRANSIENT = (
    HubUnavailable,
    json.JSONDecodeError,
    OperationalError,
    InterfaceError,
    RedisConnectionError,
    RedisTimeoutError,
)


# Inside run_sync: the runs it drives, in order (runs queued meanwhile are appended); None in
# a worker. Consequences of a step (assessments, ancestors runs) are done inline when set.
DRIVEN: ContextVar[list[int] | None] = ContextVar("canopy_crawl_sync", default=None)
# The run whose steps are being done here: the models its steps write are sent with its id, so
# the ancestors walks their assessments call for are grouped under it.
RUNNING: ContextVar[int | None] = ContextVar("canopy_crawl_running", default=None)
NOTES = CrawlRun.NOTE_FIELDS


class LeaseLost(Exception):
    """Another worker took the run over (ours was presumed dead): stop without writing."""


def announce(model_ids: list[int]) -> None:
    """Tell the apps above that these models' evidence may have changed (licenses assesses
    them): done before this returns under run_sync, queued for a worker otherwise."""
    if model_ids:
        models_changed.send(
            HubModel, model_ids=list(model_ids), inline=DRIVEN.get() is not None,
            run_id=RUNNING.get(),
        )  # fmt: skip


def start(
    kind: str,
    *,
    target: str = "",
    limit: int | None = None,
    endpoint: str | None = None,
    pending: list[str] | None = None,
    parent: int | None = None,
) -> tuple[CrawlRun, bool]:
    """A new run, or the active one already doing the same job. Returns (run, created).

    An ancestors run walks up from `target`, or from every id of `pending`."""
    endpoint = (endpoint or settings.HF_ENDPOINT).rstrip("/")
    active = CrawlRun.objects.filter(
        kind=kind, target=target, endpoint=endpoint, status__in=[Status.QUEUED, Status.RUNNING]
    ).first()
    if active:
        return active, False
    if limit is None:
        limit = settings.CANOPY_CRAWL_LIMIT if kind == Kind.FULL else 0
    run = CrawlRun.objects.create(
        kind=kind, target=target, endpoint=endpoint, limit=limit, parent_id=parent
    )
    quarantine.requeue()  # what earlier runs could not store is tried again
    if kind in (Kind.DESCENDANTS, Kind.ANCESTORS):
        run.pending = pending or [target]
        run.seen = sorted(set(run.pending))
        run.save(update_fields=["pending", "seen"])
    return run, True


def missing_parents(*, limit: int) -> list[str]:
    """Parent ids named by lineage edges that match no crawled model or alias."""
    known = HubModel.objects.filter(repo_id=OuterRef("parent_repo_id"))
    aliased = RepoAlias.objects.filter(alias=OuterRef("parent_repo_id"))
    edges = LineageEdge.objects.filter(~Exists(known), ~Exists(aliased))
    ids = edges.values_list("parent_repo_id", flat=True).distinct()
    return list(ids.order_by("parent_repo_id")[:limit])  # the same ones under the limit


def queue_ancestors(
    repo_ids: list[str], *, endpoint: str | None = None, parent: int | None = None
) -> CrawlRun | None:
    """One ancestors run for the ids no active run is already walking (None if none is left),
    started for run `parent` (grouped under its top-level run: a walk a walk calls for is
    still part of the crawl that began it).

    While a listing crawl runs, its pages may still bring those models: it sweeps for what is
    missing when its listing ends, so nothing is queued meanwhile."""
    if endpoint is None:
        endpoint = CrawlRun.latest_endpoint() or settings.HF_ENDPOINT
    endpoint = endpoint.rstrip("/")
    active = CrawlRun.objects.filter(endpoint=endpoint, status__in=[Status.QUEUED, Status.RUNNING])
    listing = [Phase.LISTING, Phase.DERIVING]
    if active.filter(kind__in=[Kind.FULL, Kind.INCREMENTAL], phase__in=listing).exists():
        return None
    walking = {i for run in active.filter(kind=Kind.ANCESTORS) for i in run.seen}
    ids = sorted(set(repo_ids) - walking)
    if not ids:
        return None
    target = ids[0] if len(ids) == 1 else f"{len(ids)} missing ancestors"
    if parent is not None:
        top = CrawlRun.objects.filter(pk=parent).values_list("parent_id", flat=True).first()
        parent = top or (parent if CrawlRun.objects.filter(pk=parent).exists() else None)
    run, created = start(
        Kind.ANCESTORS, target=target, endpoint=endpoint, pending=ids, parent=parent
    )
    if created:
        driven = DRIVEN.get()
        if driven is not None:
            driven.append(run.pk)  # run_sync drives it when the runs before it are done
        else:
            # By its name: catalog.tasks imports this module (tests/licenses/test_assessment.py
            # holds the name to the task's).
            transaction.on_commit(partial(current_app.send_task, CRAWL_TASK, args=(run.pk,)))
    return run


def claim(run_id: int) -> str | None:
    """Take the run's lease if it is free or stale; the token, or None if another worker holds it."""
    token = str(uuid.uuid4())
    now = timezone.now()
    stale = now - timedelta(seconds=settings.CANOPY_STALL_SECONDS)
    taken = (
        CrawlRun.objects.filter(pk=run_id, status__in=[Status.QUEUED, Status.RUNNING])
        .filter(Q(lease="") | Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True))
        .update(lease=token, heartbeat_at=now, status=Status.RUNNING)
    )
    if not taken:
        return None
    CrawlRun.objects.filter(pk=run_id, started_at__isnull=True).update(started_at=now)
    return token


def release(run_id: int, token: str) -> None:
    try:
        CrawlRun.objects.filter(pk=run_id, lease=token).update(lease="")
    except (OperationalError, InterfaceError):
        # The step lost its database connection: on a new one, or the lease would hold the
        # run until it goes stale.
        reconnect()
        CrawlRun.objects.filter(pk=run_id, lease=token).update(lease="")


def fail(run_id: int, message: str) -> None:
    """End an active run as failed with its reason, its lease cleared."""
    run = CrawlRun.objects.get(pk=run_id)
    if not run.is_active:
        return
    run.add_error(message)
    run.status, run.finished_at, run.lease = Status.FAILED, timezone.now(), ""
    run.save(update_fields=["errors", "error_count", "status", "finished_at", "lease"])


def progress(run_id: int) -> tuple[Any, ...]:
    """What a step that did something changes in its run's checkpoint."""
    fields = ("phase", "cursor", "pages", "listed", "details_fetched", "files_fetched",
              "datasets_listed", "datasets_fetched", "datasets_after")  # fmt: skip
    return tuple(CrawlRun.objects.values_list(*fields).get(pk=run_id))


def failures_in_a_row(run_id: int, attempt: int, before: tuple[Any, ...] | None) -> int:
    """`attempt` (the failures so far), or 0 when the step that failed still checkpointed some
    work since `before` (its progress): a long run is failed by a fault that persists, not by
    faults spread over hours."""
    reconnect()
    try:
        return attempt if before is None or progress(run_id) == before else 0
    except (OperationalError, InterfaceError):
        return attempt  # still no database: no progress either


def after_error(run_id: int, exc: Exception, attempt: int) -> float | None:
    """What follows `exc` stopping a run's step after `attempt` failures in a row: the seconds
    to wait before trying again (a transient error, at most CANOPY_CRAWL_RETRIES times; the run
    waits as `queued`), or None when the run has failed with its reason."""
    reconnect()
    retries = settings.CANOPY_CRAWL_RETRIES
    reason = f"{type(exc).__name__}: {exc}"[:500]
    if isinstance(exc, TRANSIENT) and attempt < retries:
        CrawlRun.objects.filter(pk=run_id, status=Status.RUNNING, lease="").update(
            status=Status.QUEUED
        )
        # Capped below the stall timeout: a run waiting for its retry never looks abandoned.
        cap = min(300.0, settings.CANOPY_STALL_SECONDS / 2)
        wait = min(settings.CANOPY_CRAWL_BACKOFF_SECONDS * 2**attempt, cap)
        wait *= random.uniform(0.5, 1.0)
        log.warning(
            "crawl #%s: retry %d/%d in %.1fs: %s", run_id, attempt + 1, retries, wait, reason
        )
        return wait
    if isinstance(exc, TRANSIENT):
        reason = f"gave up after {retries} retries: {reason}"
    else:
        log.error("crawl #%s failed", run_id, exc_info=exc)
    fail(run_id, reason)
    return None


def reconnect() -> None:
    """Drop database connections that failed and do not answer: the next query opens anew."""
    for conn in connections.all(initialized_only=True):
        if not conn.in_atomic_block:
            conn.close_if_unusable_or_obsolete()


def resume_stalled() -> list[int]:
    """Runs whose worker died (stale heartbeat) or that were never picked up, to be queued
    again; a run whose workers died at the same checkpoint more than CANOPY_CRAWL_RESUMPTIONS
    times in a row is failed instead, or beat would hand it to its next victim forever."""
    stale = timezone.now() - timedelta(seconds=settings.CANOPY_STALL_SECONDS)
    stalled = CrawlRun.objects.filter(status__in=[Status.QUEUED, Status.RUNNING]).filter(
        Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True, created_at__lt=stale)
    )
    fields = ("pk", "lease", "resumed_lease", "resumed_progress", "resumptions")
    resumed = []
    for pk, lease, seen_lease, seen_progress, deaths in stalled.values_list(*fields):
        checkpoint = hashlib.sha1(repr(progress(pk)).encode()).hexdigest()
        if lease and lease != seen_lease:
            # A worker took it since the last look and died: at the same checkpoint again, or
            # having moved it on (then this is the first death there).
            deaths = deaths + 1 if checkpoint == seen_progress else 1
        # else nobody took it since (the queue is long, or no worker runs): not its fault.
        if deaths > settings.CANOPY_CRAWL_RESUMPTIONS:
            fail(pk, f"its worker died {deaths} times in a row at the same step, without "
                     "progress (resumed no more; see the worker's log for how it died)")  # fmt: skip
            continue
        CrawlRun.objects.filter(pk=pk, lease=lease).update(
            resumed_lease=lease, resumed_progress=checkpoint, resumptions=deaths
        )
        resumed.append(pk)
    return resumed


def checkpoint(run: CrawlRun, token: str, fields: list[str], **increments: int) -> None:
    """Checkpoint the run inside the step's transaction; fails if the lease was taken over."""
    now = timezone.now()
    values = {name: getattr(run, name) for name in fields}
    values.update({name: F(name) + n for name, n in increments.items() if n})
    if not CrawlRun.objects.filter(pk=run.pk, lease=token).update(heartbeat_at=now, **values):
        raise LeaseLost(run.pk)
    for name, n in increments.items():
        setattr(run, name, getattr(run, name) + n)


def finish(run: CrawlRun, token: str, status: str) -> None:
    run.status, run.finished_at = status, timezone.now()
    checkpoint(run, token, ["status", "finished_at"])
