from __future__ import annotations

from collections.abc import Callable
from datetime import date

from django import forms
from django.urls import reverse_lazy

from catalog.models import HubModel
from licenses.rules import DEPLOYMENTS, DOMAINS
from usage.models import UsageProfile

from . import audit
from .models import IntendedUse, Scope, Status, Waiver, WaiverReason

SUGGESTIONS = 10


NUL_NOTE = "The text holds a NUL character, which no repo id has: type or paste the id again."


def picker(typed: str, *, as_typed: bool = False) -> dict:
    """What the model picker shows for what is in the box: the text trimmed (echoed on the
    page), its suggestions, and a note where there are none to give. `as_typed`: the answer to
    typing (htmx), where a cleared or blank box clears the suggestions; the form page itself
    offers the most downloaded models for nothing typed."""
    if "\x00" in typed:  # pasted from somewhere: no id has one, so nothing it matches is meant
        return {"typed": "", "suggestions": [], "note": NUL_NOTE}
    text = typed.strip()[:200]
    if as_typed and not text:
        return {"typed": "", "suggestions": []}
    return {"typed": text, "suggestions": model_suggestions(text)}


Suggester = Callable[[str, int], list[str]]


def _holding(text: str, n: int) -> list[str]:
    """Ids holding what was typed, most downloaded first: the picker's suggestions until the
    read side registers its search (portal does at start)."""
    models = HubModel.objects.order_by("-downloads", "pk")
    if text:
        models = models.filter(repo_id__icontains=text)
    return list(models.values_list("repo_id", flat=True)[:n])


_suggesters: list[Suggester] = [_holding]


def suggest_with(suggester: Suggester) -> None:
    """Rank the picker's suggestions with this (the last registered wins)."""
    _suggesters.append(suggester)


def model_suggestions(text: str, n: int = SUGGESTIONS) -> list[str]:
    """Repo ids for what was typed, best first (the most downloaded models for nothing
    typed): the model picker's <datalist> and its no-JavaScript links."""
    # Read before the form validates it (a POSTed miss): no NUL for PostgreSQL, a bounded query.
    return _suggesters[-1](text.replace("\x00", "").strip()[:200], n)


class ModelPicker(forms.TextInput):
    """A repo id box with suggestions: the browser's own <datalist> (no JavaScript), refreshed
    from the search as one types where htmx runs (the suggestions fragment of the form page)."""

    def __init__(self, attrs=None):
        # POSTed, not a query: the site refuses a NUL in a query with 400 (config.errors) and
        # htmx would leave the old suggestions up; a body may carry whatever was pasted.
        super().__init__({"list": "model-suggestions", "autocomplete": "off",
                          "hx-post": reverse_lazy("approvals:request_suggestions"),
                          "hx-params": "model",
                          "hx-trigger": "input changed delay:300ms", "hx-sync": "this:replace",
                          "hx-target": "#suggestions", "hx-swap": "outerHTML",
                          **(attrs or {})})  # fmt: skip


class ModelField(forms.CharField):
    def clean(self, value):
        repo_id = super().clean(value)
        model = HubModel.objects.filter(repo_id=repo_id).first()
        if model is None:
            raise forms.ValidationError(f"{repo_id} is not in the catalog")
        return model


class RequestForm(forms.Form):
    model = ModelField(label="Model (repo id)", max_length=200, widget=ModelPicker())
    revision = forms.CharField(max_length=40, required=False, help_text="pin a commit sha")
    intended_use = forms.ChoiceField(choices=IntendedUse.choices)
    scope = forms.ChoiceField(choices=Scope.choices, initial=Scope.MODEL)
    profile = forms.ModelChoiceField(
        queryset=UsageProfile.objects.all(), required=False, to_field_name="slug",
        label="For usage profile", empty_label="none",
        help_text="the product or team it is for: its verdict there is part of the decision",
    )  # fmt: skip
    justification = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))


class ReopenForm(forms.Form):
    reason = forms.CharField(
        label="Reason for reopening", widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )


DECISIONS = [(s.value, s.label) for s in (Status.APPROVED, Status.CONDITIONAL, Status.REJECTED)]
CHOOSE = "Choose a decision: approved, approved with conditions or rejected."


