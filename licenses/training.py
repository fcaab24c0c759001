"""A model's training-data standing: what the licenses of the datasets it was trained on say,
kept apart from its weights' verdict.

A model carries its own declared datasets and its ancestors' (a fine-tune carries its base's
training data; a merge, each parent's). Each dataset's license is resolved from its record with
the same knowledge base and evidence rules as a model's (licenses.resolve): its `license:` tags
and card. `commercial` is the most restrictive verdict among them; `status` is `complete` when
every carried dataset has a known verdict, `datasets_unknown` (naming them) when one is not
crawled, not on the Hub, or under unknown terms, `none_declared` when nothing is carried.

Whether a dataset's license binds the weights trained on it is a legal question, so the
standing never changes the effective verdict: `conflict` says that the weights' effective
verdict is more permissive than the training data's, with a sentence naming the dataset, and
policies decide (approvals.policy).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .classify import RANK, UNKNOWN, classify, kb, more_permissive
from .inherit import again_until_settled
from .models import DataStatus
from .resolve import resolve

MAX_CARRIED = 200  # datasets carried per model, its own first (the rest are left out)
COMPLETE, UNKNOWN_DATASETS, NONE_DECLARED = (
    DataStatus.COMPLETE.value, DataStatus.DATASETS_UNKNOWN.value, DataStatus.NONE_DECLARED.value
)  # fmt: skip
BY_RANK = {rank: verdict for verdict, rank in RANK.items()}

K = TypeVar("K", bound=Hashable)
Carried = tuple[str, str, str]  # (dataset id, how it was declared, via: "" or the ancestor)


@dataclass(frozen=True)
class DatasetTerms:
    """One dataset's license as Canopy reads it."""

    key: str | None
    verdict: str
    conditions: tuple[tuple[str, str], ...]
    state: str  # read, not_crawled (not asked yet), not_on_hub (the Hub has none)
    evidence: tuple[dict[str, Any], ...] = field(default=(), compare=False)


def terms(record: Any) -> DatasetTerms:
    """A dataset's license from its stored record (catalog.models.HubDataset, or None)."""
    if record is None:
        return DatasetTerms(None, UNKNOWN, (), "not_crawled")
    if not record.found:
        return DatasetTerms(None, UNKNOWN, (), "not_on_hub")
    tags = record.tags if isinstance(record.tags, list) else []
    res = resolve(repo_id=record.repo_id, tags=[t for t in tags if isinstance(t, str)],
                  card=record.card_data, files={})  # fmt: skip
    verdict, conditions = classify(res.key)
    return DatasetTerms(
        res.key, verdict, tuple((c["code"], c["value"]) for c in conditions), "read",
        tuple(res.evidence),
    )  # fmt: skip


@dataclass(frozen=True)
class Standing:
    commercial: str
    status: str
    conditions: list[dict[str, str]] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    conflict: bool = False
    reasons: list[str] = field(default_factory=list)
    datasets: list[dict[str, Any]] = field(default_factory=list)


def standing(
    carried: Iterable[Carried], terms_of: Mapping[str, DatasetTerms], effective: str
) -> Standing:
    """The standing of a model carrying these datasets, whose weights' verdict is `effective`."""
    rows: list[dict[str, Any]] = []
    rank: int | None = None
    unknown: list[str] = []
    codes: dict[str, str] = {}
    for dataset, source, via in carried:
        t = terms_of.get(dataset) or DatasetTerms(None, UNKNOWN, (), "not_crawled")
        rows.append({"id": dataset, "license": t.key or "", "commercial": t.verdict,
                     "source": source, "via": via, "state": t.state})  # fmt: skip
        if t.verdict in RANK:
            rank = RANK[t.verdict] if rank is None else min(rank, RANK[t.verdict])
            for code, value in t.conditions:
                codes.setdefault(code, value)
        else:
            unknown.append(dataset)
    if not rows:
        return Standing(UNKNOWN, NONE_DECLARED)
    commercial = BY_RANK[rank] if rank is not None else UNKNOWN
    conflict = more_permissive(effective, commercial)
    return Standing(
        commercial,
        UNKNOWN_DATASETS if unknown else COMPLETE,
        [{"code": c, "value": v} for c, v in codes.items()],
        unknown[:20],
        conflict,
        _reasons(rows, effective) if conflict else [],
        rows,
    )


def _reasons(rows: list[dict[str, Any]], effective: str) -> list[str]:
    """One sentence per dataset more restrictive than the weights, the most restrictive first."""
    worse = [r for r in rows if more_permissive(effective, r["commercial"])]
    worse.sort(key=lambda r: RANK[r["commercial"]])
    out = []
    for r in worse[:5]:
        entry = kb().get(r["license"])
        name = entry.name if entry else r["license"]
        via = f", declared by its ancestor {r['via']}" if r["via"] else ""
        out.append(
            f"Its weights are {effective}, but it was trained on {r['id']}{via}, licensed "
            f"{name} ({r['commercial']}): whether those terms bind the weights is for a policy "
            "to decide."
        )
    return out


