"""License API (django-ninja): /licenses, /licenses/{key}, and the license fields of a model."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from django.db.models import Count
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema
from pydantic import Field

from catalog.models import HubModel
from config.inputs import Text

from . import compliance
from .models import License, LineageStatus, ModelLicense, Verdict

LicenseKey = Annotated[Text, Field(min_length=1, max_length=80, examples=["llama2"])]


class LicenseFilter(Schema):
    verdict: Verdict | Literal[""] = ""
    family: Annotated[Text, Field(max_length=80)] = ""


class ConditionOut(Schema):
    code: str
    value: str = ""


class LicenseItem(Schema):
    key: str
    name: str
    family: str
    version: str
    spdx: str
    verdict: str
    verified: bool
    url: str
    conditions: list[ConditionOut]
    models: int


class LicenseOut(LicenseItem):
    canonical_key: str
    hub_id: str
    scancode_key: str
    placeholder: bool
    clause: str
    source: str
    aliases: list[str]
    reference_texts: list[str]


def _counts() -> dict[str, int]:
    rows = ModelLicense.objects.values("declared").annotate(n=Count("pk")).order_by()
    return {r["declared"]: r["n"] for r in rows}


def _item(lic: License, counts: dict[str, int]) -> dict[str, Any]:
    return {
        "key": lic.key,
        "name": lic.name,
        "family": lic.family,
        "version": lic.version,
        "spdx": lic.spdx,
        "verdict": lic.verdict,
        "verified": lic.verified,
        "url": lic.url,
        "conditions": lic.conditions,
        "models": counts.get(lic.key, 0),
    }


def make_router() -> Router:
    """A fresh router (a ninja Router can be mounted on one API only)."""
    router = Router(tags=["licenses"])

    @router.get("/licenses", response=list[LicenseItem], summary="The license knowledge base")
    def list_licenses(request: HttpRequest, filters: Query[LicenseFilter]):
        qs = License.objects.all()
        if filters.verdict:
            qs = qs.filter(verdict=filters.verdict)
        if filters.family:
            qs = qs.filter(family=filters.family)
        counts = _counts()
        return [_item(lic, counts) for lic in qs]

    @router.get("/licenses/{key}", response=LicenseOut, summary="One license")
    def get_license(request: HttpRequest, key: LicenseKey):
        lic = get_object_or_404(License, key=key)
        n = ModelLicense.objects.filter(declared=key).count()
        return {
            **_item(lic, {key: n}),
            "canonical_key": lic.canonical_key,
            "hub_id": lic.hub_id,
            "scancode_key": lic.scancode_key,
            "placeholder": lic.placeholder,
            "clause": lic.clause,
            "source": lic.source,
            "aliases": lic.aliases,
            "reference_texts": lic.texts,
        }

    return router


router = make_router()


class LineageGaps(Schema):
    """The ancestors the lineage status names."""

    missing: list[str] = Field(default=[], description="not crawled")
    unknown_terms: list[str] = Field(default=[], description="crawled, license unknown")
    baseless: list[str] = Field(default=[], description="derivatives that name no base")


class SuspectedBase(Schema):
    """licenses.suspects: a base the model probably derives from though it names none."""

    id: str | None = Field(description="the best known candidate repo, null when none")
    family: str
    license: str = Field(description="the license key of that family's base")
    signals: list[str] = Field(description="what says so: name, tag, config, tokenizer, readme")
    confidence: float = Field(ge=0, le=1)


class DutyCheck(Schema):
    """licenses.compliance: a duty an inherited license sets on derivatives, held against this
    model's name, files, README and own license."""

    code: str = Field(description="naming, attribution, license_copy, aup, derivatives_inherit")
    license: str = Field(description="the inherited license that sets it")
    met: bool | None = Field(description="null: the Hub gave no file list or README to check")
    detail: str


class LicenseFields(Schema):
    """The fields license_fields() adds to GET /api/v1/models/<repo_id> (for ModelOut)."""

    declared_license: str | None
    commercial: str
    conditions: list[ConditionOut]
    effective_commercial: str
    effective_conditions: list[ConditionOut]
    conflict: bool
    conflict_reasons: list[str]
    lineage_complete: bool = Field(
        description="every ancestor crawled and every derivative's base named"
    )
    lineage_status: LineageStatus | None = Field(
        description="complete, missing_ancestors, unknown_ancestor_terms (an ancestor's license "
        "is unknown or a bare `other`) or no_base_for_derivative (an adapter, quantization or "
        "merge upstream, or this one, names no base); null until first assessed"
    )
    lineage_gaps: LineageGaps
    suspected_bases: list[SuspectedBase] = Field(
        description="for a model naming no base: the base its signals say; never applied to the "
        "verdict until a legal reviewer confirms it (a determination)"
    )
    suspected_upstream: list[str] = Field(description="ancestors that have a suspected base")
    duty_checks: list[DutyCheck] = Field(description="what derivatives must do, checked")
    obligations_not_met: list[str] = Field(description="the failed duty checks, in words")
    evidence: list[dict[str, Any]]
    assessed_at: datetime | None


def license_fields(model: HubModel) -> dict[str, Any]:
    """The license fields of GET /api/v1/models/<repo_id>; `unknown` until first assessed."""
    state = ModelLicense.objects.filter(model=model).select_related("assessment").first()
    a = state.assessment if state else None
    if a is None:
        return {
            "declared_license": None,
            "commercial": "unknown",
            "conditions": [],
            "effective_commercial": "unknown",
            "effective_conditions": [],
            "conflict": False,
            "conflict_reasons": [],
            "lineage_complete": False,
            "lineage_status": None,
            "lineage_gaps": {},
            "suspected_bases": [],
            "suspected_upstream": [],
            "duty_checks": [],
            "obligations_not_met": [],
            "evidence": [],
            "assessed_at": None,
        }
    return {
        "declared_license": a.declared or None,
        "commercial": a.verdict,
        "conditions": a.conditions,
        "effective_commercial": a.effective,
        "effective_conditions": a.effective_conditions,
        "conflict": a.conflict,
        "conflict_reasons": a.conflict_reasons,
        "lineage_complete": a.lineage_complete,
        "lineage_status": a.lineage_status,
        "lineage_gaps": a.lineage_gaps,
        "suspected_bases": list(a.suspicion.own),
        "suspected_upstream": list(a.suspicion.upstream),
        "duty_checks": compliance.checks_of(a.duty_checks),
        "obligations_not_met": [
            f"{c['license']}: {c['detail']}" for c in compliance.unmet(a.duty_checks)
        ],
        "evidence": a.evidence,
        "assessed_at": a.assessed_at,
    }
