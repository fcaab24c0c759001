"""What approvals hears from below and from the framework (connected in ApprovalsConfig.ready).

License determinations go to the audit log, inside their own transaction; a license assessment
moves the approvals decided on what changed to re-review.

Failed and locked-out logins go to the audit log too. Every failure is `login.failed`, wrong password or refused during a lockout alike (Django's
user_login_failed, sent for both); `login.locked_out` is django-axes' user_locked_out, sent at
the failure that reaches the limit and at each attempt refused while it lasts. The username is
what was typed, not an account: the actor is "anonymous"."""

from __future__ import annotations

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_login_failed
from django.db.models.signals import post_save
from django.dispatch import receiver

from licenses.signals import assessed, determination_recorded
from usage.signals import verdicts_changed

from . import audit, profiles, review
from .models import Waiver

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


@receiver(determination_recorded, dispatch_uid="canopy-audit-determination")
def determination(sender, *, by, action, determination, model, detail, **kwargs) -> None:
    audit.record(actor=by, action=action, obj=determination, repo_id=model.repo_id, detail=detail)


@receiver(assessed, dispatch_uid="canopy-rereview-on-assessment")
def rereview(sender, *, model_ids, changed, through_ancestors=True, inline=False, **kw) -> None:
    # Decisions rest on license results (changed) and on gated status and revision, which
    # the crawl that asked for the assessment may have moved (all assessed).
    review.rereview(sorted(set(model_ids) | set(changed)), through_ancestors=through_ancestors,
                    inline=inline)  # fmt: skip


@receiver(verdicts_changed, dispatch_uid="canopy-rereview-on-profile-verdicts")
def rereview_verdicts(sender, *, profile_id, model_ids, **kw) -> None:
    # A profile changed (or what it reads did): approvals given for it whose verdict moved.
    review.rereview(sorted(model_ids), through_ancestors=False)


@receiver(post_save, sender=Waiver, dispatch_uid="canopy-reevaluate-on-waiver")
def waiver_saved(sender, instance: Waiver, **kw) -> None:
    # A waiver stands over the model's terms for every profile (and stops when revoked).
    profiles.reevaluate([instance.model_id])
