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

from config.celery import django_task

from . import notify
from .models import ApprovalRequest, Status

log = logging.getLogger(__name__)

MAIL_ERRORS: tuple[type[Exception], ...] = (SMTPException, OSError)
HOOK_ERRORS: tuple[type[Exception], ...] = (httpx2.HTTPError,)


def _retried(errors: tuple[type[Exception], ...]):
    # A mail server or endpoint down for a while: ten retries, the waits doubling from 30 s up
    # to 30 min (jittered), then given up.
    return shared_task(autoretry_for=errors, retry_backoff=30, retry_backoff_max=1800,
                       retry_jitter=True, max_retries=10, acks_late=True)  # fmt: skip


def _waiting(request_id: int) -> ApprovalRequest | None:
    """The request while it still needs re-review; re-decided or reopened before the task ran,
    the message would be stale."""
    return (
        ApprovalRequest.objects.select_related("model", "requested_by")
        .filter(pk=request_id, status=Status.NEEDS_REREVIEW)
        .first()
    )


@django_task
@_retried(MAIL_ERRORS)
def mail_rereview(request_id: int) -> int:
    """Mail the requester and the approvers; returns how many it went to."""
    req = _waiting(request_id)
    return notify.mail_rereview(req) if req else 0


@django_task
@_retried(HOOK_ERRORS)
def post_rereview(request_id: int) -> bool:
    """Post the webhook event, when one is configured."""
    req = _waiting(request_id)
    if req is None or not settings.APPROVALS_WEBHOOK_URL:
        return False
    notify.post_rereview(req)
    return True


def queue_rereview(request_id: int, *, inline: bool = False) -> None:
    """Tell people once the move has committed. Inline (`crawl --sync`, no worker) they are
    sent here; one that fails is queued, for a worker to retry."""
    senders: list[tuple[Any, tuple[type[Exception], ...]]] = [(mail_rereview, MAIL_ERRORS)]
    if settings.APPROVALS_WEBHOOK_URL:
        senders.append((post_rereview, HOOK_ERRORS))
    for task, errors in senders:
        if not inline:
            task.delay_on_commit(request_id)
            continue
        try:
            task.run(request_id)
        except errors as exc:
            log.warning("%s for request %s failed, queued for a worker: %s", task.name,
                        request_id, exc)  # fmt: skip
            task.delay_on_commit(request_id)
