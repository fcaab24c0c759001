"""The crawl pages' rows: top-level runs with the runs they started grouped under them."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from .models import CrawlRun
from .progress import RunProgress, of

# Not needed to list runs (the run page shows them): long lists or texts.
LIGHT = ("not_found_ids", "errors", "cursor")


@dataclass
class Row:
    run: CrawlRun
    progress: RunProgress
    children: list[Row] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.run.is_active or any(c.run.is_active for c in self.children)

    @property
    def summary(self) -> Summary | None:
        return summary(self.children) if self.children else None


@dataclass
class Summary:
    """What a run's child runs did, together (the list shows this, their rows fold away)."""

    runs: int
    kinds: str
    statuses: str
    not_found: int
    errors: int
    details: int


def rows(runs: Iterable[CrawlRun]) -> list[Row]:
    return [Row(run, of(run)) for run in runs]


def summary(children: list[Row]) -> Summary | None:
    if not children:
        return None
    runs = [c.run for c in children]
    kinds = Counter(r.kind for r in runs)
    statuses = Counter(r.status for r in runs)
    order = [s for s in CrawlRun.Status.values if statuses[s]]
    return Summary(
        runs=len(runs),
        kinds=", ".join(f"{n} {kind} run{'s' if n > 1 else ''}" for kind, n in kinds.items()),
        statuses=", ".join(f"{statuses[s]} {s}" for s in order),
        not_found=sum(r.not_found for r in runs),
        errors=sum(r.error_count for r in runs),
        details=sum(r.details_fetched for r in runs),
    )


def overview(limit: int) -> list[Row]:
    """The latest top-level runs, each with the runs started for it, oldest child first."""
    top = list(CrawlRun.objects.filter(parent__isnull=True).defer(*LIGHT)[:limit])
    children: dict[int, list[CrawlRun]] = defaultdict(list)
    for child in (
        CrawlRun.objects.filter(parent__in=[r.pk for r in top])
        .defer(*LIGHT)
        .order_by("created_at", "pk")
    ):
        children[child.parent_id].append(child)  # type: ignore[index]
    return [Row(run, of(run), rows(children[run.pk])) for run in top]
