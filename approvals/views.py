"""Approval pages: requests and decisions, waivers, policies (dry run), the audit log, exports.
Every write checks the role here (review.can_*), whatever the templates show."""

from __future__ import annotations

from datetime import date, timedelta

from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_http_methods

from catalog import lineage
from catalog.models import HubModel
from config import errors
from config.fragments import fragment, swaps_fragment, vary_on_htmx
from licenses.panel import panel_context
from usage.evaluate import conditional_figure
from usage.models import UsageProfile

from . import audit, exports, profiles, review
from .forms import (
    AuditFilterForm,
    DecisionForm,
    ProfileForm,
    ReopenForm,
    RequestForm,
    WaiverForm,
    picker,
)
from .models import APPROVED, ApprovalRequest, AuditEvent, Policy, Status, Waiver
from .policy import dry_run


def _get_request_or_404(request: HttpRequest, pk: int) -> ApprovalRequest:
    qs = ApprovalRequest.objects.visible_to(request.user).select_related(
        "model", "requested_by", "decided_by", "decided_by_rule", "profile"
    )
    return get_object_or_404(qs, pk=pk)


@login_required
@vary_on_htmx
def request_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    qs = ApprovalRequest.objects.visible_to(request.user).select_related("model", "requested_by")
    if status in Status.values:
        qs = qs.filter(status=status)
    context = {
        "page": Paginator(qs, 50).get_page(request.GET.get("page")),
        "status": status,
        "statuses": Status.choices,
        "can_request": review.can_request(request.user),
    }
    return render(request, fragment(request, "approvals/request_list.html", "results"), context)


@login_required
@require_http_methods(["GET", "POST"])
def request_new(request: HttpRequest) -> HttpResponse:
    if not review.can_request(request.user):
        raise PermissionDenied
    typed = (request.POST if request.method == "POST" else request.GET).get("model", "")
    form = RequestForm(request.POST or None, initial={"model": request.GET.get("model", ""),
                                                      "profile": request.GET.get("profile")})  # fmt: skip
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        req = review.submit(model=d["model"], use=d["intended_use"], by=request.user,
                            justification=d["justification"], revision=d["revision"],
                            scope=d["scope"], profile=d.get("profile"))  # fmt: skip
        messages.success(request, f"Request #{req.pk} sent ({req.get_status_display()}).")
        return redirect(req)
    return render(request, "approvals/request_new.html", {"form": form, **picker(typed)})


@login_required
@require_http_methods(["POST"])
def request_suggestions(request: HttpRequest) -> HttpResponse:
    """The picker's suggestions as one types (its hx-post): only the suggestions fragment."""
    if not review.can_request(request.user):
        raise PermissionDenied
    context = picker(request.POST.get("model", ""), as_typed=True)
    return render(request, "approvals/request_new.html#suggestions", context)


@login_required
@vary_on_htmx
@require_http_methods(["GET", "POST"])
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    req = _get_request_or_404(request, pk)
    may_decide = review.can_decide(request.user, req)
    form = DecisionForm(initial={"scope": req.scope})
    refused, status = "", 200
    if request.method == "POST":
        if not may_decide:
            raise PermissionDenied
        form = DecisionForm(request.POST)
        status = 422  # the form again, with what to correct (htmx swaps a 422: base.html)
        if form.is_valid():
            try:
                review.decide(req, by=request.user, **form.cleaned_data)
            except ValidationError as exc:
                form.add_error(None, exc)
            except review.AlreadyDecided as exc:
                # A stale page (another approver decided meanwhile): show the decision in force.
                # htmx swaps 2xx answers (and a 422 form), so its fragment comes back with 200.
                refused, status = str(exc), 200 if swaps_fragment(request) else 409
                req = _get_request_or_404(request, pk)
            else:
                req = _get_request_or_404(request, pk)
                # The outcome is the message at the top: after the redirect, or (htmx) swapped
                # in out of band over whatever the top said before ("Request #N sent").
                messages.success(request, f"Request #{req.pk} decided: {req.get_status_display()}.")
                if not swaps_fragment(request):
                    return redirect(req)
                form, status = DecisionForm(initial={"scope": req.scope}), 200
    context = {
        "req": req,
        "form": form,
        "may_decide": may_decide,
        "is_open": req.status in review.OPEN,
        "reopen_form": ReopenForm(),
        "refused": refused,
        "swapped": swaps_fragment(request),  # the messages then come out of band, with it
        "ancestors": lineage.ancestors(req.model, depth=10),
        "covers": req.covers.select_related("model").order_by("model__repo_id"),
        "for_profile": profiles.result_for(req.model, req.profile) if req.profile else None,
        **panel_context(req.model),
    }
    template = fragment(request, "approvals/request_detail.html", "decision")
    return render(request, template, context, status=status)


@login_required
@require_http_methods(["POST"])
def request_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    req = _get_request_or_404(request, pk)
    if not review.can_decide(request.user, req):
        raise PermissionDenied
    form = ReopenForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Reopening needs a reason.")
        return redirect(req)
    try:
        review.reopen(req, by=request.user, reason=form.cleaned_data["reason"])
    except (ValidationError, review.StateConflict) as exc:
        messages.error(request, "; ".join(getattr(exc, "messages", [str(exc)])))
    else:
        messages.success(request, f"Request #{req.pk} reopened: it is pending again.")
    return redirect(req)


@login_required
def export_approvals(request: HttpRequest) -> HttpResponseBase:
    qs = ApprovalRequest.objects.visible_to(request.user).select_related(
        "model", "requested_by", "decided_by"
    )
    return exports.approvals_csv(qs)


