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