class DecisionForm(forms.Form):
    # Radios and no initial value: a select always shows (and sends) its first option, so an
    # untouched form approved the model (found by testing). The approver has to choose.
    status = forms.ChoiceField(
        label="Decision", choices=DECISIONS, widget=forms.RadioSelect,
        error_messages={"required": CHOOSE, "invalid_choice": CHOOSE},
    )  # fmt: skip
    scope = forms.ChoiceField(choices=Scope.choices)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    conditions_text = forms.CharField(
        label="Conditions", widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    attribution_required = forms.BooleanField(required=False)
    internal_only = forms.BooleanField(required=False)
    expires_at = forms.DateField(
        label="Expires", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean_expires_at(self):
        value = self.cleaned_data["expires_at"]
        if value and value < date.today():
            raise forms.ValidationError("the expiry date is in the past")
        return value


class WaiverForm(forms.Form):
    model = ModelField(max_length=200)
    revision = forms.CharField(max_length=40, required=False)
    reason = forms.ChoiceField(choices=WaiverReason.choices)
    evidence_link = forms.URLField(max_length=500)
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    expires_at = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))

    def clean_expires_at(self):
        value = self.cleaned_data["expires_at"]
        if value < date.today():
            raise forms.ValidationError("the expiry date is in the past")
        return value

    def grant(self, *, by) -> Waiver:
        d = self.cleaned_data
        waiver = Waiver.objects.create(
            model=d["model"], revision=d["revision"], reason=d["reason"],
            evidence_link=d["evidence_link"], note=d["note"], expires_at=d["expires_at"],
            granted_by=by,
        )  # fmt: skip
        audit.record(actor=by, action="waiver.granted", obj=waiver, repo_id=d["model"].repo_id,
                     detail={"reason": d["reason"], "evidence": d["evidence_link"],
                             "revision": d["revision"], "expires": str(d["expires_at"])})  # fmt: skip
        return waiver


class AuditFilterForm(forms.Form):
    # The API's bounds (approvals/api.py AuditFilter): a longer filter matches nothing, and past
    # 50,000 bytes SQLite refuses the LIKE pattern (a 500).
    action = forms.CharField(required=False, max_length=40)
    actor = forms.CharField(required=False, max_length=150)
    model = forms.CharField(required=False, max_length=200)


def _codes(value: str) -> list[str]:
    return [c.strip().upper() for c in value.replace(";", ",").split(",") if c.strip()]


class ProfileForm(forms.Form):
    """A usage profile on the site; approvals.profiles.save_profile checks it again and the
    model's own checks (usage.models.profile_problems) decide what it may hold."""

    slug = forms.SlugField(max_length=50, help_text="lower-case letters, digits and '-'")
    name = forms.CharField(max_length=120)
    description = forms.CharField(max_length=2000, required=False,
                                  widget=forms.Textarea(attrs={"rows": 2}))  # fmt: skip
    mau = forms.IntegerField(label="Monthly active users", min_value=0, max_value=10**15,
                             required=False, help_text="with affiliates; empty: not stated")  # fmt: skip
    revenue_usd = forms.IntegerField(label="Annual revenue (USD)", min_value=0, max_value=10**15,
                                     required=False, help_text="empty: not stated")  # fmt: skip
    commercial = forms.BooleanField(required=False, initial=True,
                                    help_text="off: non-commercial research only")  # fmt: skip
    deployments = forms.MultipleChoiceField(choices=list(DEPLOYMENTS.items()), required=False,
                                            widget=forms.CheckboxSelectMultiple)  # fmt: skip
    trains_on_outputs = forms.BooleanField(required=False, label="Outputs train other models")
    based_in = forms.CharField(max_length=300, required=False, label="Based in",
                               help_text="ISO country codes or EU, comma-separated")  # fmt: skip
    offered_in = forms.CharField(max_length=1000, required=False, label="Offered in",
                                 help_text="ISO country codes, EU or WORLD, comma-separated")  # fmt: skip
    fine_tunes = forms.BooleanField(required=False)
    publishes_derivatives = forms.BooleanField(required=False)
    domains = forms.MultipleChoiceField(choices=list(DOMAINS.items()), required=False,
                                        widget=forms.CheckboxSelectMultiple,
                                        help_text="the domains it serves that use policies name")  # fmt: skip
    licenses_held = forms.CharField(max_length=1000, required=False,
                                    help_text="license keys held under a separate agreement")  # fmt: skip

    @classmethod
    def of(cls, profile) -> ProfileForm:
        initial = {f: getattr(profile, f) for f in ("slug", "name", "description", "mau",
                   "revenue_usd", "commercial", "deployments", "trains_on_outputs", "fine_tunes",
                   "publishes_derivatives", "domains")}  # fmt: skip
        for f in ("based_in", "offered_in", "licenses_held"):
            initial[f] = ", ".join(getattr(profile, f))
        return cls(initial=initial)

    def fields_to_save(self) -> dict:
        d = dict(self.cleaned_data)
        d["based_in"], d["offered_in"] = _codes(d["based_in"]), _codes(d["offered_in"])
        d["licenses_held"] = [k.strip() for k in d["licenses_held"].split(",") if k.strip()]
        return d
