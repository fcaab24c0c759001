"""Failed and locked-out logins go to the audit log (connected in ApprovalsConfig.ready).

Every failure is `login.failed`, wrong password or refused during a lockout alike (Django's
user_login_failed, sent for both); `login.locked_out` is django-axes' user_locked_out, sent at
the failure that reaches the limit and at each attempt refused while it lasts. The username is
what was typed, not an account: the actor is "anonymous"."""

from __future__ import annotations

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver

from . import audit

USERNAME_MAX = 150  # as auth.User's; what was typed can be any length


def _who(request, username) -> dict:
    return {
        "username": str(username or "")[:USERNAME_MAX],
        "ip": getattr(request, "axes_ip_address", None) or "",
        "path": getattr(request, "path", "")[:200],
    }


@receiver(user_login_failed, dispatch_uid="canopy-audit-login-failed")
def login_failed(sender, credentials: dict, request=None, **kwargs) -> None:
    audit.record(actor=None, action="login.failed", label="anonymous",
                 detail=_who(request, credentials.get("username")))  # fmt: skip


@receiver(user_locked_out, dispatch_uid="canopy-audit-login-locked-out")
def locked_out(sender, request, username, ip_address, **kwargs) -> None:
    detail = _who(request, username) | {"ip": ip_address or ""}
    detail["failures"] = getattr(request, "axes_failures_since_start", None)
    audit.record(actor=None, action="login.locked_out", label="anonymous", detail=detail)
