"""Families of variants: the derived columns the search facets and family pages read.

`refresh(ids)` runs at ingest for the models a crawl wrote; `refresh_all()` is the bulk pass
(`manage.py refresh_catalog`) after a large crawl or when a parent arrives late. Both announce
what they wrote (catalog.signals.models_derived): the read side's search entries follow.
base_relation: "base" without a parent, else the relation to the parent (merge with several).
base_family: the root reached by following each model's first parent (an uncrawled root keeps
its id); a base model with children is its own family; a lone base model has none.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import connection
from django.db.models import BigIntegerField, Count, ExpressionWrapper, F, Max, Q, QuerySet

from . import bulk, cards, hardware, lineage, signals
from .models import HubModel, LineageEdge, ModelFile, Relation, RepoAlias

DERIVED = ["base_relation", "base_parent", "base_family", "weights_format", "params_estimate", "params_source",
           "quant", "bits", "memory_gb", "param_bucket", "summary"]  # fmt: skip
KINDS = [
    (Relation.QUANTIZED, "Quantizations"),
    (Relation.ADAPTER, "Adapters"),
    (Relation.FINETUNE, "Fine-tunes"),
    (Relation.MERGE, "Merges"),
    (Relation.UNSPECIFIED, "Other derivatives"),
]


def weights_format(formats: Iterable[str]) -> str:
    fmts = set(formats)
    if "gguf" in fmts:
        return "gguf"
    if "safetensors" in fmts:
        return "safetensors"
    if "pickle" in fmts:
        return "pickle-only"
    return "other" if fmts else ""


def _relation(parents: list[tuple[str, str]]) -> str:
    if not parents:
        return "base"
    if len(parents) > 1:
        return Relation.MERGE
    return parents[0][1]


def _derive(
    m: HubModel, up, with_children: set[str], readme: dict[int, str], files: dict[int, Any]
) -> None:
    parents = up.get(m.repo_id, [])
    m.base_relation = _relation(parents)
    m.base_parent = parents[0][0][:200] if parents else ""
    if parents:
        m.base_family = lineage.root_of(m.repo_id, up)[:200]
    else:
        m.base_family = m.repo_id if m.repo_id in with_children else ""
    m.weights_format = weights_format(m.formats)
    est = hardware.estimate(repo_id=m.repo_id, parameter_count=m.parameter_count, tags=m.tags,
                            library=m.library_name, formats=m.formats,
                            files=files.get(m.pk))  # fmt: skip
    m.params_estimate, m.params_source = est.params, est.params_source
    m.quant, m.bits, m.memory_gb, m.param_bucket = est.quant, est.bits, est.memory_gb, est.bucket
    if m.pk in readme:
        m.summary = cards.summary(readme[m.pk])


COLUMNS = ["id", "repo_id", "tags", "library_name", "formats", "parameter_count", "summary"]


def _write(models: list[HubModel], up, with_children: set[str]) -> None:
    readme = dict(
        ModelFile.objects.filter(model__in=[m.pk for m in models], path="README.md").values_list(
            "model_id", "text"
        )
    )
    # File names say which quantizations a GGUF repo ships; only those repos' (heavy) lists
    # are read.
    gguf = [m.pk for m in models if "gguf" in m.formats]
    files = dict(HubModel.objects.filter(pk__in=gguf).values_list("pk", "siblings")) if gguf else {}
    for m in models:
        _derive(m, up, with_children, readme, files)
    _update(models)
    signals.models_derived.send(sender=HubModel, model_ids=[m.pk for m in models], since=None)


def _update(models: list[HubModel]) -> None:
    if connection.vendor != "postgresql":
        HubModel.objects.bulk_update(models, DERIVED, batch_size=1000)
        return
    # bulk_update's CASE WHEN per column is slow on 760k rows; one UPDATE ... FROM (VALUES).
    table = HubModel._meta.db_table
    casts = {
        "params_estimate": "bigint",
        "bits": "double precision",
        "memory_gb": "double precision",
    }
    sets = ", ".join(f"{c} = v.{c}::{casts.get(c, 'text')}" for c in DERIVED)
    # A row whose derived values are unchanged is not rewritten (nor are its index entries).
    same = " OR ".join(
        f"{table}.{c} IS DISTINCT FROM v.{c}::{casts.get(c, 'text')}" for c in DERIVED
    )
    for start in range(0, len(models), 2000):
        batch = models[start : start + 2000]
        row = "(" + ", ".join(["%s"] * (len(DERIVED) + 1)) + ")"
        values = ", ".join([row] * len(batch))
        params = [x for m in batch for x in (m.pk, *(getattr(m, c) for c in DERIVED))]
        sql = (f"UPDATE {table} SET {sets} FROM (VALUES {values}) AS v (id, {', '.join(DERIVED)}) "
               f"WHERE {table}.id = v.id::bigint AND ({same})")  # fmt: skip
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


def refresh(ids: list[int]) -> None:
    """Recompute the derived columns of these models (and re-root descendants that moved)."""
    if not ids:
        return
    models = list(HubModel.objects.filter(pk__in=ids).only(*COLUMNS))
    # Models that were the root of a family (or new) before this refresh.
    was_root = {m.repo_id for m in models if m.base_family in ("", m.repo_id)}
    before = {m.pk: m.base_family for m in models}
    up = lineage.up_map(m.repo_id for m in models)
    named = lineage.names_of({m.pk: m.repo_id for m in models})
    with_children = {
        named[r[0]]
        for r in bulk.find(LineageEdge, "parent_repo_id", list(named), ["parent_repo_id"])
    }
    _write(models, up, with_children)
    # A root that gained a parent takes its former descendants into its new family (one
    # query finds the rare case; an update per moved family follows).
    moved = {
        m.repo_id: m.base_family
        for m in models
        if m.repo_id in was_root and m.base_family not in ("", m.repo_id)
    }
    # A renamed root: its family was its old id (now its alias); its descendants follow it.
    named_before = set(
        RepoAlias.objects.filter(model_id__in=list(before), alias__in=set(before.values()))
        .values_list("model_id", "alias")
    )  # fmt: skip
    moved.update(
        {before[m.pk]: m.base_family for m in models
         if (m.pk, before[m.pk]) in named_before and before[m.pk] != m.base_family}
    )  # fmt: skip
    if moved:
        stale = (
            HubModel.objects.filter(base_family__in=list(moved))
            .values_list("base_family", flat=True)
            .distinct()
        )
        for old in list(stale):
            ids = list(HubModel.objects.filter(base_family=old).values_list("pk", flat=True))
            HubModel.objects.filter(pk__in=ids).update(base_family=moved[old])
            # Found by testing: the search table kept the old family until refresh_catalog.
            signals.models_derived.send(sender=HubModel, model_ids=ids, since=None)


def refresh_all(*, chunk: int = 5000) -> int:
    """The bulk pass over the whole catalog; the lineage is loaded once, in memory."""
    up = lineage.whole_up_map()
    with_children = {p for parents in up.values() for p, _ in parents}
    done, last = 0, 0
    while True:
        models = list(HubModel.objects.filter(pk__gt=last).order_by("pk").only(*COLUMNS)[:chunk])
        if not models:
            return done
        _write(models, up, with_children)
        done += len(models)
        last = models[-1].pk


# --- Family pages ---------------------------------------------------------------------------
# A family page lists the root's own variants by relation, with the counts every other page
# gives (lineage.children_counts), then the variants of those variants (a quantization of a
# fine-tune) under the variant they derive from.


def members(root: HubModel) -> QuerySet[HubModel]:
    return (
        HubModel.objects.filter(base_family=root.repo_id).exclude(pk=root.pk).defer(*HubModel.HEAVY)
    )


def direct(root: HubModel, known: list[str], relation: str, within: QuerySet[HubModel]):
    """The root's direct children of one relation among `within`, most downloaded first."""
    ids = lineage.child_edges(root, known).filter(relation=relation).values("child_id")
    # Sorted by an expression, not the column: PostgreSQL would otherwise walk the whole
    # downloads index looking for the few thousand children (107 ms instead of 11 on 760k).
    by_downloads = ExpressionWrapper(F("downloads") + 0, output_field=BigIntegerField())
    return within.filter(pk__in=ids).order_by(by_downloads.desc(), "id")


