"""Crawl progress people understand: done / total and an ETA per phase, humane durations, runs
started by a run grouped under it, and "not found on the Hub" as an outcome, not an error.

Runs are real crawls of the recorded Llama-2 family through hubreplay, stepped one at a time.
"""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from catalog import crawler, progress, runs
from catalog.models import CrawlRun, TrainingData
from licenses.tasks import queue_missing_ancestors
from tests.catalog.test_crawler import records

pytestmark = pytest.mark.django_db
FAMILY = len(records("family.jsonl.gz"))


def step_until(run: CrawlRun, hub, phase: str) -> CrawlRun:
    """Advance the run one step at a time until it is in `phase`."""
    for _ in range(100):
        run.refresh_from_db()
        if run.phase == phase:
            return run
        crawler.advance(run.pk, steps=1, hub=hub)
    raise AssertionError(f"run #{run.pk} never reached {phase}: {run.phase}")


# --- durations ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.4, "0 s"),
        (12.9, "12 s"),
        (512.393429, "8 min 32 s"),
        (3600, "1 h 0 min"),
        (2 * 3600 + 5 * 60 + 59, "2 h 5 min"),
        (3 * 86400 + 4 * 3600 + 60, "3 d 4 h"),
    ],
)
def test_durations_read_as_people_say_them(seconds, text):
    assert progress.humanize(timedelta(seconds=seconds)) == text


def test_the_crawl_pages_show_a_humane_duration_not_a_timedelta(client):
    start = timezone.now() - timedelta(hours=1)
    run = CrawlRun.objects.create(
        kind="full", endpoint="http://hub", status="done", phase="finished", started_at=start,
        finished_at=start + timedelta(minutes=8, seconds=32, microseconds=393429),
    )  # fmt: skip
    for url in ("/crawls/", f"/crawls/{run.pk}/"):
        html = client.get(url).content.decode()
        assert "8 min 32 s" in html, url
        assert "0:08:32" not in html and ".393429" not in html, url


# --- done / total and ETA per phase -------------------------------------------------------


def test_every_phase_says_done_of_total_and_an_eta_from_the_runs_own_rate(
    replay, hub_for, client, settings
):
    settings.CANOPY_DETAILS_PER_RUN = 30
    server = replay(["family.jsonl.gz"], page_size_cap=50)
    hub = hub_for(server)
    run, _ = runs.start(CrawlRun.Kind.FULL, endpoint=server.url, limit=120)

    crawler.advance(run.pk, steps=1, hub=hub)  # the first page of the listing
    run.refresh_from_db()
    listing = progress.of(run).current
    assert (listing.phase, listing.done, listing.total) == ("listing", 50, 120)
    assert listing.eta is not None  # 70 left at the rate of the first 50
    html = client.get(f"/crawls/{run.pk}/").content.decode()
    assert "50 of 120 models" in html

    run = step_until(run, hub, "details")
    details = progress.of(run).current
    # The bug: the details phase said no "of N". Its total is fixed as it starts (the cap).
    assert (details.phase, details.done, details.total) == ("details", 0, 30)
    assert details.eta is None and details.eta_text == "unknown (no rate yet)"
    assert "0 of 30 models" in client.get(f"/crawls/{run.pk}/").content.decode()

    crawler.advance(run.pk, steps=1, hub=hub)  # 20 details
    run.refresh_from_db()
    details = progress.of(run).current
    assert (details.done, details.total) == (20, 30) and details.eta is not None
    html = client.get(f"/crawls/{run.pk}/").content.decode()
    phase_table = html.split('id="phases"')[1].split("</table>")[0]
    assert "20 of 30 models" in phase_table and "unknown" not in phase_table
    # The phases behind it say what they did.
    phases = {p.phase: p for p in progress.of(run).phases}
    assert (phases["listing"].state, phases["listing"].done) == ("done", 120)
    assert phases["deriving"].state == "done"
    assert phases["details"].state == "current"

    crawler.advance(run.pk, steps=5, hub=hub)
    run.refresh_from_db()
    assert run.status == "done"
    assert [p.state for p in progress.of(run).phases] == ["done", "done", "done", "done"]
    assert progress.of(run).phases[2].done == 30
    # Then the training data its models declare: the listing (none served here), then each
    # declared dataset asked for once.
    data = progress.of(run).phases[3]
    assert data.phase == "datasets" and data.label == "Training datasets"
    declared = TrainingData.objects.values("dataset_repo_id").distinct().count()
    assert declared and data.done == declared == run.datasets_fetched
    assert "Training datasets" in client.get(f"/crawls/{run.pk}/").content.decode()


def test_a_listing_of_unknown_length_says_so_instead_of_guessing(replay, hub_for, client):
    server = replay(["family.jsonl.gz"], page_size_cap=50)
    run, _ = runs.start(CrawlRun.Kind.FULL, endpoint=server.url, limit=0)
    crawler.advance(run.pk, steps=1, hub=hub_for(server))
    run.refresh_from_db()
    listing = progress.of(run).current
    assert (listing.done, listing.total, listing.eta) == (50, None, None)
    assert listing.eta_text == "unknown (the Hub does not say how many models a listing has)"
    html = client.get(f"/crawls/{run.pk}/").content.decode()
    assert "50 models (total unknown)" in html


