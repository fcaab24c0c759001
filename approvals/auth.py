"""API authentication: bearer tokens (stored hashed, revocable, scoped) acting as their user."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer, SessionAuth

from .models import ApiToken


class TokenAuth(HttpBearer):
    """`Authorization: Bearer cnp_...` (see `manage.py create_token`). The request then acts as
    the token's user, with that user's role, limited to the token's scopes."""

    openapi_scheme = "bearer"

    def authenticate(self, request: HttpRequest, token: str):
        row = (
            ApiToken.objects.select_related("user")
            .filter(digest=ApiToken.hash(token), revoked_at__isnull=True, user__is_active=True)
            .first()
        )
        if row is None:
            return None
        request.user = row.user
        request.api_token = row  # type: ignore[attr-defined]
        return row.user


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
