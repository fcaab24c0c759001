"""Usage profiles where approvals meet them: who may edit one (audited, and the catalog
re-evaluated for it), and a model's answer for a profile with the waivers and approvals that
stand over its terms.

The verdict by the terms is usage.verdict's; a waiver of the model (a license acquired, a
vendor agreement...) or an approval given for the profile makes it usable, and the answer says
which, keeping the terms' reasons beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from catalog.models import HubModel
from licenses.rules import Finding
from usage import evaluate
from usage import tasks as usage_tasks
from usage.models import UsageProfile, UsageVerdict
from usage.verdict import Answer, answer, inputs_for

from . import audit
from .models import Coverage, Scope, Status, Waiver

FIELDS = ("name", "description", "mau", "revenue_usd", "commercial", "deployments",
          "trains_on_outputs", "based_in", "offered_in", "fine_tunes", "publishes_derivatives",
          "domains", "licenses_held")  # fmt: skip


def can_edit_profiles(user) -> bool:
    return user.is_authenticated and user.has_perm("usage.edit_profiles")


@transaction.atomic
def save_profile(*, by, fields: dict[str, Any], slug: str | None = None) -> UsageProfile:
    """Create (slug new) or change a profile: checked (UsageProfile.clean), audited with what
    changed, and the catalog re-evaluated for it once the transaction commits."""
    if not can_edit_profiles(by):
        raise PermissionDenied("only legal and admin users edit usage profiles")
    profile = UsageProfile.objects.select_for_update().filter(slug=slug).first() if slug else None
    before = {f: getattr(profile, f) for f in FIELDS} if profile else {}
    if profile is None:
        profile = UsageProfile(slug=fields.get("slug", slug or ""))
    for name in FIELDS:
        if name in fields:
            setattr(profile, name, fields[name])
    profile.updated_at, profile.updated_by = timezone.now(), by
    profile.save()
    after = {f: getattr(profile, f) for f in FIELDS}
    changed = {f: [before.get(f), after[f]] for f in FIELDS if not before or before[f] != after[f]}
    audit.record(actor=by, action="profile.changed" if before else "profile.created",
                 obj=profile, detail={"slug": profile.slug, "changes": changed})  # fmt: skip
    if changed:
        usage_tasks.evaluate_profile.delay_on_commit(profile.pk)
    return profile


@dataclass(frozen=True)
class Result:
    """A model's answer for a profile: the terms' answer, and what stands over it."""

    profile: UsageProfile
    terms: Answer
    waiver: int | None = None
    approval: int | None = None

    @property
    def verdict(self) -> str:
        return UsageVerdict.USABLE if self.waiver or self.approval else self.terms.verdict

    @property
    def over(self) -> str:
        if self.approval:
            return f"approved for {self.profile.slug} (request #{self.approval})"
        return f"waiver #{self.waiver}" if self.waiver else ""

    def as_json(self) -> dict[str, Any]:
        out = self.terms.as_json(self.profile.slug)
        out["verdict"], out["terms_verdict"] = self.verdict, self.terms.verdict
        if self.over:
            code = "approval" if self.approval else "waiver"
            out["reasons"] = [Finding(code, "usable", self.over, "").as_json(), *out["reasons"]]
        return out


def _waivers(model_ids: list[int] | None):
    """Active waivers of these models (None: of any), as the check reads them when no revision
    is asked (unpinned)."""
    waivers = Waiver.objects.active().filter(revision="")
    return waivers if model_ids is None else waivers.filter(model_id__in=model_ids)


def _approvals(model_ids: list[int] | None, profile_ids: list[int]):
    """Approvals in force for these profiles covering these models (None: any), as the check
    counts them: a family approval covers its quantizations; one pinned to a revision applies
    at that revision (here, the model's current one)."""
    covers = (
        Coverage.objects if model_ids is None else Coverage.objects.filter(model_id__in=model_ids)
    )
    return (
        covers.filter(approval__profile_id__in=profile_ids,
                      approval__status__in=[Status.APPROVED, Status.CONDITIONAL])
        .filter(Q(approval__expires_at__isnull=True) | Q(approval__expires_at__gte=date.today()))
        .filter(~Q(approval__scope=Scope.REVISION) | Q(approval__revision="")
                | Q(approval__revision=F("model__sha")))
    )  # fmt: skip


MANY = 100


def standing_ids(profile: UsageProfile, model_ids: list[int]) -> set[int]:
    """Of these models, those a waiver or an approval for the profile makes usable
    (usage.evaluate stores them usable, so the search and the counts agree with the page)."""
    # A whole-catalog pass asks 5,000 ids at a time: the few waivers and the profile's approvals
    # read whole and intersected cost less than 5,000 ids bound into two queries.
    asked = None if len(model_ids) > MANY else model_ids
    waived = set(_waivers(asked).values_list("model_id", flat=True))
    found = waived | set(_approvals(asked, [profile.pk]).values_list("model_id", flat=True))
    return found if asked is not None else found & set(model_ids)


def reevaluate(model_ids: list[int]) -> None:
    """After a waiver or an approval moved: these models' stored verdicts, for every profile,
    in the same transaction (a few models: it rolls back with the change that moved them)."""
    evaluate.evaluate_models(model_ids)


def _standing(model: HubModel, profile_ids: list[int]) -> tuple[int | None, dict[int, int]]:
    """The model's newest active waiver, and per profile its newest approval in force."""
    waiver = _waivers([model.pk]).order_by("-granted_at").values_list("pk", flat=True).first()
    approvals = dict(
        _approvals([model.pk], profile_ids)
        .order_by("approval__created_at", "approval_id")
        .values_list("approval__profile_id", "approval_id")
    )  # later rows win: the newest approval per profile
    return waiver, approvals


def results_for(model: HubModel, profiles: list[UsageProfile] | None = None) -> list[Result]:
    """The model's answer for each profile (all of them by default), in the profiles' order."""
    if profiles is None:
        profiles = list(UsageProfile.objects.all())
    if not profiles:
        return []
    inputs = inputs_for(model)
    waiver, approvals = _standing(model, [p.pk for p in profiles])
    return [Result(p, answer(p.circumstances, inputs), waiver, approvals.get(p.pk))
            for p in profiles]  # fmt: skip


def result_for(model: HubModel, profile: UsageProfile) -> Result:
    return results_for(model, [profile])[0]
