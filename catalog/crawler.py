"""Crawling the Hub into the catalog: runs, pages, details, files.

A `CrawlRun` moves through phases: LISTING (pages of GET /api/models, or a tree walk for the
descendants/ancestors kinds), then DETAILS (model_info and license files for the models that are
new or changed). Work is done in steps; each step commits its rows together with the run's
checkpoint (cursor, queue, counts), so a worker killed at any point loses at most the step in
flight, and redoing it is harmless because every write is an upsert keyed on the Hub's ids.
A run is held by one worker at a time through a lease (a conditional UPDATE) that goes stale
when its worker dies, after which `resume_stalled` hands it to another.

An error inside a step is either transient (the Hub's 429 / 5xx / network errors and undecodable
answers, a lost database connection): the step is retried with backoff, the run waiting as
`queued`; or anything else: the run fails with its reason. So a run is `running` only while a
worker holds its lease (see `after_error`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import re
import threading
import time
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, NamedTuple

from django.conf import settings
from django.db import InterfaceError, OperationalError, connections, transaction
from django.db.models import Exists, F, Max, OuterRef, Q
from django.utils import timezone
from huggingface_hub.errors import (
    EntryNotFoundError,
    GatedRepoError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from . import bulk, families, lineage, pool, quarantine, records, signals
from .hub import (
    UNPARSED,
    Hub,
    HubUnavailable,
    MalformedModelInfo,
    ModelNotFound,
    ModelRefused,
    Page,
)
from .models import CrawlRun, HubModel, LineageEdge, ModelFile, RepoAlias
from .progress import enter as enter_phase
from .quarantine import Rejected, Step
from .signals import models_changed

log = logging.getLogger(__name__)

Kind, Status, Phase = CrawlRun.Kind, CrawlRun.Status, CrawlRun.Phase
LISTING_KINDS = {Kind.FULL, Kind.INCREMENTAL, Kind.AUTHOR, Kind.SEARCH}
EVIDENCE_FILE = re.compile(
    r"^(README\.md|(LICEN[CS]E|USE[_-]POLICY|NOTICE)[\w.-]*)$", re.IGNORECASE
)
CARD = "README.md"
DETAILS_PER_STEP = 20
PARENT_ID_CHARS = 200
BULK_ROWS = 10_000  # a listing that wrote more refreshes the planner's statistics
UPDATABLE = [
    f.name
    for f in HubModel._meta.concrete_fields
    if f.name not in ("id", "first_seen_at", "details_key", "files_key", "details_at")
]
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
_sync: ContextVar[list[int] | None] = ContextVar("canopy_crawl_sync", default=None)
# The run whose steps are being done here: the models its steps write are sent with its id, so
# the ancestors walks their assessments call for are grouped under it.
_running: ContextVar[int | None] = ContextVar("canopy_crawl_running", default=None)
# A run's notes (errors, not-found ids, counters) as the details step's threads add to them.
_notes = threading.Lock()
NOTES = CrawlRun.NOTE_FIELDS


class LeaseLost(Exception):
    """Another worker took the run over (ours was presumed dead): stop without writing."""


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    edges: int = 0
    touched: list[int] = field(default_factory=list)  # ids of the rows written
    errors: list[str] = field(default_factory=list)  # problems that cost no record, with why
    rejected: list[Rejected] = field(default_factory=list)  # records not stored: quarantine them


class Lineage(NamedTuple):
    """What the edges of one model are computed from."""

    pk: int
    repo_id: str
    tags: list[str]
    library_name: str
    siblings: list[str] | None
    card_data: dict[str, Any] | None
    base_models: dict[str, Any] | None


# --- writing records ----------------------------------------------------------------------


def ingest(items: list[dict[str, Any]], *, detail: bool = False) -> Counts:
    """Upsert a batch of Hub records and their lineage edges, in bulk, skipping unchanged ones.

    Listing items are matched on the Hub's `_id` (repo ids change on renames), compared by hash,
    and only new or changed rows are written. A `detail` record (model_info) always updates its
    row but keeps the listing hash and change key, so the next listing still sees it unchanged.
    Each record costs only itself: one that cannot be made into a row, or whose row the
    database refuses, is returned in `rejected` (with its error) and the others are written.
    """
    now = timezone.now()
    counts = Counts()
    # Cheap first pass (clean, id and hash); full rows only for new or changed records.
    heads: dict[str, tuple[dict[str, Any], str | None, str, list[str]]] = {}
    for item in items:
        repo_id = item.get("id") if isinstance(item, dict) else None
        try:
            if not isinstance(repo_id, str) or not repo_id:
                raise records.MalformedRecord("record without an id")
            if UNPARSED in item:
                raise records.MalformedRecord(f"unparseable JSON: {item[UNPARSED]}")
            item, notes = records.clean(item)
            repo_id = item["id"]
            heads[repo_id] = (item, _hub_id(item), records.record_hash(item), notes)
        except Exception as exc:  # noqa: BLE001 -- whatever one record raises costs only it
            rid = repo_id if isinstance(repo_id, str) else ""
            why = str(exc) if isinstance(exc, records.MalformedRecord) else quarantine.describe(exc)
            counts.rejected.append(Rejected(rid, why, item))
    hub_ids = [hub_id for _, hub_id, _, _ in heads.values() if hub_id]
    columns = ["id", "hub_id", "repo_id", "record_hash"]
    existing = {
        row[0]: HubModel(**dict(zip(columns, row, strict=True)))
        for row in bulk.find(HubModel, "hub_id", hub_ids, columns)
        + bulk.find(HubModel, "repo_id", list(heads), columns)
    }.values()
    by_hub = {m.hub_id: m for m in existing if m.hub_id}
    by_repo = {m.repo_id: m for m in existing}

    sources: list[Lineage] = []
    new: list[dict[str, Any]] = []
    changed: dict[int, dict[str, Any]] = {}
    for repo_id, (item, hub_id, digest, notes) in heads.items():
        match = by_hub.get(hub_id) if hub_id else None
        holder = by_repo.get(repo_id)
        if match is None and holder is not None and (not holder.hub_id or not hub_id):
            match = holder
        if match is not None and not detail and match.record_hash == digest:
            counts.unchanged += 1
            continue
        try:
            row = records.row_fields(item, digest=digest, notes=notes)
        except Exception as exc:  # noqa: BLE001 -- as in the first pass
            why = str(exc) if isinstance(exc, records.MalformedRecord) else quarantine.describe(exc)
            counts.rejected.append(Rejected(repo_id, why, item))
            continue
        if holder is not None and holder is not match:
            _evict(holder, now)  # another repo now lives at this id (a rename freed it)
        if match is None:
            new.append(row)
        else:
            if match.repo_id != repo_id:
                _rename(match, repo_id)
            changed[match.pk] = row

    if new:
        for row in new:
            row.setdefault("tags", [])
            row["formats"] = records.formats(
                row["tags"], row.get("siblings"), row.get("library_name", "")
            )
            row["first_seen_at"] = row["updated_at"] = now
        for r, error in bulk.insert_rows(HubModel, new):
            counts.rejected.append(Rejected(r["repo_id"], quarantine.describe(error), r["raw"]))
        new = [r for r in new if "id" in r]
        counts.created = len(new)
        for r in new:
            counts.touched.append(r["id"])
            sources.append(Lineage(r["id"], r["repo_id"], r["tags"], r.get("library_name", ""),
                                   r.get("siblings"), r.get("card_data"), r.get("base_models")))  # fmt: skip
    if changed:
        objs = list(HubModel.objects.filter(pk__in=list(changed)))
        for obj in objs:
            row = changed[obj.pk]
            if detail:
                row.pop("record_hash", None)
                if obj.change_key:
                    row.pop("change_key", None)
            for name, value in row.items():
                setattr(obj, name, value)
            obj.formats = records.formats(obj.tags, obj.siblings, obj.library_name)
            obj.updated_at = now
        refused = bulk.isolate(objs, _upsert)
        for obj, error in refused:
            counts.rejected.append(Rejected(obj.repo_id, quarantine.describe(error), obj.raw))
        kept = {id(o) for o in objs} - {id(o) for o, _ in refused}
        objs = [o for o in objs if id(o) in kept]
        counts.updated = len(objs)
        for o in objs:
            counts.touched.append(o.pk)
            sources.append(Lineage(o.pk, o.repo_id, o.tags, o.library_name, o.siblings,
                                   o.card_data, o.base_models))  # fmt: skip
    rewritten = [s.pk for s in sources if s.pk in changed]
    counts.edges = _write_edges(sources, replace=rewritten, errors=counts.errors)
    stored = [s.repo_id for s in sources]
    quarantine.resolve(stored, [Step.LISTING, Step.DETAILS] if detail else [Step.LISTING])
    if detail:
        # Search facets (relation, family, format, memory) of one model; a listing's models
        # get theirs in one pass when the listing ends (see _derive_listed).
        families.refresh(counts.touched)
    if counts.touched and not detail:
        _assess(counts.touched)
    return counts


def _hub_id(item: dict[str, Any]) -> str | None:
    hub_id = item.get("_id")
    return hub_id if isinstance(hub_id, str) and len(hub_id) <= 32 else None


def _upsert(objs) -> None:
    HubModel.objects.bulk_create(
        objs, update_conflicts=True, unique_fields=["id"], update_fields=UPDATABLE
    )


def _assess(model_ids: list[int]) -> None:
    """Tell the apps above that these models' evidence may have changed (licenses assesses
    them): done before this returns under run_sync, queued for a worker otherwise."""
    if model_ids:
        models_changed.send(
            HubModel, model_ids=list(model_ids), inline=_sync.get() is not None,
            run_id=_running.get(),
        )  # fmt: skip


def _evict(model: HubModel, now) -> None:
    """The Hub gave this repo id to another repo: park the old row until its new id is listed."""
    HubModel.objects.filter(pk=model.pk).update(
        repo_id=f"{model.repo_id}~moved~{model.hub_id or model.pk}", updated_at=now
    )


def _rename(model: HubModel, new_id: str) -> None:
    RepoAlias.objects.filter(alias=new_id).delete()
    RepoAlias.objects.update_or_create(alias=model.repo_id, defaults={"model": model})
    HubModel.objects.filter(pk=model.pk).update(repo_id=new_id)
    model.repo_id = new_id


def _write_edges(models: list[Lineage], *, replace: list[int], errors: list[str]) -> int:
    """Every touched model's parent edges, rewritten whole (a child's edges change together).

    An edge the database refuses is left out and said in `errors`; its model stays stored."""
    rows = [
        {"child_id": m.pk, "parent_repo_id": e.parent, "relation": e.relation,
         "relation_source": e.source, "origin": e.origin}
        for m in models
        for e in lineage.edges_for(
            repo_id=m.repo_id, tags=m.tags, library=m.library_name, files=m.siblings,
            card=m.card_data, base_models=m.base_models,
        )
        if len(e.parent) <= PARENT_ID_CHARS  # no repo id is longer: a card's prose, not an id
    ]  # fmt: skip
    if replace:
        LineageEdge.objects.filter(child_id__in=replace).delete()
    refused = bulk.insert_rows(LineageEdge, rows)
    for row, exc in refused:
        errors.append(f"edge {row['child_id']} -> {row['parent_repo_id'][:80]}: {exc}")
    return len(rows) - len(refused)


class Quarantined(Exception):
    """A model whose details could not be stored; the run quarantines it and goes on."""

    def __init__(self, step: str, rejected: Rejected):
        super().__init__(f"{rejected.repo_id}: {rejected.error}")
        self.step, self.rejected = step, rejected


def fetch_details(
    model: HubModel, hub: Hub, *, run: CrawlRun | None = None
) -> tuple[HubModel, int]:
    """model_info for one model, then its license evidence files. Returns (model, files fetched).

    Raises Quarantined when the answer cannot be stored; a file that cannot be stored is
    quarantined under `run` (raised without one) while the other files are read."""
    try:
        item = hub.model_info(model.repo_id)
    except MalformedModelInfo as exc:
        raise Quarantined(Step.DETAILS, Rejected(model.repo_id, str(exc), exc.record)) from exc
    if item.get("id") == model.repo_id and isinstance(item.get("_id"), str):
        # Some legacy ids (gpt2) answer 200 echoing the alias with the canonical repo's _id.
        canonical = (
            HubModel.objects.filter(hub_id=item["_id"]).exclude(repo_id=item["id"])
            .values_list("repo_id", flat=True).first()
        )  # fmt: skip
        if canonical:
            item = {**item, "id": canonical, "modelId": canonical}
    counts = ingest([item], detail=True)
    if counts.rejected:
        rejected = counts.rejected[0]
        rejected.repo_id = rejected.repo_id or model.repo_id
        raise Quarantined(Step.DETAILS, rejected)
    fresh = HubModel.objects.get(repo_id=records.clean_text(item["id"]))  # as ingest stored it
    if fresh.repo_id != model.repo_id:
        # The Hub redirected (a renamed repo, a legacy id): the answer's id is canonical.
        RepoAlias.objects.update_or_create(alias=model.repo_id, defaults={"model": fresh})
    files = 0
    if fresh.files_key != fresh.change_key:
        files, refused = _fetch_files(fresh, hub)
        if refused and run is None:
            raise Quarantined(Step.FILES, refused[0])
        if refused and run is not None:
            with _notes:
                quarantine.hold(run, Step.FILES, refused)
        if files:
            # ingest() derived the columns before the card was read: the summary (which search
            # looks in) comes from the README just stored.
            families.refresh([fresh.pk])
    with transaction.atomic():
        HubModel.objects.filter(pk=fresh.pk).update(
            details_key=fresh.change_key, details_at=timezone.now()
        )
        if run is not None:
            # Counted with the write that takes it out of the detail scope: a step killed
            # after this (SIGKILL, the database gone) cannot leave it fetched but uncounted,
            # so the run's cap holds and its set of models is the same however it is cut.
            # The details phase's progress too, for the same reason.
            phase = int(run.phase == Phase.DETAILS)
            CrawlRun.objects.filter(pk=run.pk).update(
                details_fetched=F("details_fetched") + 1, files_fetched=F("files_fetched") + files,
                phase_done=F("phase_done") + phase,
            )  # fmt: skip
    if run is not None:
        with _notes:
            run.details_fetched += 1
            run.files_fetched += files
            run.phase_done += phase
    return fresh, files


def _fetch_files(model: HubModel, hub: Hub) -> tuple[int, list[Rejected]]:
    """Read the model's license evidence files; one that cannot be stored is returned, with
    why, and costs no other. A file is stored cleaned (records.bounded_file)."""
    if model.siblings is None:
        # A record that does not say which files the repo has (a bare listing item) may
        # still have a card: ask for it, and a 404 says there is none.
        wanted = [CARD]
    else:
        wanted = [f for f in model.siblings if EVIDENCE_FILE.match(f)]
    fetched, refused = 0, []
    for path in wanted:
        try:
            text, etag = hub.read_file(model.repo_id, path, revision=model.sha or None)
        except (GatedRepoError, EntryNotFoundError, RepositoryNotFoundError):
            continue  # gated without access, or listed but gone: nothing to read
        except RevisionNotFoundError as exc:
            refused.append(Rejected(model.repo_id, quarantine.describe(exc), None, path))
            continue
        except OSError as exc:
            # Only a file name the record made impossible gets here (see hub.read_file).
            refused.append(Rejected(model.repo_id, quarantine.describe(exc), None, path))
            continue
        stored, original = records.bounded_file(text)
        try:
            with transaction.atomic():
                ModelFile.objects.update_or_create(
                    model=model,
                    path=path,
                    defaults={
                        "text": stored,
                        "original_chars": original,
                        "etag": etag,
                        "revision": model.sha,
                        "fetched_at": timezone.now(),
                    },
                )
        except bulk.ROW_ERRORS as exc:
            refused.append(Rejected(model.repo_id, quarantine.describe(exc), text[:1000], path))
            continue
        quarantine.resolve([model.repo_id], [Step.FILES], path=path)
        fetched += 1
    if model.siblings is not None:
        model.files.exclude(path__in=wanted).delete()  # gone from the repo
    HubModel.objects.filter(pk=model.pk).update(files_key=model.change_key)
    return fetched, refused


# --- runs ---------------------------------------------------------------------------------


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
        # Where the catalog's models came from: the endpoint of the latest crawl.
        latest = CrawlRun.objects.order_by("-created_at").values_list("endpoint", flat=True).first()
        endpoint = latest or settings.HF_ENDPOINT
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
        driven = _sync.get()
        if driven is not None:
            driven.append(run.pk)  # run_sync drives it when the runs before it are done
        else:
            from .tasks import crawl

            crawl.delay_on_commit(run.pk)
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
        _reconnect()
        CrawlRun.objects.filter(pk=run_id, lease=token).update(lease="")


def advance(run_id: int, *, steps: int, hub: Hub | None = None) -> bool | None:
    """Do up to `steps` steps of a run. True when it is finished, False when work remains,
    None when another worker holds it."""
    token = claim(run_id)
    if token is None:
        return None
    running = _running.set(run_id)
    try:
        run = CrawlRun.objects.get(pk=run_id)
        hub = hub or Hub(endpoint=run.endpoint)
        for _ in range(steps):
            if run.phase == Phase.FINISHED:
                break
            _step(run, hub, token)
        if run.phase == Phase.FINISHED:
            _finish(run, token, Status.DONE)
            return True
        return False
    except LeaseLost:
        return None
    finally:
        _running.reset(running)
        release(run_id, token)


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
    fields = ("phase", "cursor", "pages", "listed", "details_fetched", "files_fetched")
    return tuple(CrawlRun.objects.values_list(*fields).get(pk=run_id))


def failures_in_a_row(run_id: int, attempt: int, before: tuple[Any, ...] | None) -> int:
    """`attempt` (the failures so far), or 0 when the step that failed still checkpointed some
    work since `before` (its progress): a long run is failed by a fault that persists, not by
    faults spread over hours."""
    _reconnect()
    try:
        return attempt if before is None or progress(run_id) == before else 0
    except (OperationalError, InterfaceError):
        return attempt  # still no database: no progress either


def after_error(run_id: int, exc: Exception, attempt: int) -> float | None:
    """What follows `exc` stopping a run's step after `attempt` failures in a row: the seconds
    to wait before trying again (a transient error, at most CANOPY_CRAWL_RETRIES times; the run
    waits as `queued`), or None when the run has failed with its reason."""
    _reconnect()
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


def _reconnect() -> None:
    """Drop database connections that failed and do not answer: the next query opens anew."""
    for conn in connections.all(initialized_only=True):
        if not conn.in_atomic_block:
            conn.close_if_unusable_or_obsolete()


def run_sync(run: CrawlRun, *, hub: Hub | None = None) -> CrawlRun:
    """Drive a run to its end in this process (`manage.py crawl --sync`, tests, benchmarks)."""
    return sync_runs(run, hub=hub)[0]


def sync_runs(run: CrawlRun, *, hub: Hub | None = None) -> list[CrawlRun]:
    """Do in this process all a worker would for this run: its steps, the license assessments
    they trigger and their fan-out (inline, see `_assess`), then the ancestors runs queued on
    the way, in order, and those of its endpoint an interrupted --sync left queued (no worker
    holds them, so none would drive them). Returns the runs, this one first, each done or
    failed (or held by a worker)."""
    left = CrawlRun.objects.filter(endpoint=run.endpoint, status=Status.QUEUED, lease="")
    driven = [
        run.pk,
        *left.exclude(pk=run.pk).order_by("created_at", "pk").values_list("pk", flat=True),
    ]
    context = _sync.set(driven)
    try:
        for run_id in driven:  # grows while runs queue others
            try:
                _drive(run_id, hub)
            except BaseException:
                # Interrupted (Ctrl-C): left for a worker or the next --sync, not `running`.
                _reconnect()
                CrawlRun.objects.filter(pk=run_id, status=Status.RUNNING, lease="").update(
                    status=Status.QUEUED
                )
                raise
    finally:
        _sync.reset(context)
    runs = CrawlRun.objects.in_bulk(driven)
    return [runs[pk] for pk in driven]


def _drive(run_id: int, hub: Hub | None) -> None:
    endpoint = CrawlRun.objects.values_list("endpoint", flat=True).get(pk=run_id)
    if hub is None or hub.endpoint != endpoint:
        hub = Hub(endpoint=endpoint)
    attempt = 0
    while True:
        before = None
        try:
            before = progress(run_id)
            state = advance(run_id, steps=1, hub=hub)
        except Exception as exc:
            attempt = failures_in_a_row(run_id, attempt, before)
            wait = after_error(run_id, exc, attempt)
            if wait is None:
                return
            time.sleep(wait)
            attempt += 1
            continue
        if state is not False:
            return  # done, or held by a worker (which finishes it)
        attempt = 0


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


def _save(run: CrawlRun, token: str, fields: list[str], **increments: int) -> None:
    """Checkpoint the run inside the step's transaction; fails if the lease was taken over."""
    now = timezone.now()
    values = {name: getattr(run, name) for name in fields}
    values.update({name: F(name) + n for name, n in increments.items() if n})
    if not CrawlRun.objects.filter(pk=run.pk, lease=token).update(heartbeat_at=now, **values):
        raise LeaseLost(run.pk)
    for name, n in increments.items():
        setattr(run, name, getattr(run, name) + n)


