"""The role x action matrix: every write the product has (pages, htmx, the admin, the API, the
command that acts for a user), and the reads a token guards, against every kind of caller.

EXPECTED is the table (the README's "Who may do what" is rendered from it, and a test keeps
the two equal). Each action says whether it took effect by looking at the database, not at
the status code: a form that ignores a field answers 302 and changes nothing, which is a
refusal. Role columns are browser sessions; token columns call with a bearer token only."""

from __future__ import annotations

import io
from datetime import date, timedelta
from functools import cached_property
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from approvals import review
from approvals.models import ApiToken, ApprovalRequest, AuditEvent, Policy, Status, Waiver
from approvals.roles import ROLES, permissions
from catalog.models import CrawlRun, HubModel, RepoAlias
from licenses import assessment
from licenses.models import Determination
from tests.conftest import role

pytestmark = pytest.mark.django_db

COLUMNS = {
    "anonymous": "anonymous",
    "viewer": "viewer",
    "developer": "developer",
    "legal": "legal",
    "approver": "approver",
    "admin": "admin (staff)",
    "superuser": "superuser",
    "token": "live token, all scopes",
    "no_scope": "token without the scope",
    "revoked": "revoked token",
    "expired": "expired token",
    "inactive": "deactivated user's token",
}
ROLE_COLUMNS = ["viewer", "developer", "legal", "approver", "admin", "superuser"]
TOKEN_COLUMNS = ["token", "no_scope", "revoked", "expired", "inactive"]
NA = "–"  # not applicable: a command run on the server acts for a named user, not a caller

# action -> the columns it is allowed for; every other column is refused (NA where named).
# The token columns' user holds every role but is no superuser, so only the token decides.
# (E1)-(E3): escalations once found (an admin-role user making themself superuser, re-pointing
# or widening their own token, a staff user without the legal role deciding a license);
# (E5) the decision made twice.
EXPECTED: dict[str, dict[str, set[str]]] = {
    "page: request a model": {"allowed": {"developer", "superuser"}},
    "page: decide a request": {"allowed": {"approver", "superuser"}},
    "htmx: decide a request": {"allowed": {"approver", "superuser"}},
    "page: reopen a decided request": {"allowed": {"approver", "superuser"}},
    "page: grant a waiver": {"allowed": {"approver", "superuser"}},
    "page: record a license determination": {"allowed": {"legal", "superuser"}},
    "htmx: determination from the review queue": {"allowed": {"legal", "superuser"}},
    "page: revoke a determination": {"allowed": {"legal", "superuser"}},
    "(E3) page: determination by a staff user without the legal role": {
        "allowed": {"legal", "superuser"}
    },
    "page: start a crawl": {"allowed": {"admin", "superuser"}},
    "page: start a crawl as staff without the admin role": {"allowed": {"admin", "superuser"}},
    "admin: add a policy": {"allowed": {"admin", "superuser"}},
    "admin: delete a policy": {"allowed": {"admin", "superuser"}},
    "admin: add a user": {"allowed": {"admin", "superuser"}},
    "admin: give a user a role the actor holds (viewer)": {"allowed": {"admin", "superuser"}},
    "admin: give a user a role the actor lacks (approver)": {"allowed": {"superuser"}},
    "(E1) admin: make oneself superuser": {"allowed": {"superuser"}},
    "admin: make a user staff": {"allowed": {"superuser"}},
    "admin: give a user a permission directly": {"allowed": {"superuser"}},
    "admin: deactivate a superuser": {"allowed": {"superuser"}},
    "admin: deactivate an approver (stronger than the admin role)": {"allowed": {"superuser"}},
    "admin: set another user's password": {"allowed": {"superuser"}},
    "admin: add a permission to a role": {"allowed": {"superuser"}},
    "(E2) admin: re-point one's own token at another user": {"allowed": set()},
    "(E2) admin: widen a token beyond its user's role": {"allowed": set()},
    "(E2) admin: un-revoke a token (empty revoked_at)": {"allowed": set()},
    "admin: narrow a token's scopes (audited)": {"allowed": {"admin", "superuser"}},
    "admin: revoke a token (audited)": {"allowed": {"admin", "superuser"}},
    "admin: add a catalog record (repo alias)": {"allowed": {"superuser"}},
    "admin: delete an audit entry": {"allowed": set()},
    "API: POST /requests": {"allowed": {"developer", "superuser", "token"}},
    "API: POST /requests/{id}/decision": {"allowed": {"approver", "superuser", "token"}},
    "(E5) API: decide a decided request again (409)": {"allowed": set()},
    "API: POST /requests/{id}/reopen": {"allowed": {"approver", "superuser", "token"}},
    "API: POST /waivers": {"allowed": {"approver", "superuser", "token"}},
    "API: POST /policies": {"allowed": {"admin", "superuser", "token"}},
    "API: GET /check (read)": {"allowed": {*ROLE_COLUMNS, "token"}},
    "API: GET /audit (read)": {"allowed": {"legal", "approver", "admin", "superuser", "token"}},
    "manage.py create_token USER --scope write": {
        # legal writes usage profiles through the API (usage.edit_profiles)
        "allowed": {"developer", "legal", "approver", "admin", "superuser"},
        "na": {"anonymous", *TOKEN_COLUMNS},
    },
}


