"""The audit log: one function writes it, everything that changes state calls it."""

from __future__ import annotations

from typing import Any

from . import chain
from .chain import entry_hash
from .models import AuditEvent

# Every action the log records, for the audit page's filter (which matches a prefix, so
# "determination" finds all three kinds of determination).
ACTIONS = {
    "request.created": "approval request made",
    "request.sent_to_review": "request sent to review by a policy",
    "request.decided": "request decided (by a person or a policy)",
    "request.needs_rereview": "approval moved to needs re-review",
    "request.reopened": "decided request reopened by an approver",
    "policy.created": "policy created",
    "policy.changed": "policy changed",
    "policy.deleted": "policy deleted",
    "waiver.granted": "waiver granted",
    "profile.created": "usage profile created",
    "profile.changed": "usage profile changed",
    "determination.created": "manual license determination",
    "determination.changed": "manual license determination replaced",
    "determination.revoked": "manual license determination revoked",
    "token.created": "API token issued",
    "token.scopes_changed": "API token scopes changed (old -> new)",
    "token.revoked": "API token revoked",
    "token.changed": "API token renamed or its expiry moved earlier",
    "login.failed": "failed login (wrong password, or refused while locked out)",
    "login.locked_out": "login locked out after repeated failures",
}
KINDS = {
    "request": "approval requests and decisions",
    "policy": "policy changes",
    "waiver": "waivers",
    "profile": "usage profiles",
    "determination": "manual license determinations",
    "token": "API tokens",
    "login": "failed and locked-out logins",
}


def record(
    *, actor, action: str, obj: Any = None, repo_id: str = "", detail: dict | None = None,
    label: str = "",
) -> AuditEvent:  # fmt: skip
    user = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    return AuditEvent.objects.create(
        actor=user,
        actor_label=label or (user.get_username() if user else "system"),
        action=action,
        object_type=type(obj).__name__.lower() if obj is not None else "",
        object_id=str(getattr(obj, "pk", "") or ""),
        repo_id=repo_id,
        detail=detail or {},
    )


def verify() -> chain.Verdict:
    """The whole log's chain, in id order (manage.py verify_audit, the audit page)."""
    fields = ["id", "at", "actor_user_id", "actor_label", "action", "object_type", "object_id",
              "repo_id", "detail", "prev_hash", "hash"]  # fmt: skip
    return chain.verify(AuditEvent.objects.order_by("id").only(*fields).iterator(chunk_size=2000))


__all__ = ["ACTIONS", "KINDS", "entry_hash", "record", "verify"]
