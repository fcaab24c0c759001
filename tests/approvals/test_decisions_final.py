"""Decisions are final: a decided request is not decided again unless an approver reopens it
explicitly, with a reason that the audit log keeps."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from approvals import review
from approvals.models import ApiToken, AuditEvent, IntendedUse, Policy, Status
from catalog.models import HubModel

pytestmark = pytest.mark.django_db


@pytest.fixture
def model(db):
    return HubModel.objects.create(repo_id="org/model", author="org", sha="a" * 40)


@pytest.fixture
def pending(users, model):
    return review.submit(model=model, use=IntendedUse.INTERNAL_TOOL, justification="because",
                         by=users["developer"])  # fmt: skip


def _bearer(user, scopes=("read", "write")) -> dict[str, str]:
    _, secret = ApiToken.issue(user, name="t", scopes=list(scopes))
    return {"Authorization": f"Bearer {secret}"}


def test_escalation_a_decided_request_cannot_be_decided_again_through_the_api(
    client, users, pending
):
    h = _bearer(users["approver"])
    url = f"/api/v1/requests/{pending.pk}/decision"
    first = client.post(url, {"status": "rejected", "reason": "NC"},
                        content_type="application/json", headers=h)  # fmt: skip
    assert first.status_code == 200, first.content
    again = client.post(url, {"status": "approved"}, content_type="application/json",
                        headers=_bearer(users["approver2"]))  # fmt: skip
    assert again.status_code == 409, again.content
    assert "already decided" in again.content.decode()
    pending.refresh_from_db()
    assert pending.status == Status.REJECTED and pending.decided_by == users["approver"]
    assert AuditEvent.objects.filter(action="request.decided").count() == 1


def test_the_domain_refuses_a_second_decision(users, pending):
    review.decide(pending, by=users["approver"], status=Status.APPROVED)
    with pytest.raises(review.AlreadyDecided):
        review.decide(pending, by=users["approver2"], status=Status.REJECTED, reason="no")


def test_a_policy_decision_is_final_too(users, model):
    Policy.objects.create(name="org research", action="reject", enforced=True, authors=["org"])
    req = review.submit(model=model, use="research", justification="x", by=users["developer"])
    assert req.status == Status.REJECTED and req.decided_by_rule is not None
    with pytest.raises(review.AlreadyDecided):
        review.decide(req, by=users["approver"], status=Status.APPROVED)


def test_a_request_in_re_review_may_be_decided_again(users, pending):
    review.decide(pending, by=users["approver"], status=Status.APPROVED)
    type(pending).objects.filter(pk=pending.pk).update(status=Status.NEEDS_REREVIEW)
    review.decide(pending, by=users["approver2"], status=Status.REJECTED, reason="base went NC")
    pending.refresh_from_db()
    assert pending.status == Status.REJECTED


def test_reopen_needs_an_approver_and_a_reason_and_is_audited(users, pending):
    review.decide(pending, by=users["approver"], status=Status.APPROVED)
    for role in ("viewer", "developer", "legal", "admin"):
        with pytest.raises(PermissionDenied):
            review.reopen(pending, by=users[role], reason="please")
    with pytest.raises(ValidationError):
        review.reopen(pending, by=users["approver2"], reason="  ")

    req = review.reopen(pending, by=users["approver2"], reason="new evidence")
    assert req.status == Status.PENDING and req.decided_at is None and req.decided_by is None
    event = AuditEvent.objects.get(action="request.reopened")
    assert event.actor == users["approver2"] and event.detail["reason"] == "new evidence"
    assert event.detail["previous"]["status"] == Status.APPROVED
    assert event.detail["previous"]["decided_by"] == "approver"

    review.decide(req, by=users["approver"], status=Status.REJECTED, reason="after all, no")
    req.refresh_from_db()
    assert req.status == Status.REJECTED


def test_only_a_decided_request_can_be_reopened(users, pending):
    with pytest.raises(review.NotDecided):
        review.reopen(pending, by=users["approver"], reason="x")


def test_the_api_reopens_with_a_reason_then_accepts_a_decision(client, users, pending):
    h = _bearer(users["approver"])
    review.decide(pending, by=users["approver2"], status=Status.APPROVED)
    url = f"/api/v1/requests/{pending.pk}/reopen"
    assert client.post(url, {"reason": ""}, content_type="application/json",
                       headers=h).status_code == 422  # fmt: skip
    dev = _bearer(users["developer"])
    assert client.post(url, {"reason": "x"}, content_type="application/json",
                       headers=dev).status_code == 403  # fmt: skip
    r = client.post(url, {"reason": "license re-read"}, content_type="application/json",
                    headers=h)  # fmt: skip
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "pending" and r.json()["decided_by"] is None
    again = client.post(url, {"reason": "twice"}, content_type="application/json", headers=h)
    assert again.status_code == 409
    r = client.post(f"/api/v1/requests/{pending.pk}/decision", {"status": "rejected",
                    "reason": "no"}, content_type="application/json", headers=h)  # fmt: skip
    assert r.status_code == 200 and r.json()["status"] == "rejected"


def test_the_page_says_a_decided_request_is_final_and_offers_reopen(client, users, pending):
    review.decide(pending, by=users["approver2"], status=Status.APPROVED)
    client.force_login(users["approver"])
    page = client.get(f"/approvals/{pending.pk}/")
    assert b'name="reason"' in page.content and b"Reopen" in page.content
    assert b"Record decision" not in page.content
    # A stale form (another tab) posting a decision is refused with a message, not applied.
    r = client.post(f"/approvals/{pending.pk}/", {"status": "rejected", "scope": "model",
                                                  "reason": "no"})  # fmt: skip
    assert r.status_code == 409 and b"already decided" in r.content
    # htmx swaps only 2xx answers: its fragment says so with 200 and shows the decision in force.
    r = client.post(f"/approvals/{pending.pk}/", {"status": "rejected", "scope": "model",
                    "reason": "no"}, headers={"HX-Request": "true"})  # fmt: skip
    assert r.status_code == 200 and b"already decided" in r.content and b"<html" not in r.content
    assert b"Reopen request" in r.content
    pending.refresh_from_db()
    assert pending.status == Status.APPROVED

    r = client.post(f"/approvals/{pending.pk}/reopen/", {"reason": "new facts"})
    assert r.status_code == 302
    pending.refresh_from_db()
    assert pending.status == Status.PENDING
    assert b"Record decision" in client.get(f"/approvals/{pending.pk}/").content
    client.force_login(users["developer"])
    review.decide(pending, by=users["approver2"], status=Status.APPROVED)
    assert client.post(f"/approvals/{pending.pk}/reopen/", {"reason": "x"}).status_code == 403
