"""Training data: the datasets models declare, and the records the crawler keeps of them.

A model's declared datasets (its card's `datasets:`, and the `dataset:` tags the Hub derives
from it) become TrainingData links whenever its record is written (catalog.ingest). A run's
DATASETS phase then reads the dataset records (catalog.steps): a full run lists them all, one
call per 1,000, and every run asks `dataset_info` for the datasets its models declare that are
not stored yet or were not checked for CANOPY_DATASET_MAX_AGE_DAYS. Dataset records are hostile
input like model records (catalog.records cleans them); one that cannot be stored is
quarantined. When a dataset's record changes, its models are announced (their training-data
standing is the licenses app's), as when their own records change.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from huggingface_hub.errors import HFValidationError
from huggingface_hub.utils import validate_repo_id

from . import bulk, quarantine, records
from .models import HubDataset, TrainingData
from .quarantine import Rejected

ID_CHARS = 200  # HubDataset.repo_id: no Hub id is longer; a longer "id" is a card's prose
MAX_DECLARED = 200  # links kept per model (real records declare at most 143)
STORED = [
    "repo_id", "author", "sha", "last_modified", "gated", "downloads", "tags", "card_data",
    "raw", "ingest_notes", "record_hash",
]  # fmt: skip
UPDATABLE = [*STORED, "found", "updated_at", "checked_at"]
Source = TrainingData.Source
# A card's `datasets:` entry holding a newline or another control character is prose, not a name
# (no Hub id, and no URL path, can hold one).
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def declared(tags: Any, card: Any) -> list[tuple[str, str]]:
    """(dataset id, source) for each dataset a model record declares, each once: its
    `dataset:<id>` tags and its card's `datasets:` (a string or a list of strings)."""
    found: dict[str, set[str]] = {}
    for tag in tags if isinstance(tags, list) else []:
        if isinstance(tag, str) and tag.startswith("dataset:"):
            found.setdefault(tag[len("dataset:") :].strip(), set()).add("tags")
    listed = card.get("datasets") if isinstance(card, dict) else None
    for name in [listed] if isinstance(listed, str) else listed if isinstance(listed, list) else []:
        if isinstance(name, str):
            found.setdefault(name.strip(), set()).add("card")
    out = [
        (name, Source.BOTH.value if len(how) == 2 else how.pop())
        for name, how in found.items()
        if name and len(name) <= ID_CHARS and not CONTROL.search(name)
    ]
    return out[:MAX_DECLARED]


def write_links(models: Iterable[tuple[int, Any, Any]], *, replace: list[int]) -> int:
    """The training-data links of written models, (pk, tags, card_data) each, rewritten whole
    for the `replace` ones (a model's declared datasets change together)."""
    rows = [
        {"model_id": pk, "dataset_repo_id": name, "source": source}
        for pk, tags, card in models
        for name, source in declared(tags, card)
    ]
    if replace:
        TrainingData.objects.filter(model_id__in=replace).delete()
    refused = bulk.insert_rows(TrainingData, rows)
    return len(rows) - len(refused)


def fetchable(repo_id: str) -> bool:
    """Whether the Hub can have a dataset of this id (huggingface_hub's own rule): a card's
    `datasets:` may name anything ("custom data", a URL), which is kept, shown, never asked."""
    try:
        validate_repo_id(repo_id)
    except HFValidationError:
        return False
    return True


def store(items: list[Any], *, now=None) -> tuple[list[str], list[Rejected]]:
    """Upsert dataset records (a listing page or one dataset_info answer), cleaned. Returns
    the ids whose record is new or changed, and the records that could not be stored."""
    now = now or timezone.now()
    rows: dict[str, dict[str, Any]] = {}
    rejected: list[Rejected] = []
    for item in items:
        rid = item.get("id") if isinstance(item, dict) else None
        try:
            cleaned, notes = records.clean(item)
            fields = records.row_fields(cleaned, notes=notes)
        except Exception as exc:  # noqa: BLE001 -- whatever one record raises costs only it
            why = str(exc) if isinstance(exc, records.MalformedRecord) else quarantine.describe(exc)
            rejected.append(Rejected(rid if isinstance(rid, str) else "", why, item))
            continue
        rows[fields["repo_id"]] = {k: fields[k] for k in STORED if k in fields}
    stored = {
        rid: (digest, found)
        for rid, digest, found in HubDataset.objects.filter(repo_id__in=list(rows)).values_list(
            "repo_id", "record_hash", "found"
        )
    }
    # Changed: a new record, or one that was not on the Hub (gone, then back as it was).
    changed = [rid for rid, row in rows.items() if stored.get(rid) != (row["record_hash"], True)]
    objs = [
        HubDataset(**{"tags": [], "card_data": None, **rows[rid]}, found=True, updated_at=now,
                   checked_at=now)
        for rid in changed
    ]  # fmt: skip
    refused = bulk.isolate(objs, _upsert)
    for obj, error in refused:
        rejected.append(Rejected(obj.repo_id, quarantine.describe(error), obj.raw))
        changed.remove(obj.repo_id)
    same = [rid for rid in rows if rid not in changed and rid in stored]
    HubDataset.objects.filter(repo_id__in=same).update(checked_at=now)
    quarantine.release(list(rows), [quarantine.Step.DATASETS])
    return changed, rejected