def test_a_tree_walk_counts_what_it_has_found_so_far(replay, hub_for):
    server = replay(["family.jsonl.gz"], page_size_cap=50)
    root = "meta-llama/Llama-2-7b-chat-hf"
    run, _ = runs.start(CrawlRun.Kind.DESCENDANTS, target=root, endpoint=server.url)
    crawler.advance(run.pk, steps=2, hub=hub_for(server))
    run.refresh_from_db()
    walk = progress.of(run).current
    assert walk.total == len(run.seen) and walk.done == len(run.seen) - len(run.pending)
    assert walk.growing and "so far" in walk.text


# --- runs started by runs, and models the Hub does not have ---------------------------------


def test_ancestors_runs_a_crawl_starts_are_grouped_under_it(replay, client, settings):
    settings.CANOPY_DETAILS_PER_RUN = 5000
    server = replay(["family.jsonl.gz"], page_size_cap=50)
    call_command("crawl", "--sync", "--limit", "0", "--endpoint", server.url, stdout=None)
    full = CrawlRun.objects.get(kind="full")
    walks = CrawlRun.objects.filter(kind="ancestors")
    assert walks.exists() and all(w.parent_id == full.pk for w in walks)

    html = client.get("/crawls/").content.decode()
    rows = html.split("<tbody>", 1)[1]
    # One top-level row, with its ancestors runs in a group under it (not rows of their own).
    assert f'<a href="/crawls/{full.pk}/">{full.pk}</a>' in rows
    group = rows.split('class="children"', 1)[1]
    for walk in walks:
        assert f'href="/crawls/{walk.pk}/"' in group
    assert f"{walks.count()} ancestors run" in rows

    page = client.get(f"/crawls/{full.pk}/").content.decode()
    assert "Runs started by this run" in page
    assert all(f'href="/crawls/{w.pk}/"' in page for w in walks)
    child = client.get(f"/crawls/{walks[0].pk}/").content.decode()
    assert f'Started by <a href="/crawls/{full.pk}/">full crawl #{full.pk}</a>' in child


def test_not_found_on_the_hub_is_an_outcome_with_its_list_not_an_error(replay, client, settings):
    settings.CANOPY_DETAILS_PER_RUN = 5000
    server = replay(["family.jsonl.gz"], page_size_cap=50)
    call_command("crawl", "--sync", "--limit", "0", "--endpoint", server.url, stdout=None)
    walk = CrawlRun.objects.get(kind="ancestors")
    # The merge's other parent is not in the snapshot: the Hub answers 404 for it.
    assert "allenai/tulu-2-dpo-7b" in walk.not_found_ids
    assert walk.not_found == len(walk.not_found_ids) == len(walk.seen)
    assert walk.error_count == 0 and walk.errors == []

    html = client.get(f"/crawls/{walk.pk}/").content.decode()
    assert "<h2>Last errors</h2>" not in html and "not found on the Hub</li>" not in html
    assert f"<summary>{walk.not_found} not found on the Hub</summary>" in html
    assert "<code>allenai/tulu-2-dpo-7b</code>" in html
    listing = client.get("/crawls/").content.decode()
    assert "not found on the Hub" in listing and "tulu-2-dpo-7b" not in listing


def test_ancestors_queued_by_a_worker_assessment_name_the_run_that_wrote_the_models():
    """The worker path: the crawler's signal names the run, licenses queues the walk for it."""
    full = CrawlRun.objects.create(kind="full", endpoint="http://hub", status="done")
    walk_pk = queue_missing_ancestors(["someone/missing-base"], full.pk)
    walk = CrawlRun.objects.get(pk=walk_pk)
    assert (walk.kind, walk.parent_id) == ("ancestors", full.pk)
    # A walk queued for a run that is itself a child is grouped under the top run.
    deeper = CrawlRun.objects.get(pk=queue_missing_ancestors(["someone/other"], walk.pk))
    assert deeper.parent_id == full.pk


def test_the_crawlers_signal_names_the_run_whose_step_wrote_the_models(replay, hub_for):
    from catalog.signals import models_changed

    seen = []

    def receiver(sender, **kwargs):
        seen.append(kwargs.get("run_id"))

    models_changed.connect(receiver, weak=False)
    try:
        server = replay(["family.jsonl.gz"], page_size_cap=50)
        run, _ = runs.start(CrawlRun.Kind.FULL, endpoint=server.url, limit=50)
        crawler.advance(run.pk, steps=1, hub=hub_for(server))
    finally:
        models_changed.disconnect(receiver)
    assert seen and set(seen) == {run.pk}


def test_a_details_step_cut_short_still_counts_what_it_fetched(replay, hub_for, settings):
    """A step killed after its fetches (here: interrupted while it assesses them) committed
    them: they are counted in the phase with their write, so done / total ends at the total."""
    from catalog.signals import models_changed

    settings.CANOPY_DETAILS_PER_RUN = 30
    server = replay(["family.jsonl.gz"], page_size_cap=50)
    hub = hub_for(server)
    run, _ = runs.start(CrawlRun.Kind.FULL, endpoint=server.url, limit=120)
    run = step_until(run, hub, "details")

    def interrupt(sender, **kwargs):
        models_changed.disconnect(interrupt)
        raise KeyboardInterrupt  # the worker killed after its fetches, before its checkpoint

    models_changed.connect(interrupt, weak=False)
    with pytest.raises(KeyboardInterrupt):
        crawler.advance(run.pk, steps=1, hub=hub)
    run.refresh_from_db()
    assert run.details_fetched == 20 and progress.of(run).current.done == 20
    while not crawler.advance(run.pk, steps=1, hub=hub):
        pass
    run.refresh_from_db()
    details = progress.of(run).phases[2]
    assert run.status == "done" and details.done == run.details_fetched == details.total == 30
