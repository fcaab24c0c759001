"""One row of the search results, written in Python: fifty rows of a dozen template lookups each
cost more than the search's own queries (the facet links are built the same way, in views)."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from catalog.templatetags.facts import memory
from catalog.templatetags.repo_ids import breakable
from licenses.templatetags.verdicts import badge

register = template.Library()

ROW = (
    '<tr><td><a href="{}">{}</a>{}{}</td><td>{}</td><td>{}</td><td class="num">{}</td>'
    '<td class="num">{}</td><td>{}</td><td class="num">{}</td></tr>'
)
CONFLICT = mark_safe(' <span class="conflict-flag" title="conflict">⚠</span>')
NO_VERDICT = mark_safe("<small>—</small>")
GATED = mark_safe(" <small>gated</small>")


def _count(n: int | None) -> str:
    return "" if n is None else f"{n:,}"


@register.simple_tag
def search_row(m) -> SafeString:
    """A SearchEntry as the results table shows it: id (with its relation to its base and
    whether it is gated), task, library, downloads, likes, effective verdict, memory."""
    relation = (
        format_html(' <span class="rel rel-{0}">{0}</span>', m.base_relation)
        if m.base_relation and m.base_relation != "base"
        else ""
    )
    verdict = (
        format_html("{}{}", badge(m.effective), CONFLICT if m.conflict else "")
        if m.effective
        else NO_VERDICT
    )
    return format_html(
        ROW,
        m.get_absolute_url(),
        breakable(m.repo_id),
        relation,
        GATED if m.gated and m.gated != "no" else "",
        m.pipeline_tag or "",
        m.library_name or "",
        _count(m.downloads),
        _count(m.likes),
        verdict,
        memory(m),
    )
