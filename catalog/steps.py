"""The steps of each kind of run: a listing page, the derived columns after a listing, a level of
a tree walk, a batch of details. Each writes its rows (catalog.ingest), says what it wrote
(`runs.announce`) and commits with the run's checkpoint (`runs.checkpoint`).
"""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from . import bulk, datasets, families, ingest, lineage, pool, quarantine, records, runs, signals
from .hub import (
    Hub,
    HubUnavailable,
    MalformedModelInfo,
    ModelNotFound,
    ModelRefused,
    Page,
)
from .models import CrawlRun, HubModel, LineageEdge, RepoAlias
from .progress import enter as enter_phase
from .quarantine import Rejected, Step

Kind, Status, Phase = CrawlRun.Kind, CrawlRun.Status, CrawlRun.Phase
LISTING_KINDS = {Kind.FULL, Kind.INCREMENTAL, Kind.AUTHOR, Kind.SEARCH}
DETAILS_PER_STEP = 20  # at least; four per detail thread (pool.each)
DATASETS_PER_STEP = 100  # dataset_info calls a step (most answer 404 at once: a cheap step)
BULK_ROWS = 10_000  # a listing that wrote more refreshes the planner's statistics
# A run's notes (errors, not-found ids, counters) as the details step's threads add to them.
_notes = threading.Lock()


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
    counts = ingest.ingest([item], detail=True)
    # Search facets (relation, family, format, memory) of one model; a listing's models get
    # theirs in one pass when the listing ends (see _derive_listed).
    families.refresh(counts.touched)
    if counts.rejected:
        rejected = counts.rejected[0]
        rejected.repo_id = rejected.repo_id or model.repo_id
        raise Quarantined(Step.DETAILS, rejected)
    fresh = HubModel.objects.get(repo_id=records.clean_text(item["id"]))  # as ingest stored it
    if fresh.repo_id != model.repo_id:
        # The Hub redirected (a renamed repo, a legacy id): the answer's id is canonical.
        learnt = not RepoAlias.objects.filter(alias=model.repo_id, model=fresh).exists()
        RepoAlias.objects.update_or_create(alias=model.repo_id, defaults={"model": fresh})
        if learnt:
            # Whoever names the old id ("base_model: gpt2") now has a known parent, and the
            # family its columns were derived under (the old id, when they were derived first;
            # found by the chaos crawl) is the canonical one's.
            stale = HubModel.objects.filter(base_family=model.repo_id).values_list("pk", flat=True)
            families.refresh(list(stale))
            runs.announce(lineage.children_naming(model.repo_id))
    files = 0
    if fresh.files_key != fresh.change_key:
        files, refused = ingest.fetch_files(fresh, hub)
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


def step(run: CrawlRun, hub: Hub, token: str) -> None:
    if run.phase == Phase.LISTING:
        if run.kind in LISTING_KINDS:
            _list_step(run, hub, token)
        elif run.kind == Kind.DESCENDANTS:
            _children_step(run, hub, token)
        else:
            _ancestors_step(run, hub, token)
    elif run.phase == Phase.DERIVING:
        _derive_step(run, token)
    elif run.phase == Phase.DATASETS:
        _datasets_step(run, hub, token)
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
        counts = ingest.ingest(items)
        runs.announce(counts.touched)
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
        runs.checkpoint(run, token, ["cursor", "watermark", *runs.NOTES], pages=1,
              **_increments(counts, len(items)))  # fmt: skip
        if done:  # after the counts, so the listing's summary has its last page
            enter_phase(run, Phase.DERIVING, total=run.created + run.updated)
            runs.checkpoint(run, token, CrawlRun.PHASE_FIELDS)


