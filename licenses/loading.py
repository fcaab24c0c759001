"""Loading the knowledge base file into the License table (idempotent: upsert by key)."""

from __future__ import annotations

from typing import Any

from .classify import read_kb_file

FIELDS = [
    "canonical_key",
    "hub_id",
    "name",
    "family",
    "version",
    "spdx",
    "scancode_key",
    "url",
    "verdict",
    "conditions",
    "verified",
    "placeholder",
    "clause",
    "source",
    "aliases",
    "links",
    "texts",
]


def load_licenses(license_model: Any = None, *, prune: bool = True) -> tuple[int, int]:
    """Upsert every row of licenses.json; returns (rows in the file, rows removed).

    `license_model` lets the data migration pass its historical model."""
    if license_model is None:
        from .models import License as license_model  # noqa: N813
    rows = read_kb_file()["licenses"]
    objs = [license_model(key=r["key"], **{f: r[f] for f in FIELDS}) for r in rows]
    license_model.objects.bulk_create(
        objs, update_conflicts=True, unique_fields=["key"], update_fields=FIELDS
    )
    removed = 0
    if prune:
        removed, _ = license_model.objects.exclude(key__in=[r["key"] for r in rows]).delete()
    return len(rows), removed
