"""API authentication: bearer tokens (stored hashed, revocable, scoped) acting as their user."""

from __future__ import annotations

import json
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.db import connection
from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from ninja.security import HttpBearer, SessionAuth

from .models import ApiToken


class TokenRef(NamedTuple):
    """What a request knows of its token (request.api_token): enough for scopes and audits."""

    pk: int
    user_id: int
    name: str
    scopes: list[str]


def _token_sql() -> str:
    user = get_user_model()._meta
    return (
        f"SELECT t.id, t.user_id, t.name, t.scopes FROM {ApiToken._meta.db_table} t"
        f" JOIN {user.db_table} u ON u.{user.pk.column} = t.user_id"
        " WHERE t.digest = %s AND t.revoked_at IS NULL AND u.is_active = %s"
    )


class TokenAuth(HttpBearer):
    """`Authorization: Bearer cnp_...` (see `manage.py create_token`). The request then acts as
    the token's user, with that user's role, limited to the token's scopes.

    One raw statement (unique digest index, joined to the active user) on every API call; the
    user row itself is read only if the endpoint touches request.user (the check never does)."""

    openapi_scheme = "bearer"
    sql = ""

    def authenticate(self, request: HttpRequest, token: str):
        if not TokenAuth.sql:
            TokenAuth.sql = _token_sql()
        with connection.cursor() as cursor:
            cursor.execute(TokenAuth.sql, [ApiToken.hash(token), True])
            row = cursor.fetchone()
        if row is None:
            return None
        scopes = row[3]
        ref = TokenRef(
            row[0], row[1], row[2], json.loads(scopes) if isinstance(scopes, str) else scopes
        )
        user_id, load = ref.user_id, get_user_model()._default_manager.get
        request.user = SimpleLazyObject(lambda: load(pk=user_id))  # type: ignore[assignment]
        request.api_token = ref  # type: ignore[attr-defined]
        return ref


class Session(SessionAuth):
    """The site's login (CSRF checked by ninja on unsafe methods)."""

    def authenticate(self, request: HttpRequest, key):
        user = super().authenticate(request, key)
        if user is not None:
            request.api_token = None  # type: ignore[attr-defined]
        return user


def has_scope(request: HttpRequest, scope: str) -> bool:
    token = getattr(request, "api_token", None)
    return token is None or scope in token.scopes


def revoke(token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())


auth = [TokenAuth(), Session()]
