"""The approval workflow: who may do what, requests, decisions, coverage, re-review on change."""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from catalog import lineage
from catalog.models import HubModel, Relation
from licenses.models import ModelLicense
from usage.models import UsageProfile

from . import audit, profiles, tasks
from . import policy as policies
from .changes import diff, revision_change, snapshot
from .models import APPROVED, Action, ApprovalRequest, Coverage, Policy, Scope, Status

DECISIONS = (Status.APPROVED, Status.CONDITIONAL, Status.REJECTED)
# A request is decided once: from these states only. A decided one goes back to pending only
# through reopen(), so a decision cannot be overwritten by a stale form or a second token.
OPEN = (Status.PENDING, Status.NEEDS_REREVIEW)


class StateConflict(Exception):
    """The request is not in a state this step applies to (the API answers 409)."""


class AlreadyDecided(StateConflict):
    pass


class NotDecided(StateConflict):
    pass


def can_request(user) -> bool:
    return user.is_authenticated and user.has_perm("approvals.add_approvalrequest")


def can_decide(user, request: ApprovalRequest | None = None) -> bool:
    """Who may approve: holders of approvals.decide_request, never on their own request
    (separation of duties), except superusers."""
    if not (user.is_authenticated and user.has_perm("approvals.decide_request")):
        return False
    own = request is not None and request.requested_by_id == user.pk
    return not own or user.is_superuser


def can_grant_waiver(user) -> bool:
    return user.is_authenticated and user.has_perm("approvals.add_waiver")


def can_edit_policies(user) -> bool:
    return user.is_authenticated and user.has_perm("approvals.change_policy")


def can_read_audit(user) -> bool:
    return user.is_authenticated and user.has_perm("approvals.view_audit_log")


def covered_models(model: HubModel, scope: str) -> list[HubModel]:
    """The model, and for a family scope its quantizations (depth 3) that carry the same terms:
    the same declared license, or none declared and the same effective verdict."""
    if scope != Scope.FAMILY:
        return [model]
    base = ModelLicense.objects.filter(model=model).first()
    out, frontier, seen = [model], [model], {model.repo_id}
    for _ in range(3):
        kids = lineage.child_models(frontier, relation=Relation.QUANTIZED).exclude(repo_id__in=seen)
        states = {s.model_id: s for s in ModelLicense.objects.filter(model__in=kids)}
        frontier = []
        for kid in kids:
            s = states.get(kid.pk)
            same = (
                base is not None
                and s is not None
                and (
                    s.declared == base.declared
                    or (not s.declared and s.effective == base.effective)
                )
            )
            if same:
                out.append(kid)
                frontier.append(kid)
            seen.add(kid.repo_id)
        if not frontier:
            break
    return out


@transaction.atomic
def submit(
    *, model: HubModel, use: str, justification: str, by, revision: str = "",
    scope: str = Scope.MODEL, profile: UsageProfile | None = None,
) -> ApprovalRequest:  # fmt: skip
    """A developer's request (for a usage profile, if named); an enforced policy may decide it
    at once (and is recorded)."""
    if not can_request(by):
        raise PermissionDenied("you may not request models")
    if revision and scope == Scope.MODEL:
        scope = Scope.REVISION
    req = ApprovalRequest.objects.create(
        model=model, revision=revision, intended_use=use, justification=justification,
        requested_by=by, scope=scope, profile=profile, snapshot=snapshot(model, profile),
    )  # fmt: skip
    Coverage.objects.create(approval=req, model=model)
    audit.record(actor=by, action="request.created", obj=req, repo_id=model.repo_id,
                 detail={"use": use, "revision": revision, "scope": scope,
                         "profile": profile.slug if profile else None})  # fmt: skip
    rule = policies.first_match(policies.facts_for(model), use, profile=profile)
    if rule is not None and rule.action != Action.REVIEW:
        status = Status.APPROVED if rule.action == Action.APPROVE else Status.REJECTED
        _apply(req, status=status, by=None, rule=rule, reason=f"policy: {rule.name}")
    elif rule is not None:
        audit.record(actor=None, label=f"policy #{rule.pk}", action="request.sent_to_review",
                     obj=req, repo_id=model.repo_id, detail={"policy": rule.name})  # fmt: skip
    return req


@transaction.atomic
def decide(
    req: ApprovalRequest, *, by, status: str, reason: str = "", scope: str | None = None,
    conditions_text: str = "", attribution_required: bool = False, internal_only: bool = False,
    expires_at: date | None = None,
) -> ApprovalRequest:  # fmt: skip
    if not can_decide(by, req):
        raise PermissionDenied("you may not decide this request")
    if status not in DECISIONS:
        raise ValidationError(f"not a decision: {status}")
    if status == Status.REJECTED and not reason.strip():
        raise ValidationError("a rejection needs a reason")
    if status == Status.CONDITIONAL and not (
        conditions_text.strip() or attribution_required or internal_only
    ):
        # An expiry is not a condition: every approval has one.
        raise ValidationError("approved with conditions needs at least one condition "
                              "(an expiry is not one: every approval has an expiry)")  # fmt: skip
    if expires_at is not None and expires_at < date.today():
        # The form's rule too (DecisionForm): an approval expired when given is no decision.
        raise ValidationError("the expiry date is in the past")
    if expires_at is None and status in APPROVED:
        expires_at = date.today() + timedelta(days=settings.APPROVALS_DEFAULT_DAYS)
    req = ApprovalRequest.objects.select_for_update().get(pk=req.pk)
    _apply(req, status=status, by=by, reason=reason, scope=scope or req.scope,
           conditions_text=conditions_text, attribution_required=attribution_required,
           internal_only=internal_only, expires_at=expires_at)  # fmt: skip
    return req


