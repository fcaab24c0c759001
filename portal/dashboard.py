"""The home dashboard's figures: catalog size, verdicts, licenses, conflicts, largest families,
recent changes and running crawls. The aggregates over the whole catalog are cached briefly."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.db.models import Count

from catalog.models import CrawlRun, HubModel
from licenses import training
from licenses.models import ModelLicense
from usage.evaluate import conditional_figure

from . import search

TTL = 300


def bars(rows: list[tuple[str, int]], *, verdicts: bool = False) -> list[dict[str, Any]]:
    """Rows as horizontal bars: width in percent of the largest. Verdict rows carry their verdict,
    which the template turns into a v- class: the colours live in static/css/app.css only."""
    top = max((n for _, n in rows), default=0) or 1
    return [{"label": label, "n": n, "pct": round(100 * n / top, 1),
             "verdict": label if verdicts else ""} for label, n in rows]  # fmt: skip


def _aggregates() -> dict[str, Any]:
    states = ModelLicense.objects.order_by()
    effective = list(states.values_list("effective").annotate(n=Count("pk")).order_by("-n"))
    licenses = list(states.values_list("declared").annotate(n=Count("pk")).order_by("-n")[:10])
    families = list(
        HubModel.objects.exclude(base_family="").order_by().values_list("base_family")
        .annotate(n=Count("pk")).order_by("-n")[:10]
    )  # fmt: skip
    relations = list(
        HubModel.objects.order_by().values_list("base_relation").annotate(n=Count("pk"))
        .order_by("-n")
    )  # fmt: skip
    return {
        "assessed": states.count(),
        "conflicts": states.filter(conflict=True).count(),
        "effective": bars([(v or "unknown", n) for v, n in effective], verdicts=True),
        "licenses": bars([(v or "none", n) for v, n in licenses]),
        "families": bars(families),
        "relations": bars([(v or "not derived yet", n) for v, n in relations]),
        "training": training.figure(),
        "profiles": conditional_figure(),
    }


def figures() -> dict[str, Any]:
    data = cache.get("catalog:dashboard")
    if data is None:
        data = _aggregates()
        cache.set("catalog:dashboard", data, TTL)
    return {
        **data,
        "size": search.catalog_size(),
        "recent": HubModel.objects.order_by("-updated_at").only(
            "repo_id", "updated_at", "base_relation"
        )[:10],
        "running": CrawlRun.objects.filter(
            status__in=[CrawlRun.Status.QUEUED, CrawlRun.Status.RUNNING]
        )[:5],
    }
