"""What a run counts and derives is inside its checkpoint: a step cut anywhere (SIGKILL, a
database restart, Ctrl-C) and resumed ends with the same catalog as a run never cut."""

import pytest
from django.db import connection

from catalog import crawler, runs
from catalog.models import CrawlRun, HubModel

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _small_runs(settings):
    settings.CANOPY_HUB_RETRIES = 0
    settings.CANOPY_CRAWL_BACKOFF_SECONDS = 0.05
    settings.CANOPY_DETAILS_PER_RUN = 5


class CutAt:
    """Interrupt (as Ctrl-C would) the `nth` SQL statement starting with `prefix`, each time."""

    def __init__(self, prefix: str, nth: int):
        self.prefix, self.nth, self.seen = prefix, nth, 0

    def __call__(self, execute, sql, params, many, context):
        if sql.startswith(self.prefix):
            self.seen += 1
            if self.seen % self.nth == 0:
                raise KeyboardInterrupt
        return execute(sql, params, many, context)


def crawl_cut(server, hub_for, cut: CutAt, *, tries: int = 30) -> CrawlRun:
    """The full run driven by --sync, rerun each time the cut interrupts it."""
    run, _ = runs.start(CrawlRun.Kind.FULL, endpoint=server.url, limit=0)
    for _ in range(tries):
        try:
            with connection.execute_wrapper(cut):
                return crawler.run_sync(run, hub=hub_for(server))
        except KeyboardInterrupt:
            continue
    raise AssertionError("never finished")


def detailed() -> set[str]:
    return set(HubModel.objects.exclude(details_at=None).values_list("repo_id", flat=True))


def test_details_cut_mid_step_are_counted_and_the_cap_holds(replay, hub_for):
    server = replay(["family.jsonl.gz"], page_size_cap=50)
    clean = crawler.run_sync(
        runs.start(CrawlRun.Kind.FULL, endpoint=server.url, limit=0)[0], hub=hub_for(server)
    )
    expected = detailed()  # the run's 5, and the missing parents its ancestors run fetched
    assert clean.details_fetched == 5 < len(expected)
    HubModel.objects.all().delete()
    CrawlRun.objects.all().delete()

    # Every second model's details write is cut: the one before it is committed, so far.
    cut = CutAt('UPDATE "catalog_hubmodel" SET "details_key"', 2)
    run = crawl_cut(server, hub_for, cut)
    assert cut.seen > 2  # it was cut, more than once
    assert run.status == "done"
    assert run.details_fetched == 5
    assert detailed() == expected


def test_missing_parents_are_the_same_ones_under_the_limit():
    from catalog.models import LineageEdge

    child = HubModel.objects.create(repo_id="org/child")
    names = [f"org/p{i:02d}" for i in range(30)]
    for name in reversed(names):
        LineageEdge.objects.create(child=child, parent_repo_id=name, relation="finetune")
    assert runs.missing_parents(limit=5) == names[:5]


class CutContaining(CutAt):
    """Interrupt the first SQL statement that starts with `prefix` and mentions `word`, quoted
    or not (the ORM quotes names; families' PostgreSQL UPDATE ... FROM (VALUES) does not)."""

    def __init__(self, prefix: str, word: str):
        super().__init__(prefix, 1)
        self.word = word

    def __call__(self, execute, sql, params, many, context):
        plain = sql.replace('"', "")
        if plain.startswith(self.prefix) and self.word in plain and not self.seen:
            self.seen += 1
            raise KeyboardInterrupt
        return execute(sql, params, many, context)


def families_of() -> dict[str, str]:
    return dict(HubModel.objects.values_list("repo_id", "base_family"))


@pytest.mark.django_db(transaction=True)  # cut as in production: between real commits
def test_a_run_cut_while_deriving_after_its_listing_derives_on_resumption(replay, hub_for):
    server = replay(["family.jsonl.gz"], page_size_cap=50)
    crawler.run_sync(
        runs.start(CrawlRun.Kind.FULL, endpoint=server.url, limit=0)[0], hub=hub_for(server)
    )
    expected = families_of()
    assert sum(1 for family in expected.values() if family) > 10
    HubModel.objects.all().delete()
    CrawlRun.objects.all().delete()

    cut = CutContaining("UPDATE catalog_hubmodel", "base_family")
    run = crawl_cut(server, hub_for, cut)
    assert cut.seen == 1 and run.status == "done"
    assert families_of() == expected


def test_a_lost_redis_connection_is_transient_and_the_step_retried(replay, settings):
    from redis.exceptions import ConnectionError as RedisConnectionError

    # As the request budget's store raises it while Redis restarts.
    run, _ = runs.start(CrawlRun.Kind.FULL, endpoint=replay(["family.jsonl.gz"]).url, limit=0)
    wait = runs.after_error(run.pk, RedisConnectionError("Connection refused."), 0)
    run.refresh_from_db()
    assert wait is not None and run.status == "queued"
