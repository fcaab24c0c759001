"""JSON API v1 (django-ninja); its OpenAPI schema is served at /api/v1/openapi.json."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import NinjaAPI, Query, Schema
from ninja.errors import HttpError

from approvals.api import router as approvals_router
from licenses.api import LicenseFields, license_fields
from licenses.api import router as licenses_router
from licenses.models import ModelLicense

from . import lineage, search
from .forms import ModelSearchForm
from .models import HubModel, RepoAlias

api = NinjaAPI(title="Canopy API", version="1", urls_namespace="api-v1")
api.add_router("", licenses_router)
api.add_router("", approvals_router)


class ModelItem(Schema):
    id: str
    author: str
    downloads: int
    likes: int
    gated: str
    library_name: str
    pipeline_tag: str
    last_modified: datetime | None
    url: str
    base_relation: str
    base_family: str
    format: str
    memory_gb: float | None
    verdict: str | None
    effective: str | None
    conflict: bool | None


class FacetValue(Schema):
    value: str
    count: int


class ModelPage(Schema):
    items: list[ModelItem]
    count: int
    estimated: bool
    next: str | None
    facets: dict[str, list[FacetValue]]


class ParentOut(Schema):
    id: str
    relation: str
    relation_source: str
    known: bool


class ModelOut(LicenseFields):
    id: str
    hub_id: str | None
    author: str
    sha: str
    created_at: datetime | None
    last_modified: datetime | None
    gated: str
    private: bool
    disabled: bool
    downloads: int
    likes: int
    library_name: str
    pipeline_tag: str
    tags: list[str]
    formats: list[str]
    parameter_count: int | None
    parents: list[ParentOut]
    children_count: dict[str, int]
    aliases: list[str]
    updated_at: datetime


class LineageNode(Schema):
    id: str
    relation: str
    depth: int
    via: str
    known: bool = True


class LineageOut(Schema):
    id: str
    direction: str
    depth: int
    nodes: list[LineageNode]
    truncated: bool


class SearchParams(Schema):
    q: str = ""
    verdict: str = ""
    effective: str = ""
    license: str = ""
    condition: str = ""
    conflict: str = ""
    relation: str = ""
    base: str = ""
    author: str = ""
    task: str = ""
    library: str = ""
    format: str = ""
    gated: str = ""
    params: str = ""
    memory: float | None = None
    sort: Literal["downloads", "likes", "modified", "name"] = "downloads"
    page: int = 1
    page_size: int = 50


def _item(m: HubModel) -> dict:
    state = explorer_state(m)
    return {
        "base_relation": m.base_relation, "base_family": m.base_family,
        "format": m.weights_format, "memory_gb": m.memory_gb,
        "verdict": state.verdict if state else None,
        "effective": state.effective if state else None,
        "conflict": state.conflict if state else None,
        "id": m.repo_id, "author": m.author, "downloads": m.downloads, "likes": m.likes,
        "gated": m.gated or "unknown", "library_name": m.library_name,
        "pipeline_tag": m.pipeline_tag, "last_modified": m.last_modified,
        "url": m.get_absolute_url(),
    }  # fmt: skip


def _model(repo_id: str) -> HubModel:
    model = HubModel.objects.filter(repo_id=repo_id).first()
    if model is None:
        alias = get_object_or_404(RepoAlias.objects.select_related("model"), alias=repo_id)
        model = alias.model
    return model


@api.get("/models", response=ModelPage, summary="Search the catalog")
def list_models(request: HttpRequest, params: Query[SearchParams]):
    size = min(max(params.page_size, 1), 200)
    form = ModelSearchForm({k: v for k, v in params.dict().items() if v not in (None, "")})
    if not form.is_valid():
        raise HttpError(
            400, "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in form.errors.items())
        )
    result = search.search(form)
    start = (max(params.page, 1) - 1) * size
    rows = result.models(start, start + size + 1)
    nxt = None
    if len(rows) > size:
        query = request.GET.copy()
        query["page"] = str(max(params.page, 1) + 1)
        nxt = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
    facets = {
        name: [{"value": str(v), "count": n} for v, n in values]
        for name, values in result.facets.items()
    }
    return {"items": [_item(m) for m in rows[:size]], "count": result.count,
            "estimated": result.estimated, "next": nxt, "facets": facets}  # fmt: skip


def explorer_state(m: HubModel) -> ModelLicense | None:
    try:
        return m.license_state
    except HubModel.license_state.RelatedObjectDoesNotExist:  # type: ignore[attr-defined]
        return None


@api.get("/models/{path:repo_id}/lineage", response=LineageOut, summary="Ancestors or descendants")
def model_lineage(
    request: HttpRequest, repo_id: str, direction: Literal["up", "down"] = "up", depth: int = 1,
    limit: int = 500,
):  # fmt: skip
    if not 1 <= depth <= 20:
        raise HttpError(400, "depth must be between 1 and 20")
    model = _model(repo_id)
    limit = min(max(limit, 1), 5000)
    if direction == "up":
        nodes = lineage.ancestors(model, depth=depth)
    else:
        nodes = lineage.descendants(model, depth=depth, limit=limit)
    return {"id": model.repo_id, "direction": direction, "depth": depth, "nodes": nodes,
            "truncated": direction == "down" and len(nodes) >= limit}  # fmt: skip


@api.get("/models/{path:repo_id}", response=ModelOut, summary="One model")
def get_model(request: HttpRequest, repo_id: str):
    model = _model(repo_id)
    parents = [
        {"id": parent.repo_id if parent else edge.parent_repo_id, "relation": edge.relation,
         "relation_source": edge.relation_source, "known": parent is not None}
        for edge, parent in lineage.parents(model)
    ]  # fmt: skip
    return {
        "id": model.repo_id, "hub_id": model.hub_id, "author": model.author, "sha": model.sha,
        "created_at": model.created_at, "last_modified": model.last_modified,
        "gated": model.gated or "unknown", "private": model.private, "disabled": model.disabled,
        "downloads": model.downloads, "likes": model.likes, "library_name": model.library_name,
        "pipeline_tag": model.pipeline_tag, "tags": model.tags, "formats": model.formats,
        "parameter_count": model.parameter_count, "parents": parents,
        "children_count": lineage.children_counts(model),
        "aliases": list(model.aliases.values_list("alias", flat=True)),
        "updated_at": model.updated_at,
        **license_fields(model),
    }  # fmt: skip