def carry(
    own: Mapping[K, list[tuple[str, str]]],
    parents: Mapping[K, list[K]],
    stored: Mapping[K, list[Carried]] | None = None,
    name: Mapping[K, str] | None = None,
) -> dict[K, list[Carried]]:
    """What each node of `own` carries: its own declared datasets (id, source), then each
    parent's carried datasets, marked with the ancestor that declared them. A parent outside
    `own` is read from `stored` (its stored state; absent: carries nothing).

    Parents first, by an explicit stack (a hostile chain of 20,000 models is one more input, not
    a RecursionError). A cycle is entered at one of its members, reading the others as stored;
    then what was settled from there on is combined again, round after round, until nothing
    changes, as inherit.propagate does: the fixed point the incremental fan-out reaches too."""
    stored = stored or {}
    name = name or {}
    done: dict[K, list[Carried]] = {}
    late: list[K] = []  # settled from the first cycle on, in their order

    def settle(node: K) -> list[Carried]:
        out: dict[str, Carried] = {}
        for dataset, source in own[node]:
            out.setdefault(dataset, (dataset, source, ""))
        me = str(name.get(node, node))
        # Parents by name: the batch (by pk) and the whole pass (by id) read edges in other
        # orders, and the first parent to carry a dataset names it.
        for p in sorted(parents.get(node, ()), key=lambda p: str(name.get(p, p))):
            if p == node:
                continue
            via_p = str(name.get(p, p))
            for dataset, source, via in done.get(p, stored.get(p, [])):
                # What it declared itself, come back round a cycle, is its own to drop: a
                # partner's stored row must not keep a dataset it no longer declares.
                if (via or via_p) != me:
                    out.setdefault(dataset, (dataset, source, via or via_p))
        return list(out.values())[:MAX_CARRIED]

    for start in own:
        stack: list[tuple[K, bool]] = [(start, False)]
        active: set[K] = set()
        while stack:
            node, expanded = stack.pop()
            if node in done:
                continue
            ps = [p for p in parents.get(node, ()) if p != node and p in own]
            if not expanded:
                active.add(node)
                stack.append((node, True))
                stack.extend((p, False) for p in ps if p not in done and p not in active)
                continue
            active.discard(node)
            if late or any(p not in done for p in ps):
                late.append(node)
            done[node] = settle(node)
    again_until_settled(late, settle, done)
    return done


def stored_carried(value: Any) -> list[Carried]:
    """A stored `data_carried` as carry() passes it on, whatever a row holds (never trusted)."""
    out = []
    for item in value if isinstance(value, list) else []:
        if isinstance(item, list) and len(item) == 3 and all(isinstance(x, str) for x in item):
            out.append((item[0], item[1], item[2]))
    return out[:MAX_CARRIED]


ROW_KEYS = ("id", "license", "commercial", "source", "via", "state")


def reasons_of(value: Any) -> list[str]:
    """Stored conflict reasons as sentences (strings only)."""
    return [r for r in value if isinstance(r, str)][:5] if isinstance(value, list) else []


def conditions_of(value: Any) -> list[dict[str, str]]:
    """Stored conditions as {code, value} of strings."""
    out = []
    for c in value if isinstance(value, list) else []:
        if isinstance(c, dict) and isinstance(c.get("code"), str):
            v = c.get("value", "")
            out.append({"code": c["code"], "value": v if isinstance(v, str) else ""})
    return out[:50]


def rows_of(value: Any) -> list[dict[str, str]]:
    """A stored assessment's `datasets` as the pages read them: well-formed rows only (a row
    written by other code, or by hand, is read, never trusted)."""
    out = []
    for row in value if isinstance(value, list) else []:
        if not isinstance(row, dict) or not all(isinstance(row.get(k), str) for k in ROW_KEYS):
            continue
        if row["id"] and row["commercial"] in (*RANK, UNKNOWN):
            out.append({k: row[k] for k in ROW_KEYS})
    return out[:MAX_CARRIED]


@dataclass(frozen=True)
class Figure:
    """Over the catalog: models whose own verdict is allowed and that declare training data."""

    allowed: int  # declaring a dataset
    prohibited: int  # of them, declaring one whose verdict is prohibited
    unclassified: int  # of them, declaring one Canopy cannot classify

    @property
    def percent(self) -> str:
        return f"{100 * self.prohibited / self.allowed:.1f}%" if self.allowed else "—"


def figure() -> Figure:
    """The issue's figure from the catalog (the study's table: about 7% of permissive models):
    own datasets only, as the study counts them; `make eval` gives it over the 2024 list."""
    from catalog.models import HubDataset, TrainingData

    verdicts = {d.repo_id: terms(d).verdict for d in HubDataset.objects.defer("raw")}
    seen: dict[int, set[str]] = {}
    links = TrainingData.objects.filter(model__license_state__verdict="allowed")
    for mid, name in links.values_list("model_id", "dataset_repo_id").iterator(chunk_size=20000):
        seen.setdefault(mid, set()).add(verdicts.get(name, UNKNOWN))
    return Figure(
        len(seen),
        sum("prohibited" in v for v in seen.values()),
        sum(UNKNOWN in v for v in seen.values()),
    )
