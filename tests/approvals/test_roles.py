"""The full role x action matrix, through the pages (views) and the API (tokens)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied

from approvals import review
from approvals.models import ApiToken, ApprovalRequest, AuditEvent, IntendedUse, Policy
from approvals.roles import allowed_scopes
from catalog.models import HubModel

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "viewer", "developer", "legal", "approver", "admin"]
# action -> roles that may do it
MAY = {
    "request": {"developer"},
    "decide": {"approver"},
    "waiver": {"approver"},
    "audit": {"legal", "approver", "admin"},
    "policy": {"admin"},
    "see_all": {"legal", "approver", "admin"},
}


@pytest.fixture
def model(db):
    return HubModel.objects.create(repo_id="org/model", author="org", sha="a" * 40)


@pytest.fixture
def pending(users, model):
    return review.submit(model=model, use=IntendedUse.INTERNAL_TOOL, justification="because",
                         by=users["developer"])  # fmt: skip


def _client(client, users, role):
    if role != "anonymous":
        client.force_login(users[role])
    return client


@pytest.mark.parametrize("role", ROLES)
def test_pages_enforce_the_role_matrix(client, users, model, pending, role):
    c = _client(client, users, role)
    expiry = (date.today() + timedelta(days=30)).isoformat()
    results = {
        "request": c.post("/approvals/new/", {"model": model.repo_id, "intended_use": "research",
                                              "scope": "model", "justification": "x"}),
        "decide": c.post(f"/approvals/{pending.pk}/", {"status": "approved", "scope": "model",
                                                       "expires_at": expiry}),
        "waiver": c.post("/approvals/waivers/", {"model": model.repo_id, "reason": "not_distributed",
                                                 "evidence_link": "https://example.com/e",
                                                 "expires_at": expiry}),
        "audit": c.get("/approvals/audit/"),
        "see_all": c.get(f"/approvals/{pending.pk}/"),
    }  # fmt: skip
    for action, response in results.items():
        allowed = role in MAY[action] or (action == "see_all" and role == "developer")
        if role == "anonymous":
            assert response.status_code == 302 and "/approvals/login/" in response["Location"]
        elif allowed:
            assert response.status_code in (200, 302), (action, response.status_code)
        else:
            assert response.status_code in (403, 404), (action, response.status_code)
    pending.refresh_from_db()
    assert (pending.status == "approved") == (role == "approver")


def test_an_approver_may_not_decide_their_own_request(users, model):
    users["approver"].groups.add(*users["developer"].groups.all())
    req = review.submit(model=model, use="research", justification="x", by=users["approver"])
    assert not review.can_decide(users["approver"], req)
    assert review.can_decide(users["approver2"], req)


def test_developers_see_only_their_own_requests(users, model, pending):
    other = users["viewer"]
    assert list(ApprovalRequest.objects.visible_to(other)) == []
    assert list(ApprovalRequest.objects.visible_to(users["developer"])) == [pending]
    assert list(ApprovalRequest.objects.visible_to(users["legal"])) == [pending]


@pytest.mark.parametrize("role", ROLES[1:])
def test_api_tokens_act_with_their_users_role(client, users, model, pending, role):
    # Every scope the role allows (a viewer's or a legal user's token cannot carry write).
    scopes = sorted(allowed_scopes(users[role]))
    _, secret = ApiToken.issue(users[role], name="t", scopes=scopes)
    h = {"Authorization": f"Bearer {secret}"}
    r = client.post("/api/v1/requests", {"model": model.repo_id, "use": "research",
                    "justification": "x"}, content_type="application/json", headers=h)  # fmt: skip
    assert (r.status_code == 201) == (role in MAY["request"]), r.content
    r = client.post(f"/api/v1/requests/{pending.pk}/decision",
                    {"status": "rejected", "reason": "no"}, content_type="application/json",
                    headers=h)  # fmt: skip
    assert (r.status_code == 200) == (role in MAY["decide"]), r.content
    r = client.get("/api/v1/audit", headers=h)
    assert (r.status_code == 200) == (role in MAY["audit"])
    r = client.post("/api/v1/policies", {"name": "p", "action": "review"},
                    content_type="application/json", headers=h)  # fmt: skip
    assert (r.status_code == 201) == (role in MAY["policy"])


def test_a_check_only_token_cannot_write_and_a_revoked_one_is_refused(client, users, model):
    token, secret = ApiToken.issue(users["developer"], name="ci", scopes=["check"])
    h = {"Authorization": f"Bearer {secret}"}
    assert (
        client.get(f"/api/v1/check?model={model.repo_id}&use=research", headers=h).status_code
        == 200
    )
    r = client.post("/api/v1/requests", {"model": model.repo_id, "use": "research",
                    "justification": "x"}, content_type="application/json", headers=h)  # fmt: skip
    assert r.status_code == 403
    assert ApiToken.objects.get(pk=token.pk).digest != secret  # only the hash is stored
    from approvals.auth import revoke

    revoke(token)
    assert (
        client.get(f"/api/v1/check?model={model.repo_id}&use=research", headers=h).status_code
        == 401
    )
    assert client.get(f"/api/v1/check?model={model.repo_id}&use=research").status_code == 401


def test_session_writes_through_the_api_need_csrf(users, model):
    from django.test import Client

    c = Client(enforce_csrf_checks=True)
    c.force_login(users["developer"])
    r = c.post("/api/v1/requests", {"model": model.repo_id, "use": "research",
               "justification": "x"}, content_type="application/json")  # fmt: skip
    assert r.status_code == 403


def test_htmx_posts_need_the_csrf_header(users, model, pending):
    from django.test import Client

    c = Client(enforce_csrf_checks=True)
    c.force_login(users["approver"])
    page = c.get(f"/approvals/{pending.pk}/")
    token = page.context["csrf_token"]
    data = {"status": "rejected", "scope": "model", "reason": "no"}
    assert (
        c.post(f"/approvals/{pending.pk}/", data, headers={"HX-Request": "true"}).status_code == 403
    )
    r = c.post(f"/approvals/{pending.pk}/", data,
               headers={"HX-Request": "true", "X-CSRFToken": str(token)})  # fmt: skip
    assert r.status_code == 200 and b'id="decision"' in r.content and b"<html" not in r.content


def test_the_audit_log_is_append_only(users, pending, client):
    event = AuditEvent.objects.first()
    with pytest.raises(PermissionDenied):
        event.save()
    with pytest.raises(PermissionDenied):
        event.delete()
    client.force_login(users["admin"])
    users["admin"].is_staff = users["admin"].is_superuser = True
    users["admin"].save()
    assert (
        client.post(f"/admin/approvals/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert AuditEvent.objects.filter(pk=event.pk).exists()
    r = client.get("/approvals/audit/?format=csv&action=request")
    assert b"request.created" in b"".join(r.streaming_content)


def test_a_policy_decides_and_is_recorded(users, model):
    p = Policy.objects.create(name="org models for research", action="approve", enforced=True,
                              authors=["org"], uses=["research"])  # fmt: skip
    req = review.submit(model=model, use="research", justification="x", by=users["developer"])
    assert req.status == "approved" and req.decided_by_rule == p and req.expires_at
    other = review.submit(model=model, use="commercial_product", justification="x",
                          by=users["developer"])  # fmt: skip
    assert other.status == "pending"
    assert AuditEvent.objects.filter(
        action="request.decided", actor_label__startswith="policy"
    ).exists()
