"""Usage profiles (who uses models, and how) and each model's verdict for each profile."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from catalog.models import HubModel
from config.inputs import CheckedQuerySet, CheckedWrites
from licenses.classify import kb
from licenses.rules import ALIASES, DEPLOYMENTS, DOMAINS, REGION, Circumstances

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,49}$")
LISTS = {"deployments": DEPLOYMENTS, "domains": DOMAINS}
REGION_LISTS = ("based_in", "offered_in")
BOOLEANS = ("commercial", "trains_on_outputs", "fine_tunes", "publishes_derivatives", "example")
NUMBER_MAX = 10**15  # past any organisation's users or dollars; a typo, not a fact


class UsageVerdict(models.TextChoices):
    USABLE = "usable", "usable"
    REVIEW = "review", "review"
    BLOCKED = "blocked", "blocked"


def profile_problems(fields: dict) -> dict[str, str]:
    """What a profile may hold, checked wherever one is written (API, admin, code)."""
    problems = {}
    if "name" in fields and not (isinstance(fields["name"], str) and fields["name"].strip()):
        problems["name"] = "a name, not blank"
    if "description" in fields and not isinstance(fields["description"], str):
        problems["description"] = "text (empty for none)"
    for name in BOOLEANS:
        if name in fields and not isinstance(fields[name], bool):
            problems[name] = "true or false"
    if "slug" in fields and not (
        isinstance(fields["slug"], str) and SLUG.fullmatch(fields["slug"])
    ):
        problems["slug"] = "lower-case letters, digits and '-', at most 50, starting with one"
    for name in ("mau", "revenue_usd"):
        v = fields.get(name)
        if v is not None and not (type(v) is int and 0 <= v <= NUMBER_MAX):
            problems[name] = f"a whole number from 0 to {NUMBER_MAX:,}, or empty (not stated)"
    for name, known in LISTS.items():
        v = fields.get(name, [])
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            problems[name] = "a list of names"
        elif bad := sorted(set(v) - set(known)):
            problems[name] = f"unknown: {', '.join(bad)} (known: {', '.join(known)})"
    for name in REGION_LISTS:
        v = fields.get(name, [])
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            problems[name] = "a list of ISO 3166 country codes, EU or WORLD"
        elif bad := [x for x in v if not REGION.fullmatch(x)]:
            hint = "; ".join(f"{x}: {ALIASES[x]}" for x in bad if x in ALIASES)
            problems[name] = (f"not ISO 3166 country codes, EU or WORLD: {', '.join(bad)[:200]}"
                              + (f" ({hint})" if hint else ""))  # fmt: skip
    held = fields.get("licenses_held", [])
    if not isinstance(held, list) or not all(isinstance(x, str) for x in held):
        problems["licenses_held"] = "a list of license keys"
    elif bad := sorted(k for k in held if kb().get(k) is None):
        problems["licenses_held"] = f"not in the knowledge base: {', '.join(bad)[:200]}"
    return problems


class UsageProfileQuerySet(CheckedQuerySet["UsageProfile"]):
    problems = staticmethod(profile_problems)


class UsageProfile(CheckedWrites, models.Model):
    """One product or team's use of models: what the license rules (licenses.rules) read."""

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True, max_length=2000)
    example = models.BooleanField(default=False, help_text="made by a migration as an example")
    mau = models.BigIntegerField("monthly active users", null=True, blank=True,
                                 help_text="the organisation's, with affiliates; empty: not stated")  # fmt: skip
    revenue_usd = models.BigIntegerField("annual revenue (USD)", null=True, blank=True)
    commercial = models.BooleanField(default=True, help_text="off: non-commercial research only")
    deployments = models.JSONField(default=list, blank=True, help_text=", ".join(DEPLOYMENTS))
    trains_on_outputs = models.BooleanField(default=False, help_text="outputs train other models")
    based_in = models.JSONField(default=list, blank=True, help_text="where it is domiciled")
    offered_in = models.JSONField(default=list, blank=True, help_text="regions, EU or WORLD")
    fine_tunes = models.BooleanField(default=False)
    publishes_derivatives = models.BooleanField(default=False)
    domains = models.JSONField(default=list, blank=True, help_text=", ".join(DOMAINS))
    licenses_held = models.JSONField(default=list, blank=True,
                                     help_text="license keys held under a separate agreement")  # fmt: skip
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")  # fmt: skip

    objects = UsageProfileQuerySet.as_manager()

    class Meta:
        ordering = ["name", "slug"]
        permissions = [("edit_profiles", "Can create and edit usage profiles")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self.clean()
        super().save(*args, **kwargs)

    def clean(self) -> None:
        names = ["slug", "name", "description", "mau", "revenue_usd", *LISTS, *REGION_LISTS,
                 "licenses_held", *BOOLEANS]  # fmt: skip
        problems = profile_problems({n: getattr(self, n) for n in names})
        if UsageProfile.objects.filter(slug=self.slug).exclude(pk=self.pk).exists():
            problems["slug"] = f"a profile {self.slug!r} exists"
        if problems:
            raise ValidationError(problems)

    @property
    def circumstances(self) -> Circumstances:
        """What the rules read, from the row as it is: one written around the checks (bulk
        SQL, an older release) gives what it validly holds, and a number that is not one is
        not stated (a line then goes to review)."""

        def names(value: object) -> frozenset[str]:
            return frozenset(v for v in value if isinstance(v, str)) if isinstance(
                value, list) else frozenset()  # fmt: skip

        def number(value: object) -> int | None:
            return value if type(value) is int and value >= 0 else None

        return Circumstances(
            mau=number(self.mau), revenue_usd=number(self.revenue_usd),
            commercial=self.commercial is not False, deployments=names(self.deployments),
            trains_on_outputs=bool(self.trains_on_outputs), based_in=names(self.based_in),
            offered_in=names(self.offered_in), fine_tunes=bool(self.fine_tunes),
            publishes_derivatives=bool(self.publishes_derivatives), domains=names(self.domains),
            licenses_held=names(self.licenses_held),
        )  # fmt: skip


class ProfileVerdict(models.Model):
    """A model's verdict for a profile by its terms (usage.evaluate writes only changes); the
    reasons are recomputed from the same inputs where one model is shown."""

    profile = models.ForeignKey(UsageProfile, on_delete=models.CASCADE, related_name="+")
    model = models.ForeignKey(HubModel, on_delete=models.CASCADE, related_name="+")
    verdict = models.CharField(max_length=8, choices=UsageVerdict.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["profile", "model"], name="profileverdict_unique")
        ]
        indexes = [models.Index(fields=["profile", "verdict", "model"], name="profileverdict_idx")]

    def __str__(self) -> str:
        return f"{self.model_id} for {self.profile_id}: {self.verdict}"