def _derive_step(run: CrawlRun, token: str) -> None:
    """After the listing, a step of its own: cut before its checkpoint, it is redone
    (derivation and the sweep for missing parents are idempotent), never skipped."""
    _derive_listed(run)
    enter_phase(run, Phase.DETAILS, total=_details_total(run))
    with transaction.atomic():
        runs.checkpoint(run, token, CrawlRun.PHASE_FIELDS)
        # With the phase: the sweep cannot be cut off from it (and, now past the listing,
        # queue_ancestors no longer waits for this run's pages).
        if run.kind in (Kind.FULL, Kind.INCREMENTAL):
            missing = runs.missing_parents(limit=settings.CANOPY_DETAILS_PER_RUN)
            if missing:
                runs.queue_ancestors(missing, endpoint=run.endpoint, parent=run.pk)


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


def _increments(counts: ingest.Counts, listed: int) -> dict[str, int]:
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
        runs.checkpoint(run, token, CrawlRun.PHASE_FIELDS)
        return
    parent = run.pending[0]
    if parent == run.target and not run.cursor and not lineage.models_named([parent]):
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
        counts = ingest.ingest(page.items)
        runs.announce(counts.touched)
        for error in counts.errors:
            run.add_error(error)
        quarantine.hold(run, Step.LISTING, counts.rejected)
        runs.checkpoint(run, token, ["cursor", "pending", "seen", *runs.NOTES], pages=1,
              **_increments(counts, len(page.items)))  # fmt: skip


