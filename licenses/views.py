from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from catalog.models import HubModel

from . import assessment
from .forms import DeterminationForm, ReviewFilterForm
from .models import Determination, License, ModelLicense, Verdict
from .panel import labelled, panel_context
from .tasks import assess_models


def can_determine(user) -> bool:
    """Who may record a manual determination: staff, or holders of licenses.add_determination."""
    return user.is_authenticated and (user.is_staff or user.has_perm("licenses.add_determination"))


def _fragment(request: HttpRequest, template: str, name: str) -> str:
    return f"{template}#{name}" if request.htmx else template  # type: ignore[attr-defined]


@vary_on_headers("HX-Request")
def license_list(request: HttpRequest) -> HttpResponse:
    verdict = request.GET.get("verdict", "")
    licenses = License.objects.all()
    if verdict in Verdict.values:
        licenses = licenses.filter(verdict=verdict)
    counts = dict(ModelLicense.objects.values_list("declared").annotate(n=Count("pk")).order_by())
    rows = [(lic, counts.get(lic.key, 0)) for lic in licenses]
    context = {"rows": rows, "verdict": verdict, "verdicts": Verdict.choices}
    return render(request, _fragment(request, "licenses/license_list.html", "results"), context)


def license_detail(request: HttpRequest, key: str) -> HttpResponse:
    lic = get_object_or_404(License, key=key)
    conditions = labelled(lic.conditions)
    users = ModelLicense.objects.filter(declared=key).select_related("model")
    context = {
        "license": lic,
        "restrictions": [c for c in conditions if c["kind"] == "restriction"],
        "obligations": [c for c in conditions if c["kind"] == "obligation"],
        "risks": [c for c in conditions if c["kind"] == "risk"],
        "model_count": users.count(),
        "top_models": users.order_by("-model__downloads")[:25],
    }
    return render(request, "licenses/license_detail.html", context)


@vary_on_headers("HX-Request")
def model_license(request: HttpRequest, repo_id: str) -> HttpResponse:
    model = get_object_or_404(HubModel, repo_id=repo_id)
    context = panel_context(model)
    context["can_determine"] = can_determine(request.user)
    return render(request, _fragment(request, "licenses/model_license.html", "panel"), context)


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def review_queue(request: HttpRequest) -> HttpResponse:
    allowed = can_determine(request.user)
    if request.method == "POST":
        if not allowed:
            return HttpResponse("Only legal reviewers may record determinations.", status=403)
        form = DeterminationForm(request.POST)
        if form.is_valid():
            model = get_object_or_404(HubModel, repo_id=form.cleaned_data["repo_id"])
            with transaction.atomic():
                Determination.objects.filter(model=model, active=True).update(active=False)
                Determination.objects.create(
                    model=model,
                    license_key=form.cleaned_data["license_key"],
                    reason=form.cleaned_data["reason"],
                    evidence_link=form.cleaned_data["evidence_link"],
                    decided_by=request.user,
                )
                report = assessment.assess([model.pk])
                children = assessment.children_of(report.changed)
                if children:
                    assess_models.delay_on_commit(children)
            if request.htmx:  # type: ignore[attr-defined]
                state = ModelLicense.objects.select_related("model").get(model=model)
                return render(
                    request,
                    "licenses/review_queue.html#row",
                    {"row": state, "decided": True, "can_determine": allowed},
                )
            return redirect(reverse("licenses:review_queue"))
        return HttpResponse(f"Invalid determination: {form.errors.as_text()}", status=400)

    filters = ReviewFilterForm(request.GET)
    rows = ModelLicense.objects.needing_review().select_related("model")
    if filters.is_valid():
        reason, q = filters.cleaned_data["reason"], filters.cleaned_data["q"].strip()
        if reason == "unknown":
            rows = rows.filter(verdict=Verdict.UNKNOWN)
        elif reason == "low":
            rows = rows.filter(confidence__lt=0.7).exclude(verdict=Verdict.UNKNOWN)
        elif reason == "conflict":
            rows = rows.filter(conflict=True)
        elif reason == "mismatch":
            rows = rows.filter(assessment__mismatch=True)
        if q:
            rows = rows.filter(model__repo_id__icontains=q)
    page = Paginator(rows.order_by("-model__downloads", "pk"), 50).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "filters": filters,
        "can_determine": allowed,
        "form": DeterminationForm() if allowed else None,
    }
    return render(request, _fragment(request, "licenses/review_queue.html", "queue"), context)
