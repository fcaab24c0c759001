"""Telling people that an approval needs re-review: a mail to the requester and the approvers,
and a signed webhook event. approvals.tasks sends them once the move to re-review has committed;
both raise when the mail server or the endpoint fails, so the task can retry."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import httpx2
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db.models import Q

from .models import ApprovalRequest


def approvers():
    perm = Q(groups__permissions__codename="decide_request") | Q(
        user_permissions__codename="decide_request"
    )
    return get_user_model().objects.filter(perm | Q(is_superuser=True), is_active=True).distinct()


def _url(req: ApprovalRequest) -> str:
    return settings.CANOPY_SITE_URL.rstrip("/") + req.get_absolute_url()


def mail_rereview(req: ApprovalRequest) -> int:
    """The mail: what changed, and the request's page. Returns how many it went to."""
    lines = [
        f"- {c['field']}: {c['before']} -> {c['after']}"
        + (f" ({c['note']})" if c.get("note") else "")
        for c in req.changes
    ]
    body = (
        f"The approval of {req.model.repo_id} for {req.get_intended_use_display()} needs "
        f"re-review: the Hub shows a change.\n\n" + "\n".join(lines) + f"\n\n{_url(req)}\n"
    )
    to = {u.email for u in approvers() if u.email}
    if req.requested_by.email:
        to.add(req.requested_by.email)
    if to:
        send_mail(f"[Canopy] re-review: {req.model.repo_id}", body, None, sorted(to))
    return len(to)


def post_rereview(req: ApprovalRequest) -> None:
    post_webhook({"event": "approval.needs_rereview", "request": req.pk,
                  "model": req.model.repo_id, "use": req.intended_use, "url": _url(req),
                  "changes": req.changes})  # fmt: skip


def post_webhook(payload: dict[str, Any]) -> None:
    """POST the event, signed: X-Canopy-Signature = sha256=HMAC(secret, body). Raises
    httpx2.HTTPError when it does not arrive (no answer, or not a 2xx)."""
    body = json.dumps(payload, sort_keys=True, default=str).encode()
    sig = hmac.new(settings.APPROVALS_WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    httpx2.post(settings.APPROVALS_WEBHOOK_URL, content=body, timeout=5,
                headers={"Content-Type": "application/json",
                         "X-Canopy-Signature": f"sha256={sig}"}).raise_for_status()  # fmt: skip
