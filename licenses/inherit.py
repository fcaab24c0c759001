"""Effective license along the lineage: what a model inherits from its ancestors.

A model's effective verdict is the most restrictive of its own and all its ancestors' verdicts
(prohibited < conditional < allowed; a merge has several parents); its effective conditions are
the union of theirs. A model with no license of its own stays `unknown` unless an ancestor is
`prohibited` or `conditional`, whose verdict it then takes. An ancestor whose license is unknown
restricts nothing (it is shown in the path); an ancestor not crawled yet makes the lineage
incomplete. `conflict`: the declared verdict is more permissive than the effective one.

Everything here is pure: `combine` derives a child's state from its own result and its parents'
states, so the same function serves whole-graph propagation (`propagate`, topological order over
edges held in memory) and the incremental re-assessment of a model and its descendants.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .classify import RANK, UNKNOWN, kb, more_permissive

BY_RANK = {rank: verdict for verdict, rank in RANK.items()}
NO_RANK = 9


@dataclass(frozen=True)
class State:
    """What a node passes to its children: its own license and what it inherited."""

    key: str | None
    verdict: str
    inherited_rank: int = NO_RANK  # most restrictive known verdict among its ancestors
    restrictor: str = ""  # the ancestor that holds it (nearest first)
    restrictor_key: str = ""
    inherited_keys: frozenset[str] = frozenset()
    complete: bool = True
    missing: tuple[str, ...] = ()

    @property
    def inherited_verdict(self) -> str:
        return BY_RANK.get(self.inherited_rank, "")

    @property
    def effective(self) -> str:
        own = RANK.get(self.verdict)
        if own is None:
            return self.inherited_verdict if self.inherited_rank <= RANK["conditional"] else UNKNOWN
        return BY_RANK[min(own, self.inherited_rank)]

    @property
    def conflict(self) -> bool:
        return more_permissive(self.verdict, self.effective)


_interned: dict[frozenset[str], frozenset[str]] = {}


def _intern(keys: frozenset[str]) -> frozenset[str]:
    return _interned.setdefault(keys, keys)


def combine(key: str | None, verdict: str, parents: Iterable[tuple[str, State | None]]) -> State:
    """A node's state from its own result and its parents' (id, state); None: not crawled."""
    rank, restrictor, restrictor_key = NO_RANK, "", ""
    keys: set[str] = set()
    complete = True
    missing: list[str] = []
    for pid, p in parents:
        if p is None:
            complete = False
            missing.append(pid)
            continue
        complete = complete and p.complete
        missing.extend(p.missing)
        own = RANK.get(p.verdict, NO_RANK)
        if own < rank:  # the parent itself first: the nearest ancestor names the restriction
            rank, restrictor, restrictor_key = own, pid, p.key or ""
        if p.inherited_rank < rank:
            rank, restrictor, restrictor_key = p.inherited_rank, p.restrictor, p.restrictor_key
        if p.key and p.verdict != UNKNOWN:
            keys.add(p.key)
        keys.update(p.inherited_keys)
    return State(
        key,
        verdict,
        rank,
        restrictor,
        restrictor_key,
        _intern(frozenset(keys)),
        complete,
        tuple(dict.fromkeys(missing))[:20],
    )


def effective_conditions(
    own: list[dict[str, str]], inherited_keys: Iterable[str]
) -> list[dict[str, str]]:
    """Union of the model's conditions and its ancestors' licenses' conditions, by code."""
    out = {c["code"]: c["value"] for c in own}
    entries = kb().entries
    for key in sorted(inherited_keys):
        entry = entries.get(key)
        if entry:
            for code, value in entry.conditions:
                out.setdefault(code, value)
    return [{"code": c, "value": v} for c, v in out.items()]


def conflict_reasons(state: State) -> list[str]:
    if not state.conflict:
        return []
    entry = kb().get(state.restrictor_key)
    terms = ", ".join(c for c, _ in entry.conditions[:6]) if entry else ""
    name = entry.name if entry else state.restrictor_key
    return [
        f"Declares {state.key} ({state.verdict}) but derives from {state.restrictor}, licensed "
        f"{name} ({state.effective}{': ' + terms if terms else ''}); its terms bind this model."
    ]


def root(key: str | None, verdict: str, *, lacks_base: bool = False) -> State:
    """A node without parents: complete, unless it is a derivative whose base is not known
    (an adapter naming none), whose upstream terms nobody can check."""
    return State(key, verdict, complete=not lacks_base)


def propagate(
    own: Mapping[str, tuple[str | None, str]],
    parents: Mapping[str, list[str]],
    adapters: frozenset[str] | set[str] = frozenset(),
) -> dict[str, State]:
    """Whole-graph propagation. own: id -> (key, verdict); parents: id -> parent ids;
    adapters: those without parents name no base (root()).

    Kahn's topological order over the in-memory edges; members of a cycle (the Hub has a few
    self-referencing base_model tags) are settled last, reading their unsettled parents as missing.
    """
    children: dict[str, list[str]] = {}
    waiting: dict[str, int] = {}
    for node, ps in parents.items():
        n = 0
        for p in ps:
            if p in own and p != node:
                children.setdefault(p, []).append(node)
                n += 1
        if n:
            waiting[node] = n
    states: dict[str, State] = {}
    queue = deque(node for node in own if node not in waiting)
    while True:
        while queue:
            node = queue.popleft()
            key, verdict = own[node]
            node_parents = parents.get(node)
            states[node] = (
                combine(key, verdict, [(p, states.get(p)) for p in node_parents if p != node])
                if node_parents
                else root(key, verdict, lacks_base=node in adapters)
            )
            for child in children.get(node, ()):
                if child not in waiting:  # already settled as part of a cycle
                    continue
                waiting[child] -= 1
                if not waiting[child]:
                    del waiting[child]
                    queue.append(child)
        if not waiting:
            return states
        # A cycle: settle one of its nodes with what is known and carry on.
        node = next(iter(waiting))
        del waiting[node]
        queue.append(node)
