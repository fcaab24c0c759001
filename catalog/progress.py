"""How far a crawl run is: each phase's done / total, its rate and ETA, in words people use.

Everything here is read from the run's own fields (no query), so the crawl pages can poll it.
The crawler calls `enter` when a run moves to its next phase; the pages call `of`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .models import CrawlRun

Kind, Phase = CrawlRun.Kind, CrawlRun.Phase
LISTING_KINDS = {Kind.FULL, Kind.INCREMENTAL, Kind.AUTHOR, Kind.SEARCH}

LABELS: dict[str, str] = {
    Phase.LISTING: "Listing",
    Phase.DERIVING: "Deriving search facets",
    Phase.DETAILS: "Details and license files",
    Phase.DATASETS: "Training datasets",
}
WALK_LABELS: dict[str, str] = {
    Kind.DESCENDANTS: "Walking down the tree",
    Kind.ANCESTORS: "Walking up to ancestors",
}
NO_RATE = "unknown (no rate yet)"


def humanize(span: timedelta | None) -> str:
    """8 min 32 s, 2 h 5 min, 3 d 4 h: the two largest units, whole numbers."""
    if span is None:
        return "—"
    s = max(int(span.total_seconds()), 0)
    days, s = divmod(s, 86400)
    hours, s = divmod(s, 3600)
    minutes, s = divmod(s, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {s} s"
    return f"{s} s"


@dataclass
class PhaseProgress:
    phase: str
    label: str
    state: str  # done, current, stopped (the run failed in it), waiting
    done: int | None
    total: int | None
    unit: str
    growing: bool = False  # a tree walk: its total grows as it finds more
    started: datetime | None = None
    finished: datetime | None = None
    eta: timedelta | None = None
    why_no_eta: str = ""

    @property
    def text(self) -> str:
        if self.done is None:
            return "—"
        if self.total is None:
            known = self.state == "done"  # ended: what it did is all there was
            return f"{self.done:,} {self.unit}" + ("" if known else " (total unknown)")
        if self.growing and self.state == "current":
            return f"{self.done:,} of {self.total:,} {self.unit} found so far"
        return f"{self.done:,} of {max(self.total, self.done):,} {self.unit}"

    @property
    def percent(self) -> int | None:
        if self.done is None or not self.total:
            return None
        return min(100, round(100 * self.done / self.total))

    @property
    def took(self) -> str:
        if not self.started:
            return "—"
        return humanize((self.finished or timezone.now()) - self.started)

    @property
    def eta_text(self) -> str:
        if self.state != "current":
            return ""
        if self.eta is None:
            return self.why_no_eta
        left = "done any moment" if self.eta < timedelta(seconds=1) else humanize(self.eta)
        return f"at least {left} (more may be found)" if self.growing else left

    @property
    def eta_short(self) -> str:
        """The ETA without its reason, for the list of runs."""
        return self.eta_text.split(" (", 1)[0]


@dataclass
class RunProgress:
    phases: list[PhaseProgress]
    took: str

    @property
    def current(self) -> PhaseProgress | None:
        return next((p for p in self.phases if p.state in ("current", "stopped")), None)


def phases_of(kind: str) -> list[str]:
    if kind in LISTING_KINDS:
        return [Phase.LISTING, Phase.DERIVING, Phase.DETAILS, Phase.DATASETS]
    return [Phase.LISTING, Phase.DETAILS, Phase.DATASETS]


def measure(run: CrawlRun) -> tuple[int | None, int | None, str, bool]:
    """The current phase's (done, total, unit, growing), from the run's counters."""
    if run.phase == Phase.LISTING:
        if run.kind in LISTING_KINDS:
            return run.listed, run.limit or None, "models", False
        walked = len(run.seen) - len(run.pending)
        return walked, len(run.seen), "models", True
    if run.phase == Phase.DERIVING:
        return 0, run.phase_total, "models", False  # one pass: done when it ends
    if run.phase == Phase.DATASETS:
        return run.phase_done, run.phase_total, "datasets", False
    return run.phase_done, run.phase_total, "models", False


def enter(run: CrawlRun, phase: str, *, total: int | None = None) -> None:
    """Move the run on to `phase` (with what it has to do, when known as it begins), noting
    what the phase it ends did. The caller saves CrawlRun.PHASE_FIELDS with its step."""
    now = timezone.now()
    done, end_total, _, _ = measure(run)
    if run.phase == Phase.DERIVING:
        done = end_total  # a single pass: ended is all done
    began = run.phase_started_at or run.started_at
    run.phase_log = [
        *run.phase_log,
        {"phase": run.phase, "started": began.isoformat() if began else None,
         "finished": now.isoformat(), "done": done, "total": end_total},
    ]  # fmt: skip
    run.phase, run.phase_started_at, run.phase_total, run.phase_done = phase, now, total, 0


def _eta(run: CrawlRun, done: int | None, total: int | None, started) -> tuple:
    if total is None:
        if run.phase == Phase.LISTING and run.kind == Kind.INCREMENTAL:
            return None, "unknown (it stops where the last crawl's changes begin)"
        if run.phase == Phase.LISTING:
            return None, "unknown (the Hub does not say how many models a listing has)"
        return None, "unknown (no total for this phase)"
    if run.phase == Phase.DERIVING:
        return None, "unknown (one pass over the listed models, no rate to measure)"
    elapsed = (timezone.now() - started).total_seconds() if started else 0
    if not done or elapsed <= 0:
        return None, NO_RATE
    return timedelta(seconds=max(total - done, 0) * elapsed / done), ""


def _when(value: str | None) -> datetime | None:
    return parse_datetime(value) if isinstance(value, str) else None


def of(run: CrawlRun) -> RunProgress:
    logged = {e.get("phase"): e for e in run.phase_log if isinstance(e, dict)}
    order = phases_of(run.kind)
    where = order.index(run.phase) if run.phase in order else len(order)
    out = []
    for i, phase in enumerate(order):
        label = (
            WALK_LABELS.get(run.kind, LABELS[phase]) if phase == Phase.LISTING else LABELS[phase]
        )
        if i < where:
            entry = logged.get(phase, {})
            out.append(PhaseProgress(
                phase, label, "done", entry.get("done"), entry.get("total"), "models",
                started=_when(entry.get("started")), finished=_when(entry.get("finished")),
            ))  # fmt: skip
        elif i == where:
            done, total, unit, growing = measure(run)
            started = run.phase_started_at or (run.started_at if phase == Phase.LISTING else None)
            state = "current" if run.is_active else "stopped"
            eta, why = _eta(run, done, total, started) if run.is_active else (None, "")
            out.append(PhaseProgress(
                phase, label, state, done, total, unit, growing, started,
                run.finished_at, eta, why,
            ))  # fmt: skip
        else:
            out.append(PhaseProgress(phase, label, "waiting", None, None, "models"))
    took = humanize((run.finished_at or timezone.now()) - run.started_at) if run.started_at else "—"
    return RunProgress(out, took)
