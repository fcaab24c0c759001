"""Lineage: which models a model derives from, how, and walks up and down the tree.

The Hub's typed `base_model:RELATION:X` tags are coarse (in the real data every typed tag says
finetune, GGUF quantizations and LoRA adapters included) and 2024 listings only carry untyped
`base_model:X` tags, so the relation is read in this order: the card's `base_model_relation`,
then the model's own tags, library and files (quantized / adapter / merge signals), then a typed
tag (a non-finetune typed tag goes first), else the Hub's documented default, finetune. Each edge records which rule decided.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, QuerySet

from .models import HubModel, LineageEdge, Relation, RelationSource, RepoAlias
from .records import repo_name

RELATIONS = {r.value for r in Relation}
QUANT_TAGS = {"gguf", "gptq", "awq", "exl2", "mlx", "4-bit", "8-bit", "bitsandbytes", "quantized",
              "fp8", "int4", "int8", "aqlm", "hqq", "autoround", "bnb", "eetq", "marlin"}  # fmt: skip
QUANT_NAME = re.compile(
    r"(?:^|[-_.])(gguf|gptq|awq|exl2|mlx|[248]bit|[248]-bit|int[48]|fp8|bnb|q[2-8]_k(?:_[sml])?|"
    r"q[48]_0|[0-9.]+bpw|quantized)(?:$|[-_.])",
    re.IGNORECASE,
)
QUANT_FILES = re.compile(r"\.gguf$|(^|/)quantize_config\.json$|\.ggml$", re.IGNORECASE)
ADAPTER_TAGS = {"peft", "lora", "adapter", "adapters"}
ADAPTER_FILES = re.compile(r"(^|/)adapter_(config\.json|model\.(safetensors|bin))$")
MERGE_TAGS = {"merge", "mergekit"}


@dataclass(frozen=True)
class Edge:
    parent: str
    relation: str
    source: str
    origin: str


def parents_from_tags(tags: Iterable[str]) -> dict[str, str | None]:
    """parent id -> typed relation (None for a plain `base_model:X` tag)."""
    parents: dict[str, str | None] = {}
    for tag in tags:
        if not tag.startswith("base_model:"):
            continue
        rest = tag[len("base_model:") :]
        head, _, tail = rest.partition(":")
        if tail and head in RELATIONS:
            parents[tail] = head
        elif rest:
            parents.setdefault(rest, None)
    return parents


HUB_URL = re.compile(r"^https?://(?:www\.)?huggingface\.co/([^/\s?#]+/[^/\s?#]+)/?$", re.IGNORECASE)


def _text(value: Any) -> str | None:
    """A card or Hub value read as a relation or id: only a string is one (any JSON can arrive)."""
    return value if isinstance(value, str) else None


def card_parents(card: dict[str, Any] | None) -> list[str]:
    value = card.get("base_model") if isinstance(card, dict) else None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return []
    out = []
    for v in value:
        v = v.strip() if isinstance(v, str) else ""
        # Cards are free text: a base_model written as the model's Hub URL names its repo id.
        url = HUB_URL.match(v)
        if url:
            v = url.group(1)
        if v:
            out.append(v)
    return out


def infer_relation(
    *, repo_id: str, tags: Iterable[str], library: str, files: Iterable[str] | None, n_parents: int
) -> str | None:
    """The relation the model's own signals show, or None when they show nothing."""
    tagset = {t.lower() for t in tags}
    files = list(files or [])
    if n_parents > 1 or tagset & MERGE_TAGS or library == "mergekit":
        return Relation.MERGE
    if library == "peft" or tagset & ADAPTER_TAGS or any(ADAPTER_FILES.search(f) for f in files):
        return Relation.ADAPTER
    if (
        tagset & QUANT_TAGS
        or library in ("gguf", "mlx")
        or QUANT_NAME.search(repo_name(repo_id))
        or any(QUANT_FILES.search(f) for f in files)
    ):
        return Relation.QUANTIZED
    return None


def edges_for(
    *,
    repo_id: str,
    tags: list[str],
    library: str,
    files: list[str] | None,
    card: dict[str, Any] | None,
    base_models: dict[str, Any] | None,
) -> list[Edge]:
    """Every parent edge the model's current record supports, with its relation and provenance."""
    origins: dict[str, list[str]] = {}
    typed: dict[str, str] = {}
    for parent, relation in parents_from_tags(tags).items():
        origins.setdefault(parent, []).append("tags")
        if relation:
            typed[parent] = relation
    for parent in card_parents(card):
        if parent != repo_id:
            origins.setdefault(parent, []).append("card")
    if isinstance(base_models, dict):
        listed_models = base_models.get("models")
        # A relation or models of the wrong JSON type is dropped (ingest notes the record).
        hub_relation = _text(base_models.get("relation"))
        for entry in listed_models if isinstance(listed_models, list) else []:
            listed = entry.get("id") if isinstance(entry, dict) else None
            if isinstance(listed, str) and listed:
                origins.setdefault(listed, []).append("baseModels")
                if hub_relation in RELATIONS:
                    typed.setdefault(listed, hub_relation)
    # A card naming a legacy id and a tag naming its canonical id are one parent.
    origins.pop(repo_id, None)
    if not origins:
        return []

    card_relation = _text(card.get("base_model_relation")) if isinstance(card, dict) else None
    inferred = infer_relation(
        repo_id=repo_id, tags=tags, library=library, files=files, n_parents=len(origins)
    )
    edges = []
    for parent, where in origins.items():
        if card_relation in RELATIONS:
            relation, source = card_relation, RelationSource.CARD
        elif typed.get(parent, Relation.FINETUNE) != Relation.FINETUNE:
            relation, source = typed[parent], RelationSource.HUB
        elif inferred:
            relation, source = inferred, RelationSource.INFERRED
        elif parent in typed:
            relation, source = typed[parent], RelationSource.HUB
        else:
            relation, source = Relation.FINETUNE, RelationSource.DEFAULT
        edges.append(Edge(parent, relation, source, ",".join(dict.fromkeys(where))))
    return edges


