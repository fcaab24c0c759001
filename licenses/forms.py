from django import forms

from .models import License


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


class ReviewFilterForm(forms.Form):
    REASONS = [
        ("", "all"),
        ("unknown", "unknown"),
        ("low", "low confidence"),
        ("conflict", "conflict"),
        ("mismatch", "evidence disagrees"),
    ]
    reason = forms.ChoiceField(choices=REASONS, required=False)
    q = forms.CharField(required=False, label="Search")
