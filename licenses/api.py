"""License API (django-ninja): /licenses, /licenses/{key}, and the license fields of a model."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from django.db.models import Count
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import reverse
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from pydantic import Field

from catalog.datasets import fetchable
from catalog.models import HubDataset, HubModel, TrainingData
from config.inputs import PAGE_MAX, Text

from . import compliance, training
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

    @router.get("/datasets", response=DatasetPage, summary="Datasets models declare")
    def list_datasets(request: HttpRequest, params: Query[DatasetFilter]):
        qs = HubDataset.objects.order_by("repo_id").defer("raw")
        if params.search:
            qs = qs.filter(repo_id__icontains=params.search)
        start = (params.page - 1) * DATASET_PAGE
        rows = list(qs[start : start + DATASET_PAGE + 1])
        counts = _dataset_counts([d.repo_id for d in rows[:DATASET_PAGE]])
        items = [_dataset(d.repo_id, d, counts.get(d.repo_id, 0)) for d in rows[:DATASET_PAGE]]
        nxt = None
        if len(rows) > DATASET_PAGE:
            query = request.GET.copy()
            query["page"] = str(params.page + 1)
            nxt = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
        return {"items": items, "next": nxt}

    @router.get("/datasets/{path:repo_id}", response=DatasetOut, summary="One dataset")
    def get_dataset(request: HttpRequest, repo_id: DatasetId):
        record = HubDataset.objects.filter(repo_id=repo_id).first()
        n = TrainingData.objects.filter(dataset_repo_id=repo_id).count()
        if record is None and not n:
            raise HttpError(404, f"No dataset {repo_id} is declared by a crawled model")
        return _dataset(repo_id, record, n)

    return router


DATASET_PAGE = 100
# A card may name a dataset in words ("my own data"): the list gives such ids, so they are read.
DatasetId = Annotated[Text, Field(min_length=1, max_length=200, examples=["tatsu-lab/alpaca"])]


class DatasetFilter(Schema):
    search: Annotated[Text, Field(max_length=200)] = ""
    page: int = Field(1, ge=1, le=PAGE_MAX)


class DatasetOut(Schema):
    id: str
    license: str | None = Field(description="its license key as Canopy reads it")
    commercial: Verdict
    conditions: list[ConditionOut]
    state: str = Field(description="read, not_crawled or not_on_hub (the Hub has none)")
    models: int = Field(description="crawled models declaring it themselves")
    url: str = Field(description="its page here; empty for a name that is not a Hub id")


class DatasetPage(Schema):
    items: list[DatasetOut]
    next: str | None


def _dataset_counts(ids: list[str]) -> dict[str, int]:
    rows = TrainingData.objects.filter(dataset_repo_id__in=ids).values("dataset_repo_id")
    return {r["dataset_repo_id"]: r["n"] for r in rows.annotate(n=Count("pk")).order_by()}


def _dataset(repo_id: str, record: HubDataset | None, models: int) -> dict[str, Any]:
    t = training.terms(record)
    return {
        "id": repo_id, "license": t.key, "commercial": t.verdict,
        "conditions": [{"code": c, "value": v} for c, v in t.conditions], "state": t.state,
        "models": models,
        "url": reverse("portal:dataset_detail", args=[repo_id]) if fetchable(repo_id) else "",
    }  # fmt: skip


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


DataStatusName = Literal["complete", "datasets_unknown", "none_declared"]


class DatasetRef(Schema):
    """A dataset the model carries: declared by itself (`via` empty) or by an ancestor."""

    id: str
    license: str = Field(description="its license key as Canopy reads it; empty when unknown")
    commercial: Verdict
    source: str = Field(description="card (datasets:), tags (dataset:) or card,tags")
    via: str = Field(description="the ancestor that declares it; empty: the model itself")
    state: str = Field(description="read, not_crawled or not_on_hub")


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
    data_commercial: Verdict = Field(
        description="the most restrictive verdict of its training data (its own declared "
        "datasets and its ancestors'); never folded into effective_commercial"
    )
    data_conditions: list[ConditionOut]
    data_status: DataStatusName
    data_conflict: bool = Field(description="its weights are more permissive than its data")
    data_conflict_reasons: list[str]
    datasets: list[DatasetRef]
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
            "data_commercial": "unknown",
            "data_conditions": [],
            "data_status": "none_declared",
            "data_conflict": False,
            "data_conflict_reasons": [],
            "datasets": [],
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
        "data_commercial": a.data_commercial,
        "data_conditions": training.conditions_of(a.data_conditions),
        "data_status": a.data_status,
        "data_conflict": a.data_conflict,
        "data_conflict_reasons": training.reasons_of(a.data_conflict_reasons),
        "datasets": training.rows_of(a.datasets),
        "evidence": a.evidence,
        "assessed_at": a.assessed_at,
    }