def _finish(run: CrawlRun, token: str, status: str) -> None:
    run.status, run.finished_at = status, timezone.now()
    _save(run, token, ["status", "finished_at"])


def _step(run: CrawlRun, hub: Hub, token: str) -> None:
    if run.phase == Phase.LISTING:
        if run.kind in LISTING_KINDS:
            _list_step(run, hub, token)
        elif run.kind == Kind.DESCENDANTS:
            _children_step(run, hub, token)
        else:
            _ancestors_step(run, hub, token)
    elif run.phase == Phase.DERIVING:
        _derive_step(run, token)
    else:
        _details_step(run, hub, token)


def _list_params(run: CrawlRun, hub: Hub) -> dict[str, Any]:
    if run.kind == Kind.INCREMENTAL:
        return hub.list_params(sort="lastModified")
    if run.kind == Kind.AUTHOR:
        return hub.list_params(author=run.target)
    if run.kind == Kind.SEARCH:
        return hub.list_params(search=run.target)
    return hub.list_params(sort="downloads")


def _previous_watermark(run: CrawlRun):
    return (
        CrawlRun.objects.filter(endpoint=run.endpoint, status=Status.DONE)
        .filter(kind__in=[Kind.FULL, Kind.INCREMENTAL])
        .aggregate(m=Max("watermark"))["m"]
    )


