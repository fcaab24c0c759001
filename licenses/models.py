"""License knowledge and assessments: the knowledge base's rows (License, loaded from
licenses/data/licenses.json), each model's current result (ModelLicense) and its history
(Assessment), and the manual determinations of the review queue (Determination)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.urls import reverse
from django.utils import timezone

from catalog.models import HubModel
from config.inputs import CheckedWrites


class Verdict(models.TextChoices):
    ALLOWED = "allowed"
    CONDITIONAL = "conditional"
    PROHIBITED = "prohibited"
    UNKNOWN = "unknown"


class LineageStatus(models.TextChoices):
    """What is known of the terms a model inherits (licenses.inherit decides it). The effective
    verdict keeps its rule; the status says how far the lineage behind it could be read."""

    COMPLETE = "complete", "complete"
    MISSING_ANCESTORS = "missing_ancestors", "ancestors not crawled"
    UNKNOWN_ANCESTOR_TERMS = "unknown_ancestor_terms", "an ancestor's license is unknown"
    NO_BASE = "no_base_for_derivative", "a derivative that names no base"


class DataStatus(models.TextChoices):
    """What is known of a model's training data (licenses.training decides it)."""

    COMPLETE = "complete", "every dataset's license known"
    DATASETS_UNKNOWN = "datasets_unknown", "a dataset's license is unknown"
    NONE_DECLARED = "none_declared", "no training data declared"


class LicenseQuerySet(models.QuerySet["License"]):
    def verified(self) -> LicenseQuerySet:
        return self.filter(verified=True)


class License(models.Model):
    """A license of the knowledge base (licenses/data/licenses.json, loaded by load_licenses)."""

    key = models.CharField(
        max_length=80, unique=True, help_text="Hub identifier, else canonical key"
    )
    canonical_key = models.CharField(max_length=80, db_index=True)
    hub_id = models.CharField(max_length=80, blank=True)
    name = models.CharField(max_length=200)
    family = models.CharField(max_length=80, db_index=True)
    version = models.CharField(max_length=20, blank=True)
    spdx = models.CharField("SPDX id or LicenseRef", max_length=120, blank=True)
    scancode_key = models.CharField(max_length=120, blank=True)
    url = models.URLField(max_length=300, blank=True)
    verdict = models.CharField(max_length=12, choices=Verdict.choices, db_index=True)
    conditions = models.JSONField(default=list, blank=True, help_text="[{code, value}]")
    verified = models.BooleanField(default=True)
    placeholder = models.BooleanField(default=False, help_text="family tag or placeholder id")
    clause = models.TextField(blank=True, help_text="the decisive clause, quoted")
    source = models.TextField(blank=True, help_text="where the clause and verdict come from")
    aliases = models.JSONField(default=list, blank=True)
    links = models.JSONField(default=list, blank=True)
    texts = models.JSONField(default=list, blank=True, help_text="reference text files")

    objects = LicenseQuerySet.as_manager()

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key

    def get_absolute_url(self) -> str:
        return reverse("licenses:license_detail", args=[self.key])

    @property
    def codes(self) -> list[str]:
        return [c["code"] for c in self.conditions]

    @classmethod
    def codes_by_key(cls) -> dict[str, list[str]]:
        """{license key: its condition codes}, cached for five minutes: the search's condition
        facet reads it on every page."""
        codes = cache.get("licenses:condition-codes")
        if codes is None:
            codes = {lic.key: lic.codes for lic in cls.objects.only("key", "conditions")}
            cache.set("licenses:condition-codes", codes, 300)
        return codes


