from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseStopPolling

from . import crawler, lineage
from .forms import CrawlForm, ModelSearchForm
from .models import CrawlRun, HubModel, RepoAlias
from .tasks import crawl

CHILDREN_SHOWN = 25


def _get_model_or_redirect(repo_id: str) -> HubModel | HttpResponse:
    model = HubModel.objects.filter(repo_id=repo_id).first()
    if model:
        return model
    alias = get_object_or_404(RepoAlias.objects.select_related("model"), alias=repo_id)
    return redirect(alias.model, permanent=False)


def _fragment(request: HttpRequest, template: str, name: str) -> str:
    return f"{template}#{name}" if request.htmx else template  # type: ignore[attr-defined]


@vary_on_headers("HX-Request")
def model_list(request: HttpRequest) -> HttpResponse:
    form = ModelSearchForm(request.GET)
    models = form.search(HubModel.objects.all())
    page = Paginator(models, 50).get_page(request.GET.get("page"))
    running = CrawlRun.objects.filter(
        status__in=[CrawlRun.Status.QUEUED, CrawlRun.Status.RUNNING]
    ).first()
    context = {"form": form, "page": page, "running": running, "total": HubModel.objects.count()}
    return render(request, _fragment(request, "catalog/model_list.html", "results"), context)


def model_detail(request: HttpRequest, repo_id: str) -> HttpResponse:
    model = _get_model_or_redirect(repo_id)
    if isinstance(model, HttpResponse):
        return model
    counts = lineage.children_counts(model)
    # The most downloaded children of each relation; the full lists live in the lineage API.
    groups = [
        (relation, n, lineage.child_edges(model).filter(relation=relation)
         .select_related("child").order_by("-child__downloads", "child_id")[:CHILDREN_SHOWN])
        for relation, n in counts.items()
    ]  # fmt: skip
    context = {
        "model": model,
        "aliases": list(model.aliases.values_list("alias", flat=True)),
        "parents": lineage.parents(model),
        "children_counts": counts,
        "children_groups": groups,
        "children_shown": CHILDREN_SHOWN,
        "files": model.files.order_by("path").only("path", "revision", "fetched_at"),
    }
    return render(request, "catalog/model_detail.html", context)


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def crawl_list(request: HttpRequest) -> HttpResponse:
    form = CrawlForm(request.POST or None)
    if request.method == "POST":
        if not request.user.is_staff:
            return HttpResponse("Only staff may start crawls.", status=403)
        if form.is_valid():
            run, created = crawler.start(
                form.cleaned_data["kind"], target=form.cleaned_data["target"]
            )
            if created:
                crawl.delay_on_commit(run.pk)
            return redirect(run)
    runs = CrawlRun.objects.all()[:50]
    active = any(r.is_active for r in runs)
    response = render(request, _fragment(request, "catalog/crawl_list.html", "runs"),
                      {"runs": runs, "form": form, "active": active})  # fmt: skip
    if request.htmx and not active:  # type: ignore[attr-defined]
        response.status_code = HttpResponseStopPolling.status_code
    return response


@vary_on_headers("HX-Request")
def crawl_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(CrawlRun, pk=pk)
    response = render(
        request, _fragment(request, "catalog/crawl_detail.html", "progress"), {"run": run}
    )
    if request.htmx and not run.is_active:  # type: ignore[attr-defined]
        response.status_code = HttpResponseStopPolling.status_code
    return response
