"""Repo ids that wrap where a reader expects: after `/`, `-`, `_` or `.`, or between the words of
a camelCase name, never mid-word."""

from __future__ import annotations

import re

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

SEPARATOR = re.compile(r"([/\-_.]|[a-z](?=[A-Z]))")


@register.filter
def breakable(value) -> SafeString:
    """The id escaped, with <wbr> (a line-break opportunity, invisible otherwise) after each
    separator and inside each lower-to-upper case step. Escaping first is safe: the entities
    escape() writes (&amp; &lt; &gt; &quot; &#x27;) hold no separator and no such step."""
    return mark_safe(SEPARATOR.sub(r"\1<wbr>", escape("" if value is None else str(value))))  # noqa: S308