def _list_step(run: CrawlRun, hub: Hub, token: str) -> None:
    page = hub.list_page(url=run.cursor or None, params=_list_params(run, hub))
    items = page.items
    if run.limit:
        items = items[: max(run.limit - run.listed, 0)]
    done = page.next_url is None or (run.limit and run.listed + len(items) >= run.limit)
    with transaction.atomic():
        counts = ingest(items)
        modified = [r.get("lastModified") for r in items if isinstance(r, dict)]
        dates = [d for d in (_date(m) for m in modified) if d]
        if run.kind == Kind.INCREMENTAL:
            mark = _previous_watermark(run)
            if mark and any(d <= mark for d in dates):
                done = True
        if dates and (run.watermark is None or max(dates) > run.watermark):
            run.watermark = max(dates)
        for error in counts.errors:
            run.add_error(error)
        quarantine.hold(run, Step.LISTING, counts.rejected)
        run.cursor = "" if done else page.next_url or ""
        _save(run, token, ["cursor", "watermark", *NOTES], pages=1,
              **_increments(counts, len(items)))  # fmt: skip
        if done:  # after the counts, so the listing's summary has its last page
            enter_phase(run, Phase.DERIVING, total=run.created + run.updated)
            _save(run, token, CrawlRun.PHASE_FIELDS)


