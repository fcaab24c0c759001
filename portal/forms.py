from typing import Any

from django import forms

from catalog.hardware import BUCKET_ORDER
from licenses.models import License, Verdict

from .searchwords import MAX_TERMS, count

SORTS = {
    # The default: by portal.searchwords' tiers, then downloads; without words, by downloads.
    "relevance": ("-tier", "-downloads", "id"),
    "downloads": ("-downloads", "id"),
    "likes": ("-likes", "id"),
    "modified": ("-last_modified", "id"),
    "name": ("repo_id",),
}
SORT_LABELS = {"relevance": "best match"}
# "unassessed" (and gated "unknown"): values the facets count, so their links must work.
UNASSESSED = "unassessed"
VERDICTS = [("", "any"), *Verdict.choices, (UNASSESSED, "not assessed yet")]
RELATIONS = [("", "any"), ("base", "base model"), ("finetune", "fine-tune"),
             ("adapter", "adapter"), ("quantized", "quantized"), ("merge", "merge")]  # fmt: skip
FORMATS = [("", "any"), ("safetensors", "safetensors"), ("gguf", "GGUF"),
           ("pickle-only", "pickle only"), ("other", "other")]  # fmt: skip
GATED = [("", "any"), ("no", "not gated"), ("yes", "gated"), ("unknown", "unknown")]
CONFLICT = [
    ("", "any"),
    ("yes", "conflict"),
    ("no", "no conflict"),
    (UNASSESSED, "not assessed yet"),
]
PARAMS = [("", "any"), *[(b, b) for b in BUCKET_ORDER]]


def condition_choices() -> list[tuple[str, str]]:
    """The condition codes some license carries: another code matches no model, and says so."""
    codes = sorted({code for codes in License.codes_by_key().values() for code in codes})
    return [("", "any"), *[(c, c) for c in codes]]


class ModelSearchForm(forms.Form):
    q = forms.CharField(required=False, label="Search", max_length=200, widget=forms.TextInput(
        attrs={"type": "search", "placeholder": "repo id, author or words from the card",
               "autocomplete": "off"}))  # fmt: skip
    verdict = forms.ChoiceField(required=False, choices=VERDICTS, label="Own verdict")
    effective = forms.ChoiceField(required=False, choices=VERDICTS, label="Effective verdict")
    license = forms.CharField(required=False, max_length=80)
    condition = forms.ChoiceField(required=False, choices=condition_choices, label="Condition code")
    conflict = forms.ChoiceField(required=False, choices=CONFLICT)
    relation = forms.ChoiceField(required=False, choices=RELATIONS, label="Relation to base")
    base = forms.CharField(required=False, max_length=200, label="Base family")
    author = forms.CharField(required=False, max_length=100)
    task = forms.CharField(required=False, max_length=100)
    library = forms.CharField(required=False, max_length=100)
    format = forms.ChoiceField(required=False, choices=FORMATS, label="File format")
    gated = forms.ChoiceField(required=False, choices=GATED)
    params = forms.ChoiceField(required=False, choices=PARAMS, label="Parameters")
    memory = forms.FloatField(required=False, min_value=0.1, max_value=10_000,
                              label="Fits in (GB)")  # fmt: skip
    sort = forms.ChoiceField(required=False, choices=[(k, SORT_LABELS.get(k, k)) for k in SORTS])

    def clean_q(self) -> str:
        q = self.cleaned_data.get("q") or ""
        if (n := count(q)) > MAX_TERMS:
            raise forms.ValidationError(
                f"Search for at most {MAX_TERMS} words or quoted phrases ({n} given)."
            )
        return q

    def filters(self) -> dict[str, Any]:
        """The active filters (cleaned, non-empty), q and sort excluded."""
        if not self.is_valid():
            return {}
        return {k: v for k, v in self.cleaned_data.items() if v not in ("", None) and k not in
                ("q", "sort")}  # fmt: skip
