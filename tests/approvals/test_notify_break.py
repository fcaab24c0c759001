"""Trying to break the re-review notifications (approvals.tasks, approvals.notify): a move that
is rolled back, a request moved twice, hostile webhook endpoints and settings, addresses the
mail cannot take; inline (`crawl --sync`) and queued (real family snapshot; the constructed
states are said where they are made)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.db import OperationalError, transaction

from approvals import notify, review
from approvals.models import ApprovalRequest, Status
from catalog import crawler, runs
from catalog.models import CrawlRun, HubModel

from .conftest import ROOT, constructed_base_license_change, crawl_and_assess

pytestmark = pytest.mark.django_db
CHILD = "TheBloke/Llama-2-7B-Chat-GGUF"


def _moved(users, gated: str = "manual") -> ApprovalRequest:
    """An approval of CHILD, then its gate changes (CONSTRUCTED: the real record is not gated
    manually): the approval's inputs changed."""
    child = HubModel.objects.get(repo_id=CHILD)
    req = review.submit(model=child, use="research", justification="x", by=users["developer"])
    review.decide(req, by=users["approver"], status=Status.APPROVED)
    child.gated = gated
    child.save(update_fields=["gated"])
    return req


def _names(callbacks) -> list[str]:
    return [getattr(c.func.__self__, "name", "") for c in callbacks]


# --- a move that does not hold ---------------------------------------------------------------


def test_inline_a_move_rolled_back_is_not_announced(family, users):
    """Inline (`crawl --sync`) the mail is sent inside rereview(); the crawl calls it inside the
    step's transaction (catalog.steps._list_step: ingest, runs.announce, checkpoint in one
    atomic). When that transaction rolls back, the request was never moved, yet everyone was
    told it needs re-review."""
    req = _moved(users)
    mail.outbox.clear()
    with transaction.atomic():
        assert review.rereview([req.model_id], inline=True) == [req.pk]
        transaction.set_rollback(True)  # the step fails after announcing
    assert ApprovalRequest.objects.get(pk=req.pk).status == Status.APPROVED
    assert mail.outbox == [], "a re-review that was rolled back was mailed"


def test_inline_a_crawl_step_retried_after_its_rereview_mails_once(
    replay, hub_for, users, tmp_path, settings, monkeypatch, django_capture_on_commit_callbacks
):
    """`crawl --sync`: the listing step that brings the base's new license re-reviews the
    approval of its quantization and mails, inline; the step then fails on a transient database
    error (after runs.announce, inside the same transaction), is rolled back and retried. The
    move happened once; the mail must go once."""
    server = replay(["family.jsonl.gz"], [str(constructed_base_license_change(tmp_path))])
    crawl_and_assess(server, hub_for)
    child = HubModel.objects.get(repo_id=CHILD)
    req = review.submit(model=child, use="research", justification="x", by=users["developer"])
    review.decide(req, by=users["approver"], status=Status.APPROVED)

    from catalog import steps

    hold, failed = steps.quarantine.hold, []

    def hold_once_failing(*args, **kwargs):
        if not failed:
            failed.append(1)
            raise OperationalError("server closed the connection unexpectedly")
        return hold(*args, **kwargs)

    monkeypatch.setattr(steps.quarantine, "hold", hold_once_failing)
    settings.CANOPY_CRAWL_BACKOFF_SECONDS = 0
    mail.outbox.clear()
    server.set_state(1)
    run, _ = runs.start(CrawlRun.Kind.FULL, endpoint=server.url, limit=0)
    with django_capture_on_commit_callbacks(execute=True):  # as the steps' commits run them
        run = crawler.run_sync(run, hub=hub_for(server))
    assert failed and run.status == CrawlRun.Status.DONE
    assert HubModel.objects.get(repo_id=ROOT).tags.count("license:cc-by-nc-4.0") == 1
    req.refresh_from_db()
    assert req.status == Status.NEEDS_REREVIEW
    about = [m for m in mail.outbox if CHILD in m.subject]
    assert len(about) == 1, f"{len(about)} re-review mails for one move"


# --- a request moved twice before its tasks run ------------------------------------------------


def test_a_request_decided_again_and_moved_again_is_announced_once(
    family, users, django_capture_on_commit_callbacks
):
    """Moved, decided again, moved again, and only then do the workers get to the tasks: the
    first move's mail is stale (its request was decided again before it ran); one mail, the
    second move's, is what the requester and approvers should get."""
    req = _moved(users)
    with django_capture_on_commit_callbacks() as first:
        assert review.rereview([req.model_id]) == [req.pk]
    review.decide(ApprovalRequest.objects.get(pk=req.pk), by=users["approver"],
                  status=Status.APPROVED)  # fmt: skip
    child = HubModel.objects.get(repo_id=CHILD)
    child.gated = "auto"  # CONSTRUCTED: another change
    child.save(update_fields=["gated"])
    with django_capture_on_commit_callbacks() as second:
        assert review.rereview([req.model_id]) == [req.pk]
    mail.outbox.clear()
    for callback in [*first, *second]:
        callback.func.__self__.run(*callback.args)  # what a worker does with each
    assert len(mail.outbox) == 1, [m.body for m in mail.outbox]


# --- hostile settings and endpoints --------------------------------------------------------


