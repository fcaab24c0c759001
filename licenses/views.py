from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from catalog import lineage
from catalog.models import HubModel
from config.fragments import fragment, swaps_fragment, vary_on_htmx

from . import assessment
from .assessment import can_determine
from .forms import REVIEW_REASONS, DeterminationForm, ReviewFilterForm
from .models import Determination, License, ModelLicense, Verdict
from .panel import labelled, panel_context
from .tasks import assess_models


def _determine(model: HubModel, data: dict, user) -> None:
    """Record the determination (assessment.determine logs it) and queue its children."""
    with transaction.atomic():
        _, report = assessment.determine(
            model=model, license_key=data["license_key"], reason=data["reason"],
            evidence_link=data["evidence_link"], by=user,
        )  # fmt: skip
        _fan_out(report)


def _fan_out(report: assessment.Report) -> None:
    children = lineage.child_ids(report.changed)
    if children:
        assess_models.delay_on_commit(children)


@vary_on_htmx
def license_list(request: HttpRequest) -> HttpResponse:
    verdict = request.GET.get("verdict", "")
    licenses = License.objects.all()
    if verdict in Verdict.values:
        licenses = licenses.filter(verdict=verdict)
    counts = dict(ModelLicense.objects.values_list("declared").annotate(n=Count("pk")).order_by())
    rows = [(lic, counts.get(lic.key, 0)) for lic in licenses]
    context = {"rows": rows, "verdict": verdict, "verdicts": Verdict.choices}
    return render(request, fragment(request, "licenses/license_list.html", "results"), context)


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


@require_http_methods(["GET", "POST"])
@vary_on_htmx
def model_license(request: HttpRequest, repo_id: str) -> HttpResponse:
    """The license panel; legal reviewers record, change or revoke a determination here
    (named submit buttons: action=determine or action=revoke)."""
    model = get_object_or_404(HubModel, repo_id=repo_id)
    allowed = can_determine(request.user)
    error = ""
    if request.method == "POST":
        if not allowed:
            return HttpResponse("Only legal reviewers may record determinations.", status=403)
        try:
            if request.POST.get("action") == "revoke":
                with transaction.atomic():
                    report = assessment.revoke_determination(
                        model=model, reason=request.POST.get("reason", ""), by=request.user
                    )
                    _fan_out(report)
                done = "Determination revoked: the automatic result applies again."
            else:
                form = DeterminationForm({**request.POST.dict(), "repo_id": model.repo_id})
                if not form.is_valid():
                    raise ValidationError(form.errors.as_text())
                _determine(model, form.cleaned_data, request.user)
                done = "Determination recorded."
        except ValidationError as exc:
            error = "; ".join(exc.messages)
        else:
            if not swaps_fragment(request):
                messages.success(request, done)
                return redirect(reverse("licenses:model_license", args=[model.repo_id]))
    context = panel_context(model)
    context.update(
        can_determine=allowed,
        error=error,
        determination=Determination.objects.filter(model=model, active=True)
        .select_related("decided_by")
        .first(),
        form=DeterminationForm() if allowed else None,
    )
    response = render(request, fragment(request, "licenses/model_license.html", "panel"), context)
    if error and not swaps_fragment(request):
        response.status_code = 400  # htmx swaps only 2xx answers: there the error shows inline
    return response


@require_http_methods(["GET", "POST"])
@vary_on_htmx
def review_queue(request: HttpRequest) -> HttpResponse:
    allowed = can_determine(request.user)
    if request.method == "POST":
        if not allowed:
            return HttpResponse("Only legal reviewers may record determinations.", status=403)
        form = DeterminationForm(request.POST)
        if form.is_valid():
            model = get_object_or_404(HubModel, repo_id=form.cleaned_data["repo_id"])
            _determine(model, form.cleaned_data, request.user)
            if swaps_fragment(request):
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
        if reason:
            rows = rows.filter(REVIEW_REASONS[reason][1])
        if q:
            rows = rows.filter(model__repo_id__icontains=q)
    page = Paginator(rows.order_by("-model__downloads", "pk"), 50).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "filters": filters,
        "can_determine": allowed,
        "form": DeterminationForm() if allowed else None,
    }
    return render(request, fragment(request, "licenses/review_queue.html", "queue"), context)
