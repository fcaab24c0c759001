"""The token admin: nobody changes the token of someone they may not administer."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from approvals.models import ApiToken


def _admin_client(client, users):
    admin = users["admin"]
    User.objects.filter(pk=admin.pk).update(is_staff=True)
    client.force_login(User.objects.get(pk=admin.pk))
    return client


def _token_form(token: ApiToken, **changes) -> dict:
    data = {"user": token.user_id, "name": token.name,
            "scopes": str(token.scopes).replace("'", '"')}  # fmt: skip
    data.update(changes)
    return data


@pytest.mark.django_db
def test_admin_role_cannot_change_a_superusers_token(client, users):
    # Found by testing: the ApiToken admin checks only the token's *user's* role (allowed_scopes), not
    # whether the acting admin may administer that user (roles.may_administer), which the user
    # admin applies ("nobody administers someone stronger than they are"). A staff admin-role
    # user widens a superuser's read-only token to `write` (or renames / revokes it).
    # Expected: refused (403 or unchanged), as for the superuser's account itself.
    root = User.objects.create_superuser("root", "r@example.com", "pw-root")
    token, _ = ApiToken.issue(root, name="ci", scopes=["check", "read"])
    c = _admin_client(client, users)
    c.post(f"/admin/approvals/apitoken/{token.pk}/change/",
           _token_form(token, name="renamed", scopes='["check", "read", "write"]'))  # fmt: skip
    after = ApiToken.objects.get(pk=token.pk)
    assert after.scopes == ["check", "read"] and after.name == "ci"


@pytest.mark.django_db
def test_admin_role_cannot_widen_a_stronger_users_token(client, users):
    # Found by testing: same hole, for an approver (who holds decide_request, which the admin role
    # lacks, so the user admin refuses to change the approver's account): the admin adds
    # `write` to the approver's read token. Expected: refused.
    approver = users["approver"]
    token, _ = ApiToken.issue(approver, name="a", scopes=["read"])
    c = _admin_client(client, users)
    c.post(f"/admin/approvals/apitoken/{token.pk}/change/",
           _token_form(token, scopes='["read", "write"]'))  # fmt: skip
    assert ApiToken.objects.get(pk=token.pk).scopes == ["read"]
