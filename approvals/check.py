"""The pipeline check: may this model (at this revision) be used for this purpose now?

One indexed join (coverage -> approval -> model by repo_id) answers it; the waivers of the model
are read only when no approval allows. Nothing is cached, so a decision or a re-review shows at
once."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.urls import reverse

from .models import APPROVED, ApprovalRequest, Scope, Status, Waiver

FIELDS = ("pk", "status", "scope", "revision", "expires_at", "decided_at", "created_at",
          "reason", "attribution_required", "internal_only", "conditions_text",
          "decided_by_rule_id", "changes", "model__repo_id")  # fmt: skip
RANK = {Status.NEEDS_REREVIEW: 0, Status.PENDING: 1, Status.REJECTED: 2}


def _applies(row: dict[str, Any], revision: str, sha: str) -> bool:
    if row["scope"] != Scope.REVISION or not row["revision"]:
        return True
    return row["revision"] == (revision or sha)


def _conditions(row: dict[str, Any]) -> list[str]:
    out = []
    if row["attribution_required"]:
        out.append("attribution required")
    if row["internal_only"]:
        out.append("internal only")
    if row["conditions_text"]:
        out.append(row["conditions_text"])
    return out


def _approval(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["pk"], "url": reverse("approvals:request_detail", args=[row["pk"]]),
            "scope": row["scope"], "revision": row["revision"] or None,
            "for_model": row["model__repo_id"], "conditions": _conditions(row),
            "decided_by_rule": row["decided_by_rule_id"]}  # fmt: skip


def check(repo_id: str, *, revision: str = "", use: str) -> dict[str, Any]:
    today = date.today()
    rows = list(
        ApprovalRequest.objects.filter(covers__model__repo_id=repo_id, intended_use=use)
        .exclude(status=Status.WITHDRAWN)
        .values(*FIELDS, "covers__model__sha")
    )
    sha = rows[0]["covers__model__sha"] if rows else ""
    rows = [r for r in rows if _applies(r, revision, sha)]
    allowed = [
        r for r in rows if r["status"] in APPROVED and (r["expires_at"] or date.max) >= today
    ]
    if allowed:
        best = max(allowed, key=lambda r: r["expires_at"] or date.max)
        return {"allowed": True, "status": best["status"],
                "reasons": [f"approved for {use} (request #{best['pk']})"],
                "approval": _approval(best), "expires": best["expires_at"]}  # fmt: skip
    waiver = (
        Waiver.objects.active()
        .filter(model__repo_id=repo_id)
        .filter(revision__in=["", revision] if revision else [""])
        .order_by("-expires_at")
        .values("pk", "reason", "expires_at", "evidence_link")
        .first()
    )
    if waiver:
        return {"allowed": True, "status": "waived",
                "reasons": [f"waiver #{waiver['pk']}: {waiver['reason']}", waiver["evidence_link"]],
                "approval": None, "expires": waiver["expires_at"]}  # fmt: skip
    if not rows:
        return {"allowed": False, "status": "not_requested",
                "reasons": [f"no approval of {repo_id} for {use}"], "approval": None,
                "expires": None}  # fmt: skip
    expired = [r for r in rows if r["status"] in APPROVED]
    open_ = sorted((r for r in rows if r["status"] in RANK), key=lambda r: RANK[r["status"]])
    if open_:
        row = open_[0]
        status = row["status"]
        reasons = {
            Status.NEEDS_REREVIEW: ["needs re-review: the model changed since approval"]
            + [f"{c['field']}: {c['before']} -> {c['after']}" for c in row["changes"]],
            Status.PENDING: ["the request waits for a decision"],
            Status.REJECTED: [f"rejected: {row['reason']}"],
        }[status]
        return {"allowed": False, "status": status, "reasons": reasons,
                "approval": _approval(row), "expires": row["expires_at"]}  # fmt: skip
    row = max(expired, key=lambda r: r["expires_at"] or date.max)
    return {"allowed": False, "status": "expired", "reasons": [f"expired {row['expires_at']}"],
            "approval": _approval(row), "expires": row["expires_at"]}  # fmt: skip
