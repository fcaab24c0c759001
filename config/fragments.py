"""htmx partial answers: a page's view renders one named fragment of its template for htmx.

htmx sends `HX-Request` with every request it makes, and with a history restore too (Back or
Forward after its history cache missed), adding `HX-History-Restore-Request`: that one replaces
the whole body, so it gets the whole page. The answer varies on both headers, so a cache never
hands the fragment to a restore or to a plain visit.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.views.decorators.vary import vary_on_headers

# Decorates every view whose answer depends on swaps_fragment().
vary_on_htmx = vary_on_headers("HX-Request", "HX-History-Restore-Request")


def swaps_fragment(request: HttpRequest) -> bool:
    """htmx asks for a part of the page to swap in (not a history restore, not a plain visit)."""
    htmx = request.htmx  # type: ignore[attr-defined]
    return bool(htmx) and not htmx.history_restore_request


def fragment(request: HttpRequest, template: str, name: str) -> str:
    """The template name to render: its `#name` partial for htmx, else the whole page."""
    return f"{template}#{name}" if swaps_fragment(request) else template
