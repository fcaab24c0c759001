"""Crawling the Hub into the catalog: a run driven through its steps, by a worker (`advance`, a
few steps per Celery task) or in this process (`run_sync`, for `crawl --sync`, tests and
benchmarks).

A `CrawlRun` moves through phases: LISTING (pages of GET /api/models, or a tree walk for the
descendants/ancestors kinds), DERIVING, then DETAILS (model_info and license files for the
models that are new or changed). The steps are catalog.steps; runs' leases, checkpoints and
retries are catalog.runs; turning records into rows is catalog.ingest.
"""

from __future__ import annotations

import time

from . import runs
from .hub import Hub
from .models import CrawlRun
from .steps import step

Status, Phase = CrawlRun.Status, CrawlRun.Phase


def advance(run_id: int, *, steps: int, hub: Hub | None = None) -> bool | None:
    """Do up to `steps` steps of a run. True when it is finished, False when work remains,
    None when another worker holds it."""
    token = runs.claim(run_id)
    if token is None:
        return None
    running = runs.RUNNING.set(run_id)
    try:
        run = CrawlRun.objects.get(pk=run_id)
        hub = hub or Hub(endpoint=run.endpoint)
        for _ in range(steps):
            if run.phase == Phase.FINISHED:
                break
            step(run, hub, token)
        if run.phase == Phase.FINISHED:
            runs.finish(run, token, Status.DONE)
            return True
        return False
    except runs.LeaseLost:
        return None
    finally:
        runs.RUNNING.reset(running)
        runs.release(run_id, token)


def run_sync(run: CrawlRun, *, hub: Hub | None = None) -> CrawlRun:
    """Drive a run to its end in this process (`manage.py crawl --sync`, tests, benchmarks)."""
    return sync_runs(run, hub=hub)[0]


def sync_runs(run: CrawlRun, *, hub: Hub | None = None) -> list[CrawlRun]:
    """Do in this process all a worker would for this run: its steps, the license assessments
    they trigger and their fan-out (inline, see `runs.announce`), then the ancestors runs queued on
    the way, in order, and those of its endpoint an interrupted --sync left queued (no worker
    holds them, so none would drive them). Returns the runs, this one first, each done or
    failed (or held by a worker)."""
    left = CrawlRun.objects.filter(endpoint=run.endpoint, status=Status.QUEUED, lease="")
    driven = [
        run.pk,
        *left.exclude(pk=run.pk).order_by("created_at", "pk").values_list("pk", flat=True),
    ]
    context = runs.DRIVEN.set(driven)
    try:
        for run_id in driven:  # grows while runs queue others
            try:
                _drive(run_id, hub)
            except BaseException:
                # Interrupted (Ctrl-C): left for a worker or the next --sync, not `running`.
                runs.reconnect()
                CrawlRun.objects.filter(pk=run_id, status=Status.RUNNING, lease="").update(
                    status=Status.QUEUED
                )
                raise
    finally:
        runs.DRIVEN.reset(context)
    by_pk = CrawlRun.objects.in_bulk(driven)
    return [by_pk[pk] for pk in driven]


def _drive(run_id: int, hub: Hub | None) -> None:
    endpoint = CrawlRun.objects.values_list("endpoint", flat=True).get(pk=run_id)
    if hub is None or hub.endpoint != endpoint:
        hub = Hub(endpoint=endpoint)
    attempt = 0
    while True:
        before = None
        try:
            before = runs.progress(run_id)
            state = advance(run_id, steps=1, hub=hub)
        except Exception as exc:
            attempt = runs.failures_in_a_row(run_id, attempt, before)
            wait = runs.after_error(run_id, exc, attempt)
            if wait is None:
                return
            time.sleep(wait)
            attempt += 1
            continue
        if state is not False:
            return  # done, or held by a worker (which finishes it)
        attempt = 0