@login_required
@require_http_methods(["GET", "POST"])
def waiver_list(request: HttpRequest) -> HttpResponse:
    may_grant = review.can_grant_waiver(request.user)
    form = WaiverForm(
        request.POST or None,
        initial={"model": request.GET.get("model", ""),
                 "expires_at": date.today() + timedelta(days=settings.APPROVALS_DEFAULT_DAYS)},
    )  # fmt: skip
    if request.method == "POST":
        if not may_grant:
            raise PermissionDenied
        if form.is_valid():
            waiver = form.grant(by=request.user)
            messages.success(request, f"Waiver #{waiver.pk} granted.")
            return redirect("approvals:waiver_list")
    waivers = Waiver.objects.select_related("model", "granted_by")[:500]
    return render(request, "approvals/waiver_list.html",
                  {"form": form, "waivers": waivers, "may_grant": may_grant, "today": date.today()})  # fmt: skip


@login_required
def profile_list(request: HttpRequest) -> HttpResponse:
    """The usage profiles and, per profile, how many conditional models each may use."""
    context = {"rows": conditional_figure(), "may_edit": profiles.can_edit_profiles(request.user)}
    return render(request, "approvals/profile_list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def profile_edit(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    """Create (no slug) or change a profile; legal and admin only (save_profile checks it)."""
    if not profiles.can_edit_profiles(request.user):
        raise PermissionDenied
    existing = get_object_or_404(UsageProfile, slug=slug) if slug else None
    form = ProfileForm(request.POST) if request.method == "POST" else (
        ProfileForm.of(existing) if existing else ProfileForm())  # fmt: skip
    if existing is not None:
        form.fields["slug"].disabled = True
        form.fields["slug"].initial = existing.slug
    if request.method == "POST" and form.is_valid():
        fields = form.fields_to_save()
        if existing is None and UsageProfile.objects.filter(slug=fields["slug"]).exists():
            form.add_error("slug", "a profile with this slug exists")
        else:
            try:
                saved = profiles.save_profile(by=request.user, fields=fields,
                                              slug=existing.slug if existing else None)  # fmt: skip
            except ValidationError as exc:
                for field, errs in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errs)
            else:
                messages.success(request, f"Profile {saved.slug} saved; its verdicts are being "
                                          "re-evaluated.")  # fmt: skip
                return redirect("approvals:profile_list")
    return render(request, "approvals/profile_edit.html", {"form": form, "profile": existing})


@login_required
def policy_list(request: HttpRequest) -> HttpResponse:
    context = {"policies": Policy.objects.all(), "may_edit": review.can_edit_policies(request.user)}
    return render(request, "approvals/policy_list.html", context)


@login_required
@permission_required("approvals.view_policy", raise_exception=True)
def policy_dry_run(request: HttpRequest, pk: int) -> HttpResponse:
    policy = get_object_or_404(Policy, pk=pk)
    return render(request, "approvals/policy_dry_run.html", dry_run(policy))


def filter_audit(qs, data: dict):
    if data.get("action"):
        qs = qs.filter(action__startswith=data["action"])
    if data.get("actor"):
        qs = qs.filter(actor_label__icontains=data["actor"])
    if data.get("model"):
        qs = qs.filter(repo_id__icontains=data["model"])
    return qs


@login_required
@vary_on_htmx
def audit_log(request: HttpRequest) -> HttpResponseBase:
    if not review.can_read_audit(request.user):
        raise PermissionDenied
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        raise errors.BadInput(errors.from_form_errors(form.errors), "This filter cannot be run")
    qs = filter_audit(AuditEvent.objects.all(), form.cleaned_data)
    if request.GET.get("format") == "csv":
        return exports.audit_csv(qs)
    context = {
        "form": form,
        "page": Paginator(qs, 100).get_page(request.GET.get("page")),
        "actions": [*audit.KINDS.items(), *audit.ACTIONS.items()],
        # The walk reads every entry, so it runs when asked, not on each page view.
        "chain": audit.verify() if request.GET.get("verify") else None,
    }
    return render(request, fragment(request, "approvals/audit_log.html", "results"), context)


@login_required
def export_bom(request: HttpRequest) -> HttpResponse:
    qs = ApprovalRequest.objects.visible_to(request.user).filter(status__in=APPROVED)
    if request.GET.get("model"):
        qs = qs.filter(model__repo_id__in=request.GET.getlist("model"))
    models = HubModel.objects.filter(pk__in=qs.values("model_id"))
    site = request.build_absolute_uri("/")[:-1]
    return JsonResponse(exports.ml_bom(models, site), json_dumps_params={"indent": 2})


@login_required
def notice(request: HttpRequest, repo_id: str) -> HttpResponse:
    model = HubModel.objects.filter(repo_id=repo_id).first()
    if model is None:
        return errors.missing_model(request, repo_id)
    response = HttpResponse(exports.notice(model), content_type="text/plain; charset=utf-8")
    # Quoted or RFC 5987-encoded as the name needs (a hostile id holds quotes, any letter).
    response["Content-Disposition"] = content_disposition_header(True, f"NOTICE-{model.name}.txt")
    return response


def locked_out(request: HttpRequest, response=None, credentials=None) -> HttpResponse:
    """django-axes' answer to a locked-out login (settings.AXES_LOCKOUT_CALLABLE), the site's
    and the admin's: the login page again, saying until when, as 429 Too Many Requests."""
    cool_off = get_cool_off(request) or timedelta(0)
    since = getattr(request, "axes_attempt_time", None) or timezone.now()
    context = {
        "form": AuthenticationForm(request),
        "next": request.POST.get("next", ""),
        "locked_until": since + cool_off,
        "cool_off_minutes": max(1, round(cool_off.total_seconds() / 60)),
    }
    return render(request, "approvals/login.html", context, status=429)
