"""Effective license along the lineage: what a model inherits from its ancestors.

A model's effective verdict is the most restrictive of its own and all its ancestors' verdicts
(prohibited < conditional < allowed; a merge has several parents); its effective conditions are
the union of theirs. A model with no license of its own stays `unknown` unless an ancestor is
`prohibited` or `conditional`, whose verdict it then takes. An ancestor whose license is unknown
restricts nothing (it is shown in the path and names the lineage status); an ancestor not
crawled yet makes the lineage incomplete. `conflict`: the declared verdict is more permissive
than the effective one.

The lineage status (`State.status`) says how far the terms behind the verdict could be read, the
gravest first: a derivative (adapter, quantization, merge) upstream or itself naming no base;
ancestors not crawled; an ancestor whose license is unknown or a bare `other`; complete.

Everything here is pure: `combine` derives a child's state from its own result and its parents'
states, so the same function serves whole-graph propagation (`propagate`, topological order over
edges held in memory) and the incremental re-assessment of a model and its descendants.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from .classify import RANK, UNKNOWN, kb, more_permissive
from .models import LineageStatus

BY_RANK = {rank: verdict for verdict, rank in RANK.items()}
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
NO_RANK = 9
MAX_ROUNDS = 50  # over a cycle; each round can only add what a parent passes on


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
    unknown_terms: tuple[str, ...] = ()  # crawled ancestors whose license is unknown
    no_base: bool = False  # a derivative itself, naming no base
    baseless: tuple[str, ...] = ()  # ancestors that are such derivatives
    suspect_key: str = ""  # the license of its own suspected base (licenses.suspects), a root's
    suspected: tuple[str, ...] = ()  # ancestors with a suspected base
    suspected_keys: frozenset[str] = frozenset()  # those suspected bases' licenses

    @property
    def suspicion_keys(self) -> frozenset[str]:
        """The licenses that suspected bases, its own or upstream, would bind it to."""
        return self.suspected_keys | {self.suspect_key} if self.suspect_key else self.suspected_keys

    @property
    def status(self) -> str:
        if self.no_base or self.baseless:
            return LineageStatus.NO_BASE.value
        if not self.complete or self.missing:
            return LineageStatus.MISSING_ANCESTORS.value
        if self.unknown_terms:
            return LineageStatus.UNKNOWN_ANCESTOR_TERMS.value
        return LineageStatus.COMPLETE.value

    @property
    def gaps(self) -> dict[str, list[str]]:
        """The ancestors each status names (stored, so a child re-assessed alone names them)."""
        gaps = {"missing": list(self.missing), "unknown_terms": list(self.unknown_terms),
                "baseless": list(self.baseless)}  # fmt: skip
        if self.suspected:  # not a gap of the status: ancestors a reviewer should look at
            gaps.update(suspected=list(self.suspected), suspected_keys=sorted(self.suspected_keys))
        return gaps

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
    unknown: list[str] = []
    baseless: list[str] = []
    suspected: list[str] = []
    suspected_keys: set[str] = set()
    for pid, p in parents:
        if p is None:
            complete = False
            missing.append(pid)
            continue
        complete = complete and p.complete
        missing.extend(p.missing)
        if p.verdict == UNKNOWN:
            unknown.append(pid)
        unknown.extend(p.unknown_terms)
        if p.no_base:
            baseless.append(pid)
        baseless.extend(p.baseless)
        if p.suspect_key:
            suspected.append(pid)
            suspected_keys.add(p.suspect_key)
        suspected.extend(p.suspected)
        suspected_keys.update(p.suspected_keys)
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
        _names(missing),
        _names(unknown),
        False,
        _names(baseless),
        "",
        _names(suspected),
        _intern(frozenset(suspected_keys)),
    )


def _names(ids: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(ids))[:20]


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


def root(key: str | None, verdict: str, *, lacks_base: bool = False, suspect: str = "") -> State:
    """A node without parents: complete, unless it is a derivative whose base is not known
    (an adapter, quantization or merge naming none), whose upstream terms nobody can check.
    suspect: the license of the base it probably derives from though it names none."""
    return State(key, verdict, complete=not lacks_base, no_base=lacks_base, suspect_key=suspect)


def propagate(
    own: Mapping[str, tuple[str | None, str]],
    parents: Mapping[str, list[str]],
    derivatives: frozenset[str] | set[str] = frozenset(),
    suspects: Mapping[str, str] | None = None,
) -> dict[str, State]:
    """Whole-graph propagation. own: id -> (key, verdict); parents: id -> parent ids;
    derivatives: those without parents name no base (root()); suspects: id -> the license of
    its suspected base, for those without parents.

    Kahn's topological order over the in-memory edges. A cycle (the Hub has a few models naming
    each other as base) is entered at one of its nodes, reading its parents not settled yet as
    absent; then what was settled from there on is combined again, round after round, until
    nothing changes: the state where each node is what `combine` makes of its parents' states,
    which the incremental assessment (reading the stored states) finds too.
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

    def settle(node: str) -> State:
        key, verdict = own[node]
        # A model naming itself as its base names no base (assessment's _batch_states too).
        node_parents = [p for p in parents.get(node, ()) if p != node]
        read = [(p, states.get(p)) for p in node_parents if p in states or p not in own]
        if read:
            return combine(key, verdict, read)
        suspect = (suspects or {}).get(node, "") if not node_parents else ""
        return root(key, verdict, lacks_base=node in derivatives and not node_parents,
                    suspect=suspect)  # fmt: skip

    queue = deque(node for node in own if node not in waiting)
    late: list[str] = []  # settled from the first cycle on, in their order
    cycles = False
    while True:
        while queue:
            node = queue.popleft()
            states[node] = settle(node)
            if cycles:
                late.append(node)
            for child in children.get(node, ()):
                if child not in waiting:  # already settled as part of a cycle
                    continue
                waiting[child] -= 1
                if not waiting[child]:
                    del waiting[child]
                    queue.append(child)
        if not waiting:
            break
        # A cycle: enter it at one of its nodes with what is known and carry on.
        node = next(iter(waiting))
        del waiting[node]
        queue.append(node)
        cycles = True
    again_until_settled(late, settle, states)
    return states


def again_until_settled(late: list[K], settle: Callable[[K], V], states: dict[K, V]) -> None:
    """The nodes settled from the first cycle on, combined again round after round until nothing
    changes (MAX_ROUNDS at most): the fixed point a cycle's incremental fan-out reaches too. Each
    walk over the lineage (this module's verdicts, licenses.training's datasets) ends so."""
    for _ in range(MAX_ROUNDS):
        changed = False
        for node in late:
            state = settle(node)
            if state != states[node]:
                states[node], changed = state, True
        if not changed:
            return