def _derive_step(run: CrawlRun, token: str) -> None:
    """After the listing, a step of its own: cut before its checkpoint, it is redone
    (derivation and the sweep for missing parents are idempotent), never skipped."""
    _derive_listed(run)
    enter_phase(run, Phase.DETAILS, total=_details_total(run))
    with transaction.atomic():
        _save(run, token, CrawlRun.PHASE_FIELDS)
        # With the phase: the sweep cannot be cut off from it (and, now past the listing,
        # queue_ancestors no longer waits for this run's pages).
        if run.kind in (Kind.FULL, Kind.INCREMENTAL):
            missing = missing_parents(limit=settings.CANOPY_DETAILS_PER_RUN)
            if missing:
                queue_ancestors(missing, endpoint=run.endpoint, parent=run.pk)


def _date(value: Any):
    try:
        return records.parse_date(value)
    except records.MalformedRecord:
        return None


def _derive_listed(run: CrawlRun) -> None:
    """The search facet columns of the models this run listed, in one pass after the listing:
    per page, each family would be walked again and every new row written twice."""
    written = HubModel.objects.filter(updated_at__gte=run.started_at)
    n = written.count()
    if not settings.CANOPY_DERIVE_ON_CRAWL:
        # Searchable all the same: the read side takes them by the time they were written, as
        # a first crawl's 760,000 ids would cost the worker 100 MB as a list.
        signals.models_derived.send(sender=HubModel, model_ids=None, since=run.started_at)
    elif n > 50_000:
        families.refresh_all()  # the lineage loaded once, in memory
    else:
        ids = list(written.values_list("pk", flat=True))
        for start in range(0, len(ids), 2000):
            families.refresh(ids[start : start + 2000])
    if n > BULK_ROWS:
        bulk.analyze(HubModel, LineageEdge)
        signals.bulk_written.send(sender=HubModel)


