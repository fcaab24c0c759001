"""The lineage explorer's drawing: a model's neighbourhood laid out for an SVG, ancestors left,
the model, its most downloaded children right. Only positions, words and class names come from
here; the colours are the verdict classes of static/css/app.css (one source for them)."""

from __future__ import annotations

from typing import Any

from catalog.models import HubModel
from licenses.models import state_of

GRAPH_CHILDREN = 6  # per relation in the drawing
GRAPH_ANCESTORS = 8
NODE_H, ROW_H, GAP, PAD = 36, 46, 60, 8
MAX_CHARS = 48  # a longer id is shortened in the drawing; its <title> and the lists hold it whole
NARROW, WIDE = set("fijlrt.,:;!|'()[] /-"), set("mwMW@%…")


def text_width(text: str, size: float) -> float:
    """A generous estimate of the text's width in px in a sans-serif face (the server cannot
    measure it): wide enough that a label never runs out of its box."""
    em = sum(0.38 if c in NARROW else 0.95 if c in WIDE else 0.72 if c.isupper() else 0.6
             for c in text)  # fmt: skip
    return em * size * 1.08  # fonts differ; room to spare


def _label(repo_id: str) -> str:
    return repo_id if len(repo_id) <= MAX_CHARS else repo_id[: MAX_CHARS - 1] + "…"


def graph(model: HubModel, chain: list[dict], child_groups: list[dict]) -> dict[str, Any]:
    """Nodes (box, two lines of words, verdict class) and lines (relation class) of the SVG.

    Every node writes its verdict and its relation in words (colour is never the only signal);
    a column without nodes takes no room."""
    nodes: list[dict[str, Any]] = []
    edges: list[tuple[int, int, str]] = []

    def add(column, repo_id, verdict, conflict, href, sub, kind):
        verdict = verdict or "unknown"
        words = f"{sub} · {verdict}" + (" · conflict" if conflict else "")
        cls = f"node {kind} v-{verdict}" + (" conflict" if conflict else "")
        label = ("⚠ " if conflict else "") + _label(repo_id)
        bold = 1.12 if kind == "current" else 1  # the current model's id is drawn bold
        width = max(text_width(label, 12) * bold, text_width(words, 10.5)) + 2 * PAD
        nodes.append({"column": column, "label": label, "title": repo_id, "sub": words,
                      "cls": cls, "href": href, "w": round(max(width, 150))})  # fmt: skip
        return len(nodes) - 1

    def facts(state) -> tuple[str, bool]:
        return (state.effective, state.conflict) if state else ("unknown", False)

    ups = [a for a in chain if a["depth"] == 1][:GRAPH_ANCESTORS]
    deeper = [a for a in chain if a["depth"] > 1][:GRAPH_ANCESTORS]
    kids = [(g["relation"], n) for g in child_groups for n in g["nodes"][:GRAPH_CHILDREN]]
    columns = [c for c, items in (("deeper", deeper), ("ups", ups)) if items]
    columns += ["me"] + (["kids"] if kids else [])

    me = add("me", model.repo_id, *facts(state_of(model)), None, "this model", "current")
    up_ids = {}
    for a in ups:
        href = a["model"].get_absolute_url() if a["model"] else None
        up_ids[a["id"]] = add("ups", a["id"], *facts(a["state"]), href,
                              f"parent ({a['relation']})", "ancestor")  # fmt: skip
        edges.append((up_ids[a["id"]], me, a["relation"]))
    for a in deeper:
        href = a["model"].get_absolute_url() if a["model"] else None
        i = add("deeper", a["id"], *facts(a["state"]), href,
                f"{a['depth']} up ({a['relation']})", "ancestor")  # fmt: skip
        if a["via"] in up_ids:
            edges.append((i, up_ids[a["via"]], a["relation"]))
    for relation, n in kids:
        i = add("kids", n["repo_id"], n["verdict"], n["conflict"], n["url"], relation, "child")
        edges.append((me, i, relation))

    rows = max(len(ups), len(deeper), len(kids), 1)
    height = rows * ROW_H + 20
    x = 10
    for column in columns:
        members = [n for n in nodes if n["column"] == column]
        top = (height - len(members) * ROW_H) // 2 + (ROW_H - NODE_H) // 2
        width = max(n["w"] for n in members)
        for i, n in enumerate(members):
            n.update(x=x, y=top + i * ROW_H, w=width, cy=top + i * ROW_H + NODE_H // 2)
            n.update(tx=x + PAD, ty=n["y"] + 15, sy=n["y"] + 29)
        x += width + GAP
    lines = [{"x1": nodes[a]["x"] + nodes[a]["w"], "y1": nodes[a]["cy"], "x2": nodes[b]["x"],
              "y2": nodes[b]["cy"], "relation": relation} for a, b, relation in edges]  # fmt: skip
    return {"nodes": nodes, "lines": lines, "width": x - GAP + 10, "height": height,
            "node_h": NODE_H}  # fmt: skip
