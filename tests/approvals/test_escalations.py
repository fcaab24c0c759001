"""Escalations once found, each as it was tried: an admin-role user (staff, not superuser) in
/admin/, their own API token, and staff without the legal role."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone

from approvals import review
from approvals.check import token_check
from approvals.models import ApiToken, AuditEvent, IntendedUse
from catalog.models import HubModel
from licenses import assessment
from tests.conftest import role

pytestmark = pytest.mark.django_db


@pytest.fixture
def model(db):
    return HubModel.objects.create(repo_id="org/model", author="org", sha="a" * 40)


@pytest.fixture
def admin_user(users):
    user = users["admin"]
    user.is_staff = True  # the admin role works in /admin/
    user.save()
    return user


@pytest.fixture
def root(db):
    return User.objects.create_superuser("root", "root@example.com", None)


def _user_form(user: User, **changes) -> dict:
    """What /admin/auth/user/<id>/change/ posts for `user` as it is, with `changes`."""
    data = {
        "username": user.username, "first_name": "", "last_name": "", "email": user.email,
        "is_active": "on", "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        "groups": [g.pk for g in user.groups.all()],
    }  # fmt: skip
    if user.is_staff:
        data["is_staff"] = "on"
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def _token_form(token: ApiToken, **changes) -> dict:
    data = {
        "user": token.user_id,
        "name": token.name,
        "scopes": str(token.scopes).replace("'", '"'),
    }
    if token.revoked_at:
        data["revoked_at_0"] = token.revoked_at.strftime("%Y-%m-%d")
        data["revoked_at_1"] = token.revoked_at.strftime("%H:%M:%S")
    data.update(changes)
    return data


# --- the admin role in /admin/auth/ ----------------------------------------------------------


def test_an_admin_cannot_make_themselves_superuser(client, admin_user):
    client.force_login(admin_user)
    url = f"/admin/auth/user/{admin_user.pk}/change/"
    assert client.get(url).status_code == 200  # they may edit their own account
    client.post(url, _user_form(admin_user, is_superuser="on"))
    admin_user.refresh_from_db()
    assert not admin_user.is_superuser


def test_an_admin_cannot_grant_staff(client, admin_user, users):
    client.force_login(admin_user)
    developer = users["developer"]
    client.post(f"/admin/auth/user/{developer.pk}/change/", _user_form(developer, is_staff="on"))
    developer.refresh_from_db()
    assert not developer.is_staff


def test_an_admin_cannot_grant_a_role_or_permission_they_do_not_hold(client, admin_user):
    client.force_login(admin_user)
    decide = Permission.objects.get(codename="decide_request")
    groups = [g.pk for g in admin_user.groups.all()] + [role("approver").pk]
    client.post(f"/admin/auth/user/{admin_user.pk}/change/",
                _user_form(admin_user, groups=groups, user_permissions=[decide.pk]))  # fmt: skip
    admin_user = User.objects.get(pk=admin_user.pk)  # a fresh permission cache
    assert not admin_user.has_perm("approvals.decide_request")
    assert not admin_user.groups.filter(name="approver").exists()


def test_an_admin_may_grant_a_role_they_hold(client, admin_user, db):
    client.force_login(admin_user)
    newcomer = User.objects.create_user("newcomer")
    groups = [role("viewer").pk, role("admin").pk]
    r = client.post(f"/admin/auth/user/{newcomer.pk}/change/", _user_form(newcomer, groups=groups))
    assert r.status_code == 302, r.content
    assert set(newcomer.groups.values_list("name", flat=True)) == {"viewer", "admin"}


def test_an_admin_cannot_change_a_superuser_or_a_stronger_user(client, admin_user, root, users):
    client.force_login(admin_user)
    # They may look (auth.view_user), not change: the page is read-only, a post is refused.
    r = client.post(f"/admin/auth/user/{root.pk}/change/", _user_form(root, is_active=None))
    assert r.status_code == 403
    root.refresh_from_db()
    assert root.is_active
    # An approver holds what the admin does not: changing them is refused too.
    approver = users["approver"]
    r = client.post(f"/admin/auth/user/{approver.pk}/change/", _user_form(approver, is_active=None))
    assert r.status_code == 403
    approver.refresh_from_db()
    assert approver.is_active


def test_an_admin_cannot_set_another_users_password(client, admin_user, users):
    client.force_login(admin_user)
    viewer = users["viewer"]
    before = viewer.password
    r = client.post(f"/admin/auth/user/{viewer.pk}/password/",
                    {"password1": "Another-pw-123", "password2": "Another-pw-123"})  # fmt: skip
    assert r.status_code == 403
    viewer.refresh_from_db()
    assert viewer.password == before


def test_an_admin_cannot_widen_a_role(client, admin_user):
    client.force_login(admin_user)
    group = role("admin")
    decide = Permission.objects.get(codename="decide_request")
    perms = [p.pk for p in group.permissions.all()] + [decide.pk]
    client.post(f"/admin/auth/group/{group.pk}/change/", {"name": "admin", "permissions": perms})
    assert not group.permissions.filter(pk=decide.pk).exists()


# --- tokens --------------------------------------------------------------------------------


def test_an_admin_cannot_repoint_their_token_at_another_user(client, admin_user, root, model):
    dev = User.objects.create_user("dev2")
    dev.groups.add(role("developer"))
    req = review.submit(model=model, use=IntendedUse.RESEARCH, justification="x", by=dev)
    token, secret = ApiToken.issue(admin_user, name="mine", scopes=["read"])
    client.force_login(admin_user)
    client.post(f"/admin/approvals/apitoken/{token.pk}/change/",
                _token_form(token, user=root.pk, scopes='["read", "write", "check"]'))  # fmt: skip
    token.refresh_from_db()
    assert token.user_id == admin_user.pk
    client.logout()
    r = client.post(f"/api/v1/requests/{req.pk}/decision", {"status": "approved"},
                    content_type="application/json", headers={"Authorization": f"Bearer {secret}"})  # fmt: skip
    assert r.status_code == 403
    req.refresh_from_db()
    assert req.decided_by is None


def test_a_tokens_user_is_fixed_in_the_model_too(users, root):
    token, _ = ApiToken.issue(users["admin"], name="t", scopes=["read"])
    token.user = root
    with pytest.raises(PermissionDenied):
        token.save()


def test_scopes_never_exceed_the_users_role(client, admin_user, users):
    viewer = users["viewer"]
    with pytest.raises(ValidationError):
        ApiToken.issue(viewer, name="t", scopes=["check", "write"])
    token, _ = ApiToken.issue(viewer, name="t", scopes=["check"])
    client.force_login(admin_user)
    client.post(f"/admin/approvals/apitoken/{token.pk}/change/",
                _token_form(token, scopes='["check", "read", "write"]'))  # fmt: skip
    token.refresh_from_db()
    assert token.scopes == ["check"]
    token.scopes = ["check", "write"]
    with pytest.raises(ValidationError):
        token.save()


def test_create_token_refuses_scopes_beyond_the_role(users, capsys):
    with pytest.raises(CommandError):
        call_command("create_token", "viewer", "--scope", "write")
    call_command("create_token", "viewer")  # the default: what the role allows
    assert ApiToken.objects.get(user=users["viewer"]).scopes == ["check", "read"]


def test_a_user_who_loses_the_role_loses_the_scope(client, users, model):
    dev = users["developer"]
    _, secret = ApiToken.issue(dev, name="t", scopes=["read", "write"])
    h = {"Authorization": f"Bearer {secret}"}
    body = {"model": model.repo_id, "use": "research", "justification": "x"}
    assert client.post("/api/v1/requests", body, content_type="application/json",
                       headers=h).status_code == 201  # fmt: skip
    dev.groups.remove(role("developer"))
    r = client.post("/api/v1/requests", body, content_type="application/json", headers=h)
    assert r.status_code == 403 and "scope" in r.json()["detail"]


def test_revocation_is_final(client, admin_user, users):
    token, secret = ApiToken.issue(users["viewer"], name="t", scopes=["check"])
    client.force_login(admin_user)
    now = timezone.now()
    r = client.post(f"/admin/approvals/apitoken/{token.pk}/change/",
                    _token_form(token, revoked_at_0=f"{now:%Y-%m-%d}", revoked_at_1=f"{now:%H:%M:%S}"))  # fmt: skip
    assert r.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    # Emptying revoked_at brings nothing back: not through the admin, not through the model.
    client.post(f"/admin/approvals/apitoken/{token.pk}/change/",
                _token_form(token, revoked_at_0="", revoked_at_1=""))  # fmt: skip
    token.refresh_from_db()
    assert token.revoked_at is not None
    token.revoked_at = None
    with pytest.raises(PermissionDenied):
        token.save()
    client.logout()
    r = client.get(
        "/api/v1/check?model=org/x&use=research", headers={"Authorization": f"Bearer {secret}"}
    )
    assert r.status_code == 401


def test_token_changes_are_audited_with_actor_prefix_and_old_and_new(client, admin_user, users):
    token, _ = ApiToken.issue(users["developer"], name="t", scopes=["check", "read", "write"],
                              by=admin_user)  # fmt: skip
    created = AuditEvent.objects.get(action="token.created")
    assert created.actor == admin_user and created.detail["prefix"] == token.prefix
    assert created.detail["scopes"] == ["check", "read", "write"]
    client.force_login(admin_user)
    r = client.post(f"/admin/approvals/apitoken/{token.pk}/change/",
                    _token_form(token, scopes='["check"]'))  # fmt: skip
    assert r.status_code == 302, r.content
    changed = AuditEvent.objects.get(action="token.scopes_changed")
    assert changed.actor == admin_user and changed.detail["prefix"] == token.prefix
    assert changed.detail["old"] == ["check", "read", "write"] and changed.detail["new"] == [
        "check"
    ]
    token.refresh_from_db()
    token.revoke(by=admin_user)
    revoked = AuditEvent.objects.get(action="token.revoked")
    assert revoked.actor == admin_user and revoked.detail["prefix"] == token.prefix


def test_an_expired_token_is_refused_on_both_paths(client, users):
    token, secret = ApiToken.issue(users["viewer"], name="t", scopes=["check", "read"],
                                   expires_at=timezone.now() + timedelta(days=1))  # fmt: skip
    h = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/check?model=org/x&use=research", headers=h).status_code == 200
    assert token_check(ApiToken.hash(secret), "org/x", use="research")[0] is not None
    token.expires_at = timezone.now() - timedelta(seconds=1)  # moved earlier: allowed
    token.save()
    assert client.get("/api/v1/check?model=org/x&use=research", headers=h).status_code == 401
    assert client.get("/api/v1/requests", headers=h).status_code == 401
    assert token_check(ApiToken.hash(secret), "org/x", use="research") == (None, None)


# --- staff and the legal role ----------------------------------------------------------------


def test_staff_without_the_legal_role_cannot_determine(client, model):
    staff = User.objects.create_user("staff", is_staff=True)
    assert not assessment.can_determine(staff)
    client.force_login(staff)
    r = client.post(f"/licenses/models/{model.repo_id}/",
                    {"action": "determine", "license_key": "mit", "reason": "x"})  # fmt: skip
    assert r.status_code == 403
    with pytest.raises(PermissionDenied):
        assessment.determine(model=model, license_key="mit", reason="x", by=staff)


def test_staff_without_a_role_cannot_start_crawls(client):
    staff = User.objects.create_user("staff", is_staff=True)
    client.force_login(staff)
    assert client.post("/crawls/", {"kind": "full"}).status_code == 403
