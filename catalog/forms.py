from django import forms
from django.db.models import QuerySet

from .models import CrawlRun, HubModel

SORTS = {
    "downloads": "-downloads",
    "likes": "-likes",
    "modified": "-last_modified",
    "name": "repo_id",
}


class ModelSearchForm(forms.Form):
    q = forms.CharField(required=False, label="Search", widget=forms.TextInput(attrs={
        "type": "search", "placeholder": "repo id, e.g. llama-2-7b", "autocomplete": "off"}))  # fmt: skip
    author = forms.CharField(required=False)
    sort = forms.ChoiceField(required=False, choices=[(k, k) for k in SORTS])

    def search(self, models: QuerySet[HubModel]) -> QuerySet[HubModel]:
        if not self.is_valid():
            return models.order_by("-downloads", "id")
        data = self.cleaned_data
        models = models.search(data["q"])  # type: ignore[attr-defined]
        if data["author"]:
            models = models.filter(author=data["author"])
        order = SORTS.get(data["sort"] or "downloads", "-downloads")
        return models.order_by(order, "id")


class CrawlForm(forms.Form):
    kind = forms.ChoiceField(choices=CrawlRun.Kind.choices)
    target = forms.CharField(required=False, help_text="author, search text or repo id")

    def clean(self):
        data = super().clean() or {}
        if data.get("kind") not in (CrawlRun.Kind.FULL, CrawlRun.Kind.INCREMENTAL) and not data.get(
            "target"
        ):
            raise forms.ValidationError("This kind of crawl needs a target.")
        return data