def _increments(counts: Counts, listed: int) -> dict[str, int]:
    return {
        "listed": listed,
        "created": counts.created,
        "updated": counts.updated,
        "unchanged": counts.unchanged,
        "edges_written": counts.edges,
    }


def _children_step(run: CrawlRun, hub: Hub, token: str) -> None:
    """Breadth-first walk down the tree: one page of one parent's children per step."""
    if not run.pending:
        _derive_listed(run)
        enter_phase(run, Phase.DETAILS, total=_details_total(run))
        _save(run, token, CrawlRun.PHASE_FIELDS)
        return
    parent = run.pending[0]
    if parent == run.target and not run.cursor and not lineage.resolve([parent]):
        _details_or_hold(run, HubModel(repo_id=parent), hub)  # the root, before its children
    params = hub.list_params(filters=[f"base_model:{parent}"])
    page: Page = hub.list_page(url=run.cursor or None, params=params)
    seen = set(run.seen)
    fresh = [i["id"] for i in page.items if isinstance(i, dict) and i.get("id") not in seen]
    run.seen = [*run.seen, *fresh]
    run.pending = [*run.pending, *fresh]
    if page.next_url:
        run.cursor = page.next_url
    else:
        run.cursor, run.pending = "", run.pending[1:]
    with transaction.atomic():
        counts = ingest(page.items)
        for error in counts.errors:
            run.add_error(error)
        quarantine.hold(run, Step.LISTING, counts.rejected)
        _save(run, token, ["cursor", "pending", "seen", *NOTES], pages=1,
              **_increments(counts, len(page.items)))  # fmt: skip


