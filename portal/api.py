"""JSON API v1 (django-ninja); its OpenAPI schema is served at /api/v1/openapi.json."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlencode

from django.http import HttpRequest
from ninja import Query, Schema, Swagger
from ninja.errors import HttpError
from pydantic import Field, create_model

from approvals import profiles
from approvals.api import ProfileSlug, ProfileVerdictOut, profile_named
from approvals.api import router as approvals_router
from catalog import hardware, lineage
from catalog.models import HubModel, RepoAlias
from config.errors import BadInput, ErrorsApi, from_form_errors
from config.inputs import PAGE_MAX, RepoId, form_param
from licenses.api import LicenseFields, license_fields
from licenses.api import router as licenses_router
from licenses.models import LineageStatus, state_of

from . import search
from .facets import FACETS
from .forms import ModelSearchForm

# No deep links: Swagger UI puts each one inside its operation's button, a link nested in a button
# (axe: nested-interactive). templates/ninja/swagger.html adds a language and AA colours.
api = ErrorsApi(
    title="Canopy API", version="1", urls_namespace="api-v1",
    docs=Swagger(settings={"deepLinking": False}),
)  # fmt: skip
# Clients generated from the schema name their methods after operationIds, which django-ninja
# derives from the view's module: these kept the names they had before the API root moved here.
OPS = "catalog_api_"
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
    memory_guess: bool = Field(
        description="memory_gb rests on a guess: the size in the name, or an assumed quantization"
    )
    verdict: str | None
    effective: str | None
    conflict: bool | None
    lineage_status: LineageStatus | None = Field(
        description="how far the terms behind `effective` could be read (licenses' lineage status)"
    )
    suspected_base: bool | None = Field(
        description="names no base but probably derives from one, or an ancestor does "
        "(the model's license fields say which)"
    )
    duties_unmet: bool | None = Field(
        description="a duty its inherited licenses set on derivatives (naming, attribution, "
        "license copy, use policy, terms carried on) is not met (the model's duty_checks)"
    )
    data_commercial: str | None = Field(
        description="its training data's verdict, beside `effective` (never folded into it)"
    )
    data_conflict: bool | None = Field(
        description="its weights are more permissive than its training data"
    )


class FacetValue(Schema):
    value: str
    count: int


class SuggestionOut(Schema):
    query: str = Field(description="the suggested q")
    filters: dict[str, str]
    dropped: str = Field(description="what it leaves out of the search asked for")
    count: int = Field(description="models it matches, counted up to 1,000")
    url: str


class ModelPage(Schema):
    items: list[ModelItem]
    count: int
    estimated: bool
    next: str | None
    facets: dict[str, list[FacetValue]]
    suggestions: list[SuggestionOut] = Field(
        description="when nothing matches: the nearest searches that do (a word dropped, a "
        "filter removed)"
    )


class ParentOut(Schema):
    id: str
    relation: str
    relation_source: str
    known: bool


class WeightFileOut(Schema):
    path: str
    parts: int
    quant: str
    bits: float | None
    memory_gb: float | None
    memory_guess: bool
    size: int | None = Field(description="bytes, where the Hub gave them")


class EstimateOut(Schema):
    """Size, precision and memory to run, each marked fact or guess (catalog.hardware.facts)."""

    params: int | None
    params_guess: bool
    quant: str
    quant_guess: bool
    bits: float | None
    memory_gb: float | None
    memory_guess: bool
    files: list[WeightFileOut] | None = Field(
        description="one per weight file; null where the Hub's record lists no files"
    )


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
    estimate: EstimateOut
    parents: list[ParentOut]
    children_count: dict[str, int] = Field(
        description="direct children per relation, as the model, family and lineage pages count"
    )
    aliases: list[str]
    updated_at: datetime
    profile_verdict: ProfileVerdictOut | None = Field(
        None, description="with `profile=<slug>`: the model's verdict for that usage profile"
    )


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


SEARCH = ModelSearchForm.base_fields


class _SearchParams(Schema):
    """The search form's fields (ModelSearchForm validates them), and the page."""

    q: str = form_param(SEARCH["q"])
    memory: float | None = form_param(SEARCH["memory"], None)
    sort: Literal["relevance", "downloads", "likes", "modified", "name"] = Field(
        "relevance", description="relevance: ranked by the words (by downloads without q)"
    )
    page: int = Field(1, ge=1, le=PAGE_MAX)
    page_size: int = Field(50, ge=1, le=200)


if TYPE_CHECKING:
    SearchParams = _SearchParams
