from django import forms

from .models import CrawlRun


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