@pytest.mark.parametrize("url", ["http://hooks.example.com/\x00canopy", "http://[::1/hook"])
def test_inline_an_invalid_webhook_url_fails_neither_the_move_nor_the_mail(
    family, users, settings, url, django_capture_on_commit_callbacks
):
    """An APPROVALS_WEBHOOK_URL httpx cannot parse raises httpx2.InvalidURL, which is no
    httpx2.HTTPError: inline it escapes queue_rereview, rereview and the assessment signal, and
    `crawl --sync` fails the step (after the mail went). Like an endpoint that is down, it should
    be logged and left for a worker, not fail the crawl that found the change."""
    settings.APPROVALS_WEBHOOK_URL = url
    settings.APPROVALS_WEBHOOK_SECRET = "s3cret"
    req = _moved(users)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):  # sent once the move commits
        moved = review.rereview([req.model_id], inline=True)  # raised InvalidURL
    assert moved == [req.pk] and len(mail.outbox) == 1


def test_inline_one_unmailable_address_fails_neither_the_crawl_nor_the_others_mail(
    family, users, django_capture_on_commit_callbacks
):
    """An approver whose address the mail refuses (a newline: BadHeaderError; "a@b@c" with the
    SMTP backend: ValueError, 'Invalid address') raises a ValueError, in MAIL_ERRORS neither:
    inline it fails the crawl step; queued nobody is told and it is not retried. The others
    should be mailed (and the bad address logged)."""
    bad = users["approver2"]
    # Set outside a form (a directory sync, the shell).
    bad.email = "a2@example.com\nBcc: everyone@example.com"
    bad.save(update_fields=["email"])
    req = _moved(users)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):  # sent once the move commits
        assert review.rereview([req.model_id], inline=True) == [req.pk]  # raised BadHeaderError
    assert len(mail.outbox) == 1
    assert {"developer@example.com", "approver@example.com"} <= set(mail.outbox[0].to)


class _Drip(BaseHTTPRequestHandler):
    """Answers 200 at once, then its body a byte a second: each read arrives within the 5 s
    timeout, so the request never times out."""

    seconds = 12

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", str(self.seconds))
        self.end_headers()
        for _ in range(self.seconds):
            try:
                self.wfile.write(b"x")
                self.wfile.flush()
            except OSError:
                return
            time.sleep(1)

    def log_message(self, *args):
        pass


def test_a_webhook_that_drips_its_answer_is_given_up_at_the_timeout(settings):
    """post_webhook says timeout=5, but httpx's timeout is per read: an endpoint that answers
    200 and then sends a byte every second holds the call as long as it likes (inline, the
    crawl step and its transaction; queued, a worker until the 600 s soft limit). The event is
    delivered with the status line; the body is nobody's business."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Drip)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings.APPROVALS_WEBHOOK_URL = f"http://127.0.0.1:{server.server_port}/hook"
        settings.APPROVALS_WEBHOOK_SECRET = "s3cret"
        began = time.monotonic()
        with contextlib.suppress(Exception):  # a timeout is a fine answer too
            notify.post_webhook({"event": "approval.needs_rereview", "request": 1})
        took = time.monotonic() - began
    finally:
        server.shutdown()
        server.server_close()
    assert took < 8, f"the webhook call took {took:.1f} s with timeout=5"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_webhook_url_set_without_a_secret_is_reported(settings):
    """APPROVALS_WEBHOOK_URL set and APPROVALS_WEBHOOK_SECRET left empty (its default): every
    event is 'signed' with HMAC(b"", body), which anyone can compute, so the receiver's check
    passes forged events. Nothing refuses or warns (no system check, no log)."""
    from django.core import checks

    settings.APPROVALS_WEBHOOK_URL = f"http://127.0.0.1:{_closed_port()}/hook"
    settings.APPROVALS_WEBHOOK_SECRET = ""
    found = [m for m in checks.run_checks(include_deployment_checks=True) if "WEBHOOK" in m.msg]
    assert found, "no check says the webhook events are signed with an empty secret"


def test_crawl_sync_with_an_invalid_webhook_url_finishes_and_moves_the_approval(
    replay, hub_for, users, tmp_path, settings
):
    """The same through `crawl --sync`: the base's license changes (CONSTRUCTED state), the
    listing step re-reviews its quantization's approval inline, the webhook URL has a NUL."""
    server = replay(["family.jsonl.gz"], [str(constructed_base_license_change(tmp_path))])
    crawl_and_assess(server, hub_for)
    child = HubModel.objects.get(repo_id=CHILD)
    req = review.submit(model=child, use="research", justification="x", by=users["developer"])
    review.decide(req, by=users["approver"], status=Status.APPROVED)
    settings.APPROVALS_WEBHOOK_URL = "http://hooks.example.com/\x00canopy"
    settings.APPROVALS_WEBHOOK_SECRET = "s3cret"
    mail.outbox.clear()
    server.set_state(1)
    run, _ = runs.start(CrawlRun.Kind.FULL, endpoint=server.url, limit=0)
    run = crawler.run_sync(run, hub=hub_for(server))
    req.refresh_from_db()
    assert run.status == CrawlRun.Status.DONE, run.errors[-1:]
    assert req.status == Status.NEEDS_REREVIEW
