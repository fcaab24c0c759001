"""The search's facets, each declared once.

A facet is a parameter of the search (the page's and the API's, validated by one form field), a
column of the search table (filled by portal.searchindex from its `source`), a heading on the
page with its values counted (portal.search.facet_counts), and a filter. Adding one is a
declaration here plus its column (on SearchEntry, with a migration; on HubModel too when it is
derived, see catalog.families).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.db.models import Q

from catalog.hardware import BUCKET_ORDER
from catalog.models import Gated, TrainingData
from licenses.models import License, LineageStatus, Verdict
from usage.models import ProfileVerdict, UsageProfile, UsageVerdict

UNASSESSED = "unassessed"  # and gated "unknown": values the facets count, so their links must work


def _choice(choices: Callable[[], list[tuple[str, str]]] | list[tuple[str, str]], **kw):
    return lambda: forms.ChoiceField(required=False, choices=choices, **kw)


def _text(max_length: int, **kw):
    return lambda: forms.CharField(required=False, max_length=max_length, **kw)


def _as_stored(value: Any) -> str:
    return value if value not in (None, "") else ""


@dataclass(frozen=True)
class Facet:
    name: str  # the query parameter, and the facet's key among the counts
    label: str  # its heading on the page
    field: Callable[[], forms.Field]  # validates the parameter, for the page and the API
    column: str = ""  # the SearchEntry column counted and filtered ("": none of its own)
    source: str = ""  # the SQL portal.searchindex fills the column from (m: HubModel, s: license)
    match: Callable[..., Q] | None = None  # a chosen value as a filter (else column == value)
    shown: Callable[[Any], str] = _as_stored  # a stored value as the page shows and counts it
    badge: bool = False  # values drawn as the verdict badge
    labelled: bool = False  # values drawn by their choice's label (the parameter stays the value)
    order: tuple[str, ...] = ()  # values in this order, not by count
    whole: bool = False  # match reads the whole search too: match(value, data)

    def filter(self, value: Any, data: dict[str, Any] | None = None) -> Q:
        if self.whole and self.match:
            return self.match(value, data or {})
        return self.match(value) if self.match else Q(**{self.column: value})

    def label_of(self, value: Any) -> str:
        choices = getattr(self.field(), "choices", ()) if self.labelled else ()
        return str(dict(choices).get(value, value))


def verdicts() -> list[tuple[str, str]]:
    return [("", "any"), *Verdict.choices, (UNASSESSED, "not assessed yet")]


def lineage_statuses() -> list[tuple[str, str]]:
    return [("", "any"), *LineageStatus.choices, (UNASSESSED, "not assessed yet")]


def condition_keys(code: str) -> list[str]:
    """The licenses that carry a condition code."""
    return [key for key, codes in License.codes_by_key().items() if code in codes]


def condition_choices() -> list[tuple[str, str]]:
    """The condition codes some license carries: another code matches no model, and says so."""
    codes = sorted({code for codes in License.codes_by_key().values() for code in codes})
    return [("", "any"), *[(c, c) for c in codes]]


def _assessed(column: str) -> Callable[[Any], Q]:
    # An entry without a license result has "" (searchindex).
    return lambda value: Q(**{column: "" if value == UNASSESSED else value})


def _yes_no(column: str) -> Callable[[Any], Q]:
    return lambda value: (Q(**{f"{column}__isnull": True}) if value == UNASSESSED
                          else Q(**{column: value == "yes"}))  # fmt: skip


def _shown_yes_no(value: Any) -> str:
    return {True: "yes", False: "no"}.get(value, UNASSESSED)


# A suspected base of its own (licenses.suspects) or an ancestor's: the lineage gaps hold the key
# `suspected` (followed by `": [`, which no repo id in a list can be: ids hold no quote).
SUSPECTED_SQL = ("CASE WHEN s.model_id IS NULL THEN NULL WHEN CAST(s.suspected_bases AS TEXT) <> '[]' "
                 "OR CAST(s.lineage_gaps AS TEXT) LIKE '%%\"suspected\": [%%' THEN TRUE ELSE FALSE END")  # fmt: skip


def profile_choices() -> list[tuple[str, str]]:
    return [("", "any"), *UsageProfile.objects.values_list("slug", "name")]


def _usable(value: str, data: dict[str, Any]) -> Q:
    """Usable for the chosen profile, or not (review or blocked), as usage.evaluate stored it:
    the page's answer, waivers and approvals for the profile included. A model not evaluated
    for the profile yet (a new profile, before its task ran) is in neither."""
    rows = ProfileVerdict.objects.filter(profile__slug=data.get("profile") or "")
    if value == "true":
        return Q(model_id__in=rows.filter(verdict=UsageVerdict.USABLE).values("model_id"))
    return Q(model_id__in=rows.exclude(verdict=UsageVerdict.USABLE).values("model_id"))


def _gated(value: str) -> Q:
    known = [Gated.NO, Gated.AUTO, Gated.MANUAL]
    if value == "no":
        return Q(gated=Gated.NO)
    if value == "yes":
        return Q(gated__in=[Gated.AUTO, Gated.MANUAL])
    return ~Q(gated__in=known)  # "unknown": whatever `shown` counts as unknown


FACETS: tuple[Facet, ...] = (
    Facet("verdict", "Own verdict", _choice(verdicts, label="Own verdict"),
          "verdict", "COALESCE(s.verdict, '')", _assessed("verdict"),
          shown=lambda v: v or UNASSESSED, badge=True),
    Facet("effective", "Effective verdict", _choice(verdicts, label="Effective verdict"),
          "effective", "COALESCE(s.effective, '')", _assessed("effective"),
          shown=lambda v: v or UNASSESSED, badge=True),
    Facet("license", "License", _text(80), "declared", "COALESCE(s.declared, '')"),
    # Counted from the license facet's counts (a license carries several codes).
    Facet("condition", "Condition", _choice(condition_choices, label="Condition code"),
          match=lambda code: Q(declared__in=condition_keys(code))),
    Facet("conflict", "Conflict", _choice([("", "any"), ("yes", "conflict"), ("no", "no conflict"),
                                           (UNASSESSED, "not assessed yet")]),
          "conflict", "s.conflict", _yes_no("conflict"), shown=_shown_yes_no),
    Facet("suspected", "Suspected base",
          _choice([("", "any"), ("yes", "suspected base"), ("no", "none suspected"),
                   (UNASSESSED, "not assessed yet")], label="Suspected base"),
          "suspected", SUSPECTED_SQL, _yes_no("suspected"), shown=_shown_yes_no, labelled=True),
    Facet("duties", "Derivative's duties",
          _choice([("", "any"), ("yes", "obligations not met"), ("no", "none found unmet"),
                   (UNASSESSED, "not assessed yet")], label="Derivative's duties"),
          "duties_unmet", "s.duties_unmet", _yes_no("duties_unmet"), shown=_shown_yes_no,
          labelled=True),
    Facet("lineage", "Lineage", _choice(lineage_statuses, label="Lineage"),
          "lineage_status", "COALESCE(s.lineage_status, '')", _assessed("lineage_status"),
          shown=lambda v: v or UNASSESSED, labelled=True),
    Facet("data", "Training data", _choice(verdicts, label="Training data"),
          "data_commercial", "COALESCE(s.data_commercial, '')", _assessed("data_commercial"),
          shown=lambda v: v or UNASSESSED, badge=True),
    Facet("data_conflict", "Training-data conflict",
          _choice([("", "any"), ("yes", "weights freer than their data"), ("no", "none"),
                   (UNASSESSED, "not assessed yet")], label="Training-data conflict"),
          "data_conflict", "s.data_conflict", _yes_no("data_conflict"), shown=_shown_yes_no,
          labelled=True),
    # A filter only (the dataset page links to it): counting every dataset would be a join.
    Facet("dataset", "Trained on", _text(200, label="Trained on dataset"),
          match=lambda name: Q(model_id__in=TrainingData.objects.filter(
              dataset_repo_id=name).values("model_id"))),
    # Filters only, set together (the page links each profile's two values): which profile, and
    # whether the model is usable for it. The profile alone filters nothing.
    Facet("profile", "Usage profile", _choice(profile_choices, label="Usage profile"),
          match=lambda slug: Q()),
    Facet("usable", "For a usage profile",
          _choice([("", "any"), ("true", "usable"), ("false", "review or blocked")],
                  label="Usable for the profile"), match=_usable, whole=True, labelled=True),
    Facet("relation", "Relation to base",
          _choice([("", "any"), ("base", "base model"), ("finetune", "fine-tune"),
                   ("adapter", "adapter"), ("quantized", "quantized"), ("merge", "merge")],
                  label="Relation to base"),
          "base_relation", "m.base_relation"),
    Facet("base", "Base family", _text(200, label="Base family"), "base_family", "m.base_family"),
    Facet("author", "Author", _text(100), "author", "m.author"),
    Facet("task", "Task", _text(100), "pipeline_tag", "m.pipeline_tag"),
    Facet("library", "Library", _text(100), "library_name", "m.library_name"),
    Facet("format", "File format",
          _choice([("", "any"), ("safetensors", "safetensors"), ("gguf", "GGUF"),
                   ("pickle-only", "pickle only"), ("other", "other")], label="File format"),
          "weights_format", "m.weights_format"),
    Facet("gated", "Gated",
          _choice([("", "any"), ("no", "not gated"), ("yes", "gated"), ("unknown", "unknown")]),
          "gated", "m.gated", _gated,
          shown=lambda v: {"no": "no", "auto": "yes", "manual": "yes"}.get(v, "unknown")),
    Facet("params", "Parameters",
          _choice([("", "any"), *[(b, b) for b in BUCKET_ORDER]], label="Parameters"),
          "param_bucket", "m.param_bucket", order=tuple(BUCKET_ORDER)),
)  # fmt: skip
BY_NAME = {f.name: f for f in FACETS}
# The headings on the page, verdicts first (FACETS' order is the parameters': the form's, the
# API's, the order errors and suggestions name them in).
ON_PAGE = tuple(
    BY_NAME[n]
    for n in (
        "effective",
        "verdict",
        "conflict",
        "lineage",
        "suspected",
        "duties",
        "license",
        "condition",
        "profile",
        "usable",
        "relation",
        "data",
        "data_conflict",
        "dataset",
        "base",
        "format",
        "params",
        "gated",
        "task",
        "library",
        "author",
    )
)
COUNTED = tuple(f for f in FACETS if f.column)  # the rest are counted from others' counts
