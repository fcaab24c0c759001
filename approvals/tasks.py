"""Celery entry points for approvals: the re-review notifications. They leave the transaction
that moved the request, so a mail server or webhook endpoint that is down delays them (retried
with backoff) instead of failing, or holding up, the assessment that found the change."""

from __future__ import annotations

import logging
from smtplib import SMTPException
from typing import Any

import httpx2
from celery import shared_task
from django.conf import settings
from django.db import transaction

from config.celery import django_task

from . import notify
from .models import ApprovalRequest, AuditEvent, Status

log = logging.getLogger(__name__)

MAIL_ERRORS: tuple[type[Exception], ...] = (SMTPException, OSError)
HOOK_ERRORS: tuple[type[Exception], ...] = (httpx2.HTTPError,)


def _retried(errors: tuple[type[Exception], ...]):
    # A mail server or endpoint down for a while: ten retries, the waits doubling from 30 s up
    # to 30 min (jittered), then given up.
    return shared_task(autoretry_for=errors, retry_backoff=30, retry_backoff_max=1800,
                       retry_jitter=True, max_retries=10, acks_late=True)  # fmt: skip


def _waiting(request_id: int, move: int | None) -> ApprovalRequest | None:
    """The request while it still needs re-review from this move (`move`: its audit event);
    decided again, reopened or moved again before the task ran, the message would be stale (a
    later move's own task tells the news)."""
    req = (
        ApprovalRequest.objects.select_related("model", "requested_by")
        .filter(pk=request_id, status=Status.NEEDS_REREVIEW)
        .first()
    )
    if req is None or move is None:
        return req
    later = AuditEvent.objects.filter(
        action="request.needs_rereview", object_type="approvalrequest",
        object_id=str(request_id), pk__gt=move,
    )  # fmt: skip
    return None if later.exists() else req


@django_task
@_retried(MAIL_ERRORS)
def mail_rereview(request_id: int, move: int | None = None) -> int:
    """Mail the requester and the approvers; returns how many it went to."""
    req = _waiting(request_id, move)
    return notify.mail_rereview(req) if req else 0


@django_task
@_retried(HOOK_ERRORS)
def post_rereview(request_id: int, move: int | None = None) -> bool:
    """Post the webhook event, when one is configured."""
    req = _waiting(request_id, move)
    if req is None or not settings.APPROVALS_WEBHOOK_URL:
        return False
    notify.post_rereview(req)
    return True


def queue_rereview(request_id: int, move: int | None, *, inline: bool = False) -> None:
    """Tell people once the move has committed (a move rolled back is no news). Inline
    (`crawl --sync`, no worker) they are sent in this process then: one that fails on the mail
    server or the endpoint is queued for a worker to retry; anything else is logged (robust),
    never failing the crawl that found the change."""
    senders: list[tuple[Any, tuple[type[Exception], ...]]] = [(mail_rereview, MAIL_ERRORS)]
    if settings.APPROVALS_WEBHOOK_URL:
        senders.append((post_rereview, HOOK_ERRORS))
    for task, errors in senders:
        if not inline:
            task.delay_on_commit(request_id, move)
            continue

        def send_here(task: Any = task, errors: tuple[type[Exception], ...] = errors) -> None:
            try:
                task.run(request_id, move)
            except errors as exc:
                log.warning("%s for request %s failed, queued for a worker: %s", task.name,
                            request_id, exc)  # fmt: skip
                task.delay_on_commit(request_id, move)

        transaction.on_commit(send_here, robust=True)
