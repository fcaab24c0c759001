"""Policies as data: which rule decides a (model, intended use), and a dry run over the catalog."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from catalog.models import HubModel
from licenses.models import ModelLicense
from usage.models import UsageProfile
from usage.verdict import FIELDS, Inputs, answer, inputs_of

from .models import Action, IntendedUse, Policy, Tri


@dataclass
class Facts:
    """What a rule may look at, read from the model and its current license result."""

    author: str
    gated: bool
    declared: str = ""
    effective: str = "unknown"
    conflict: bool = False
    lineage_status: str = ""  # "" before the first assessment
    suspected_base: bool = False  # its own or an ancestor's (licenses.suspects)
    data_commercial: str = "unknown"  # its training data's (licenses.training)
    data_status: str = ""  # "" before the first assessment
    data_conflict: bool = False
    codes: set[str] = field(default_factory=set)
    inputs: Inputs = Inputs(assessed=False)  # what a profile's verdict reads (usage.verdict)


def facts_for(model: HubModel) -> Facts:
    state = ModelLicense.objects.filter(model=model).select_related("assessment").first()
    return _facts(model.author, model.gated, state, model.pipeline_tag)


def _facts(author: str, gated: str, state: ModelLicense | None, pipeline_tag: str = "") -> Facts:
    gated_bool = gated in ("auto", "manual")
    if state is None:
        return Facts(author=author, gated=gated_bool, inputs=inputs_of(pipeline_tag, None))
    a = state.assessment
    codes = {c["code"] for c in (a.effective_conditions if a else [])}
    return Facts(author=author, gated=gated_bool, declared=state.declared,
                 effective=state.effective, conflict=state.conflict,
                 lineage_status=state.lineage_status, suspected_base=bool(state.suspicion),
                 data_commercial=state.data_commercial, data_status=state.data_status,
                 data_conflict=state.data_conflict, codes=codes,
                 inputs=inputs_of(pipeline_tag, tuple(getattr(state, f) for f in FIELDS)))  # fmt: skip


def _names(values: object) -> list[str] | None:
    # None: not a list of names (a row written around Policy's checks).
    ok = isinstance(values, list) and all(isinstance(v, str) for v in values)
    return values if ok else None  # type: ignore[return-value]


def _any_of(values: object, *found: str) -> bool:
    """An empty list matches all; a malformed one matches nothing, so the rule decides nothing
    and a person reviews."""
    names = _names(values)
    return names is not None and (not names or bool(set(found) & set(names)))


def _tri(rule: str, value: bool) -> bool:
    return rule == Tri.ANY or (rule == Tri.YES) == value


def _profile(policy: Policy, facts: Facts, profile: UsageProfile | None) -> bool:
    """A rule with a profile decides only requests made for it, on the verdict there."""
    if policy.profile_id is None:
        # Verdicts named with no profile (a row written around Policy's checks) match nothing.
        return _names(policy.profile_verdicts) == []
    if profile is None or profile.pk != policy.profile_id:
        return False
    return _any_of(policy.profile_verdicts, answer(profile.circumstances, facts.inputs).verdict)


def matches(policy: Policy, facts: Facts, use: str, profile: UsageProfile | None = None) -> bool:
    return (
        _profile(policy, facts, profile)
        and _any_of(policy.uses, use)
        and _any_of(policy.verdicts, facts.effective)
        and _any_of(policy.lineage_statuses, facts.lineage_status)
        and _any_of(policy.licenses, facts.declared)
        and _any_of(policy.authors, facts.author)
        and _any_of(policy.condition_codes, *facts.codes)
        and _tri(policy.gated, facts.gated)
        and _tri(policy.conflict, facts.conflict)
        and _tri(policy.suspected_base, facts.suspected_base)
        and _any_of(policy.data_verdicts, facts.data_commercial)
        and _any_of(policy.data_statuses, facts.data_status)
        and _tri(policy.data_conflict, facts.data_conflict)
    )


def first_match(
    facts: Facts, use: str, *, policies: list[Policy] | None = None,
    profile: UsageProfile | None = None,
) -> Policy | None:  # fmt: skip
    """The first enforced rule that matches, or None (a person reviews)."""
    if policies is None:
        policies = list(Policy.objects.filter(enforced=True))
    return next((p for p in policies if matches(p, facts, use, profile)), None)


def dry_run(policy: Policy, *, limit: int | None = None) -> dict[str, Any]:
    """What this rule, placed among the enforced ones, would decide across the catalog, per use:
    how many (model, use) pairs it would decide, and how many of those change the outcome."""
    enforced = [p for p in Policy.objects.filter(enforced=True) if p.pk != policy.pk]
    with_rule = sorted([*enforced, policy], key=lambda p: (p.order, p.pk or 0))
    counts: Counter[tuple[str, str]] = Counter()
    examples: dict[str, list[str]] = {u: [] for u in IntendedUse.values}
    rows = ModelLicense.objects.select_related("assessment", "model").order_by("-model__downloads")
    if limit:
        rows = rows[:limit]
    total = 0
    for state in rows.iterator(chunk_size=2000):
        total += 1
        facts = _facts(state.model.author, state.model.gated, state, state.model.pipeline_tag)
        for use in IntendedUse.values:
            # A rule with a profile is tried on requests made for that profile.
            new = first_match(facts, use, policies=with_rule, profile=policy.profile)
            if new is None or new.pk != policy.pk:
                continue
            old = first_match(facts, use, policies=enforced, profile=policy.profile)
            counts[(use, "decided")] += 1
            if old is None or old.action != policy.action:
                counts[(use, "changed")] += 1
                if len(examples[use]) < 5:
                    examples[use].append(state.model.repo_id)
    per_use = [
        {"use": u, "label": IntendedUse(u).label, "decided": counts[(u, "decided")],
         "changed": counts[(u, "changed")], "examples": examples[u]}
        for u in IntendedUse.values
    ]  # fmt: skip
    return {"policy": policy, "action": Action(policy.action).label, "models": total,
            "per_use": per_use}  # fmt: skip