def _ancestors_step(run: CrawlRun, hub: Hub, token: str) -> None:
    """Walk up: fetch each missing or stale ancestor with model_info, queue its own parents."""
    if not run.pending:
        enter_phase(run, Phase.DETAILS, total=_details_total(run))
        _save(run, token, CrawlRun.PHASE_FIELDS)
        return
    repo_id, rest = run.pending[0], run.pending[1:]
    model = lineage.resolve([repo_id]).get(repo_id)
    fetched = 0
    if model is None or model.details_key != model.change_key or not model.details_key:
        model, _ = _details_or_hold(run, model or HubModel(repo_id=repo_id), hub)
        fetched = int(model is not None)
    seen = set(run.seen)
    if model is not None:
        for edge in model.parent_edges.all():
            if edge.parent_repo_id not in seen:
                seen.add(edge.parent_repo_id)
                rest.append(edge.parent_repo_id)
    run.pending, run.seen = rest, sorted(seen)
    with transaction.atomic():
        _save(run, token, ["pending", "seen", *NOTES])  # counted by fetch_details
    if fetched and model is not None:
        # After the checkpoint: its parents are in `seen`, so its assessment, finding them
        # missing, does not queue another run for what this one is about to walk.
        _assess([model.pk])


def _details_or_hold(run: CrawlRun, model: HubModel, hub: Hub) -> tuple[HubModel | None, int]:
    """fetch_details for one model of a step (details, a descendants root, an ancestor):
    whatever that model's answer makes fail costs that model only (noted when the Hub does not
    have it, else quarantined with why; the next run tries it again) and gives (None, 0).
    HubUnavailable goes up: the step is retried."""
    try:
        return fetch_details(model, hub, run=run)
    except ModelNotFound:
        with _notes:
            run.add_not_found(model.repo_id)  # an outcome (deleted, private...), not an error
    except Quarantined as exc:
        with _notes:
            quarantine.hold(run, exc.step, [exc.rejected])
    except (*bulk.ROW_ERRORS, KeyError, ModelRefused) as exc:
        with _notes:
            quarantine.hold(run, Step.DETAILS, [Rejected(model.repo_id, quarantine.describe(exc))])
    return None, 0


