from typing import Any

from django import forms

from .facets import FACETS
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


class ModelSearchForm(forms.Form):
    """The search's parameters, for the page and the API alike: the words, a field per facet
    (portal.facets declares them), the memory budget and the order."""

    q = forms.CharField(required=False, label="Search", max_length=200, widget=forms.TextInput(
        attrs={"type": "search", "placeholder": "repo id, author or words from the card",
               "autocomplete": "off"}))  # fmt: skip
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

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("usable") and not data.get("profile"):
            self.add_error("usable", "usable= needs profile=<slug>: usable for which profile?")
        return data

    def filters(self) -> dict[str, Any]:
        """The active filters (cleaned, non-empty), q and sort excluded."""
        if not self.is_valid():
            return {}
        # A profile without `usable` only says whose verdicts to show: it filters nothing.
        return {k: v for k, v in self.cleaned_data.items() if v not in ("", None) and k not in
                ("q", "sort") and (k != "profile" or self.cleaned_data.get("usable"))}  # fmt: skip


# The facets' fields after the words (each form copies base_fields), the order the API lists them.
_declared = ModelSearchForm.base_fields
ModelSearchForm.base_fields = {
    "q": _declared["q"], **{f.name: f.field() for f in FACETS},
    "memory": _declared["memory"], "sort": _declared["sort"],
}  # fmt: skip
