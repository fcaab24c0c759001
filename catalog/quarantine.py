"""Records the crawler could not store: set aside with why, shown on their run, tried again.

A record is quarantined only after `records.clean` did what it could and the write of that one
row still failed (the rest of its page is written: see `bulk.isolate`). There is one open row
per repo id, step and file; a later failure of the same record updates it, a later successful
store resolves it. Each new run makes the models of open rows due for a detail fetch again
(`requeue`), so the next crawl retries them even when their listing did not change.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import F
from django.utils import timezone

from .models import CrawlRun, HubModel, QuarantinedRecord
from .records import clean_text

Step = QuarantinedRecord.Step
MAX_RECORD_CHARS = 64_000  # of the raw record kept with a quarantined row
MAX_ERROR_CHARS = 2_000


@dataclass
class Rejected:
    """One record (or file) that could not be stored."""

    repo_id: str
    error: str
    record: Any = None
    path: str = ""


def describe(exc: BaseException) -> str:
    return bounded(f"{type(exc).__name__}: {exc}", MAX_ERROR_CHARS)


def bounded(text: str, limit: int) -> str:
    text = clean_text(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def record_text(record: Any) -> str:
    """The record as JSON text: ASCII escapes keep NULs and lone surrogates storable."""
    if record is None:
        return ""
    if isinstance(record, str):
        return bounded(record, MAX_RECORD_CHARS)
    return bounded(json.dumps(record, default=repr), MAX_RECORD_CHARS)


def hold(run: CrawlRun, step: str, rejected: Iterable[Rejected]) -> int:
    """Quarantine these under the run (and note each in its errors); returns how many."""
    now, n = timezone.now(), 0
    for r in rejected:
        repo_id, record = clean_text(r.repo_id)[:200], record_text(r.record)
        path = bounded(r.path, 300)
        open_rows = QuarantinedRecord.objects.filter(
            repo_id=repo_id, step=step, path=path, resolved_at__isnull=True
        )
        if not repo_id:
            open_rows = open_rows.filter(record=record)  # no id: the same record is the key
        fields = {"run": run, "error": r.error, "record": record, "last_seen_at": now}
        if not open_rows.update(**fields, attempts=F("attempts") + 1):
            QuarantinedRecord.objects.create(
                repo_id=repo_id, step=step, path=path, first_seen_at=now, **fields
            )
        what = f"{repo_id or '?'}{'/' + path if path else ''}"
        run.add_error(f"{what}: quarantined at {step}: {bounded(r.error, 300)}")
        n += 1
    return n


def release(repo_ids: Iterable[str], steps: Iterable[str], path: str | None = None) -> int:
    """Release these repos from quarantine at these steps (their open rows are marked resolved):
    they were stored after all."""
    ids = list(repo_ids)
    if not ids or not QuarantinedRecord.objects.filter(resolved_at__isnull=True).exists():
        return 0
    rows = QuarantinedRecord.objects.filter(
        resolved_at__isnull=True, repo_id__in=ids, step__in=list(steps)
    )
    if path is not None:
        rows = rows.filter(path=path)
    return rows.update(resolved_at=timezone.now())


def requeue() -> int:
    """Make every model with an open quarantine row due for its details (and files) again."""
    ids = QuarantinedRecord.objects.filter(resolved_at__isnull=True).values("repo_id")
    return HubModel.objects.filter(repo_id__in=ids).update(details_key="", files_key="")
