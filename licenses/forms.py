from django import forms
from django.db.models import Q

from .models import License, LineageStatus, Verdict


class DeterminationForm(forms.Form):
    repo_id = forms.CharField(max_length=200, widget=forms.HiddenInput)
    license_key = forms.ChoiceField(label="License")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
    evidence_link = forms.URLField(required=False, max_length=500)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        license_key = self.fields["license_key"]
        assert isinstance(license_key, forms.ChoiceField)  # declared above; fields copies it
        license_key.choices = [
            (k, f"{k} — {n}") for k, n in License.objects.values_list("key", "name")
        ]


# Why a result is in the review queue: the filter's choices, each with the rows it keeps. A bare
# `other` (look for the custom terms) and nothing declared (ask the author) are apart.
REVIEW_REASONS: dict[str, tuple[str, Q]] = {
    "unknown": ("unknown verdict", Q(verdict=Verdict.UNKNOWN)),
    "other": ("declared `other`", Q(declared="other")),
    "undeclared": ("nothing declared", Q(declared="")),
    "low": ("low confidence", Q(confidence__lt=0.7) & ~Q(verdict=Verdict.UNKNOWN)),
    "conflict": ("conflict", Q(conflict=True)),
    "mismatch": ("evidence disagrees", Q(assessment__mismatch=True)),
    "lineage": ("upstream terms not all known", ~Q(lineage_status=LineageStatus.COMPLETE)),
    "suspected": (
        "suspected base",
        Q(suspected_bases__0__isnull=False) | Q(lineage_gaps__has_key="suspected"),
    ),  # fmt: skip
}


class ReviewFilterForm(forms.Form):
    REASONS = [("", "all"), *((k, label) for k, (label, _) in REVIEW_REASONS.items())]
    reason = forms.ChoiceField(choices=REASONS, required=False)
    q = forms.CharField(required=False, label="Search")
