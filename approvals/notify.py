"""Telling people that an approval needs re-review: a mail to the requester and the approvers,
and a signed webhook event. approvals.tasks sends them once the move to re-review has committed;
both raise when the mail server or the endpoint fails, so the task can retry."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Any

import httpx2
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import checks
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db.models import Q

from .models import ApprovalRequest

log = logging.getLogger(__name__)


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
    to = {address for address in to if _mailable(address)}
    if to:
        send_mail(f"[Canopy] re-review: {req.model.repo_id}", body, None, sorted(to))
    return len(to)


def _mailable(address: str) -> bool:
    """An address the mail can take: one that cannot (a newline, a second @, set outside a form)
    is left out, and logged, so the others are still told."""
    try:
        validate_email(address)
    except ValidationError:
        log.warning("re-review mail: %r is not an address, left out", address[:200])
        return False
    return True


def post_rereview(req: ApprovalRequest) -> None:
    post_webhook({"event": "approval.needs_rereview", "request": req.pk,
                  "model": req.model.repo_id, "use": req.intended_use, "url": _url(req),
                  "changes": req.changes})  # fmt: skip


def post_webhook(payload: dict[str, Any]) -> None:
    """POST the event, signed: X-Canopy-Signature = sha256=HMAC(secret, body). Raises
    httpx2.HTTPError when it does not arrive (no answer, or not a 2xx). The answer's status is
    all it reads: an endpoint that drips or floods its body holds nobody."""
    body = json.dumps(payload, sort_keys=True, default=str).encode()
    sig = hmac.new(settings.APPROVALS_WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Canopy-Signature": f"sha256={sig}"}
    with httpx2.stream(
        "POST", settings.APPROVALS_WEBHOOK_URL, content=body, timeout=5, headers=headers
    ) as answer:
        answer.raise_for_status()


def check_webhook(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """A webhook URL the client cannot use, or events signed with an empty secret (which anyone
    can forge), said at start-up."""
    url = settings.APPROVALS_WEBHOOK_URL
    if not url:
        return []
    found: list[checks.CheckMessage] = []
    try:
        parsed = httpx2.URL(url)
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise httpx2.InvalidURL("not an http(s) URL with a host")
    except (httpx2.InvalidURL, TypeError, ValueError) as exc:
        found.append(checks.Error(f"APPROVALS_WEBHOOK_URL cannot be posted to: {exc}",
                                  id="approvals.E001"))  # fmt: skip
    if not settings.APPROVALS_WEBHOOK_SECRET:
        found.append(checks.Warning(
            "APPROVALS_WEBHOOK_URL is set and APPROVALS_WEBHOOK_SECRET is empty: the events' "
            "signatures are HMACs with an empty key, which anyone can compute.",
            hint="Set APPROVALS_WEBHOOK_SECRET to a long random value the receiver knows.",
            id="approvals.W001",
        ))  # fmt: skip
    return found
