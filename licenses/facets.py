"""License and verdict facets for the catalog search (filters and counts over ModelLicense)."""

from __future__ import annotations

from django import forms
from django.db.models import Count, QuerySet

from .models import Verdict

VERDICT_CHOICES = [("", "any"), *Verdict.choices]


class LicenseFacetForm(forms.Form):
    license = forms.CharField(required=False, max_length=80)
    verdict = forms.ChoiceField(choices=VERDICT_CHOICES, required=False, label="Commercial use")
    effective = forms.ChoiceField(choices=VERDICT_CHOICES, required=False, label="Effective")
    conflict = forms.BooleanField(required=False)


def filter_models(qs: QuerySet, data: dict) -> QuerySet:
    """Apply license facets (cleaned data of LicenseFacetForm) to a HubModel queryset."""
    if data.get("license"):
        qs = qs.filter(license_state__declared=data["license"])
    if data.get("verdict"):
        qs = qs.filter(license_state__verdict=data["verdict"])
    if data.get("effective"):
        qs = qs.filter(license_state__effective=data["effective"])
    if data.get("conflict"):
        qs = qs.filter(license_state__conflict=True)
    return qs


def facet_counts(qs: QuerySet, *, top: int = 15) -> dict[str, list[tuple[str, int]]]:
    """Counts per verdict, effective verdict and declared license over a HubModel queryset."""
    out = {}
    for name, field in (
        ("verdict", "license_state__verdict"),
        ("effective", "license_state__effective"),
        ("license", "license_state__declared"),
    ):
        rows = qs.values(field).annotate(n=Count("pk")).order_by("-n")
        if name == "license":
            rows = rows[:top]
        out[name] = [(r[field] or "unknown", r["n"]) for r in rows]
    return out
