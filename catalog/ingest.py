"""Hub records into the catalog's rows: models, their lineage edges and their license files.

`ingest` upserts a batch of records (a listing page or one model_info answer) and their edges,
skipping unchanged ones; `fetch_files` reads a model's README and LICENSE files. Each record
costs only itself: what cannot be stored is returned, for the run to quarantine. Nothing else
happens here: what follows a write (derived columns, telling the apps above) is called by the
step that wants it (catalog.steps).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.db import transaction
from django.utils import timezone
from huggingface_hub.errors import (
    EntryNotFoundError,
    GatedRepoError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from . import bulk, datasets, lineage, quarantine, records
from .hub import UNPARSED, Hub
from .models import HubModel, LineageEdge, ModelFile, RelationSource, RepoAlias
from .quarantine import Rejected, Step

EVIDENCE_FILE = re.compile(
    r"^(README\.md|(LICEN[CS]E|USE[_-]POLICY|NOTICE)[\w.-]*)$", re.IGNORECASE
)


CARD = "README.md"
# Read for an adapter whose record names no base anywhere: the live Hub's listing often lacks
# config.peft, and the file in the repo names the base (lineage.with_adapter_config).
ADAPTER_CONFIG = "adapter_config.json"


PARENT_ID_CHARS = 200


UPDATABLE = [
    f.name
    for f in HubModel._meta.concrete_fields
    if f.name not in ("id", "first_seen_at", "details_key", "files_key", "details_at")
]


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
    config: dict[str, Any] | None


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
                                   r.get("siblings"), r.get("card_data"), r.get("base_models"),
                                   _config(r.get("raw"))))  # fmt: skip
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
                                   o.card_data, o.base_models, _config(o.raw)))  # fmt: skip
    rewritten = [s.pk for s in sources if s.pk in changed]
    counts.edges = write_edges(sources, replace=rewritten, errors=counts.errors)
    datasets.write_links([(s.pk, s.tags, s.card_data) for s in sources], replace=rewritten)
    stored = [s.repo_id for s in sources]
    quarantine.release(stored, [Step.LISTING, Step.DETAILS] if detail else [Step.LISTING])
    return counts


def _config(raw: Any) -> dict[str, Any] | None:
    config = raw.get("config") if isinstance(raw, dict) else None
    return config if isinstance(config, dict) else None


def _hub_id(item: dict[str, Any]) -> str | None:
    hub_id = item.get("_id")
    return hub_id if isinstance(hub_id, str) and len(hub_id) <= 32 else None


def _upsert(objs) -> None:
    HubModel.objects.bulk_create(
        objs, update_conflicts=True, unique_fields=["id"], update_fields=UPDATABLE
    )


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


def write_edges(models: list[Lineage], *, replace: list[int], errors: list[str]) -> int:
    """Every touched model's parent edges, rewritten whole (a child's edges change together).

    An edge the database refuses is left out and said in `errors`; its model stays stored."""
    stored = dict(
        ModelFile.objects.filter(
            model_id__in=[m.pk for m in models if lineage.peft_base(m.config)[0] is None],
            path=ADAPTER_CONFIG,
        ).values_list("model_id", "text")
    )
    rows = [
        {"child_id": m.pk, "parent_repo_id": e.parent, "relation": e.relation,
         "relation_source": e.source, "origin": e.origin}
        for m in models
        for e in lineage.edges_for(
            repo_id=m.repo_id, tags=m.tags, library=m.library_name, files=m.siblings,
            card=m.card_data, base_models=m.base_models,
            config=lineage.with_adapter_config(m.config, stored.get(m.pk)),
        )
        if len(e.parent) <= PARENT_ID_CHARS  # no repo id is longer: a card's prose, not an id
    ]  # fmt: skip
    if replace:
        LineageEdge.objects.filter(child_id__in=replace).delete()
    refused = bulk.insert_rows(LineageEdge, rows)
    for row, exc in refused:
        errors.append(f"edge {row['child_id']} -> {row['parent_repo_id'][:80]}: {exc}")
    return len(rows) - len(refused)


def fetch_files(model: HubModel, hub: Hub) -> tuple[int, list[Rejected]]:
    """Read the model's license evidence files; one that cannot be stored is returned, with
    why, and costs no other. A file is stored cleaned (records.bounded_file)."""
    if model.siblings is None:
        # A record that does not say which files the repo has (a bare listing item) may
        # still have a card: ask for it, and a 404 says there is none.
        wanted = [CARD]
    else:
        wanted = [f for f in model.siblings if EVIDENCE_FILE.match(f)]
        if _wants_adapter_config(model):
            wanted.append(ADAPTER_CONFIG)
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
        quarantine.release([model.repo_id], [Step.FILES], path=path)
        fetched += 1
    had_config = model.files.filter(path=ADAPTER_CONFIG).exists()
    if model.siblings is not None:
        model.files.exclude(path__in=wanted).delete()  # gone from the repo
    if ADAPTER_CONFIG in wanted or had_config:  # read, or gone: its edge with it
        write_edges([_lineage_of(model)], replace=[model.pk], errors=[])
    HubModel.objects.filter(pk=model.pk).update(files_key=model.change_key)
    return fetched, refused


def _wants_adapter_config(model: HubModel) -> bool:
    """Only for an adapter that ships one and names no base: not in its config, not anywhere
    else (edges but the one the file itself gave); files are fetched only when the record
    changed (files_key)."""
    return (
        ADAPTER_CONFIG in (model.siblings or [])
        and lineage.peft_base(_config(model.raw)) == (None, "")
        and not LineageEdge.objects.filter(child=model)
        .exclude(relation_source=RelationSource.PEFT_CONFIG)
        .exists()
    )


def _lineage_of(model: HubModel) -> Lineage:
    return Lineage(model.pk, model.repo_id, model.tags, model.library_name, model.siblings,
                   model.card_data, model.base_models, _config(model.raw))  # fmt: skip