def outcome(action: str, column: str) -> str:
    row = EXPECTED[action]
    if column in row.get("na", set()):
        return NA
    return "allowed" if column in row["allowed"] else "refused"


def markdown_table() -> str:
    lines = ["| action | " + " | ".join(COLUMNS.values()) + " |",
             "|---|" + "---|" * len(COLUMNS)]  # fmt: skip
    for action in EXPECTED:
        cells = [outcome(action, c) for c in COLUMNS]
        lines.append(f"| {action} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


class World:
    """One test's state, built as the action asks for it."""

    def __init__(self, column: str):
        self.column = column
        self.users = {}
        for name in ["viewer", "developer", "legal", "approver", "admin"]:
            self.users[name] = self._user(name, [name], is_staff=name == "admin")
        self.users["superuser"] = User.objects.create_superuser("super", None, None)
        self.users["holder"] = self._user("holder", ["developer", "legal", "approver", "admin"])
        self.users["inactive"] = self._user("gone", ["developer", "legal", "approver", "admin"])
        self.model = HubModel.objects.create(repo_id="org/model", author="org", sha="a" * 40)

    @staticmethod
    def _user(username: str, roles: list[str], **extra) -> User:
        user = User.objects.create_user(username, f"{username}@example.com", None, **extra)
        user.groups.add(*(role(r) for r in roles))
        return user

    @property
    def actor(self) -> User | None:
        if self.column in ROLE_COLUMNS:
            return self.users[self.column]
        if self.column == "anonymous":
            return None
        return self.users["inactive" if self.column == "inactive" else "holder"]

    @cached_property
    def pending(self) -> ApprovalRequest:
        return review.submit(model=self.model, use="internal_tool", justification="because",
                             by=self.users["developer"])  # fmt: skip

    @cached_property
    def decided(self) -> ApprovalRequest:
        req = review.submit(model=self.model, use="research", justification="because",
                            by=self.users["developer"])  # fmt: skip
        return review.decide(req, by=User.objects.get(username="approver"), status="approved")

    @cached_property
    def newcomer(self) -> User:
        return User.objects.create_user("newcomer", None, None)

    @cached_property
    def root(self) -> User:
        return User.objects.create_superuser("root", None, None)

    def client(self, scope: str = "write") -> tuple[Client, dict]:
        """A client as this column's caller; `scope` is what a token needs for the action."""
        c = Client()
        if self.column in ROLE_COLUMNS:
            c.force_login(self.users[self.column])
            return c, {}
        if self.column == "anonymous":
            return c, {}
        user = self.actor
        scopes = list(ApiToken.SCOPES)
        if self.column == "no_scope":
            scopes.remove(scope)
        token, secret = ApiToken.issue(user, name="t", scopes=scopes,
                                       expires_at=timezone.now() + timedelta(hours=1))  # fmt: skip
        if self.column == "revoked":
            token.revoke()
        elif self.column == "expired":
            token.expires_at = timezone.now() - timedelta(seconds=1)
            token.save()
        if self.column == "inactive":
            user.is_active = False
            user.save()
        return c, {"Authorization": f"Bearer {secret}"}

    def post(self, path: str, data: dict, *, htmx: bool = False, scope: str = "write"):
        c, headers = self.client(scope)
        if htmx:
            headers = {**headers, "HX-Request": "true"}
        return c.post(path, data, headers=headers)

    def api(self, path: str, body: dict | None = None, *, scope: str = "write"):
        c, headers = self.client(scope)
        if body is None:
            return c.get(path, headers=headers)
        return c.post(path, body, content_type="application/json", headers=headers)


def _user_form(user: User, **changes) -> dict:
    data = {
        "username": user.username, "first_name": "", "last_name": "", "email": user.email or "",
        "is_active": "on", "date_joined_0": f"{user.date_joined:%Y-%m-%d}",
        "date_joined_1": f"{user.date_joined:%H:%M:%S}",
        "groups": [g.pk for g in user.groups.all()],
        "user_permissions": [p.pk for p in user.user_permissions.all()],
    }  # fmt: skip
    for flag in ("is_staff", "is_superuser"):
        if getattr(user, flag):
            data[flag] = "on"
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def _token_form(token: ApiToken, **changes) -> dict:
    data = {
        "user": token.user_id,
        "name": token.name,
        "scopes": str(token.scopes).replace("'", '"'),
    }
    if token.revoked_at:
        data.update(revoked_at_0=f"{token.revoked_at:%Y-%m-%d}",
                    revoked_at_1=f"{token.revoked_at:%H:%M:%S}")  # fmt: skip
    data.update(changes)
    return data


EXPIRY = (date.today() + timedelta(days=30)).isoformat()
DECISION = {"status": "approved", "scope": "model", "expires_at": EXPIRY}
WAIVER = {
    "reason": "not_distributed",
    "evidence_link": "https://example.com/e",
    "expires_at": EXPIRY,
}
NOW = {"updated_at_0": f"{date.today():%Y-%m-%d}", "updated_at_1": "00:00:00"}


def _determined(w: World) -> bool:
    return Determination.objects.filter(model=w.model, active=True).exists()


def _request(w: World) -> bool:
    w.post("/approvals/new/", {"model": w.model.repo_id, "intended_use": "research",
                               "scope": "model", "justification": "x"})  # fmt: skip
    return ApprovalRequest.objects.filter(intended_use="research").exists()


def _decide(w: World, htmx: bool = False) -> bool:
    w.post(f"/approvals/{w.pending.pk}/", DECISION, htmx=htmx)
    return ApprovalRequest.objects.get(pk=w.pending.pk).status == Status.APPROVED


def _reopen(w: World) -> bool:
    w.post(f"/approvals/{w.decided.pk}/reopen/", {"reason": "new evidence"})
    return ApprovalRequest.objects.get(pk=w.decided.pk).status == Status.PENDING


def _waiver(w: World) -> bool:
    w.post("/approvals/waivers/", {"model": w.model.repo_id, **WAIVER})
    return Waiver.objects.exists()


def _determine(w: World, staff: bool = False) -> bool:
    if staff and w.actor is not None:
        User.objects.filter(pk=w.actor.pk).update(is_staff=True)
    w.post(f"/licenses/models/{w.model.repo_id}/",
           {"action": "determine", "license_key": "mit", "reason": "read the LICENSE"})  # fmt: skip
    return _determined(w)


def _determine_htmx(w: World) -> bool:
    w.post("/licenses/review/", {"repo_id": w.model.repo_id, "license_key": "mit",
                                 "reason": "read the LICENSE"}, htmx=True)  # fmt: skip
    return _determined(w)


def _revoke_determination(w: World) -> bool:
    assessment.determine(model=w.model, license_key="mit", reason="x", by=w.users["legal"])
    w.post(f"/licenses/models/{w.model.repo_id}/", {"action": "revoke", "reason": "wrong"})
    return not _determined(w)


def _crawl(w: World, staff: bool = False) -> bool:
    if staff and w.actor is not None:
        User.objects.filter(pk=w.actor.pk).update(is_staff=True)
    w.post("/crawls/", {"kind": "full"})
    return CrawlRun.objects.exists()


def _add_policy(w: World) -> bool:
    w.post("/admin/approvals/policy/add/", {
        "name": "p", "order": 1, "action": "review", "verdicts": "[]", "condition_codes": "[]",
        "licenses": "[]", "authors": "[]", "uses": "[]", "gated": "", "conflict": "", **NOW,
    })  # fmt: skip
    return Policy.objects.filter(name="p").exists()


def _delete_policy(w: World) -> bool:
    p = Policy.objects.create(name="old", action="review")
    w.post(f"/admin/approvals/policy/{p.pk}/delete/", {"post": "yes"})
    return not Policy.objects.filter(pk=p.pk).exists()


def _add_user(w: World) -> bool:
    w.post("/admin/auth/user/add/", {"username": "made", "usable_password": "false"})
    return User.objects.filter(username="made").exists()


def _give_role(name: str):
    def act(w: World) -> bool:
        w.post(f"/admin/auth/user/{w.newcomer.pk}/change/",
               _user_form(w.newcomer, groups=[role(name).pk]))  # fmt: skip
        return w.newcomer.groups.filter(name=name).exists()

    return act


def _self_superuser(w: World) -> bool:
    # A superuser's own flag is already set: they make the newcomer one instead.
    target = w.newcomer if w.column == "superuser" else w.actor or w.newcomer
    w.post(f"/admin/auth/user/{target.pk}/change/", _user_form(target, is_superuser="on"))
    return User.objects.get(pk=target.pk).is_superuser


def _make_staff(w: World) -> bool:
    w.post(f"/admin/auth/user/{w.newcomer.pk}/change/", _user_form(w.newcomer, is_staff="on"))
    return User.objects.get(pk=w.newcomer.pk).is_staff


def _give_permission(w: World) -> bool:
    decide = Permission.objects.get(codename="decide_request")
    w.post(f"/admin/auth/user/{w.newcomer.pk}/change/",
           _user_form(w.newcomer, user_permissions=[decide.pk]))  # fmt: skip
    return w.newcomer.user_permissions.filter(pk=decide.pk).exists()


def _deactivate(target: str):
    def act(w: World) -> bool:
        user = w.root if target == "root" else w.users[target]
        w.post(f"/admin/auth/user/{user.pk}/change/", _user_form(user, is_active=None))
        return not User.objects.get(pk=user.pk).is_active

    return act


def _set_password(w: World) -> bool:
    viewer = w.users["viewer"]
    w.post(f"/admin/auth/user/{viewer.pk}/password/",
           {"password1": "Another-pw-123", "password2": "Another-pw-123"})  # fmt: skip
    return User.objects.get(pk=viewer.pk).has_usable_password()


def _widen_role(w: World) -> bool:
    group = Group.objects.get(name="viewer")
    decide = Permission.objects.get(codename="decide_request")
    perms = [*group.permissions.values_list("pk", flat=True), decide.pk]
    w.post(f"/admin/auth/group/{group.pk}/change/", {"name": "viewer", "permissions": perms})
    return group.permissions.filter(pk=decide.pk).exists()


def _repoint_token(w: World) -> bool:
    owner = w.actor or w.users["admin"]
    token, _ = ApiToken.issue(owner, name="mine", scopes=["read"])
    w.post(f"/admin/approvals/apitoken/{token.pk}/change/",
           _token_form(token, user=w.root.pk, scopes='["check", "read", "write"]'))  # fmt: skip
    return ApiToken.objects.get(pk=token.pk).user_id != owner.pk


def _widen_token(w: World) -> bool:
    token, _ = ApiToken.issue(w.users["viewer"], name="v", scopes=["check"])
    w.post(f"/admin/approvals/apitoken/{token.pk}/change/",
           _token_form(token, scopes='["check", "write"]'))  # fmt: skip
    return "write" in ApiToken.objects.get(pk=token.pk).scopes


def _unrevoke_token(w: World) -> bool:
    token, _ = ApiToken.issue(w.users["viewer"], name="v", scopes=["check"])
    token.revoke()
    w.post(f"/admin/approvals/apitoken/{token.pk}/change/",
           _token_form(token, revoked_at_0="", revoked_at_1=""))  # fmt: skip
    return ApiToken.objects.get(pk=token.pk).revoked_at is None


def _narrow_token(w: World) -> bool:
    token, _ = ApiToken.issue(w.users["developer"], name="d", scopes=["check", "read", "write"])
    w.post(f"/admin/approvals/apitoken/{token.pk}/change/", _token_form(token, scopes='["check"]'))
    changed = ApiToken.objects.get(pk=token.pk).scopes == ["check"]
    logged = AuditEvent.objects.filter(action="token.scopes_changed", actor=w.actor).first()
    assert changed == (logged is not None)
    if logged:
        assert (
            logged.detail["prefix"] == token.prefix and logged.detail["old"] != logged.detail["new"]
        )
    return changed


def _revoke_token(w: World) -> bool:
    token, _ = ApiToken.issue(w.users["developer"], name="d", scopes=["check"])
    now = timezone.now()
    w.post(f"/admin/approvals/apitoken/{token.pk}/change/",
           _token_form(token, revoked_at_0=f"{now:%Y-%m-%d}", revoked_at_1=f"{now:%H:%M:%S}"))  # fmt: skip
    revoked = ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert revoked == AuditEvent.objects.filter(action="token.revoked", actor=w.actor).exists()
    return revoked


def _add_alias(w: World) -> bool:
    w.post("/admin/catalog/repoalias/add/", {"alias": "old/name", "model": w.model.pk,
           "seen_at_0": f"{date.today():%Y-%m-%d}", "seen_at_1": "00:00:00"})  # fmt: skip
    return RepoAlias.objects.filter(alias="old/name").exists()


def _delete_audit_entry(w: World) -> bool:
    review.submit(model=w.model, use="research", justification="x", by=w.users["developer"])
    entry = AuditEvent.objects.order_by("id").last()
    w.post(f"/admin/approvals/auditevent/{entry.pk}/delete/", {"post": "yes"})
    return not AuditEvent.objects.filter(pk=entry.pk).exists()


def _api_request(w: World) -> bool:
    w.api("/api/v1/requests", {"model": w.model.repo_id, "use": "research", "justification": "x"})
    return ApprovalRequest.objects.filter(intended_use="research").exists()


def _api_decide(w: World) -> bool:
    w.api(f"/api/v1/requests/{w.pending.pk}/decision", {"status": "rejected", "reason": "no"})
    return ApprovalRequest.objects.get(pk=w.pending.pk).status == Status.REJECTED


def _api_decide_again(w: World) -> bool:
    r = w.api(f"/api/v1/requests/{w.decided.pk}/decision", {"status": "rejected", "reason": "no"})
    if w.actor is not None and w.actor.has_perm("approvals.decide_request"):
        assert r.status_code in (401, 403, 409), r.status_code
    return ApprovalRequest.objects.get(pk=w.decided.pk).status == Status.REJECTED


def _api_reopen(w: World) -> bool:
    w.api(f"/api/v1/requests/{w.decided.pk}/reopen", {"reason": "new evidence"})
    return ApprovalRequest.objects.get(pk=w.decided.pk).status == Status.PENDING


def _api_waiver(w: World) -> bool:
    w.api("/api/v1/waivers", {"model": w.model.repo_id, **WAIVER})
    return Waiver.objects.exists()


def _api_policy(w: World) -> bool:
    w.api("/api/v1/policies", {"name": "p", "action": "review"})
    return Policy.objects.filter(name="p").exists()


def _api_check(w: World) -> bool:
    r = w.api(f"/api/v1/check?model={w.model.repo_id}&use=research", scope="check")
    return r.status_code == 200


def _api_audit(w: World) -> bool:
    return w.api("/api/v1/audit", scope="read").status_code == 200


def _create_token(w: World) -> bool:
    try:
        call_command("create_token", w.actor.username, "--scope", "write", stdout=io.StringIO())
    except CommandError:
        return False
    return any("write" in t.scopes for t in ApiToken.objects.filter(user=w.actor))


ACTIONS = dict(zip(EXPECTED, [
    _request, _decide, lambda w: _decide(w, htmx=True), _reopen, _waiver, _determine,
    _determine_htmx, _revoke_determination, lambda w: _determine(w, staff=True), _crawl,
    lambda w: _crawl(w, staff=True), _add_policy, _delete_policy, _add_user,
    _give_role("viewer"), _give_role("approver"), _self_superuser, _make_staff,
    _give_permission, _deactivate("root"), _deactivate("approver"), _set_password, _widen_role,
    _repoint_token, _widen_token, _unrevoke_token, _narrow_token, _revoke_token, _add_alias,
    _delete_audit_entry, _api_request, _api_decide, _api_decide_again, _api_reopen, _api_waiver,
    _api_policy, _api_check, _api_audit, _create_token,
], strict=True))  # fmt: skip
CASES = [(a, c) for a in EXPECTED for c in COLUMNS if outcome(a, c) != NA]


@pytest.mark.parametrize(("action", "column"), CASES, ids=[f"{a} | {c}" for a, c in CASES])
def test_the_matrix(action, column):
    world = World(column)
    took_effect = ACTIONS[action](world)
    assert ("allowed" if took_effect else "refused") == outcome(action, column)


def test_the_readme_shows_the_matrix():
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert markdown_table() in readme, (
        "README.md's matrix differs from EXPECTED:\n" + markdown_table()
    )


def test_the_roles_match_the_migrations(db):
    """approvals.roles.ROLES is what the migrations leave in the database."""
    for name in ROLES:
        group = Group.objects.get(name=name)
        held = {f"{a}.{c}" for a, c in
                group.permissions.values_list("content_type__app_label", "codename")}  # fmt: skip
        assert held == permissions(name), name