def further(root: HubModel, known: list[str], within: QuerySet[HubModel]) -> QuerySet[HubModel]:
    """Members of the root's family that derive from one of its variants, not from the root."""
    own = lineage.child_edges(root, known).values("child_id")
    return members(root).filter(pk__in=within.values("pk")).exclude(pk__in=own)


def kind_counts(qs: QuerySet[HubModel]) -> dict[str, int]:
    rows = qs.values("base_relation").annotate(n=Count("id")).order_by()
    return {r["base_relation"]: r["n"] for r in rows}


def quant_groups(qs: QuerySet[HubModel]) -> list[dict[str, Any]]:
    """Quantizations by format and bit width: [{weights_format, quant, bits, n, memory_gb,
    params_source}] (params_source "name" when any of the group's sizes is a guess)."""
    rows = (
        qs.values("weights_format", "quant", "bits")
        .annotate(n=Count("id"), memory_gb=Max("memory_gb"),
                  guessed=Count("id", filter=Q(params_source="name")))
        .order_by("bits", "weights_format", "quant")
    )  # fmt: skip
    return [
        {**{k: v for k, v in r.items() if k != "guessed"},
         "params_source": "name" if r["guessed"] else "metadata"}
        for r in rows
    ]  # fmt: skip


def article(phrase: str) -> str:
    """ "a" or "an" as the phrase is spoken: an adapter, an AWQ, an 8-bit, a GGUF, a Q4_K_M."""
    word = phrase.split(" ", 1)[0]
    if word[:1].isdigit():
        return "an" if word.startswith(("8", "11", "18")) else "a"
    if word.isupper() and len(word) > 1 and "_" not in word:  # an acronym, read letter by letter
        return "an" if word[0] in "AEFHILMNORSX" else "a"
    return "an" if word[:1].lower() in "aeiou" else "a"


