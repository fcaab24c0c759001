"""Re-review notifications are tasks of their own: queued once the move has committed, stale ones
dropped, a failing mail server or webhook endpoint retried (real family snapshot; the new
gate on the quantization is CONSTRUCTED)."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail

from approvals import review, tasks
from approvals.models import ApprovalRequest, Status
from catalog.models import HubModel

pytestmark = pytest.mark.django_db
CHILD = "TheBloke/Llama-2-7B-Chat-GGUF"


def _moved(users) -> ApprovalRequest:
    """An approval of CHILD, then its gate turns manual: the approval's inputs changed."""
    child = HubModel.objects.get(repo_id=CHILD)
    req = review.submit(model=child, use="research", justification="x", by=users["developer"])
    review.decide(req, by=users["approver"], status=Status.APPROVED)
    child.gated = "manual"
    child.save(update_fields=["gated"])
    return req


def _queued(callbacks) -> list:
    """The tasks queued on commit (partials of Task.delay), not the inline senders."""
    return [c for c in callbacks if hasattr(c, "func")]


def _names(callbacks) -> list[str]:
    return [getattr(c.func.__self__, "name", "") for c in _queued(callbacks)]


def test_the_mail_is_queued_on_commit_and_sent_by_its_task(
    family, users, eager, django_capture_on_commit_callbacks
):
    req = _moved(users)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks() as queued:
        assert review.rereview([req.model_id]) == [req.pk]
    assert mail.outbox == []  # nothing leaves before the move has committed
    assert _names(queued) == ["approvals.tasks.mail_rereview"]  # no webhook configured
    queued[0]()
    assert len(mail.outbox) == 1
    assert {"developer@example.com", "approver@example.com"} <= set(mail.outbox[0].to)
    assert CHILD in mail.outbox[0].subject and f"/approvals/{req.pk}/" in mail.outbox[0].body


def test_a_request_decided_again_before_the_task_runs_is_not_announced(family, users):
    req = _moved(users)
    assert review.rereview([req.model_id]) == [req.pk]
    mail.outbox.clear()
    review.decide(ApprovalRequest.objects.get(pk=req.pk), by=users["approver"],
                  status=Status.APPROVED)  # fmt: skip
    assert tasks.mail_rereview(req.pk) == 0
    assert tasks.mail_rereview(10**9) == 0  # deleted since it was queued
    assert mail.outbox == []


class _Hook(BaseHTTPRequestHandler):
    answers: list[int] = []
    seen: list[tuple[bytes, str]] = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.seen.append((body, self.headers["X-Canopy-Signature"]))
        self.send_response(self.answers.pop(0) if self.answers else 204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def hook(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.APPROVALS_WEBHOOK_URL = f"http://127.0.0.1:{server.server_port}/hook"
    settings.APPROVALS_WEBHOOK_SECRET = "s3cret"
    _Hook.answers, _Hook.seen = [], []
    yield _Hook
    server.shutdown()
    server.server_close()


def test_a_webhook_endpoint_that_fails_is_retried_without_mailing_again(
    family, users, hook, eager, django_capture_on_commit_callbacks
):
    req = _moved(users)
    hook.answers = [503]  # down once, then up
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True) as queued:
        review.rereview([req.model_id])
    assert sorted(_names(queued)) == [
        "approvals.tasks.mail_rereview",
        "approvals.tasks.post_rereview",
    ]
    assert len(hook.seen) == 2 and hook.seen[0][0] == hook.seen[1][0]
    body, signature = hook.seen[-1]
    assert signature == "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    event = json.loads(body)
    assert event["event"] == "approval.needs_rereview" and event["request"] == req.pk
    assert event["model"] == CHILD and event["changes"]
    assert len(mail.outbox) == 1  # the webhook's retry sends no second mail


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_inline_a_mail_server_that_is_down_leaves_the_mail_queued_for_a_worker(
    family, users, settings, django_capture_on_commit_callbacks
):
    """`crawl --sync` sends in its own process; a failure there must not fail the crawl nor
    lose the message."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = (
        "127.0.0.1",
        _closed_port(),
        2,
    )
    req = _moved(users)
    with django_capture_on_commit_callbacks(execute=True) as queued:
        assert review.rereview([req.model_id], inline=True) == [req.pk]
    assert _names(queued) == ["approvals.tasks.mail_rereview"]
    assert _queued(queued)[0].args[0] == req.pk
