"""The client's address as login throttling counts it (settings.AXES_CLIENT_IP_CALLABLE).

Behind DJANGO_PROXY_COUNT proxies, each appends the address it received from to
X-Forwarded-For, so the client is the entry that many places from the right: entries further
left are whatever the client wrote itself, and trusting them (as a left-most rule does) lets
an attacker pick a fresh address for every guess. Without proxies, REMOTE_ADDR."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    count = settings.PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if count > 0 and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",")]
        if len(hops) >= count and hops[-count]:
            return hops[-count]
    return request.META.get("REMOTE_ADDR", "")


# AccessAttempt.username is a varchar(255): a longer typed name would make PostgreSQL refuse the
# failure's own record (a 500 at login). No account has a name past User.username's 150.
USERNAME_CHARS = 150


def username(request: HttpRequest, credentials: dict | None = None) -> str:
    """The username a login typed, as login throttling counts it (AXES_USERNAME_CALLABLE)."""
    typed = (credentials or {}).get("username")
    if typed is None:
        typed = request.POST.get("username", "")
    return str(typed)[:USERNAME_CHARS]