def resolve(repo_ids: Iterable[str]) -> dict[str, HubModel]:
    """Models for repo ids, following aliases (renamed repos, legacy un-namespaced ids)."""
    ids = set(repo_ids)
    if not ids:
        return {}
    found = {m.repo_id: m for m in HubModel.objects.filter(repo_id__in=ids)}
    missing = ids - found.keys()
    if missing:
        for alias in RepoAlias.objects.filter(alias__in=missing).select_related("model"):
            found[alias.alias] = alias.model
    return found


def parents(model: HubModel) -> list[tuple[LineageEdge, HubModel | None]]:
    edges = list(model.parent_edges.order_by("parent_repo_id"))
    known = resolve(e.parent_repo_id for e in edges)
    return [(e, known.get(e.parent_repo_id)) for e in edges]


def names(model: HubModel) -> list[str]:
    """The ids children may name this model by: its own and its aliases."""
    return [model.repo_id, *model.aliases.values_list("alias", flat=True)]


def child_edges(model: HubModel, known_names: list[str] | None = None):
    return LineageEdge.objects.filter(parent_repo_id__in=known_names or names(model))


def children_counts(
    model: HubModel,
    known_names: list[str] | None = None,
    *,
    within: QuerySet[HubModel] | None = None,
) -> dict[str, int]:
    """A model's direct children per relation, each child once (one naming both the model's
    id and an alias included): the numbers the model page, the lineage explorer, the family
    page and the API all show. `within`: only children among these models (a filtered family).

    A quantization of a fine-tune is the fine-tune's child, not the model's: it is counted
    where it hangs, one level down."""
    edges = child_edges(model, known_names)
    if within is not None:
        edges = edges.filter(child__in=within.values("pk"))
    return {rel: n for (_, rel), n in _count(edges, "relation").items()}


def children_counts_of(repo_ids: Iterable[str]) -> dict[str, dict[str, int]]:
    """children_counts for many ids at once (by the id children name, aliases not followed):
    what a node of the explorer or a row of a family page says it has below it."""
    ids = list(repo_ids)
    out: dict[str, dict[str, int]] = {}
    if ids:
        edges = LineageEdge.objects.filter(parent_repo_id__in=ids)
        for (parent, rel), n in _count(edges, "parent_repo_id", "relation").items():
            out.setdefault(parent, {})[rel] = n
    return out


def _count(edges: QuerySet[LineageEdge], *by: str) -> dict[tuple[str, ...], int]:
    """Distinct children per group of `by` (the one GROUP BY behind every count of children);
    keys are (parent or "", relation)."""
    rows = edges.values(*by).annotate(n=Count("child", distinct=True)).order_by(*by)
    return {(r.get("parent_repo_id", ""), r["relation"]): r["n"] for r in rows}


def ancestors(model: HubModel, *, depth: int = 10) -> list[dict[str, Any]]:
    """Breadth-first walk up: [{id, relation, depth, known, via}], each ancestor once."""
    out: list[dict[str, Any]] = []
    seen = {model.repo_id}
    frontier = [model]
    for level in range(1, depth + 1):
        edges = list(
            LineageEdge.objects.filter(child__in=[m.pk for m in frontier])
            .select_related("child").only("parent_repo_id", "relation", "child__repo_id")
        )  # fmt: skip
        known = resolve(e.parent_repo_id for e in edges)
        frontier = []
        for e in edges:
            parent = known.get(e.parent_repo_id)
            pid = parent.repo_id if parent else e.parent_repo_id
            if pid in seen:
                continue
            seen.add(pid)
            out.append({"id": pid, "relation": e.relation, "depth": level,
                        "known": parent is not None, "via": e.child.repo_id})  # fmt: skip
            if parent:
                frontier.append(parent)
        if not frontier:
            break
    return out


def descendants(model: HubModel, *, depth: int = 1, limit: int = 500) -> list[dict[str, Any]]:
    """Breadth-first walk down, at most `limit` nodes: [{id, relation, depth, via}]."""
    out: list[dict[str, Any]] = []
    seen = {model.repo_id}
    frontier = [model.repo_id]
    for level in range(1, depth + 1):
        rows = (
            LineageEdge.objects.filter(parent_repo_id__in=frontier)
            .order_by("-child__downloads")
            .values_list("child__repo_id", "relation", "parent_repo_id")[: limit - len(out)]
        )
        frontier = []
        for child, relation, parent in rows:
            if child in seen:
                continue
            seen.add(child)
            out.append({"id": child, "relation": relation, "depth": level, "via": parent})
            frontier.append(child)
        if not frontier or len(out) >= limit:
            break
    return out
