"""What the license panel of a model page shows, gathered in one place."""

from __future__ import annotations

from typing import Any

from catalog.datasets import fetchable
from catalog.models import HubModel

from . import ancestry, compliance, obligations, training
from .classify import condition_kind, condition_label
from .models import Assessment, ModelLicense


def labelled(conditions: list[dict[str, str]]) -> list[dict[str, str]]:
    return [
        {**c, "label": condition_label(c["code"]), "kind": condition_kind(c["code"])}
        for c in conditions
    ]


def panel_context(model: HubModel) -> dict[str, Any]:
    state = ModelLicense.objects.filter(model=model).select_related("assessment").first()
    assessment = state.assessment if state else None
    path = []
    if assessment is not None:
        for a in ancestry.ancestors(model):
            s = a["state"]
            path.append(
                {
                    **a,
                    "declared": s.declared if s else "",
                    "verdict": s.verdict if s else "unknown",
                    "restricts": bool(s) and a["id"] == (state.restrictor if state else ""),
                }
            )
    effective = labelled(assessment.effective_conditions) if assessment else []
    datasets = [
        {**row, "linked": fetchable(row["id"])}
        for row in (training.rows_of(assessment.datasets) if assessment else [])
    ]
    return {
        "model": model,
        "license_state": state,
        "assessment": assessment,
        "conditions": labelled(assessment.conditions) if assessment else [],
        "effective_conditions": effective,
        # Per license of the model and its ancestors, from each license's own clauses: a union
        # by code would keep one license's text and drop the other's.
        "duties": obligations.for_keys([state.declared, *state.inherited_keys]) if state else [],
        "restrictions": [c for c in effective if c["kind"] != "obligation"],
        "duty_checks": compliance.checks_of(assessment.duty_checks) if assessment else [],
        "unmet_duties": compliance.unmet(assessment.duty_checks) if assessment else [],
        "datasets": datasets,
        "unknown_datasets": [d["id"] for d in datasets if d["commercial"] == "unknown"][:10],
        "data_conflict_reasons": training.reasons_of(assessment.data_conflict_reasons)
        if assessment
        else [],
        "path": path,
        "history": Assessment.objects.filter(model=model).select_related("determination")[:20]
        if assessment
        else [],
    }