def describe(model: HubModel, parents: list[tuple[Any, HubModel | None]]) -> str:
    """What a model is, in one line: "a Q4_K_M GGUF quantization of X by Y"."""
    names = [p.repo_id if p else e.parent_repo_id for e, p in parents]
    of = " and ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    by = f" by {model.author}" if model.author else ""
    rel = model.base_relation or (parents[0][0].relation if parents else "base")
    lora = "LoRA " if "lora" in {t.lower() for t in model.tags} else ""
    kind = None if parents else lineage.derivative_kind(model)
    if kind == Relation.ADAPTER:
        return f"{article(lora or 'adapter')} {lora}adapter{by} that names no base"
    if kind == Relation.QUANTIZED:
        return f"a quantization{by} that names no base model"
    if kind == Relation.MERGE:
        return f"a merge{by} that names none of its bases"
    if not parents or rel == "base":
        return f"a base model{by}"
    if rel == Relation.QUANTIZED:
        # The quantization is named only where it was read (hardware.facts decides).
        fmt = {"gguf": "GGUF", "safetensors": "safetensors"}.get(model.weights_format, "")
        f = hardware.facts(model)
        named = f.quant if f.quant != "16-bit" and not (f.quant_guess or f.several) else ""
        what = " ".join(x for x in (named, fmt) if x)
        line = f"{article(what or 'quantization')} {what + ' ' if what else ''}quantization of {of}{by}"
        if f.quant_guess:
            return f"{line} (which quantization is not known: {f.quant} is assumed)"
        if f.several:
            return f"{line}, in several quantizations from {f.lowest} to {f.highest}"
        return line
    if rel == Relation.ADAPTER:
        return f"{article(lora or 'adapter')} {lora}adapter of {of}{by}"
    if rel == Relation.MERGE:
        return f"a merge of {of}{by}"
    if rel == Relation.FINETUNE:
        return f"a fine-tune of {of}{by}"
    return f"a derivative of {of}{by}"
