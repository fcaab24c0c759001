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
GRAPH_CHILDREN = 6  # per relation in the drawing
GRAPH_ANCESTORS = 8


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


COLOURS = {"allowed": "#1f7a3f", "conditional": "#a86200", "prohibited": "#b3261e"}


def graph(model: HubModel, chain: list[dict], child_groups: list[dict]) -> dict[str, Any]:
    """Positions for an SVG of the neighbourhood: ancestors left, the model, children right."""
    col_w, row_h = 260, 30
    nodes: list[dict[str, Any]] = []
    edges: list[tuple[int, int]] = []

    def add(label, x, y, verdict, conflict, href, current=False):
        nodes.append({"label": label if len(label) <= 34 else label[:32] + "…", "title": label,
                      "x": x, "y": y, "fill": COLOURS.get(verdict, "#6b6f73"),
                      "conflict": conflict, "href": href, "current": current})  # fmt: skip
        return len(nodes) - 1

    def facts(state) -> tuple[str, bool]:
        return (state.effective, state.conflict) if state else ("unknown", False)

    ups = [a for a in chain if a["depth"] == 1][:GRAPH_ANCESTORS]
    deeper = [a for a in chain if a["depth"] > 1][:GRAPH_ANCESTORS]
    kids = [(g["relation"], n) for g in child_groups for n in g["nodes"][:GRAPH_CHILDREN]]
    rows = max(len(ups), len(deeper), len(kids), 1)
    height = rows * row_h + 20
    centre = height // 2
    me = add(model.repo_id, col_w * 2 + 10, centre, *facts(_state(model)), None, current=True)

    def column(items, x):
        top = centre - (len(items) - 1) * row_h // 2
        return [top + i * row_h for i in range(len(items))]

    up_ids = {}
    for a, y in zip(ups, column(ups, col_w), strict=True):
        href = a["model"].get_absolute_url() if a["model"] else None
        up_ids[a["id"]] = add(a["id"], col_w + 10, y, *facts(a["state"]), href)
        edges.append((up_ids[a["id"]], me))
    for a, y in zip(deeper, column(deeper, 0), strict=True):
        href = a["model"].get_absolute_url() if a["model"] else None
        i = add(a["id"], 10, y, *facts(a["state"]), href)
        if a["via"] in up_ids:
            edges.append((i, up_ids[a["via"]]))
    for (relation, n), y in zip(kids, column(kids, col_w * 3), strict=True):
        i = add(n["repo_id"], col_w * 3 + 10, y, n["verdict"] or "unknown", n["conflict"], n["url"])
        nodes[i]["relation"] = relation
        edges.append((me, i))
    lines = [{"x1": nodes[a]["x"] + 200, "y1": nodes[a]["y"], "x2": nodes[b]["x"], "y2": nodes[b]["y"]}
             for a, b in edges]  # fmt: skip
    return {"nodes": nodes, "lines": lines, "width": col_w * 4 + 20, "height": height}