def _apply(req: ApprovalRequest, *, status: str, by, rule: Policy | None = None, **fields) -> None:
    """The one place a decision is written (people through decide(), policies through submit());
    `req` is locked or new, so the state read here is the one the write replaces."""
    if req.status not in OPEN:
        raise AlreadyDecided(
            f"request #{req.pk} is already decided ({req.get_status_display()}); "
            "an approver may reopen it, with a reason"
        )
    now = timezone.now()
    if fields.get("expires_at") is None and status in APPROVED and rule is not None:
        fields["expires_at"] = date.today() + timedelta(days=settings.APPROVALS_DEFAULT_DAYS)
    for name, value in fields.items():
        setattr(req, name, value)
    req.status = status
    req.decided_by = by
    req.decided_by_rule = rule
    req.decided_at = now
    req.updated_at = now
    req.snapshot = snapshot(req.model, req.profile)
    req.changes = []
    req.save()
    keep = covered_models(req.model, req.scope) if status in APPROVED else [req.model]
    Coverage.objects.filter(approval=req).exclude(model__in=keep).delete()
    Coverage.objects.bulk_create(
        [Coverage(approval=req, model=m) for m in keep], ignore_conflicts=True
    )
    if req.profile_id:  # an approval for a profile stands over the terms it covers
        profiles.reevaluate([m.pk for m in keep])
    audit.record(
        actor=by, label=f"policy #{rule.pk} {rule.name}" if rule else "", action="request.decided",
        obj=req, repo_id=req.model.repo_id,
        detail={"status": status, "reason": req.reason, "scope": req.scope,
                "conditions": req.structured_conditions, "text": req.conditions_text,
                "expires": str(req.expires_at) if req.expires_at else None,
                "policy": rule.pk if rule else None, "covers": [m.repo_id for m in keep]},
    )  # fmt: skip


@transaction.atomic
def reopen(req: ApprovalRequest, *, by, reason: str) -> ApprovalRequest:
    """Undo a decision explicitly: the request is pending again, covers only its model, and the
    log keeps who reopened it, why, and the decision it replaced."""
    if not can_decide(by, req):
        raise PermissionDenied("you may not reopen this request")
    if not reason.strip():
        raise ValidationError("reopening needs a reason")
    req = ApprovalRequest.objects.select_for_update().get(pk=req.pk)
    if req.status not in DECISIONS:
        raise NotDecided(f"request #{req.pk} is not decided ({req.get_status_display()})")
    previous = {
        "status": req.status, "decided_at": req.decided_at.isoformat() if req.decided_at else None,
        "decided_by": req.decided_by.get_username() if req.decided_by else None,
        "policy": req.decided_by_rule_id, "reason": req.reason,
        "conditions": req.structured_conditions, "text": req.conditions_text,
    }  # fmt: skip
    req.status, req.decided_by, req.decided_by_rule, req.decided_at = (
        Status.PENDING,
        None,
        None,
        None,
    )
    req.reason, req.conditions_text, req.expires_at = "", "", None
    req.attribution_required = req.internal_only = False
    req.changes, req.updated_at = [], timezone.now()
    req.save()
    if req.profile_id:  # it no longer stands over the terms of what it covered
        profiles.reevaluate(list(req.covers.values_list("model_id", flat=True)))
    Coverage.objects.filter(approval=req).exclude(model=req.model).delete()
    audit.record(actor=by, action="request.reopened", obj=req, repo_id=req.model.repo_id,
                 detail={"reason": reason.strip(), "previous": previous})  # fmt: skip
    return req


def rereview(
    model_ids: list[int], *, through_ancestors: bool = True, inline: bool = False
) -> list[int]:
    """Approvals of these models (and of their descendants, `through_ancestors`) whose decision
    inputs changed move to needs re-review; requester and approvers are told (approvals.tasks,
    `inline` in this process). Returns the request ids moved."""
    if not model_ids:
        return []
    touched = set(model_ids)
    repo_ids = set(HubModel.objects.filter(pk__in=touched).values_list("repo_id", flat=True))
    # Approvals in force are few (a company's, not the Hub's): read them all, keep those on a
    # touched model or with a touched ancestor.
    reqs = [
        r
        for r in ApprovalRequest.objects.filter(status__in=APPROVED)
        .select_related("model", "requested_by", "profile")
        .order_by("pk")
        if r.model_id in touched
        or (through_ancestors and repo_ids & set(r.snapshot.get("ancestors", {})))
    ]
    moved = []
    for req in reqs:
        now_snap = snapshot(req.model, req.profile)
        changes = diff(req.snapshot, now_snap)
        if req.scope == Scope.REVISION and req.revision and now_snap["sha"] != req.revision:
            changes.append(revision_change(req.revision, now_snap["sha"]))
        if not changes:
            continue
        with transaction.atomic():
            n = ApprovalRequest.objects.filter(pk=req.pk, status=req.status).update(
                status=Status.NEEDS_REREVIEW, changes=changes, updated_at=timezone.now()
            )
            if n != 1:
                continue
            if req.profile_id:  # no longer in force: the terms' verdict applies again
                profiles.reevaluate(list(req.covers.values_list("model_id", flat=True)))
            event = audit.record(actor=None, label="crawl", action="request.needs_rereview",
                                 obj=req, repo_id=req.model.repo_id, detail={"changes": changes})  # fmt: skip
            tasks.queue_rereview(req.pk, event.pk, inline=inline)
        req.status, req.changes = Status.NEEDS_REREVIEW, changes
        moved.append(req.pk)
    return moved
