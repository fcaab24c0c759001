"""The lineage explorer: a model's ancestors, its descendants a page at a time, and a drawn
neighbourhood. Nothing reads a whole tree: each view is a GROUP BY of direct children plus one
page per relation, so a family with tens of thousands of descendants stays fast."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from django.urls import reverse

from catalog import lineage
from catalog.models import HubModel
from licenses.models import state_of

PAGE = 20


NODE_FIELDS = ("id", "repo_id", "downloads", "license_state__effective", "license_state__conflict")
URL_SAFE = "!$&'()*+,;=/~:@"  # what reverse() leaves unquoted in a path argument


def url_for(name: str) -> Callable[[str], str]:
    """reverse(name, args=[repo_id]) for many ids: one reverse, then quoting as reverse does."""
    pattern = reverse(name, args=["~"])
    return lambda repo_id: pattern.replace("~", quote(repo_id, safe=URL_SAFE), 1)


def _with_nodes(pages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each page's children as nodes: what the tree shows, with their own child counts (one
    query for all the pages)."""
    below = lineage.children_counts_of(c.repo_id for p in pages for c in p["children"])
    grand = {repo_id: sum(counts.values()) for repo_id, counts in below.items()}
    detail, tree = url_for("portal:model_detail"), url_for("portal:model_lineage")
    for p in pages:
        p["nodes"] = []
        for c in p.pop("children"):
            state, n = state_of(c), grand.get(c.repo_id, 0)
            p["nodes"].append({
                "pk": c.pk, "repo_id": c.repo_id, "downloads": f"{c.downloads:,}",
                "verdict": state.effective if state else "", "conflict": bool(state and state.conflict),
                "children": f"{n:,}" if n else "", "url": detail(c.repo_id), "lineage_url": tree(c.repo_id),
            })  # fmt: skip
    return pages


def children_page(model: HubModel, relation: str, page: int = 1) -> dict[str, Any]:
    """One page of a model's direct children of one relation, as nodes."""
    window = slice((page - 1) * PAGE, page * PAGE + 1)
    found = lineage.children_page(model, relation, window, lineage.names(model), NODE_FIELDS)
    page_ = {
        "relation": relation,
        "page": page,
        "more": len(found) > PAGE,
        "children": found[:PAGE],
    }
    return _with_nodes([page_])[0]


def groups(model: HubModel, pages: dict[str, int] | None = None) -> list[dict[str, Any]]:
    """Direct children grouped by relation: counts for all, one page of each (the first, or
    the one `pages` asks for)."""
    return _with_nodes(lineage.groups(model, size=PAGE, fields=NODE_FIELDS, pages=pages))


def ancestors(model: HubModel) -> list[dict[str, Any]]:
    """The up-walk with each ancestor's license state, loaded in the walk's own queries (the
    catalog reads the state through its relation; licenses.lineage gives the same list)."""
    chain = lineage.ancestors(model, depth=10, related=("license_state",))
    for a in chain:
        a["state"] = state_of(a["model"]) if a["model"] else None
    return chain
