"""The five roles (groups) and what each may do; who may grant what; which token scopes a user
may hold. The README's "Roles" table states the same rules, and tests/approvals/test_matrix.py
holds every write path to them.

Migrations 0002 and 0006 made the groups; ROLES is what they hold now (test_roles_match_the_
migrations keeps the two equal), so role(name) in tests and the rules below read one place."""

from __future__ import annotations

from django.contrib.auth.models import Permission

VIEWER = ["approvals.view_approvalrequest", "approvals.view_policy", "approvals.view_waiver"]
ROLES = {
    "viewer": VIEWER,
    "developer": ["approvals.add_approvalrequest"],
    "legal": ["licenses.add_determination", "approvals.view_all_requests",
              "approvals.view_audit_log", "usage.edit_profiles"],
    "approver": ["approvals.decide_request", "approvals.view_all_requests",
                 "approvals.add_waiver", "approvals.view_audit_log"],
    # No auth.change_group: the roles are fixed by migration; only a superuser redefines them.
    "admin": ["approvals.add_policy", "approvals.change_policy", "approvals.delete_policy",
              "approvals.view_all_requests", "approvals.view_audit_log",
              "approvals.view_auditevent", "approvals.view_apitoken",
              "approvals.change_apitoken", "auth.add_user", "auth.change_user",
              "auth.view_user", "auth.view_group", "catalog.add_crawlrun",
              "usage.edit_profiles"],
}  # fmt: skip
# Every role holds the viewer's permissions too.
BASE = "viewer"

# The permissions behind the API's writes: a token may carry `write` only for a user holding one.
WRITE_PERMS = ("approvals.add_approvalrequest", "approvals.decide_request",
               "approvals.add_waiver", "approvals.add_policy", "usage.edit_profiles")  # fmt: skip


def permissions(name: str) -> set[str]:
    return {*ROLES[name], *ROLES[BASE]}


def perms_of(user) -> set[str]:
    """A user's permissions, own and through groups, whether or not the account is active
    (Django's backend answers nothing for an inactive one, which would make it look harmless)."""
    if user.is_superuser:
        return {f"{p.content_type.app_label}.{p.codename}"
                for p in Permission.objects.select_related("content_type")}  # fmt: skip
    rows = Permission.objects.filter(group__user=user) | Permission.objects.filter(user=user)
    return {f"{a}.{c}" for a, c in rows.values_list("content_type__app_label", "codename")}


def may_grant(actor, group) -> bool:
    """A role (group) may be given only by someone who holds every permission in it."""
    if actor.is_superuser:
        return True
    wanted = {f"{a}.{c}" for a, c in
              group.permissions.values_list("content_type__app_label", "codename")}  # fmt: skip
    return wanted <= actor.get_all_permissions()


def may_administer(actor, target) -> bool:
    """A non-superuser changes only accounts that hold nothing they do not hold themselves,
    and never a superuser: nobody administers someone stronger than they are."""
    if actor.is_superuser:
        return True
    return not target.is_superuser and perms_of(target) <= actor.get_all_permissions()


def allowed_scopes(user) -> set[str]:
    """The token scopes a user's role allows: `check` and `read` to any active account (what
    the session may do too; what a read shows still follows the role), `write` to one holding
    a permission the API's writes need. Checked at issue, at every change and at use."""
    if not (user.is_authenticated and user.is_active):
        return set()
    if user.is_superuser or any(user.has_perm(p) for p in WRITE_PERMS):
        return {"check", "read", "write"}
    return {"check", "read"}