def _detail_scope(run: CrawlRun):
    models = HubModel.objects.needing_details()
    if run.kind == Kind.AUTHOR:
        return models.filter(author=run.target)
    if run.kind == Kind.SEARCH:
        return models.filter(repo_id__icontains=run.target)
    if run.kind in (Kind.DESCENDANTS, Kind.ANCESTORS):
        return models.filter(Q(repo_id__in=run.seen) | Q(parent_edges__parent_repo_id__in=run.seen))
    return models


def _details_total(run: CrawlRun) -> int:
    """What the details phase will fetch, as it begins: its scope, up to the run's cap."""
    room = max(settings.CANOPY_DETAILS_PER_RUN - run.details_fetched, 0)
    return min(_detail_scope(run).distinct().count(), room) if room else 0


def _details_step(run: CrawlRun, hub: Hub, token: str) -> None:
    room = settings.CANOPY_DETAILS_PER_RUN - run.details_fetched
    batch = (
        list(
            _detail_scope(run)
            .order_by("-downloads", "id")
            .distinct()[: min(DETAILS_PER_STEP, room)]
        )
        if room > 0
        else []
    )
    done: list[int] = []
    skipped = 0  # noted or set aside; fetch_details counts the fetched ones in phase_done

    def fetch(model: HubModel) -> HubModel | None:
        return _details_or_hold(run, model, hub)[0]  # fetch_details counts it in the run

    try:
        for model, fresh in pool.each(fetch, batch, threads=settings.CANOPY_DETAIL_THREADS):
            if fresh is None:  # noted or set aside: not asked again until the model changes
                HubModel.objects.filter(pk=model.pk).update(details_key=model.change_key)
                skipped += 1
            else:
                done.append(fresh.pk)
    except HubUnavailable:
        # The step is retried: keep what it did (the fetched models' assessments; they
        # count against the run's room already).
        _assess(done)
        run.phase_done += skipped
        with transaction.atomic():
            _save(run, token, [*NOTES, "phase_done"])
        raise
    run.phase_done += skipped
    finished = len(batch) < DETAILS_PER_STEP or room <= len(batch)
    if finished:
        # A step cut short (a killed worker) committed details it never assessed, and so never
        # queued the parents they name: assess all this run fetched once more at its end (an
        # unchanged assessment writes nothing; the details cap bounds the list).
        done += (
            HubModel.objects.filter(details_at__gte=run.started_at)
            .exclude(pk__in=done)
            .values_list("pk", flat=True)
        )
    _assess(done)  # their cards and license files are in now
    if finished:
        enter_phase(run, Phase.FINISHED)
    with transaction.atomic():
        _save(run, token, [*CrawlRun.PHASE_FIELDS, *NOTES])
