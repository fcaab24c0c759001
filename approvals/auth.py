"""API authentication: bearer tokens (stored hashed, revocable, scoped) acting as their user."""

from __future__ import annotations

import functools
import json
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.db import connection
from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from ninja.security import HttpBearer, SessionAuth

from .models import ApiToken
from .roles import allowed_scopes


class TokenRef(NamedTuple):
    """What a request knows of its token (request.api_token): enough for scopes and audits."""

    pk: int
    user_id: int
    name: str
    scopes: list[str]
    profile_id: int | None = None  # the pipeline's usage profile: checks answer for it


@functools.cache
def token_sql() -> str:
    """The live token of a digest: not revoked, not expired, and its user active (unique
    digest index). Parameters: token_params(digest)."""
    user = get_user_model()._meta
    return (
        f"SELECT t.id, t.user_id, t.name, t.scopes, t.profile_id FROM {ApiToken._meta.db_table} t"
        f" JOIN {user.db_table} u ON u.{user.pk.column} = t.user_id"
        " WHERE t.digest = %s AND t.revoked_at IS NULL AND u.is_active = %s"
        " AND (t.expires_at IS NULL OR t.expires_at > %s)"
    )


def token_params(digest: str) -> list:
    # The time as the ORM writes it (SQLite compares text: the same format, in UTC)
    return [digest, True, connection.ops.adapt_datetimefield_value(timezone.now())]


def token_ref(
    pk: int, user_id: int, name: str, scopes: str | list[str], profile_id: int | None = None
) -> TokenRef:
    # jsonb and SQLite's JSON text both arrive as text through raw cursors
    scopes = json.loads(scopes) if isinstance(scopes, str) else scopes
    return TokenRef(pk, user_id, name, scopes, profile_id)


def bearer(header: str) -> str | None:
    """The secret of an `Authorization: Bearer <secret>` header, read as ninja's HttpBearer does."""
    parts = header.split(" ")
    if parts[0].lower() != "bearer":
        return None
    return " ".join(parts[1:])


def act_as(request: HttpRequest, ref: TokenRef) -> None:
    """The request acts as the token's user; the user row is read only if something asks."""
    user_id, load = ref.user_id, get_user_model()._default_manager.get
    request.user = SimpleLazyObject(lambda: load(pk=user_id))  # type: ignore[assignment]
    request.api_token = ref  # type: ignore[attr-defined]


class TokenAuth(HttpBearer):
    """`Authorization: Bearer cnp_...` (see `manage.py create_token`). The request then acts as
    the token's user, with that user's role, limited to the token's scopes.

    One raw statement (unique digest index, joined to the active user) on every API call; the
    user row itself is read only if the endpoint touches request.user (the check never does).
    A pipeline's check with a token does not come here: approvals/middleware.py answers it with
    the token lookup and the check in one statement (approvals.check.token_check)."""

    openapi_scheme = "bearer"

    def authenticate(self, request: HttpRequest, token: str):
        with connection.cursor() as cursor:
            cursor.execute(token_sql(), token_params(ApiToken.hash(token)))
            row = cursor.fetchone()
        if row is None:
            return None
        ref = token_ref(*row)
        act_as(request, ref)
        return ref


class Session(SessionAuth):
    """The site's login (CSRF checked by ninja on unsafe methods)."""

    def authenticate(self, request: HttpRequest, key):
        user = super().authenticate(request, key)
        if user is not None:
            request.api_token = None  # type: ignore[attr-defined]
        return user


def has_scope(request: HttpRequest, scope: str) -> bool:
    """A session has every scope; a token those it carries that its user's role still allows
    (a user who lost the role lost the scope, whatever the token says)."""
    token = getattr(request, "api_token", None)
    if token is None:
        return True
    if scope not in token.scopes:
        return False
    # check and read need only the live account the token lookup joined; write reads the role.
    return scope != "write" or scope in allowed_scopes(request.user)


def revoke(token: ApiToken, *, by=None) -> None:
    token.revoke(by=by)


auth = [TokenAuth(), Session()]
