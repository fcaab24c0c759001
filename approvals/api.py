"""Approvals API (django-ninja router mounted on portal.api's /api/v1/): the pipeline check,
requests and decisions, waivers, policies and the audit log, with the role of the caller."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

import orjson
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from pydantic import AfterValidator, Field

from catalog.models import HubModel
from config.errors import BadInput, Error, from_form_errors
from config.inputs import REVISION_MAX, DbId, RepoId, Text
from licenses.models import LineageStatus
from usage.models import SLUG, UsageProfile

from . import audit, review
from .auth import auth, has_scope
from .check import check as run_check
from .forms import WaiverForm
from .models import (
    ApprovalRequest,
    AuditEvent,
    IntendedUse,
    Policy,
    Scope,
    Status,
    Waiver,
    WaiverReason,
)
from .policy import dry_run
from .profiles import FIELDS as PROFILE_FIELDS
from .profiles import save_profile
from .views import filter_audit

router = Router(tags=["approvals"], auth=auth)

Use = Literal["research", "internal_tool", "commercial_product", "hosted_service"]
# licenses.models.Verdict's values (tests/test_bad_requests.py holds them equal)
VerdictName = Literal["allowed", "conditional", "prohibited", "unknown"]
Revision = Annotated[Text, Field(max_length=REVISION_MAX, description="a commit sha")]


def Bounded(n: int) -> Any:  # noqa: N802 (reads as a type)
    return Field(max_length=n)


def _need(request: HttpRequest, scope: str, perm: str | None = None) -> None:
    if not has_scope(request, scope):
        raise HttpError(403, f"this token lacks the {scope!r} scope")
    if perm and not request.user.has_perm(perm):
        raise HttpError(403, f"your role lacks {perm}")


class CheckApproval(Schema):
    id: int
    url: str
    scope: str
    revision: str | None
    for_model: str
    conditions: list[str]
    decided_by_rule: int | None


class CheckObligation(Schema):
    license: str = Field(description="the license key it comes from (the model's or an ancestor's)")
    code: str = Field(description="attribution, naming, notice_file, use_restrictions, ...")
    text: str = Field(description="the exact words the license fixes; empty where it fixes none "
                      "or where Canopy's knowledge base does not hold them")  # fmt: skip
    clause: str = Field(description="the license's section it comes from")


class UsageFinding(Schema):
    code: str = Field(description="the condition code (mau_700m, aup...), or lineage, "
                      "training_data, unknown_terms, waiver, approval")  # fmt: skip
    license: str = Field(description="the license key it comes from, empty when none")
    text: str
    clause: str = Field(description="the license's clause the rule reads, quoted")


class ProfileVerdictOut(Schema):
    profile: str
    verdict: Literal["usable", "review", "blocked"] = Field(
        description="with a waiver or an approval for the profile, usable (the first reason "
        "says which); terms_verdict is the verdict by the terms alone"
    )
    terms_verdict: Literal["usable", "review", "blocked"]
    reasons: list[UsageFinding] = Field(description="what blocks it, or needs a person")
    obligations: list[UsageFinding] = Field(description="what the profile's use incurs")
    risks: list[UsageFinding] = Field(description="terms that can change or end")


ProfileSlug = Annotated[str, Field(max_length=50, pattern=SLUG.pattern,
                                   description="a usage profile's slug")]  # fmt: skip


def profile_named(slug: str) -> UsageProfile:
    """A profile by slug, or a 404 that says which."""
    found = UsageProfile.objects.filter(slug=slug).first() if SLUG.fullmatch(slug) else None
    if found is None:
        raise HttpError(404, f"No usage profile {slug!r} (GET /api/v1/profiles lists them)")
    return found


class CheckOut(Schema):
    allowed: bool
    status: str
    reasons: list[str]
    approval: CheckApproval | None
    expires: date | None
    obligations: list[CheckObligation] = Field(
        default=[], description="required texts of the model's and its ancestors' licenses"
    )
    obligations_complete: bool = Field(
        default=False, description="false unless the lineage status is complete: the model is "
        "not assessed, or an ancestor's license was not read or is unknown, or a derivative "
        "upstream names no base; the obligations may then be incomplete",
    )  # fmt: skip
    lineage_status: LineageStatus | None = Field(
        default=None, description="how far the terms the model inherits could be read; null "
        "when it is not assessed. Anything but complete adds a `lineage:` reason",
    )  # fmt: skip
    profile_verdict: ProfileVerdictOut | None = Field(
        default=None, description="with a profile (the token's, or `profile=`): the model's "
        "verdict for it; its one-line summary is the first reason",
    )  # fmt: skip


@router.get(
    "/check", response={200: CheckOut, 404: Error}, summary="Pipeline check: may this model be used now?",
    description="Answers from the approvals and waivers in force. `status` is one of approved, "
    "approved_with_conditions, waived, needs_rereview, pending, rejected, expired, not_requested. "
    "`obligations` lists the texts the model's license and its ancestors' require (attribution, "
    "derived-model naming, Notice lines, pass-throughs), each with its license and clause; "
    "`obligations_complete` is false unless `lineage_status` is complete. "
    "With a usage profile (the token's, or `profile=<slug>`), `profile_verdict` gives the "
    "model's verdict for it (usable, review, blocked) with reasons and obligations. "
    "Needs a token with the `check` scope (or a logged-in session).\n\n"
    "`curl -H 'Authorization: Bearer cnp_...' "
    "'http://127.0.0.1:8000/api/v1/check?model=meta-llama/Llama-2-7b-chat-hf&use=internal_tool'`",
)  # fmt: skip
def check(
    request: HttpRequest,
    model: RepoId,
    use: Use,
    revision: Revision = "",
    profile: ProfileSlug = "",
):
    _need(request, "check")
    token = getattr(request, "api_token", None)
    chosen = profile_named(profile) if profile else None
    if chosen is None and token is not None and token.profile_id is not None:
        chosen = UsageProfile.objects.filter(pk=token.profile_id).first()
    # A pipeline's check with a token is answered before it gets here, by the lean WSGI path
    # (approvals.middleware.CheckFastPath, one statement); this operation documents it and
    # serves sessions and refusals. The answer is built to CheckOut's shape (tests/approvals
    # pin it, for both paths) and serialised once with orjson, skipping ninja's validation.
    answer = orjson.dumps(run_check(model, revision=revision, use=use, profile=chosen))
    return HttpResponse(answer, content_type="application/json; charset=utf-8")


class RequestIn(Schema):
    model: RepoId
    use: Use
    justification: Annotated[Text, Field(min_length=1, max_length=5000)]
    revision: Revision = ""
    scope: Literal["revision", "model", "family"] = "model"
    profile: ProfileSlug = Field("", description="the usage profile it is asked for, if any")


class RequestOut(Schema):
    id: int
    model: str
    revision: str
    use: str
    justification: str
    requested_by: str
    created_at: datetime
    status: str
    scope: str
    decided_by: str | None
    decided_by_rule: int | None
    decided_at: datetime | None
    reason: str
    conditions_text: str
    attribution_required: bool
    internal_only: bool
    expires_at: date | None
    changes: list[dict[str, Any]]
    profile: str | None = None


def _request_out(r: ApprovalRequest) -> dict[str, Any]:
    return {
        "id": r.pk, "model": r.model.repo_id, "revision": r.revision, "use": r.intended_use,
        "justification": r.justification, "requested_by": r.requested_by.get_username(),
        "created_at": r.created_at, "status": r.status, "scope": r.scope,
        "decided_by": r.decided_by.get_username() if r.decided_by else None,
        "decided_by_rule": r.decided_by_rule_id, "decided_at": r.decided_at, "reason": r.reason,
        "conditions_text": r.conditions_text, "attribution_required": r.attribution_required,
        "internal_only": r.internal_only, "expires_at": r.expires_at, "changes": r.changes,
        "profile": r.profile.slug if r.profile else None,
    }  # fmt: skip


def _visible(request: HttpRequest):
    return ApprovalRequest.objects.visible_to(request.user).select_related(
        "model", "requested_by", "decided_by", "profile"
    )


class RequestFilter(Schema):
    status: Status | Literal[""] = ""
    model: Annotated[Text, Bounded(200)] = ""
    limit: int = Field(100, ge=1, le=1000)


@router.get("/requests", response=list[RequestOut], summary="Approval requests you may see")
def list_requests(request: HttpRequest, filters: Query[RequestFilter]):
    _need(request, "read")
    qs = _visible(request)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.model:
        qs = qs.filter(model__repo_id=filters.model)
    return [_request_out(r) for r in qs[: filters.limit]]


@router.post(
    "/requests", response={201: RequestOut, 404: Error}, summary="Request a model for a use"
)
def create_request(request: HttpRequest, body: RequestIn):
    _need(request, "write", "approvals.add_approvalrequest")
    model = HubModel.objects.filter(repo_id=body.model).first()
    if model is None:
        raise HttpError(404, f"No model {body.model} in the catalog")
    profile = profile_named(body.profile) if body.profile else None
    req = review.submit(model=model, use=body.use, justification=body.justification,
                        by=request.user, revision=body.revision, scope=body.scope,
                        profile=profile)  # fmt: skip
    return 201, _request_out(req)


@router.get("/requests/{int:request_id}", response=RequestOut, summary="One request")
def get_request(request: HttpRequest, request_id: DbId):
    _need(request, "read")
    return _request_out(get_object_or_404(_visible(request), pk=request_id))


def _domain(action, *args, **kwargs):
    """A domain function's refusals as the API's statuses: 403 (role), 422 (values), 409 (state)."""
    try:
        return action(*args, **kwargs)
    except PermissionDenied as exc:
        raise HttpError(403, str(exc)) from exc
    except ValidationError as exc:
        raise HttpError(422, "; ".join(exc.messages)) from exc
    except review.StateConflict as exc:
        raise HttpError(409, str(exc)) from exc


class DecisionIn(Schema):
    status: Literal["approved", "approved_with_conditions", "rejected"]
    reason: Annotated[Text, Bounded(5000)] = ""
    scope: Literal["revision", "model", "family"] | None = None
    conditions_text: Annotated[Text, Bounded(5000)] = ""
    attribution_required: bool = False
    internal_only: bool = False
    expires_at: date | None = None


# The operation id the schema had while the view was named `decide`: clients generated from it
# keep working.
@router.post("/requests/{int:request_id}/decision", response={200: RequestOut, 409: Error},
             summary="Decide (409 when the request is already decided)",
             operation_id="approvals_api_decide")  # fmt: skip
def post_decision(request: HttpRequest, request_id: DbId, body: DecisionIn):
    _need(request, "write", "approvals.decide_request")
    req = get_object_or_404(_visible(request), pk=request_id)
    return _request_out(_domain(review.decide, req, by=request.user, **body.dict()))


class ReopenIn(Schema):
    reason: Annotated[Text, Bounded(5000)]


@router.post("/requests/{int:request_id}/reopen", response={200: RequestOut, 409: Error},
             summary="Reopen a decided request (approvers; the reason is audited)")  # fmt: skip
def reopen(request: HttpRequest, request_id: DbId, body: ReopenIn):
    _need(request, "write", "approvals.decide_request")
    req = get_object_or_404(_visible(request), pk=request_id)
    return _request_out(_domain(review.reopen, req, by=request.user, reason=body.reason))


class WaiverIn(Schema):
    model: RepoId
    revision: Revision = ""
    reason: WaiverReason
    evidence_link: Annotated[Text, Field(min_length=1, max_length=500, description="a URL")]
    note: Annotated[Text, Bounded(5000)] = ""
    expires_at: date


class WaiverOut(WaiverIn):
    id: int
    granted_by: str
    granted_at: datetime
    revoked: bool


def _waiver_out(w: Waiver) -> dict[str, Any]:
    return {"id": w.pk, "model": w.model.repo_id, "revision": w.revision, "reason": w.reason,
            "evidence_link": w.evidence_link, "note": w.note, "expires_at": w.expires_at,
            "granted_by": w.granted_by.get_username(), "granted_at": w.granted_at,
            "revoked": w.revoked}  # fmt: skip


@router.get("/waivers", response=list[WaiverOut], summary="Waivers")
def list_waivers(request: HttpRequest, model: Annotated[Text, Bounded(200)] = ""):
    _need(request, "read")
    qs = Waiver.objects.select_related("model", "granted_by")
    if model:
        qs = qs.filter(model__repo_id=model)
    return [_waiver_out(w) for w in qs[:1000]]


@router.post("/waivers", response={201: WaiverOut, 404: Error}, summary="Grant a waiver")
def create_waiver(request: HttpRequest, body: WaiverIn):
    _need(request, "write", "approvals.add_waiver")
    if not HubModel.objects.filter(repo_id=body.model).exists():
        raise HttpError(404, f"No model {body.model} in the catalog")
    form = WaiverForm(body.dict())
    if not form.is_valid():
        raise BadInput(from_form_errors(form.errors))
    return 201, _waiver_out(form.grant(by=request.user))


Names = Annotated[list[Annotated[Text, Field(min_length=1, max_length=100)]], Field(max_length=500)]


class PolicyIO(Schema):
    id: int | None = None
    name: Annotated[Text, Field(min_length=1, max_length=120)]
    order: int = Field(100, ge=0, le=2**31 - 1)
    action: Literal["approve", "reject", "review"]
    enforced: bool = False
    verdicts: list[VerdictName] = []
    lineage_statuses: list[LineageStatus] = Field(
        [], description="matches these lineage statuses (e.g. allowed with unknown_ancestor_terms "
        "sent to review)",
    )  # fmt: skip
    condition_codes: Names = []
    licenses: Names = []
    authors: Names = []
    uses: list[Use] = []
    gated: Literal["", "yes", "no"] = ""
    conflict: Literal["", "yes", "no"] = ""
    suspected_base: Literal["", "yes", "no"] = Field(
        "", description="a suspected base, its own or upstream (licenses' suspected_bases)"
    )
    data_verdicts: list[VerdictName] = Field(
        [], description="matches these training-data verdicts (the model's data_commercial)"
    )
    data_statuses: list[Literal["complete", "datasets_unknown", "none_declared"]] = []
    data_conflict: Literal["", "yes", "no"] = Field(
        "", description="its weights more permissive than its training data (data_conflict)"
    )
    profile: ProfileSlug | None = Field(
        None, description="a usage profile: the rule decides only requests made for it"
    )
    profile_verdicts: list[Literal["usable", "review", "blocked"]] = Field(
        [], description="matches these verdicts for the rule's profile"
    )


POLICY_FIELDS = [f for f in PolicyIO.model_fields if f != "id"]
LIST_FIELDS = [
    "verdicts", "lineage_statuses", "condition_codes", "licenses", "authors", "uses",
    "data_verdicts", "data_statuses", "profile_verdicts",
]  # fmt: skip


class PolicyOut(PolicyIO):
    """A stored rule as it is: one written around Policy's checks (bulk SQL, an older release)
    is listed with what it holds, which matches nothing (approvals.policy)."""

    verdicts: list[str] = []  # type: ignore[assignment]
    lineage_statuses: list[str] = []  # type: ignore[assignment]
    uses: list[str] = []  # type: ignore[assignment]
    data_verdicts: list[str] = []  # type: ignore[assignment]
    data_statuses: list[str] = []  # type: ignore[assignment]
    profile_verdicts: list[str] = []  # type: ignore[assignment]


def _policy_out(p: Policy) -> dict[str, Any]:
    out = {"id": p.pk, **{f: getattr(p, f) for f in POLICY_FIELDS if f != "profile"}}
    out["profile"] = p.profile.slug if p.profile else None
    for f in LIST_FIELDS:
        value = out[f]
        out[f] = [str(v) for v in value] if isinstance(value, list) else [f"not a list: {value!r}"]
    return out


@router.get("/policies", response=list[PolicyOut], summary="Policies, in the order they apply")
def list_policies(request: HttpRequest):
    _need(request, "read")
    return [_policy_out(p) for p in Policy.objects.select_related("profile")]


@router.post("/policies", response={201: PolicyIO}, summary="Create a policy (admin)")
def create_policy(request: HttpRequest, body: PolicyIO):
    _need(request, "write", "approvals.add_policy")
    data = body.dict(exclude={"id"})
    bad = set(data["uses"]) - set(IntendedUse.values)
    if bad:
        raise HttpError(422, f"unknown uses: {sorted(bad)}")
    slug = data.pop("profile")
    profile = UsageProfile.objects.filter(slug=slug).first() if slug else None
    if slug and profile is None:
        raise BadInput([("profile", f"no usage profile {slug!r} (GET /api/v1/profiles)")])
    try:
        p = Policy.objects.create(**data, profile=profile)
    except ValidationError as exc:  # Policy's own checks (approvals.models.policy_problems)
        raise BadInput(from_form_errors(exc.message_dict), "This policy cannot be saved") from exc
    data["profile"] = slug
    audit.record(actor=request.user, action="policy.created", obj=p, detail=data)
    return 201, {"id": p.pk, **data}


class DryRunUse(Schema):
    use: str
    label: str
    decided: int
    changed: int
    examples: list[str]


@router.get("/policies/{int:policy_id}/dry-run", response=list[DryRunUse], summary="Dry run")
def dry_run_policy(request: HttpRequest, policy_id: DbId):
    _need(request, "read")
    return dry_run(get_object_or_404(Policy, pk=policy_id))["per_use"]


class AuditOut(Schema):
    id: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    repo_id: str
    detail: dict[str, Any]


class AuditFilter(Schema):
    action: Annotated[Text, Bounded(40)] = ""
    actor: Annotated[Text, Bounded(150)] = ""
    model: Annotated[Text, Bounded(200)] = ""
    limit: int = Field(200, ge=1, le=5000)


@router.get("/audit", response=list[AuditOut], summary="The audit log (newest first)")
def audit_log(request: HttpRequest, filters: Query[AuditFilter]):
    _need(request, "read", "approvals.view_audit_log")
    qs = filter_audit(AuditEvent.objects.all(), filters.dict())
    return [{"id": e.pk, "at": e.at, "actor": e.actor_label, "action": e.action,
             "object_type": e.object_type, "object_id": e.object_id, "repo_id": e.repo_id,
             "detail": e.detail} for e in qs[: filters.limit]]  # fmt: skip


__all__ = ["Scope", "router"]


# --- usage profiles ------------------------------------------------------------------------

Deployment = Literal["internal", "hosted", "shipped", "redistribute_weights"]
Domain = Literal["medical", "legal", "financial", "employment", "military",
                 "critical_infrastructure", "surveillance", "minors", "elections",
                 "law_enforcement"]  # fmt: skip
Region = Annotated[str, Field(pattern=r"^(EU|WORLD|[A-Z]{2})$", max_length=5)]
# Strict: pydantic's lax int takes `false` as 0 USD, which clears every revenue line.
Count = Annotated[int, Field(ge=0, le=10**15, strict=True)]


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("a name, not blank")
    return value


class ProfileIn(Schema):
    """What a usage profile says; usage.models.profile_problems checks it again on save."""

    name: Annotated[Text, Field(min_length=1, max_length=120), AfterValidator(_not_blank)]
    description: Annotated[Text, Field(max_length=2000)] = ""
    mau: Count | None = Field(None, description="monthly active users, with affiliates; "
                              "null: not stated (a user-count line then needs review)")  # fmt: skip
    revenue_usd: Count | None = Field(None, description="annual revenue in USD; null: not stated")
    commercial: bool = Field(True, description="false: non-commercial research only")
    deployments: list[Deployment] = Field([], max_length=4)
    trains_on_outputs: bool = Field(False, description="its outputs train other models")
    based_in: list[Region] = Field([], max_length=60, description="where the organisation "
                                   "is domiciled: ISO country codes, EU")  # fmt: skip
    offered_in: list[Region] = Field([], max_length=250, description="where it is offered; "
                                     "WORLD for everywhere")  # fmt: skip
    fine_tunes: bool = False
    publishes_derivatives: bool = False
    domains: list[Domain] = Field([], max_length=10, description="domains that use policies name")
    licenses_held: list[Annotated[Text, Field(max_length=80)]] = Field(
        [], max_length=50, description="license keys held under a separate agreement (lifts "
        "user and revenue lines)",
    )  # fmt: skip


class ProfileCreate(ProfileIn):
    slug: Annotated[str, Field(pattern=SLUG.pattern, max_length=50)]


class ProfileOut(Schema):
    """A stored profile as it is: one written around the checks (bulk SQL, an older release)
    is listed with what it holds; the rules read only what it validly holds."""

    slug: str
    name: str
    description: str
    mau: int | None
    revenue_usd: int | None
    commercial: bool
    deployments: Any
    trains_on_outputs: bool
    based_in: Any
    offered_in: Any
    fine_tunes: bool
    publishes_derivatives: bool
    domains: Any
    licenses_held: Any
    example: bool
    updated_at: datetime


def _profile_out(p: UsageProfile) -> dict[str, Any]:
    return {"slug": p.slug, "example": p.example, "updated_at": p.updated_at,
            **{f: getattr(p, f) for f in PROFILE_FIELDS}}  # fmt: skip


def _save_profile(request: HttpRequest, fields: dict[str, Any], slug: str | None):
    _need(request, "write", "usage.edit_profiles")
    try:
        return save_profile(by=request.user, fields=fields, slug=slug)
    except ValidationError as exc:  # the profile's own checks (usage.models.profile_problems)
        raise BadInput(from_form_errors(exc.message_dict), "This profile cannot be saved") from exc
    except PermissionDenied as exc:
        raise HttpError(403, str(exc)) from exc


@router.get("/profiles", response=list[ProfileOut], summary="Usage profiles")
def list_profiles(request: HttpRequest):
    _need(request, "read")
    return [_profile_out(p) for p in UsageProfile.objects.all()]


@router.get("/profiles/{slug}", response={200: ProfileOut, 404: Error},
            summary="One usage profile")  # fmt: skip
def get_profile(request: HttpRequest, slug: ProfileSlug):
    _need(request, "read")
    return _profile_out(profile_named(slug))


@router.post("/profiles", response={201: ProfileOut, 409: Error},
             summary="Create a usage profile (legal, admin)")  # fmt: skip
def create_profile(request: HttpRequest, body: ProfileCreate):
    if UsageProfile.objects.filter(slug=body.slug).exists():
        _need(request, "write", "usage.edit_profiles")
        raise HttpError(409, f"a profile {body.slug!r} exists: PUT /api/v1/profiles/{body.slug}")
    return 201, _profile_out(_save_profile(request, body.dict(), None))


@router.put("/profiles/{slug}", response={200: ProfileOut, 404: Error},
            summary="Change a usage profile (legal, admin); verdicts are re-evaluated")  # fmt: skip
def update_profile(request: HttpRequest, slug: ProfileSlug, body: ProfileIn):
    profile_named(slug)
    return _profile_out(_save_profile(request, body.dict(), slug))
