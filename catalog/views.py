"""The crawl pages: the runs, one run's progress and what it set aside; admins start crawls."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseStopPolling

from config.fragments import fragment, swaps_fragment, vary_on_htmx

from . import crawls, progress, runs
from .forms import CrawlForm
from .models import CrawlRun
from .tasks import crawl

QUARANTINE_SHOWN = 100
RUNS_SHOWN = 50


@require_http_methods(["GET", "POST"])
@vary_on_htmx
def crawl_list(request: HttpRequest) -> HttpResponse:
    form = CrawlForm(request.POST or None)
    if request.method == "POST":
        # The admin role (and superusers); staff status alone opens only the admin.
        if not request.user.has_perm("catalog.add_crawlrun"):
            return HttpResponse("Only admins may start crawls.", status=403)
        if form.is_valid():
            run, created = runs.start(form.cleaned_data["kind"], target=form.cleaned_data["target"])
            if created:
                crawl.delay_on_commit(run.pk)
            return redirect(run)
    rows = crawls.overview(RUNS_SHOWN)
    active = any(row.active for row in rows)
    response = render(request, fragment(request, "catalog/crawl_list.html", "runs"),
                      {"rows": rows, "form": form, "active": active})  # fmt: skip
    if swaps_fragment(request) and not active:
        response.status_code = HttpResponseStopPolling.status_code
    return response


@vary_on_htmx
def crawl_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(CrawlRun.objects.select_related("parent"), pk=pk)
    held = run.quarantined.defer("record")
    children = crawls.rows(run.children.defer(*crawls.LIGHT).order_by("created_at", "pk"))
    context = {
        "run": run,
        "progress": progress.of(run),
        "children": children,
        "children_summary": crawls.summary(children),
        "quarantined": held[:QUARANTINE_SHOWN],
        "quarantined_count": held.count(),
    }
    response = render(request, fragment(request, "catalog/crawl_detail.html", "progress"), context)
    if swaps_fragment(request) and not run.is_active:
        response.status_code = HttpResponseStopPolling.status_code
    return response
