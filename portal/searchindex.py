"""The search index (SearchEntry): one narrow row per model, rebuilt from HubModel and its
license state by one INSERT ... SELECT ... ON CONFLICT statement per batch, on both backends.

`sync(ids)` runs when the layers below say those models' derived columns were written
(catalog.signals.models_derived) or their license results changed (licenses.signals
.states_written), through portal.receivers; `rebuild()` after a bulk pass. An entry
is only rewritten when a column differs, so a re-crawl of an unchanged catalog writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import connection

from catalog.models import HubModel
from licenses.models import ModelLicense

from .facets import FACETS
from .models import SearchEntry

# entry column -> the expression it is read from (m: the HubModel row, s: its ModelLicense);
# the facets' columns are declared with them (portal.facets).
COLUMNS = {
    "repo_id": "m.repo_id",
    "summary": "m.summary",
    "words": "canopy_words(m.repo_id)",
    "downloads": "m.downloads",
    "likes": "m.likes",
    "last_modified": "m.last_modified",
    "memory_gb": "m.memory_gb",
    # What the memory figure rests on: "assumed" where the quantization was (the entry has no
    # quant column; catalog.hardware.facts reads it).
    "params_source": "CASE WHEN m.quant LIKE '%%?' THEN 'assumed' ELSE m.params_source END",
    **{f.column: f.source for f in FACETS if f.column},
}
BATCH = 5000


def _statement(where: str) -> str:
    entry = SearchEntry._meta.db_table
    names = ", ".join(COLUMNS)
    changed = " OR ".join(f"{entry}.{c} IS NOT excluded.{c}" for c in COLUMNS)
    if connection.vendor == "postgresql":
        changed = " OR ".join(f"{entry}.{c} IS DISTINCT FROM excluded.{c}" for c in COLUMNS)
    return (
        f"INSERT INTO {entry} (model_id, {names}) "
        f"SELECT m.id, {', '.join(COLUMNS.values())} FROM {HubModel._meta.db_table} m "
        f"LEFT JOIN {ModelLicense._meta.db_table} s ON s.model_id = m.id WHERE {where} "
        f"ON CONFLICT (model_id) DO UPDATE SET "
        + ", ".join(f"{c} = excluded.{c}" for c in COLUMNS)
        + f" WHERE {changed}"
    )


def sync(ids: Iterable[int]) -> int:
    """Bring these models' entries up to date (the entry of a deleted model goes with it).
    Returns how many entries were written."""
    ids = sorted(set(ids))
    written = 0
    with connection.cursor() as cursor:
        for start in range(0, len(ids), BATCH):
            batch = ids[start : start + BATCH]
            if connection.vendor == "postgresql":
                cursor.execute(_statement("m.id = ANY(%s)"), [batch])
            else:
                marks = ", ".join(["%s"] * len(batch))
                cursor.execute(_statement(f"m.id IN ({marks})"), batch)
            written += max(cursor.rowcount, 0)
    return written


def rebuild(*, since: datetime | None = None, chunk: int = 50_000) -> int:
    """Every model's entry (or those of models written since a time), a range of ids at a
    time: no list of 760,000 ids held in memory. Returns how many entries were written."""
    last = HubModel.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    where = "m.id >= %s AND m.id < %s" + (" AND m.updated_at >= %s" if since else "")
    written = 0
    with connection.cursor() as cursor:
        for start in range(0, last + 1, chunk):
            cursor.execute(_statement(where), [start, start + chunk, *([since] if since else [])])
            written += max(cursor.rowcount, 0)
    return written