class Determination(CheckedWrites, models.Model):
    """A legal user's manual determination: it overrides the automatic result for the model."""

    model = models.ForeignKey(HubModel, on_delete=models.CASCADE, related_name="determinations")
    license_key = models.CharField(max_length=80, help_text="a License key")
    reason = models.TextField()
    evidence_link = models.URLField(max_length=500, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(default=timezone.now)
    active = models.BooleanField(default=True, help_text="the latest one for the model")

    class Meta:
        ordering = ["-decided_at", "-id"]
        indexes = [models.Index(fields=["model", "active"], name="determination_active_idx")]

    def __str__(self) -> str:
        return f"{self.model_id}: {self.license_key} ({self.decided_at:%Y-%m-%d})"


class LineageWords:
    """A result's lineage columns in words (an assessment and the model's current result)."""

    lineage_status: Any
    lineage_gaps: Any
    suspected_bases: Any

    @property
    def lineage_summary(self) -> str:
        return lineage_summary(self.lineage_status, self.lineage_gaps)

    @property
    def suspicion(self) -> Suspicion:
        return suspicion_of(self.suspected_bases, self.lineage_gaps)


class Assessment(LineageWords, models.Model):
    """One assessment result of a model. Append-only: a row is written only when the result
    changes, so the rows of a model are the history of its verdicts and why they changed."""

    model = models.ForeignKey(HubModel, on_delete=models.CASCADE, related_name="assessments")
    declared = models.CharField(max_length=80, blank=True, help_text="declared license key")
    verdict = models.CharField(max_length=12, choices=Verdict.choices)
    conditions = models.JSONField(default=list, blank=True)
    effective = models.CharField(max_length=12, choices=Verdict.choices)
    effective_conditions = models.JSONField(default=list, blank=True)
    conflict = models.BooleanField(default=False)
    conflict_reasons = models.JSONField(default=list, blank=True)
    lineage_complete = models.BooleanField(default=True)
    lineage_status = models.CharField(
        max_length=24, choices=LineageStatus.choices, default=LineageStatus.COMPLETE
    )
    lineage_gaps = models.JSONField(
        default=dict, blank=True, help_text="{missing, unknown_terms, baseless}: ancestor ids"
    )
    missing_ancestors = models.JSONField(default=list, blank=True)
    suspected_bases = models.JSONField(
        default=list, blank=True, help_text="licenses.suspects: a base it probably derives from"
    )
    duty_checks = models.JSONField(
        default=list, blank=True, help_text="licenses.compliance: [{code, license, met, detail}]"
    )
    # Training data (licenses.training): beside the weights' verdict, never folded into it.
    data_commercial = models.CharField(
        max_length=12, choices=Verdict.choices, default=Verdict.UNKNOWN
    )
    data_status = models.CharField(max_length=16, choices=DataStatus.choices,
                                   default=DataStatus.NONE_DECLARED)  # fmt: skip
    data_conditions = models.JSONField(default=list, blank=True)
    data_conflict = models.BooleanField(default=False)
    data_conflict_reasons = models.JSONField(default=list, blank=True)
    datasets = models.JSONField(
        default=list, blank=True,
        help_text="[{id, license, commercial, source, via, state}]: carried, its own first",
    )  # fmt: skip
    inherited_from = models.JSONField(default=list, blank=True, help_text="[{id, key, verdict}]")
    evidence = models.JSONField(default=list, blank=True)
    notes = models.JSONField(default=list, blank=True)
    confidence = models.FloatField(default=0)
    mismatch = models.BooleanField(default=False, help_text="pieces of evidence disagree")
    determination = models.ForeignKey(
        Determination, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revision = models.CharField(max_length=40, blank=True)
    digest = models.CharField(max_length=32)
    assessed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-assessed_at", "-id"]
        indexes = [models.Index(fields=["model", "-assessed_at"], name="assessment_model_idx")]

    def __str__(self) -> str:
        return (
            f"{self.model_id}: {self.verdict}/{self.effective} at {self.assessed_at:%Y-%m-%d %H:%M}"
        )

    @property
    def manual(self) -> bool:
        return self.determination_id is not None


class ModelLicenseQuerySet(models.QuerySet["ModelLicense"]):
    def needing_review(self) -> ModelLicenseQuerySet:
        return self.filter(needs_review=True, manual=False)


class ModelLicense(LineageWords, models.Model):
    """The current result per model, small and indexed for catalog facets over 760k rows.

    `own_*` and `inherited_*` are what propagation reads from a parent: a child's effective
    result is its own combined with each parent's own and inherited results."""

    model = models.OneToOneField(
        HubModel, primary_key=True, on_delete=models.CASCADE, related_name="license_state"
    )
    declared = models.CharField(max_length=80, blank=True, db_index=True)
    verdict = models.CharField(max_length=12, choices=Verdict.choices)
    effective = models.CharField(max_length=12, choices=Verdict.choices)
    conflict = models.BooleanField(default=False)
    lineage_status = models.CharField(
        max_length=24, choices=LineageStatus.choices, default=LineageStatus.COMPLETE
    )
    lineage_gaps = models.JSONField(
        default=dict, blank=True, help_text="{missing, unknown_terms, baseless}: ancestor ids"
    )
    suspected_bases = models.JSONField(
        default=list, blank=True, help_text="licenses.suspects: a base it probably derives from"
    )
    duties_unmet = models.BooleanField(
        default=False, help_text="a duty its inherited licenses set on derivatives is not met"
    )
    data_commercial = models.CharField(
        max_length=12, choices=Verdict.choices, default=Verdict.UNKNOWN,
        help_text="its training data's most restrictive verdict (licenses.training)",
    )  # fmt: skip
    data_status = models.CharField(max_length=16, choices=DataStatus.choices,
                                   default=DataStatus.NONE_DECLARED)  # fmt: skip
    data_conflict = models.BooleanField(
        default=False, help_text="its weights are more permissive than its training data"
    )
    data_carried = models.JSONField(
        default=list, blank=True, help_text="[[dataset, source, via]]: what children carry on"
    )
    needs_review = models.BooleanField(default=False)
    manual = models.BooleanField(default=False)
    confidence = models.FloatField(default=0)
    inherited_verdict = models.CharField(max_length=12, blank=True)
    inherited_keys = models.JSONField(default=list, blank=True, help_text="ancestors' license keys")
    restrictor = models.CharField(max_length=200, blank=True, help_text="most restrictive ancestor")
    restrictor_key = models.CharField(max_length=80, blank=True)
    assessment = models.ForeignKey(
        Assessment, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    digest = models.CharField(max_length=32)
    assessed_at = models.DateTimeField(default=timezone.now)

    objects = ModelLicenseQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["verdict"], name="modellicense_verdict_idx"),
            models.Index(fields=["effective"], name="modellicense_effective_idx"),
            models.Index(fields=["needs_review", "manual"], name="modellicense_review_idx"),
            models.Index(fields=["lineage_status"], name="modellicense_lineage_idx"),
            models.Index(fields=["data_conflict"], name="modellicense_dataconflict_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.model_id}: {self.declared or '-'} {self.verdict}/{self.effective}"

    @property
    def lineage_complete(self) -> bool:
        """Every ancestor crawled and every derivative's base named (their terms may still be
        unknown)."""
        return lineage_complete(self.lineage_status)


def lineage_complete(status: str) -> bool:
    return status in (LineageStatus.COMPLETE, LineageStatus.UNKNOWN_ANCESTOR_TERMS)


GAP_KINDS = ("missing", "unknown_terms", "baseless")


def gaps_of(value: object) -> dict[str, list[str]]:
    """Stored lineage gaps as inherit.State.gaps writes them: lists of ids, whatever a row
    holds (a row written by other code, or by hand, is read, never trusted)."""
    named = value if isinstance(value, dict) else {}
    out: dict[str, list[str]] = {}
    for kind in GAP_KINDS:
        ids = named.get(kind)
        out[kind] = [i for i in ids if isinstance(i, str)][:20] if isinstance(ids, list) else []
    return out


@dataclass(frozen=True)
class Suspicion:
    """A model's suspected bases (its own, a root's) and the ancestors that have one."""

    own: tuple[dict, ...] = ()
    upstream: tuple[str, ...] = ()
    upstream_keys: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.own or self.upstream)

    @property
    def keys(self) -> list[str]:
        return sorted({s["license"] for s in self.own} | set(self.upstream_keys))

    @property
    def summary(self) -> str:
        """In words, for the page, the review queue and the check API ("" when none)."""
        if self.own:
            s = self.own[0]
            signals = ", ".join(x.split(":", 1)[0] for x in s["signals"])
            return (f"names no base, but its {signals} say {s['family']}: the {s['license']} "
                    f"terms probably apply (confidence {s['confidence']:.2f})")  # fmt: skip
        if self.upstream:
            return (f"an ancestor has a suspected base ({', '.join(self.upstream[:3])}): "
                    f"{', '.join(self.upstream_keys)} terms may apply")  # fmt: skip
        return ""


_KEY = re.compile(r"[a-z0-9][a-z0-9.+_-]{0,79}")


def _well_formed(s: object) -> bool:
    if not isinstance(s, dict):
        return False
    c, base, signals = s.get("confidence"), s.get("id"), s.get("signals")
    return (
        isinstance(s.get("license"), str) and _KEY.fullmatch(s["license"]) is not None
        and isinstance(s.get("family"), str) and bool(s["family"])
        and (base is None or isinstance(base, str))
        and isinstance(signals, list) and all(isinstance(x, str) for x in signals)
        and ((isinstance(c, float) and 0 <= c <= 1) or (type(c) is int and c in (0, 1)))
    )  # fmt: skip


def suspicion_of(own: object, gaps: object) -> Suspicion:
    """Read from stored rows, never trusted: only well-formed suspicions (a license key the
    license page can be linked by, a confidence between 0 and 1)."""
    rows = tuple(s for s in (own if isinstance(own, list) else [])[:5] if _well_formed(s))
    named = gaps if isinstance(gaps, dict) else {}

    def strs(key: str) -> tuple[str, ...]:
        v = named.get(key)
        return tuple(x for x in v if isinstance(x, str))[:20] if isinstance(v, list) else ()

    return Suspicion(rows, strs("suspected"), strs("suspected_keys"))


def lineage_summary(status: str, gaps: object) -> str:
    """The lineage status in words, naming the ancestors behind it ("" when complete): the
    model page, the review queue and the check API's reason say the same."""
    if status == LineageStatus.COMPLETE or status not in LineageStatus.values:
        return ""
    named = gaps_of(gaps)

    def ids(key: str) -> str:
        return ", ".join(named[key][:5])

    if status == LineageStatus.NO_BASE:
        who = ids("baseless")
        return (f"{who}: a derivative that names no base upstream; the terms it inherits cannot "
                "be checked" if who else "a derivative that names no base: the terms it "
                "inherits cannot be checked")  # fmt: skip
    if status == LineageStatus.MISSING_ANCESTORS:
        who = ids("missing")
        return f"ancestors not crawled yet{': ' + who if who else ''}"
    who = ids("unknown_terms")
    return f"an ancestor's license is unknown{': ' + who if who else ''}; its terms may bind this model"


def state_of(model: HubModel) -> ModelLicense | None:
    """The model's license result, or None before its first assessment (loaded with the model
    where a query selected `license_state`)."""
    try:
        return model.license_state  # type: ignore[attr-defined]
    except ObjectDoesNotExist:
        return None
