"""A model's ancestors with their license states: the lineage up-walk (catalog.lineage), each
crawled ancestor's ModelLicense and its latest assessment loaded in the walk's own queries.
The license panel, the change snapshot and the exports read it."""

from __future__ import annotations

from typing import Any

from catalog import lineage
from catalog.models import HubModel

from .models import state_of


def ancestors(model: HubModel, *, depth: int = 10) -> list[dict[str, Any]]:
    """lineage.ancestors, each node with `state`: the ancestor's ModelLicense, or None."""
    chain = lineage.ancestors(model, depth=depth, related=("license_state__assessment",))
    for a in chain:
        a["state"] = state_of(a["model"]) if a["model"] else None
    return chain
