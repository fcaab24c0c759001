"""Issue #5 part 10 in Chromium: a developer requests a fine-tune of Llama-2, an approver approves
it with an expiry, the check API allows it; then the replayed Hub moves to a CONSTRUCTED state
where the base model's license changed, a crawl runs, the check API says "needs re-review", the
approver's page shows what changed and the approver got an email."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.contrib.auth.models import User
from django.core import mail
from playwright.sync_api import expect

from approvals.models import ApiToken, ApprovalRequest, Status
from catalog import crawler, runs
from catalog.models import CrawlRun, HubModel
from licenses import tasks as license_tasks
from tests.approvals.conftest import ROOT, constructed_base_license_change
from tests.browser.conftest import _new_page
from tests.conftest import role as conftest_role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FINETUNE = "ALIN-LLM/finetune-llama-2-7b-chat-gsm8k"  # base_model:finetune:ROOT, no own license


def _crawl_and_assess(server, hub_for) -> None:
    """A full crawl of the replayed Hub, then the license assessment passes run here (in
    production the crawl queues them on Celery; each pass queues the children of what changed)."""
    run, _ = runs.start(CrawlRun.Kind.FULL, endpoint=server.url, limit=0)
    run = crawler.run_sync(run, hub=hub_for(server))
    assert run.status == CrawlRun.Status.DONE, run.errors
    ids = list(HubModel.objects.values_list("pk", flat=True))
    for _ in range(5):
        if not license_tasks.assess_models(ids):
            break


def _user(username: str, role: str) -> User:
    user = User.objects.create_user(username, f"{username}@example.com", f"pw-{username}")
    user.groups.add(conftest_role(role))
    return user


def _log_in(page, base: str, user: User, then: str) -> None:
    page.goto(f"{base}/approvals/login/?next={then}")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(f"pw-{user.username}")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{base}{then}")


@pytest.fixture
def hub(replay, hub_for, tmp_path):
    """State 0: the real family snapshot (tests/fixtures/family.jsonl.gz). State 1: the same plus
    a CONSTRUCTED record (not a real capture), written to tmp_path as
    constructed-base-license-change.jsonl.gz: the real Llama-2 root record with only its license
    changed to cc-by-nc-4.0 (and its sha / lastModified moved on so the crawler sees a change)."""
    constructed = constructed_base_license_change(tmp_path)
    assert "constructed" in constructed.name
    server = replay(["family.jsonl.gz"], [str(constructed)])
    _crawl_and_assess(server, hub_for)
    return server


def test_request_approve_check_then_a_base_license_change_asks_for_re_review(
    live_server, hub, hub_for, browser, page, screenshot
):
    base = live_server.url
    developer, approver = _user("dev", "developer"), _user("appr", "approver")
    _, token = ApiToken.issue(_user("pipeline", "viewer"), name="ci", scopes=["check"])
    expiry = date.today() + timedelta(days=60)

    api_context = browser.new_context(base_url=base)  # no cookies: the token alone
    check_url = f"/api/v1/check?model={FINETUNE}&use=internal_tool"

    def check() -> dict:
        r = api_context.request.get(check_url, headers={"Authorization": f"Bearer {token}"})
        assert r.status == 200, r.text()
        return r.json()

    assert check()["status"] == "not_requested"

    # The developer logs in and asks for the fine-tune for an internal tool.
    _log_in(page, base, developer, "/approvals/new/")
    page.get_by_label("Model (repo id)").fill(FINETUNE)
    page.get_by_label("Intended use").select_option("internal_tool")
    page.get_by_label("Justification").fill("Support chat bot for the help desk.")
    page.get_by_role("button", name="Send request").click()
    expect(page).to_have_url(re.compile(rf"{re.escape(base)}/approvals/\d+/$"))
    expect(page.locator("#status")).to_have_text("pending review")
    req_path = page.url.removeprefix(base)
    assert check()["status"] == "pending"

    # The approver, in another browser context, approves it with an expiry date (htmx form).
    approver_context, approver_page = _new_page(browser)
    try:
        _log_in(approver_page, base, approver, req_path)
        expect(approver_page.locator("h1")).to_contain_text(FINETUNE)
        expect(approver_page.locator("#license")).to_be_visible()
        approver_page.get_by_role("radio", name="approved", exact=True).check()
        approver_page.get_by_label("Expires").fill(expiry.isoformat())
        approver_page.get_by_role("button", name="Record decision").click()
        decision = approver_page.locator("#decision")
        expect(decision.locator("#status")).to_have_text("approved")
        expect(decision.locator("#expires")).to_have_text(expiry.isoformat())
        screenshot(approver_page, "approval-decided")

        answer = check()
        assert answer["allowed"] is True and answer["status"] == "approved"
        assert answer["expires"] == expiry.isoformat()
        assert answer["approval"]["url"] == req_path

        # The Hub moves to the constructed state (the base's license changed); a crawl runs.
        mail.outbox.clear()
        hub.set_state(1)
        _crawl_and_assess(hub, hub_for)
        assert "license:cc-by-nc-4.0" in HubModel.objects.get(repo_id=ROOT).tags

        answer = check()
        assert answer["allowed"] is False and answer["status"] == "needs_rereview"
        assert answer["reasons"][0] == "needs re-review: the model changed since approval"
        assert any(ROOT in reason for reason in answer["reasons"][1:]), answer["reasons"]

        # The approver's page shows what changed.
        approver_page.reload()
        expect(approver_page.locator("#status")).to_have_text("needs re-review")
        changes = approver_page.locator(".changes")
        expect(changes.locator("h3")).to_have_text("What changed since the decision")
        expect(changes).to_contain_text(f"ancestor {ROOT}: license evidence")
        screenshot(approver_page, "approval-needs-rereview")
    finally:
        approver_context.close()
        api_context.close()
    assert approver_page.errors == [], approver_page.errors

    # ... and the approver (and the requester) were told by email.
    req = ApprovalRequest.objects.get(model__repo_id=FINETUNE)
    assert req.status == Status.NEEDS_REREVIEW
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert approver.email in email.to and developer.email in email.to
    assert FINETUNE in email.subject and req_path in email.body


def test_the_decision_is_a_choice_and_its_outcome_replaces_the_message_at_the_top(
    live_server, hub, page
):
    """Found by testing: the form preselected "approved", so sending it untouched approved; after
    the (htmx) decision "Request #N sent" stayed at the top."""
    base = live_server.url
    boss = User.objects.create_superuser("boss", "boss@example.com", "pw-boss")  # may do both
    _log_in(page, base, boss, "/approvals/new/")
    page.wait_for_load_state("load")
    page.get_by_label("Model (repo id)").fill(FINETUNE)
    page.get_by_label("Intended use").select_option("internal_tool")
    page.get_by_label("Justification").fill("Support chat bot.")
    page.get_by_role("button", name="Send request").click()
    expect(page.locator("#messages")).to_contain_text("sent (pending review)")
    req = ApprovalRequest.objects.get(model__repo_id=FINETUNE)

    decision = page.locator("#decision")
    radios = decision.get_by_role("radio")
    expect(radios).to_have_count(3)
    for i in range(3):
        expect(radios.nth(i)).not_to_be_checked()
    # Untouched, the browser itself asks for a choice (required radios) and sends nothing ...
    page.get_by_role("button", name="Record decision").click()
    assert page.evaluate(
        "document.querySelector('#decision input[name=status]').validity.valueMissing"
    )
    req.refresh_from_db()
    assert req.status == Status.PENDING
    # ... and past the browser (no validation), the site answers 422 with the form and why.
    page.evaluate("document.querySelector('#decision form').noValidate = true")
    page.get_by_role("button", name="Record decision").click()
    expect(decision.locator(".errorlist")).to_contain_text("Choose a decision")
    req.refresh_from_db()
    assert req.status == Status.PENDING

    decision.get_by_role("radio", name="approved", exact=True).check()
    page.get_by_role("button", name="Record decision").click()
    expect(decision.locator("#status")).to_have_text("approved")
    expect(page.locator("#messages")).to_have_text(f"Request #{req.pk} decided: approved.")
    expect(page.get_by_role("button", name="Record decision")).to_have_count(0)
