"""The lineage explorer: a model's ancestors, its descendants a page at a time, and a drawn
neighbourhood. Nothing reads a whole tree: each view is a GROUP BY of direct children plus one
page per relation, so a family with tens of thousands of descendants stays fast."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from django.urls import reverse

from . import lineage
from .models import HubModel, Relation

PAGE = 20


NODE_FIELDS = ("id", "repo_id", "downloads", "license_state__effective", "license_state__conflict")
URL_SAFE = "!$&'()*+,;=/~:@"  # what reverse() leaves unquoted in a path argument


def url_for(name: str) -> Callable[[str], str]:
    """reverse(name, args=[repo_id]) for many ids: one reverse, then quoting as reverse does."""
    pattern = reverse(name, args=["~"])
    return lambda repo_id: pattern.replace("~", quote(repo_id, safe=URL_SAFE), 1)


def _children(model: HubModel, relation: str, page: int, known: list[str]) -> list[HubModel]:
    """A page of children (and one more, to know whether there are more pages).

    A child whose first parent is this model comes from HubModel's (base_parent, base_relation,
    -downloads) index: no join over thousands of edges. Merges (several parents) and children
    that name an alias go through the edges."""
    window = slice((page - 1) * PAGE, page * PAGE + 1)
    if relation == Relation.MERGE or len(known) > 1:  # known: the model's id and aliases
        edges = (
            lineage.child_edges(model, known).filter(relation=relation)
            .select_related("child", "child__license_state")
            .only(*(f"child__{f}" for f in NODE_FIELDS), "child")
            .order_by("-child__downloads", "child_id")[window]
        )  # fmt: skip
        return [e.child for e in edges]
    # The page's ids straight off the index in a subquery: joined to the license table, the
    # planner may fetch and sort every child of a large parent for the twenty shown.
    ids = (
        HubModel.objects.filter(base_parent=model.repo_id, base_relation=relation)
        .order_by("-downloads", "id").values("id")[window]
    )  # fmt: skip
    rows = HubModel.objects.filter(pk__in=ids).select_related("license_state").only(*NODE_FIELDS)
    return sorted(rows, key=lambda m: (-m.downloads, m.pk))


def _with_nodes(pages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each page's children as nodes: what the tree shows, with their own child counts (one
    query for all the pages)."""
    below = lineage.children_counts_of(c.repo_id for p in pages for c in p["children"])
    grand = {repo_id: sum(counts.values()) for repo_id, counts in below.items()}
    detail, tree = url_for("catalog:model_detail"), url_for("catalog:model_lineage")
    for p in pages:
        p["nodes"] = []
        for c in p.pop("children"):
            state, n = _state(c), grand.get(c.repo_id, 0)
            p["nodes"].append({
                "pk": c.pk, "repo_id": c.repo_id, "downloads": f"{c.downloads:,}",
                "verdict": state.effective if state else "", "conflict": bool(state and state.conflict),
                "children": f"{n:,}" if n else "", "url": detail(c.repo_id), "lineage_url": tree(c.repo_id),
            })  # fmt: skip
    return pages


def children_page(model: HubModel, relation: str, page: int = 1) -> dict[str, Any]:
    """One page of a model's direct children of one relation, as nodes."""
    found = _children(model, relation, page, lineage.names(model))
    page_ = {
        "relation": relation,
        "page": page,
        "more": len(found) > PAGE,
        "children": found[:PAGE],
    }
    return _with_nodes([page_])[0]


def _state(model: HubModel):
    try:
        return model.license_state
    except HubModel.license_state.RelatedObjectDoesNotExist:  # type: ignore[attr-defined]
        return None


def groups(model: HubModel, pages: dict[str, int] | None = None) -> list[dict[str, Any]]:
    """Direct children grouped by relation: counts for all, one page of each (the first, or
    the one `pages` asks for)."""
    known = lineage.names(model)
    counts = lineage.children_counts(model, known)
    out = []
    for relation, n in sorted(counts.items(), key=lambda kv: -kv[1]):
        page = (pages or {}).get(relation, 1)
        found = _children(model, relation, page, known)
        out.append({"relation": relation, "n": n, "page": page, "more": len(found) > PAGE,
                    "children": found[:PAGE]})  # fmt: skip
    return _with_nodes(out)


def ancestors(model: HubModel) -> list[dict[str, Any]]:
    chain = lineage.ancestors(model, depth=10)
    if not chain:
        return chain
    known = lineage.resolve(a["id"] for a in chain if a["known"])
    states = {
        m.pk: m
        for m in HubModel.objects.filter(pk__in=[m.pk for m in known.values()]).select_related(
            "license_state"
        )
    }
    for a in chain:
        m = known.get(a["id"])
        a["model"] = states.get(m.pk) if m else None
        a["state"] = _state(a["model"]) if a["model"] else None
    return chain