def _upsert(objs: Sequence[HubDataset]) -> None:
    HubDataset.objects.bulk_create(
        objs, update_conflicts=True, unique_fields=["repo_id"], update_fields=UPDATABLE
    )


def not_found(repo_ids: list[str], *, now=None) -> list[str]:
    """The Hub has none of these (404, or an id it cannot have): kept as such. Returns those
    that were not known as such before (their models see another state)."""
    known = set(
        HubDataset.objects.filter(repo_id__in=repo_ids, found=False).values_list(
            "repo_id", flat=True
        )
    )
    checked(repo_ids, now=now)
    HubDataset.objects.filter(repo_id__in=repo_ids, found=True).update(found=False)
    return [r for r in repo_ids if r not in known]


def checked(repo_ids: list[str], *, now=None) -> list[str]:
    """Asked for just now, whatever came of it (a row for each, as not found if it had none):
    `wanted` leaves them until they are stale. Returns those that had no row before."""
    now = now or timezone.now()
    had = set(HubDataset.objects.filter(repo_id__in=repo_ids).values_list("repo_id", flat=True))
    HubDataset.objects.filter(repo_id__in=repo_ids).update(checked_at=now)
    HubDataset.objects.bulk_create(
        [HubDataset(repo_id=r, found=False, checked_at=now, updated_at=now)
         for r in repo_ids if r not in had],
        ignore_conflicts=True,
    )  # fmt: skip
    return [r for r in repo_ids if r not in had]


def wanted(*, model_ids: Iterable[int] | None = None, after: str = "", limit: int) -> list[str]:
    """Declared datasets to ask the Hub for, in id order after `after` (a run's keyset: one
    index range a step, not the whole anti-join again): not stored, or not checked for the
    configured age; those of `model_ids` only, when given (a targeted run's models)."""
    stale = timezone.now() - timedelta(days=settings.CANOPY_DATASET_MAX_AGE_DAYS)
    fresh = HubDataset.objects.filter(repo_id=OuterRef("dataset_repo_id"), checked_at__gte=stale)
    links = TrainingData.objects.filter(~Exists(fresh), dataset_repo_id__gt=after)
    if model_ids is not None:
        links = links.filter(model_id__in=list(model_ids))
    ids = links.values_list("dataset_repo_id", flat=True).distinct().order_by("dataset_repo_id")
    return list(ids[:limit])


def models_of(dataset_ids: list[str]) -> list[int]:
    """Models declaring any of these datasets."""
    out: set[int] = set()
    for start in range(0, len(dataset_ids), 1000):
        out.update(
            TrainingData.objects.filter(
                dataset_repo_id__in=dataset_ids[start : start + 1000]
            ).values_list("model_id", flat=True)
        )
    return sorted(out)


def declared_by(model_ids: Iterable[int]) -> dict[int, list[tuple[str, str]]]:
    """{model pk: [(dataset id, source)]} as stored."""
    out: dict[int, list[tuple[str, str]]] = {}
    rows = TrainingData.objects.filter(model_id__in=list(model_ids)).order_by("pk")
    for mid, name, source in rows.values_list("model_id", "dataset_repo_id", "source"):
        out.setdefault(mid, []).append((name, source))
    return out


def records_of(dataset_ids: Iterable[str]) -> dict[str, HubDataset]:
    """Stored records by id (a 404'd one too, found=False)."""
    ids = list(set(dataset_ids))
    out: dict[str, HubDataset] = {}
    for start in range(0, len(ids), 1000):
        q = Q(repo_id__in=ids[start : start + 1000])
        out.update({d.repo_id: d for d in HubDataset.objects.filter(q).defer("raw")})
    return out
