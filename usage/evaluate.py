"""Bring stored verdicts (ProfileVerdict) in step with the models' license results.

A whole-catalog pass streams models by id in batches, computes `verdict.answer` once per
distinct Inputs (a few thousand over 760,000 models), and writes only what differs from what is
stored: new rows by COPY (catalog.bulk), changed ones by one UPDATE per verdict and batch. It
sends `verdicts_changed` with the models whose verdict moved, so approvals re-review them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Count, Q

from catalog.bulk import insert_rows
from catalog.models import HubModel

from .models import ProfileVerdict, UsageProfile, UsageVerdict
from .signals import verdicts_changed
from .verdict import FIELDS, answer, inputs_of, verdict_key

BATCH = 5000
# Who may make a model usable whatever its terms (approvals registers its waivers and the
# approvals given for a profile: usage cannot import them): f(profile, model ids) -> the ids
# that stand usable. The stored verdict is then the one the page shows.
OVERLAYS: list[Callable[[UsageProfile, list[int]], set[int]]] = []


def stands_over(provider: Callable[[UsageProfile, list[int]], set[int]]) -> None:
    if provider not in OVERLAYS:
        OVERLAYS.append(provider)


_COLUMNS = ("id", "pipeline_tag", *(f"license_state__{f}" for f in FIELDS))


@dataclass
class Counts:
    models: int = 0
    inserted: int = 0
    updated: int = 0
    distinct_inputs: int = 0

    def add(self, other: Counts) -> None:
        self.models += other.models
        self.inserted += other.inserted
        self.updated += other.updated
        self.distinct_inputs = max(self.distinct_inputs, other.distinct_inputs)


def _rows(ids: list[int] | None, after: int) -> list[tuple]:
    qs = HubModel.objects.order_by("id").filter(id__gt=after)
    if ids is not None:
        qs = qs.filter(id__in=ids)
    return list(qs.values_list(*_COLUMNS)[:BATCH])


def _stored(profile: UsageProfile, ids: list[int]):
    """The stored verdicts of these models (sorted ids): by their id range when the batch is
    dense, as a whole-catalog pass's are (one index range, not 5,000 ids bound into the query)."""
    mine = ProfileVerdict.objects.filter(profile=profile)
    if len(ids) > 100 and ids[-1] - ids[0] < 2 * len(ids):
        return mine.filter(model_id__gte=ids[0], model_id__lte=ids[-1])
    return mine.filter(model_id__in=ids)


def _write(profile: UsageProfile, rows: list[tuple], memo: dict) -> tuple[Counts, list[int]]:
    c = profile.circumstances
    wanted: dict[int, str] = {}
    for model_id, tag, *state in rows:
        key = verdict_key(tag, tuple(state))
        if (verdict := memo.get(key)) is None:
            verdict = memo[key] = answer(c, inputs_of(tag, tuple(state))).verdict
        wanted[model_id] = verdict
    ids, over = list(wanted), set()
    for provider in OVERLAYS:
        over |= provider(profile, ids)
    for m in over:
        wanted[m] = UsageVerdict.USABLE
    stored = dict(_stored(profile, ids).values_list("model_id", "verdict"))
    new: list[dict[str, Any]] = [{"profile_id": profile.pk, "model_id": m, "verdict": v}
                                 for m, v in wanted.items() if m not in stored]  # fmt: skip
    moved: dict[str, list[int]] = defaultdict(list)
    for m, v in wanted.items():
        if m in stored and stored[m] != v:
            moved[v].append(m)
    with transaction.atomic():
        if new:
            rejected = insert_rows(ProfileVerdict, new)
            if rejected:  # a model deleted meanwhile: its row has nothing to point at
                new = [r for r in new if "id" in r]
        for v, ids in moved.items():
            ProfileVerdict.objects.filter(profile=profile, model_id__in=ids).update(verdict=v)
    changed: list[int] = [int(r["model_id"]) for r in new]
    changed += [m for ids in moved.values() for m in ids]
    # A model stood over keeps its stored verdict whatever its terms say, so it is always told:
    # the approval that stands over it re-reviews on its terms (approvals.changes).
    changed += sorted(over - set(changed))
    counts = Counts(len(rows), len(new), sum(map(len, moved.values())), len(memo))
    return counts, changed


def _batches(ids: list[int] | None):
    if ids is None:
        after = 0
        while rows := _rows(None, after):
            yield rows
            after = rows[-1][0]
        return
    for start in range(0, len(ids), BATCH):
        if rows := _rows(ids[start : start + BATCH], 0):
            yield rows


def evaluate(profile: UsageProfile, ids: Iterable[int] | None = None) -> Counts:
    """Evaluate the profile over these models (all when None); returns what was written."""
    total, memo = Counts(), dict[tuple, str]()
    for rows in _batches(sorted(set(ids)) if ids is not None else None):
        counts, changed = _write(profile, rows, memo)
        total.add(counts)
        if changed:
            verdicts_changed.send(UsageProfile, profile_id=profile.pk, model_ids=changed)
    return total


def evaluate_models(ids: Iterable[int]) -> Counts:
    """Every profile over these models (after their license results changed)."""
    ids = list(ids)
    total = Counts()
    for profile in UsageProfile.objects.all():
        total.add(evaluate(profile, ids))
    return total


def verdicts_for(model_id: int) -> dict[int, str]:
    """{profile id: stored verdict} of one model."""
    return dict(
        ProfileVerdict.objects.filter(model_id=model_id).values_list("profile_id", "verdict")
    )


def by_profile(models: Q) -> list[dict]:
    """Per profile, how many of the models matching `models` (over ProfileVerdict: lookups
    through `model__`) it may use, must review or may not, by their terms; one grouped query."""
    rows = (
        ProfileVerdict.objects.filter(models).order_by()
        .values_list("profile_id", "verdict").annotate(n=Count("pk"))
    )  # fmt: skip
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for profile_id, verdict, n in rows:
        counts[profile_id][verdict] = n
    out = []
    for p in UsageProfile.objects.all():
        got = counts.get(p.pk, {})
        total, usable = sum(got.values()), got.get(UsageVerdict.USABLE, 0)
        out.append({"profile": p, "total": total, **{v: got.get(v, 0) for v in UsageVerdict.values},
                    "pct": round(100 * usable / total, 1) if total else 0})  # fmt: skip
    return out


def conditional_figure() -> list[dict]:
    """The dashboard's panel: the catalog's `conditional` models (effective verdict)."""
    return by_profile(Q(model__license_state__effective="conditional"))
