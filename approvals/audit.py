"""The audit log: one function writes it, everything that changes state calls it."""

from __future__ import annotations

from typing import Any

from .models import AuditEvent


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
