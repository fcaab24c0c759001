"""Check API answers and re-review when a crawl shows the base's license changed
(real family snapshot, then a constructed state with that one change)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core import mail

from approvals import review
from approvals.models import ApiToken, Coverage, Status
from catalog.models import HubModel

from .conftest import ROOT, constructed_base_license_change, crawl_and_assess

pytestmark = pytest.mark.django_db
CHILD = "TheBloke/Llama-2-7B-Chat-GGUF"  # a quantization of ROOT
PIN = "a" * 40


def _check(client, token, **params):
    r = client.get("/api/v1/check", params, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.content
    return r.json()


def test_check_follows_the_approval_and_a_base_license_change_asks_for_re_review(
    replay, hub_for, users, client, tmp_path, django_assert_max_num_queries
):
    server = replay(["family.jsonl.gz"], [str(constructed_base_license_change(tmp_path))])
    crawl_and_assess(server, hub_for)
    _, token = ApiToken.issue(users["viewer"], name="ci", scopes=["check"])
    child = HubModel.objects.get(repo_id=CHILD)

    assert _check(client, token, model=CHILD, use="internal_tool")["status"] == "not_requested"
    req = review.submit(model=child, use="internal_tool", justification="chat bot",
                        by=users["developer"])  # fmt: skip
    assert _check(client, token, model=CHILD, use="internal_tool")["status"] == "pending"
    review.decide(req, by=users["approver"], status=Status.CONDITIONAL, attribution_required=True,
                  expires_at=date.today() + timedelta(days=90))  # fmt: skip
    with django_assert_max_num_queries(3):  # token, approvals (one join); no waiver read
        answer = _check(client, token, model=CHILD, use="internal_tool")
    assert answer["allowed"] is True and answer["status"] == "approved_with_conditions"
    assert answer["approval"]["conditions"] == ["attribution required"]
    assert answer["expires"] == (date.today() + timedelta(days=90)).isoformat()
    assert _check(client, token, model=CHILD, use="commercial_product")["allowed"] is False

    mail.outbox.clear()
    server.set_state(1)
    crawl_and_assess(server, hub_for)
    assert HubModel.objects.get(repo_id=ROOT).tags.count("license:cc-by-nc-4.0") == 1

    req.refresh_from_db()
    assert req.status == Status.NEEDS_REREVIEW
    assert f"ancestor {ROOT}: license evidence" in {c["field"] for c in req.changes}
    answer = _check(client, token, model=CHILD, use="internal_tool")
    assert answer["allowed"] is False and answer["status"] == "needs_rereview"
    assert answer["reasons"][0].startswith("needs re-review")
    assert len(mail.outbox) == 1
    assert {"developer@example.com", "approver@example.com"} <= set(mail.outbox[0].to)

    client.force_login(users["developer"])
    page = client.get(f"/approvals/{req.pk}/")
    assert b"What changed since the decision" in page.content


def test_a_family_approval_covers_quantizations_with_the_same_terms(family, users, client):
    root = HubModel.objects.get(repo_id=ROOT)
    req = review.submit(model=root, use="research", justification="x", by=users["developer"],
                        scope="family")  # fmt: skip
    review.decide(req, by=users["approver"], status=Status.APPROVED)
    covered = set(Coverage.objects.filter(approval=req).values_list("model__repo_id", flat=True))
    assert ROOT in covered and CHILD in covered
    assert "ALIN-LLM/finetune-llama-2-7b-chat-gsm8k" not in covered  # a finetune, not a quant
    _, token = ApiToken.issue(users["viewer"], name="ci", scopes=["check"])
    assert _check(client, token, model=CHILD, use="research")["allowed"] is True


def test_a_pinned_approval_covers_only_its_revision_and_a_waiver_allows(family, users, client):
    child = HubModel.objects.get(repo_id=CHILD)
    req = review.submit(model=child, use="hosted_service", justification="x",
                        by=users["developer"], revision=PIN)  # fmt: skip
    review.decide(req, by=users["approver"], status=Status.APPROVED)
    _, token = ApiToken.issue(users["viewer"], name="ci", scopes=["check"])
    assert _check(client, token, model=CHILD, use="hosted_service", revision=PIN)["allowed"]
    assert not _check(client, token, model=CHILD, use="hosted_service", revision="b" * 40)[
        "allowed"
    ]
    client.force_login(users["approver"])
    r = client.post("/approvals/waivers/", {"model": CHILD, "reason": "license_acquired",
                    "evidence_link": "https://example.com/contract",
                    "expires_at": (date.today() + timedelta(days=5)).isoformat()})  # fmt: skip
    assert r.status_code == 302
    answer = _check(client, token, model=CHILD, use="commercial_product")
    assert answer["allowed"] and answer["status"] == "waived"


def test_exports(family, users, client):
    root = HubModel.objects.get(repo_id=CHILD)
    req = review.submit(model=root, use="research", justification="x", by=users["developer"])
    review.decide(req, by=users["approver"], status=Status.APPROVED)
    client.force_login(users["approver"])
    bom = client.get("/approvals/bom.json").json()
    comp = bom["components"][0]
    assert comp["type"] == "machine-learning-model" and comp["name"] == CHILD
    assert comp["pedigree"]["ancestors"][0]["name"] == ROOT
    notice = client.get(f"/approvals/notice/{CHILD}/").content.decode()
    assert "Llama 2" in notice and ROOT in notice
    csv = b"".join(client.get("/approvals/export.csv").streaming_content).decode()
    assert CHILD in csv.splitlines()[1]


def test_dry_run_counts_what_a_policy_would_decide(family, users, client):
    from approvals.models import Policy

    p = Policy.objects.create(name="no llama2 in products", action="reject",
                              licenses=["llama2"], uses=["commercial_product"])  # fmt: skip
    client.force_login(users["viewer"])
    r = client.get(f"/approvals/policies/{p.pk}/dry-run/")
    rows = {u["use"]: u for u in r.context["per_use"]}
    assert rows["commercial_product"]["decided"] >= 1 and rows["research"]["decided"] == 0
