"""Lineage: which models a model derives from, how, and every walk up and down the tree.

The Hub's typed `base_model:RELATION:X` tags are coarse (in the real data every typed tag says
finetune, GGUF quantizations and LoRA adapters included) and 2024 listings only carry untyped
`base_model:X` tags, so the relation is read in this order: the card's `base_model_relation`,
then the model's own tags, library and files (quantized / adapter / merge signals), then a typed
tag (a non-finetune typed tag goes first), else the Hub's documented default, finetune. Each edge records which rule decided.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, CharField, Count, Exists, F, OuterRef, QuerySet, Value, When

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
MERGE_FILES = re.compile(r"(^|/)mergekit_config\.ya?ml$", re.IGNORECASE)
# The repo's own files, strongest first: what they show it is.
OWN_FILES = ((ADAPTER_FILES, Relation.ADAPTER), (QUANT_FILES, Relation.QUANTIZED),
             (MERGE_FILES, Relation.MERGE))  # fmt: skip


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


# A Hub repo id (or a legacy one without its organisation): anything else a PEFT config names
# as its base is where the adapter was trained (/home/me/llama, ./out, C:\\models), not a repo.
REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}(?:/[A-Za-z0-9][\w.-]{0,95})?$")


def peft_base(config: Any) -> tuple[str | None, str]:
    """The base a PEFT adapter's config names (`config.peft.base_model_name_or_path`, as the Hub
    gives it, or adapter_config.json wrapped as {"peft": ...}), and a note when what it names
    is not a Hub id (a local path, a URL elsewhere, a value of the wrong type)."""
    peft = config.get("peft") if isinstance(config, dict) else None
    if not isinstance(peft, dict) or "base_model_name_or_path" not in peft:
        return None, ""
    value = peft["base_model_name_or_path"]
    text = value.strip() if isinstance(value, str) else ""
    url = HUB_URL.match(text)
    if url:
        text = url.group(1)
    if REPO_ID.match(text) and ".." not in text:
        return text, ""
    shown = (value[:120] if isinstance(value, str) else json.dumps(value)[:120]).replace("\x00", "")
    return None, f"the adapter config names its base as {shown!r}, a local path or not a Hub id"


def with_adapter_config(config: Any, text: str | None) -> dict[str, Any] | None:
    """The record's config with the repo's own adapter_config.json read in as its `peft` (what
    the Hub gives as config.peft in a listing): the live Hub's place for an adapter's base."""
    base = config if isinstance(config, dict) else None
    if not text:
        return base
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):
        return base  # not JSON (or nested past reading): it names no base; its status says so
    return {**(base or {}), "peft": parsed} if isinstance(parsed, dict) else base


def infer_relation(
    *, repo_id: str, tags: Iterable[str], library: str, files: Iterable[str] | None, n_parents: int
) -> str | None:
    """The relation the model's own signals show, or None when they show nothing.

    The strongest evidence decides: several bases make a merge; then the repo's own files
    (adapter weights, GGUF or GPTQ files, a merge config); then its library, tags and name. Merge
    tags come last, and count only where the file list is unknown: a quantization's card copies
    its base's `merge` tags ("mradermacher/Pyrhea-72B-i1-GGUF"), and a merge of its own ships
    its mergekit config."""
    tagset = {t.lower() for t in tags}
    names = list(files) if files is not None else None
    if n_parents > 1:
        return Relation.MERGE
    for pattern, relation in OWN_FILES:
        if any(pattern.search(f) for f in names or ()):
            return relation
    if library == "peft" or tagset & ADAPTER_TAGS:
        return Relation.ADAPTER
    if tagset & QUANT_TAGS or library in ("gguf", "mlx") or QUANT_NAME.search(repo_name(repo_id)):
        return Relation.QUANTIZED
    if names is None and (tagset & MERGE_TAGS or library == "mergekit"):
        return Relation.MERGE
    return None


def derivative_kind(model: HubModel) -> str | None:
    """What derivative the record shows itself to be (adapter, quantized, merge), by its own
    files, library, tags and name: one without a parent edge names no base, so the terms it
    inherits cannot be known."""
    tags = [t for t in model.tags if isinstance(t, str)] if isinstance(model.tags, list) else []
    siblings = model.siblings
    files = [f for f in siblings if isinstance(f, str)] if isinstance(siblings, list) else None
    kind = infer_relation(
        repo_id=model.repo_id, tags=tags, library=model.library_name, files=files, n_parents=0
    )
    if kind == Relation.QUANTIZED and _converts_itself(model.repo_id, tags, files or []):
        return None
    return kind


FULL_WEIGHTS = re.compile(r"(^|/)(model|pytorch_model)(-\d{5}-of-\d{5})?\.(safetensors|bin)$")


def _converts_itself(repo_id: str, tags: list[str], files: list[str]) -> bool:
    """Its own full weights beside a GGUF of them (google/gemma-7b ships gemma-7b.gguf): the
    model, converted by its authors, not a quantization of another. GGUF is the only sign of
    quantizing; a repo named as a quantization, or with GPTQ/AWQ signs, stays one."""
    other = {t.lower() for t in tags} & (QUANT_TAGS - {"gguf"})
    return (
        not other
        and not QUANT_NAME.search(repo_name(repo_id))
        and any(f.lower().endswith(".gguf") for f in files)
        and any(FULL_WEIGHTS.search(f) for f in files)
        and not any(re.search(r"(^|/)quantize_config\.json$", f) for f in files)
    )


NO_BASE_NOTE: dict[str, str] = {
    Relation.ADAPTER: "An adapter that names no base",
    Relation.QUANTIZED: "A quantization that names no base model",
    Relation.MERGE: "A merge that names none of its bases",
}


def base_notes(model: HubModel, has_parents: bool) -> list[str]:
    """What the page says of a base the record names badly or not at all."""
    raw = model.raw if isinstance(model.raw, dict) else {}
    config = raw.get("config")
    siblings = model.siblings if isinstance(model.siblings, list) else []
    ships = "adapter_config.json" in siblings
    if ships and not has_parents and peft_base(config) == (None, ""):  # the repo's file, if read
        stored = model.files.filter(path="adapter_config.json").values_list("text", flat=True)
        config = with_adapter_config(config, stored.first())
    notes = [note] if (note := peft_base(config)[1]) else []
    if not has_parents and (kind := derivative_kind(model)):
        notes.append(f"{NO_BASE_NOTE[kind]}: the terms it inherits cannot be checked.")
    return notes


def edges_for(
    *,
    repo_id: str,
    tags: list[str],
    library: str,
    files: list[str] | None,
    card: dict[str, Any] | None,
    base_models: dict[str, Any] | None,
    config: dict[str, Any] | None = None,
) -> list[Edge]:
    """Every parent edge the model's current record supports, with its relation and provenance.

    A PEFT adapter's own config outranks every other signal for the parent it names; it adds
    a parent only to a record that declares none (one naming another base than the card's is
    not made a merge of the two)."""
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
    adapter_base, _ = peft_base(config)
    if adapter_base and adapter_base != repo_id and (adapter_base in origins or not origins):
        origins.setdefault(adapter_base, []).append("peft_config")
    if not origins:
        return []

    card_relation = _text(card.get("base_model_relation")) if isinstance(card, dict) else None
    inferred = infer_relation(
        repo_id=repo_id, tags=tags, library=library, files=files, n_parents=len(origins)
    )
    edges = []
    for parent, where in origins.items():
        if "peft_config" in where:
            relation, source = Relation.ADAPTER, RelationSource.PEFT_CONFIG
        elif card_relation in RELATIONS:
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


# --- Walks ---------------------------------------------------------------------------------
# One alias rule for every walk: an edge names its parent by a repo id string, and an id that a
# RepoAlias maps to a model (a renamed repo's old id, a legacy un-namespaced id) names that
# model. So the model is the parent going up, and the edge's child is the model's child going
# down, whichever name the child's card used.


def models_named(repo_ids: Iterable[str], *, related: tuple[str, ...] = ()) -> dict[str, HubModel]:
    """Models for repo ids, following aliases. `related`: relations loaded in the same query."""
    ids = set(repo_ids)
    if not ids:
        return {}
    found = {
        m.repo_id: m for m in HubModel.objects.filter(repo_id__in=ids).select_related(*related)
    }
    missing = ids - found.keys()
    if missing:
        aliases = RepoAlias.objects.filter(alias__in=missing)
        for alias in aliases.select_related("model", *(f"model__{r}" for r in related)):
            found[alias.alias] = alias.model
    return found


def _aliases() -> QuerySet[RepoAlias]:
    """The aliases that name a model: an id that a crawled model has itself names that model,
    as models_named() has it, not the model an alias row points at (a legacy "gpt2" crawled as
    itself and also recorded as openai-community/gpt2's old id). NOT EXISTS, an index probe per
    alias: NOT IN hashed all 760,000 ids first (0.5 s for the explorer of a 4,935-model family)."""
    return RepoAlias.objects.exclude(Exists(HubModel.objects.filter(repo_id=OuterRef("alias"))))


def current_ids(repo_ids: Iterable[str]) -> dict[str, str]:
    """Each id that is an alias -> the current repo id of the model it names."""
    rows = _aliases().filter(alias__in=set(repo_ids)).values_list("alias", "model__repo_id")
    return dict(rows)


def parents(model: HubModel) -> list[tuple[LineageEdge, HubModel | None]]:
    edges = list(model.parent_edges.order_by("parent_repo_id"))
    known = models_named(e.parent_repo_id for e in edges)
    return [(e, known.get(e.parent_repo_id)) for e in edges]


def names(model: HubModel) -> list[str]:
    """The ids children may name this model by: its own and its aliases."""
    return [model.repo_id, *_aliases().filter(model=model).values_list("alias", flat=True)]


def names_of(models: dict[int, str]) -> dict[str, str]:
    """Every id children may name these models by (pk -> repo id) -> the model's repo id."""
    out = {repo_id: repo_id for repo_id in models.values()}
    out.update(_aliases().filter(model_id__in=list(models)).values_list("alias", "model__repo_id"))
    return out


def child_edges(model: HubModel, known_names: list[str] | None = None):
    # A renamed repo whose card still names its old id is not its own child.
    edges = LineageEdge.objects.filter(parent_repo_id__in=known_names or names(model))
    return edges.exclude(child_id=model.pk)


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
    """children_counts for many models at once, by repo id: what a node of the explorer or a
    row of a family page says it has below it (one small query for aliases, one GROUP BY)."""
    ids = list(repo_ids)
    out: dict[str, dict[str, int]] = {}
    if not ids:
        return out
    aliases = dict(_aliases().filter(model__repo_id__in=ids).values_list("alias", "model__repo_id"))
    edges = LineageEdge.objects.filter(parent_repo_id__in=[*ids, *aliases])
    if aliases:  # a child naming a model by an alias is counted under the model's own id
        owner = Case(*(When(parent_repo_id=a, then=Value(m)) for a, m in aliases.items()),
                     default=F("parent_repo_id"), output_field=CharField())  # fmt: skip
        edges = edges.annotate(owner=owner).exclude(child__repo_id=F("owner"))
    for (parent, rel), n in _count(
        edges, "owner" if aliases else "parent_repo_id", "relation"
    ).items():
        out.setdefault(parent, {})[rel] = n
    return out


def _count(edges: QuerySet[LineageEdge], *by: str) -> dict[tuple[str, ...], int]:
    """Distinct children per group of `by` (the one GROUP BY behind every count of children);
    keys are (parent or "", relation)."""
    rows = edges.values(*by).annotate(n=Count("child", distinct=True)).order_by(*by)
    parent = by[0] if len(by) > 1 else ""
    return {(r.get(parent, ""), r["relation"]): r["n"] for r in rows}


def children_page(
    model: HubModel,
    relation: str,
    window: slice,
    known: list[str],
    fields: tuple[str, ...],
    n: int | None = None,
) -> list[HubModel]:
    """A window of a model's children of one relation, most downloaded first, loading `fields`
    (a `license_state__x` field loads that relation too).

    A child whose first parent is this model comes from HubModel's (base_parent, base_relation,
    -downloads) index: no join over thousands of edges. Merges (several parents), children that
    name an alias, and any group the index does not hold whole go through the edges: a card with
    two base_models and base_model_relation "finetune" writes two finetune edges, but the child's
    base_relation is "merge" (families: two parents), so the index holds none of it. `n`: the
    group's count from the edges (children_counts), when the caller has it."""
    related = tuple(dict.fromkeys(f.rsplit("__", 1)[0] for f in fields if "__" in f))
    by_index = HubModel.objects.filter(base_parent=model.repo_id, base_relation=relation)
    if (
        relation == Relation.MERGE
        or len(known) > 1  # known: the model's id and aliases
        or by_index.count()
        != (n if n is not None else child_edges(model, known).filter(relation=relation).count())
    ):
        edges = (
            child_edges(model, known).filter(relation=relation)
            .select_related("child", *(f"child__{r}" for r in related))
            .only(*(f"child__{f}" for f in fields), "child")
            .order_by("-child__downloads", "child_id")[window]
        )  # fmt: skip
        return [e.child for e in edges]
    # The window's ids straight off the index in a subquery: joined to another table, the
    # planner may fetch and sort every child of a large parent for the twenty shown.
    ids = by_index.order_by("-downloads", "id").values("id")[window]
    rows = HubModel.objects.filter(pk__in=ids).select_related(*related).only(*fields)
    return sorted(rows, key=lambda m: (-m.downloads, m.pk))


def groups(
    model: HubModel, *, size: int, fields: tuple[str, ...], pages: dict[str, int] | None = None
) -> list[dict[str, Any]]:
    """Direct children grouped by relation, largest group first: each group's count and one
    page of `size` (the first, or the one `pages` asks for), `more` when another follows."""
    known = names(model)
    out = []
    for relation, n in sorted(children_counts(model, known).items(), key=lambda kv: -kv[1]):
        page = (pages or {}).get(relation, 1)
        window = slice((page - 1) * size, page * size + 1)
        found = children_page(model, relation, window, known, fields, n)
        out.append({"relation": relation, "n": n, "page": page, "more": len(found) > size,
                    "children": found[:size]})  # fmt: skip
    return out


def child_ids(model_ids: Iterable[int]) -> list[int]:
    """Ids of the direct children of these models, themselves left out: what an assessment
    fans out to."""
    ids = list(model_ids)
    named = list(names_of(dict(HubModel.objects.filter(pk__in=ids).values_list("pk", "repo_id"))))
    out: set[int] = set()
    for start in range(0, len(named), 5000):
        edges = LineageEdge.objects.filter(parent_repo_id__in=named[start : start + 5000])
        out.update(edges.values_list("child_id", flat=True))
    return sorted(out - set(ids))


def children_naming(repo_id: str) -> list[int]:
    """Ids of the models whose edges name this id as it is written (an old id whose model has
    just become known: their parent is found now)."""
    return sorted(
        set(LineageEdge.objects.filter(parent_repo_id=repo_id).values_list("child_id", flat=True))
    )


def child_models(models: list[HubModel], *, relation: str) -> QuerySet[HubModel]:
    """The direct children of one relation of these models (one step of a walk down)."""
    named = names_of({m.pk: m.repo_id for m in models})
    edges = LineageEdge.objects.filter(parent_repo_id__in=list(named), relation=relation)
    return HubModel.objects.filter(pk__in=edges.values("child_id"))


def ancestors(
    model: HubModel, *, depth: int = 10, related: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """Breadth-first walk up: [{id, relation, depth, known, via, model}], each ancestor once;
    `model` is the ancestor's HubModel (None when not crawled), with `related` loaded."""
    out: list[dict[str, Any]] = []
    seen = {model.repo_id}
    frontier = [model]
    for level in range(1, depth + 1):
        edges = list(
            LineageEdge.objects.filter(child__in=[m.pk for m in frontier])
            .select_related("child").only("parent_repo_id", "relation", "child__repo_id")
        )  # fmt: skip
        known = models_named((e.parent_repo_id for e in edges), related=related)
        frontier = []
        for e in edges:
            parent = known.get(e.parent_repo_id)
            pid = parent.repo_id if parent else e.parent_repo_id
            if pid in seen:
                continue
            seen.add(pid)
            out.append({"id": pid, "relation": e.relation, "depth": level, "known": parent is not None,
                        "via": e.child.repo_id, "model": parent})  # fmt: skip
            if parent:
                frontier.append(parent)
        if not frontier:
            break
    return out


def ancestor_models(model: HubModel, *, depth: int = 10) -> list[HubModel]:
    """The crawled ancestors, nearest first."""
    return [a["model"] for a in ancestors(model, depth=depth) if a["model"]]


def descendants(model: HubModel, *, depth: int = 1, limit: int = 500) -> list[dict[str, Any]]:
    """Breadth-first walk down, at most `limit` nodes: [{id, relation, depth, via}]."""
    out: list[dict[str, Any]] = []
    seen = {model.repo_id}
    frontier = names_of({model.pk: model.repo_id})
    for level in range(1, depth + 1):
        rows = (
            LineageEdge.objects.filter(parent_repo_id__in=list(frontier))
            .order_by("-child__downloads", "child_id")
            .values_list("child_id", "child__repo_id", "relation", "parent_repo_id")[
                : limit - len(out)
            ]
        )
        below: dict[int, str] = {}
        for pk, child, relation, parent in rows:
            if child in seen:
                continue
            seen.add(child)
            out.append({"id": child, "relation": relation, "depth": level, "via": frontier[parent]})
            below[pk] = child
        if not below or len(out) >= limit or level == depth:
            break
        frontier = names_of(below)
    return out


def up_map(repo_ids: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
    """child repo id -> [(parent's current id, relation)] for these models and all their
    ancestors, one level per query (what a model's family and first parent are read from)."""
    up: dict[str, list[tuple[str, str]]] = {}
    frontier = set(repo_ids)
    # No depth bound: each id is read once (a cycle ends where it closes), so the walk stops at
    # the roots as whole_up_map does, and both passes give a deep chain the same family.
    while True:
        frontier -= up.keys()
        if not frontier:
            break
        for rid in frontier:
            up[rid] = []
        rows = LineageEdge.objects.filter(child__repo_id__in=frontier).order_by("parent_repo_id")
        edges = list(rows.values_list("child__repo_id", "parent_repo_id", "relation"))
        current = current_ids(p for _, p, _ in edges)
        for child, parent, relation in edges:
            up[child].append((current.get(parent, parent), relation))
        frontier = {p for rid in frontier for p, _ in up[rid]}
    return up


def whole_up_map() -> dict[str, list[tuple[str, str]]]:
    """up_map over the whole catalog, read in one pass (the bulk refresh)."""
    current = dict(_aliases().values_list("alias", "model__repo_id"))
    up: dict[str, list[tuple[str, str]]] = defaultdict(list)
    rows = LineageEdge.objects.order_by("parent_repo_id").values_list(
        "child__repo_id", "parent_repo_id", "relation"
    )
    for child, parent, relation in rows.iterator(chunk_size=20000):
        up[child].append((current.get(parent, parent), relation))
    return up


def root_of(repo_id: str, up: dict[str, list[tuple[str, str]]]) -> str:
    """The root reached by following first parents (a cycle stops where it closes)."""
    seen = {repo_id}
    current = repo_id
    while up.get(current):
        parent = up[current][0][0]
        if parent in seen:
            break
        seen.add(parent)
        current = parent
    return current
