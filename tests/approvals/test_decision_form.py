"""The decision form of an approval request, found by testing: it preselected "approved", so sending
it untouched approved the model; a form error answered 200; after an htmx decision the message at
the top ("Request #N sent", "... reopened") stayed until reload. The decision is now an explicit
choice, refused with 422 and the form shown again when missing (htmx swaps a 422 in: base.html's
htmx-config), and the decision's outcome replaces the message."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError

from approvals import review
from approvals.models import Status
from catalog.models import HubModel

from .conftest import ROOT

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
UNCHOSEN = {"scope": "model", "reason": "", "conditions_text": "", "expires_at": ""}


@pytest.fixture
def pending(family, users):
    model = HubModel.objects.get(repo_id=ROOT)
    return review.submit(model=model, use="internal_tool", justification="a chat bot",
                         by=users["developer"])  # fmt: skip


def test_no_decision_is_preselected(client, users, pending):
    client.force_login(users["approver"])
    html = client.get(f"/approvals/{pending.pk}/").content.decode()
    assert not re.search(r'<select[^>]*name="status"', html)  # a select always shows a choice
    radios = re.findall(r'<input[^>]*name="status"[^>]*>', html)
    assert [re.search(r'value="([^"]+)"', r).group(1) for r in radios] == [
        "approved", "approved_with_conditions", "rejected"]  # fmt: skip
    assert not any(re.search(r"\bchecked\b", r) for r in radios), radios
    assert all(re.search(r"\brequired\b", r) for r in radios)  # the browser asks first


@pytest.mark.parametrize("htmx", [False, True])
def test_sending_no_decision_is_a_422_with_the_form_and_its_message(client, users, pending, htmx):
    client.force_login(users["approver"])
    response = client.post(f"/approvals/{pending.pk}/", UNCHOSEN, headers=HTMX if htmx else {})
    html = response.content.decode()
    assert response.status_code == 422
    assert "Choose a decision: approved, approved with conditions or rejected." in html
    assert 'name="status"' in html and "Record decision" in html  # the form, shown again
    assert ("<html" in html) is not htmx  # htmx gets the decision section only
    pending.refresh_from_db()
    assert pending.status == Status.PENDING and pending.decided_at is None


@pytest.mark.parametrize("htmx", [False, True])
def test_a_decision_refused_by_the_domain_is_a_422_too(client, users, pending, htmx):
    client.force_login(users["approver"])
    data = {**UNCHOSEN, "status": "rejected"}  # a rejection needs a reason
    response = client.post(f"/approvals/{pending.pk}/", data, headers=HTMX if htmx else {})
    assert response.status_code == 422
    assert "a rejection needs a reason" in response.content.decode()
    pending.refresh_from_db()
    assert pending.status == Status.PENDING


@pytest.mark.parametrize("value", ["", "pending", "withdrawn", "needs_rereview", "approved "])
def test_a_value_that_is_no_decision_is_refused_by_the_form(client, users, pending, value):
    client.force_login(users["approver"])
    response = client.post(f"/approvals/{pending.pk}/", {**UNCHOSEN, "status": value})
    assert response.status_code == 422
    pending.refresh_from_db()
    assert pending.status == Status.PENDING


@pytest.mark.parametrize("value", ["", None, "pending", "withdrawn", "APPROVED", "approved\x00"])
def test_decide_itself_refuses_what_is_no_decision(users, pending, value):
    with pytest.raises(ValidationError, match="not a decision"):
        review.decide(pending, by=users["approver"], status=value)
    pending.refresh_from_db()
    assert pending.status == Status.PENDING


def test_an_htmx_decision_replaces_the_message_at_the_top_with_its_outcome(client, users, pending):
    review.decide(pending, by=users["approver2"], status=Status.APPROVED)
    client.force_login(users["approver"])
    page = client.post(f"/approvals/{pending.pk}/reopen/", {"reason": "new facts"}, follow=True)
    assert "reopened: it is pending again" in page.content.decode()  # the top says so ...
    # ... until this decision (htmx)
    response = client.post(f"/approvals/{pending.pk}/", {**UNCHOSEN, "status": "approved"},
                           headers=HTMX)  # fmt: skip
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    top = re.search(r'<div id="messages"[^>]*hx-swap-oob="innerHTML"[^>]*>(.*?)</div>', html, re.S)
    assert top, html
    assert f"Request #{pending.pk} decided: approved." in top.group(1)
    assert "reopened" not in top.group(1)
    # The message was shown once: the next page does not repeat it.
    assert "decided: approved." not in client.get(f"/approvals/{pending.pk}/").content.decode()


def test_without_javascript_the_decisions_outcome_is_the_message_after_the_redirect(
    client, users, pending
):
    client.force_login(users["approver"])
    response = client.post(f"/approvals/{pending.pk}/", {**UNCHOSEN, "status": "approved"},
                           follow=True)  # fmt: skip
    html = response.content.decode()
    assert response.redirect_chain and response.status_code == 200
    messages = re.search(r'<div id="messages"[^>]*>(.*?)</div>', html, re.S)
    assert messages and f"Request #{pending.pk} decided: approved." in messages.group(1)