else:  # with a parameter per facet after q, as the form declares them (portal.facets)
    _fixed = {n: (f.annotation, f) for n, f in _SearchParams.model_fields.items()}
    SearchParams = create_model(
        "SearchParams",
        __base__=Schema,
        __doc__=_SearchParams.__doc__,
        q=_fixed.pop("q"),
        **{f.name: (str, form_param(SEARCH[f.name])) for f in FACETS},
        **_fixed,
    )


class LineageParams(Schema):
    direction: Literal["up", "down"] = "up"
    depth: int = Field(1, ge=1, le=20)
    limit: int = Field(500, ge=1, le=5000, description="nodes at most (down)")


def _item(m: HubModel) -> dict:
    state = state_of(m)
    return {
        "base_relation": m.base_relation, "base_family": m.base_family,
        "format": m.weights_format, "memory_gb": m.memory_gb,
        "memory_guess": hardware.facts(m).memory_guess,
        "verdict": state.verdict if state else None,
        "effective": state.effective if state else None,
        "conflict": state.conflict if state else None,
        "lineage_status": state.lineage_status if state else None,
        "suspected_base": bool(state.suspicion) if state else None,
        "duties_unmet": state.duties_unmet if state else None,
        "data_commercial": state.data_commercial if state else None,
        "data_conflict": state.data_conflict if state else None,
        "id": m.repo_id, "author": m.author, "downloads": m.downloads, "likes": m.likes,
        "gated": m.gated or "unknown", "library_name": m.library_name,
        "pipeline_tag": m.pipeline_tag, "last_modified": m.last_modified,
        "url": m.get_absolute_url(),
    }  # fmt: skip


def _model(repo_id: str) -> HubModel:
    model = HubModel.objects.filter(repo_id=repo_id).first()
    if model is None:
        alias = RepoAlias.objects.select_related("model").filter(alias=repo_id).first()
        if alias is None:
            raise HttpError(404, f"No model {repo_id} in the catalog")
        model = alias.model
    return model


def _estimate(model: HubModel) -> dict:
    files = hardware.variants(model)
    return {
        **hardware.facts(model).as_json(),
        "files": None if files is None else [
            {"path": v.file.path, "parts": v.file.parts, "quant": v.quant, "bits": v.bits,
             "memory_gb": v.memory_gb, "memory_guess": v.guess, "size": v.file.size}
            for v in files
        ],
    }  # fmt: skip


@api.get(
    "/models", response=ModelPage, summary="Search the catalog", operation_id=f"{OPS}list_models"
)
def list_models(request: HttpRequest, params: Query[SearchParams]):
    size = params.page_size
    form = ModelSearchForm({k: v for k, v in params.dict().items() if v not in (None, "")})
    if not form.is_valid():
        raise BadInput(from_form_errors(form.errors))
    result = search.search(form)
    start = (params.page - 1) * size
    rows = result.models(start, start + size + 1)
    nxt = None
    if len(rows) > size:
        query = request.GET.copy()
        query["page"] = str(params.page + 1)
        nxt = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
    facets = {
        name: [{"value": str(v), "count": n} for v, n in values]
        for name, values in result.facets.items()
    }
    suggestions = [
        {"query": s.query, "filters": s.filters, "dropped": s.dropped, "count": s.count,
         "url": request.build_absolute_uri(f"{request.path}?{urlencode(s.params)}")}
        for s in result.suggestions
    ]  # fmt: skip
    return {"items": [_item(m) for m in rows[:size]], "count": result.count,
            "estimated": result.estimated, "next": nxt, "facets": facets,
            "suggestions": suggestions}  # fmt: skip


@api.get(
    "/models/{path:repo_id}/lineage",
    response=LineageOut,
    summary="Ancestors or descendants",
    operation_id=f"{OPS}model_lineage",
)
def model_lineage(request: HttpRequest, repo_id: RepoId, params: Query[LineageParams]):
    model = _model(repo_id)
    direction, depth, limit = params.direction, params.depth, params.limit
    if direction == "up":
        nodes = lineage.ancestors(model, depth=depth)
    else:
        nodes = lineage.descendants(model, depth=depth, limit=limit)
    return {"id": model.repo_id, "direction": direction, "depth": depth, "nodes": nodes,
            "truncated": direction == "down" and len(nodes) >= limit}  # fmt: skip


@api.get(
    "/models/{path:repo_id}", response=ModelOut, summary="One model", operation_id=f"{OPS}get_model"
)
def get_model(request: HttpRequest, repo_id: RepoId, profile: ProfileSlug = ""):
    chosen = profile_named(profile) if profile else None
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
        "estimate": _estimate(model),
        "children_count": lineage.children_counts(model),
        "aliases": list(model.aliases.values_list("alias", flat=True)),
        "updated_at": model.updated_at,
        **license_fields(model),
        "profile_verdict": profiles.result_for(model, chosen).as_json() if chosen else None,
    }  # fmt: skip