def _ancestors_step(run: CrawlRun, hub: Hub, token: str) -> None:
    """Walk up: fetch each missing or stale ancestor with model_info, queue its own parents."""
    if not run.pending:
        enter_phase(run, Phase.DETAILS, total=_details_total(run))
        runs.checkpoint(run, token, CrawlRun.PHASE_FIELDS)
        return
    repo_id, rest = run.pending[0], run.pending[1:]
    model = lineage.models_named([repo_id]).get(repo_id)
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
        runs.checkpoint(run, token, ["pending", "seen", *runs.NOTES])  # counted by fetch_details
    if fetched and model is not None:
        # After the checkpoint: its parents are in `seen`, so its assessment, finding them
        # missing, does not queue another run for what this one is about to walk.
        runs.announce([model.pk])


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
    # A step waits for its slowest fetch (a retried or timed-out one): more threads need more
    # models per step to stay busy (32 threads, 20 a step, 10% of answers faulted: 7 a second).
    per_step = max(DETAILS_PER_STEP, 4 * settings.CANOPY_DETAIL_THREADS)
    batch = (
        list(_detail_scope(run).order_by("-downloads", "id").distinct()[: min(per_step, room)])
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
        runs.announce(done)
        run.phase_done += skipped
        with transaction.atomic():
            runs.checkpoint(run, token, [*runs.NOTES, "phase_done"])
        raise
    run.phase_done += skipped
    finished = len(batch) < per_step or room <= len(batch)
    if finished:
        # A step cut short (a killed worker) committed details it never assessed, and so never
        # queued the parents they name: assess all this run fetched once more at its end (an
        # unchanged assessment writes nothing; the details cap bounds the list).
        done += (
            HubModel.objects.filter(details_at__gte=run.started_at)
            .exclude(pk__in=done)
            .values_list("pk", flat=True)
        )
    runs.announce(done)  # their cards and license files are in now
    if finished:
        _enter_datasets(run, hub)
    with transaction.atomic():
        runs.checkpoint(run, token, [*CrawlRun.PHASE_FIELDS, "cursor", *runs.NOTES])


def _enter_datasets(run: CrawlRun, hub: Hub) -> None:
    """After the details: the training data its models declare. A full run lists every
    dataset first (run.cursor: the next page); the caller saves the phase with its step."""
    if not settings.CANOPY_CRAWL_DATASETS:
        enter_phase(run, Phase.FINISHED)
        return
    enter_phase(run, Phase.DATASETS)
    run.cursor = hub.datasets_url() if run.kind == Kind.FULL else ""


def _dataset_scope(run: CrawlRun) -> list[int] | None:
    """Whose declared datasets a run reads: all models' (full and incremental runs), else the
    models the run wrote."""
    if run.kind in (Kind.FULL, Kind.INCREMENTAL):
        return None
    return list(
        HubModel.objects.filter(updated_at__gte=run.started_at).values_list("pk", flat=True)
    )


def _datasets_step(run: CrawlRun, hub: Hub, token: str) -> None:
    """A page of the dataset listing, else a batch of dataset_info for declared datasets the
    listing did not give (or that went stale); the phase ends when none is left."""
    if run.cursor:
        page = hub.dataset_page(run.cursor)
        changed, rejected = datasets.store(page.items)
        with transaction.atomic():
            quarantine.hold(run, Step.DATASETS, rejected)
            run.cursor = page.next_url or ""
            run.datasets_listed += len(page.items)
            run.phase_done += len(page.items)
            runs.checkpoint(run, token, ["cursor", "datasets_listed", "phase_done", *runs.NOTES])
        runs.announce(datasets.models_of(changed))
        return
    per_step = max(DATASETS_PER_STEP, 4 * settings.CANOPY_DETAIL_THREADS)
    batch = datasets.wanted(model_ids=_dataset_scope(run), after=run.datasets_after, limit=per_step)
    # After a whole listing, a namespaced id it did not give is not on the Hub (deleted, private,
    # misspelt): only a legacy un-namespaced name ("glue") may answer by redirect, so only those
    # are asked. The others are asked again when stale, by a run that lists nothing.
    listed_all = run.kind == Kind.FULL and run.datasets_listed > 0
    askable = [d for d in batch if datasets.fetchable(d) and not (listed_all and "/" in d)]

    def fetch(repo_id: str) -> dict[str, Any] | Rejected | None:
        """The record (under the id asked for: a renamed dataset answers with its new id, and
        the models name the old one), None when the Hub has none, Rejected when refused."""
        try:
            return {**hub.dataset_info(repo_id), "id": repo_id}
        except ModelNotFound:
            return None
        except ModelRefused as exc:
            return Rejected(repo_id, str(exc))
        except MalformedModelInfo as exc:
            return Rejected(repo_id, str(exc), exc.record)

    answers: dict[str, dict[str, Any] | Rejected | None] = {}
    try:
        for repo_id, answer in pool.each(fetch, askable, threads=settings.CANOPY_DETAIL_THREADS):
            answers[repo_id] = answer
    except HubUnavailable:
        # The step is retried: keep what it read (as the details step does), so a fault every
        # few answers still moves the phase on.
        asked = [d for d in batch if d in answers or d not in askable]
        _store_answers(run, token, asked, answers, whole=False, finished=False)
        raise
    _store_answers(run, token, batch, answers, whole=True, finished=len(batch) < per_step)


def _store_answers(
    run: CrawlRun,
    token: str,
    batch: list[str],
    answers: dict[str, dict[str, Any] | Rejected | None],
    *,
    whole: bool,
    finished: bool,
) -> None:
    """What a batch of dataset_info answered, stored; each asked id gets a row, so `wanted`
    leaves it until it is stale."""
    refused = [a for a in answers.values() if isinstance(a, Rejected)]
    changed, rejected = datasets.store([a for a in answers.values() if isinstance(a, dict)])
    absent = [d for d in batch if d not in answers or answers[d] is None]
    gone = datasets.not_found(absent)
    # Asked, but nothing storable came: not asked again until it is stale (and quarantined).
    gone += datasets.checked([r.repo_id for r in [*refused, *rejected]])
    with transaction.atomic():
        quarantine.hold(run, Step.DATASETS, [*refused, *rejected])
        run.datasets_fetched += len(answers)
        run.phase_done += len(batch)
        if batch and whole:
            # Past this batch, in the database's order of ids (its collation, not Python's).
            # A step cut short keeps its place: what it asked has a row now, so is not wanted.
            run.datasets_after = batch[-1]
        if finished:
            enter_phase(run, Phase.FINISHED)
        fields = [*CrawlRun.PHASE_FIELDS, "datasets_fetched", "datasets_after", *runs.NOTES]
        runs.checkpoint(run, token, fields)
    runs.announce(datasets.models_of(changed + gone))
