"""The one verdict badge: colours from app.css's --allowed/--conditional/... by its v- class,
and the verdict in words, so colour is never the only signal.

A tag, not an included template: the search page draws fifty of them, and an include per row
cost more than the rest of the row."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()

BADGE = '<span class="verdict v-{0}" title="commercial use: {0}">{1}</span>'


def badge(verdict: str | None, empty: str = "unknown") -> SafeString:
    """`empty`: the words shown where there is no verdict yet (e.g. "unassessed")."""
    return format_html(BADGE, verdict or "unknown", verdict or empty)


register.simple_tag(badge, name="verdict")
