"""The request budget shared by all workers, on the embedded (database) and Redis backends.

The Hub's side is hubreplay with a small announced quota (`api_budget=20, window=2`), asked
through the real client; tests/conftest.py's `_generous_budget` sets an explicit ceiling of
1,000,000, so the tests of "no budget set" clear it first (`follow_the_hub`).
"""

import os
import threading
import time

import httpx2
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from catalog import budget as budget_module
from catalog import crawler, ratelimit, runs
from catalog.budget import Budget, Policy
from catalog.models import CrawlRun, HubBudget
from config.settings import env_optional_int
from tests.catalog.test_crawler import records

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["database", pytest.param("redis", marks=pytest.mark.redis)])
def backend(request, settings):
    settings.REDIS_URL = os.environ.get("REDIS_URL", "") if request.param == "redis" else ""
    if request.param == "redis":
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        for key in client.scan_iter("canopy:budget:*"):
            client.delete(key)
    return request.param


@pytest.fixture
def follow_the_hub(settings, monkeypatch):
    """No budget set in the environment; the budget before any announcement made small (3 per
    5 minutes), so that following the announced quota shows in how soon a crawl finishes."""
    settings.CANOPY_HUB_API_BUDGET = None
    settings.CANOPY_HUB_RESOLVERS_BUDGET = None
    settings.CANOPY_HUB_WINDOW_SECONDS = 300
    monkeypatch.setattr(budget_module, "DEFAULTS", {"api": 3, "resolvers": 3})


def budgets(n=1, window=2):
    waits: list[float] = []

    def sleep(seconds):
        waits.append(seconds)
        time.sleep(seconds)

    return [Budget(window=window, sleep=sleep) for _ in range(n)], waits


def counted(backend, bucket):
    """Requests the shared state counts in the bucket's window: the Redis hash or the row."""
    if backend == "redis":
        import redis

        client = redis.Redis.from_url(os.environ["REDIS_URL"])
        return int(client.hget(budget_module._RedisStore.key(bucket), "used") or 0)
    return HubBudget.objects.get(bucket=bucket).used


def statuses(server):
    return [status for _, _, status in server.request_log]


# --- the configured budget, before any answer -----------------------------------------------


def test_requests_within_the_quota_do_not_wait(backend, settings):
    settings.CANOPY_HUB_API_BUDGET = 3
    (budget,), waits = budgets()
    for _ in range(3):
        assert budget.acquire("api") == 0
    assert waits == [] and counted(backend, "api") == 3


def test_workers_share_one_quota_and_the_next_request_waits_for_the_window(backend, settings):
    settings.CANOPY_HUB_API_BUDGET = 3
    (a, b), waits = budgets(2)
    a.acquire("api")
    b.acquire("api")
    a.acquire("api")
    started = time.monotonic()
    b.acquire("api")  # the fourth in this window, whoever asks
    assert waits and 0 < time.monotonic() - started <= 2.2


def test_the_buckets_are_counted_apart(backend, settings):
    settings.CANOPY_HUB_API_BUDGET = 3
    settings.CANOPY_HUB_RESOLVERS_BUDGET = 1
    (budget,), waits = budgets()
    for _ in range(3):
        budget.acquire("api")
    budget.acquire("resolvers")
    assert waits == []


# --- the quota the Hub announces ------------------------------------------------------------


def test_a_crawl_follows_the_quota_the_hub_announces(
    backend, follow_the_hub, replay, hub_for, settings
):
    settings.CANOPY_DETAILS_PER_RUN = 25
    server = replay(["family.jsonl.gz"], page_size_cap=50, api_budget=20, window=2)
    hub = hub_for(server)
    run, _ = runs.start(CrawlRun.Kind.FULL, endpoint=server.url, limit=0)
    started = time.monotonic()
    run = crawler.run_sync(run, hub=hub)
    elapsed = time.monotonic() - started

    assert run.status == "done" and run.details_fetched == 25
    api_calls = [path for _, path, _ in server.request_log if path.startswith("/api/")]
    # 3 pages and 25 details: at the default's 3 per 5 minutes that would be 45 minutes; at
    # 18 per 2 s (90% of the announced 20), a few seconds.
    assert len(api_calls) >= 28 and elapsed < 60
    assert hub.budget.policy("api") == Policy(limit=18, window=2, reserve=2)
    assert 429 not in statuses(server)


def test_an_explicit_budget_is_a_ceiling_on_the_announced_quota(backend, replay, hub_for, settings):
    settings.CANOPY_HUB_API_BUDGET = 5
    settings.CANOPY_HUB_WINDOW_SECONDS = 2
    server = replay(["family.jsonl.gz"], api_budget=20, window=2)
    hub = hub_for(server)
    (hub.budget,), waits = budgets(window=2)
    seen_by_server = []
    for repo_id in list(records("family.jsonl.gz"))[:12]:
        hub.model_info(repo_id)
        seen_by_server.append(server.limiter.used["api"])
    assert hub.budget.policy("api") == Policy(limit=5, window=2, reserve=2)
    # The server's own count in its window never passes our ceiling, and we waited for it.
    assert max(seen_by_server) == 5 and len(waits) >= 2
    assert 429 not in statuses(server)


@pytest.mark.django_db(transaction=True)
def test_two_workers_together_stay_within_the_announced_quota(backend, follow_the_hub, replay):
    from catalog.hub import Hub

    server = replay(["family.jsonl.gz"], api_budget=20, window=2)
    ids = list(records("family.jsonl.gz"))[:40]

    def work(part):
        hub = Hub(endpoint=server.url, token="")
        for repo_id in part:
            hub.model_info(repo_id)
        connection.close()

    workers = [threading.Thread(target=work, args=(ids[i::2],)) for i in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert statuses(server) == [200] * 40  # no 429: the replay's 20 per window was never passed


def test_fewer_remaining_than_we_count_is_believed(backend, follow_the_hub, replay, hub_for):
    server = replay(["family.jsonl.gz"], api_budget=20, window=2)
    for _ in range(15):  # another client of the same account spends most of the window
        assert httpx2.get(f"{server.url}/api/models?limit=1").status_code == 200
    server.request_log.clear()
    hub = hub_for(server)
    seen_by_server = []
    for repo_id in list(records("family.jsonl.gz"))[:8]:
        hub.model_info(repo_id)
        seen_by_server.append(server.limiter.used["api"])
    # Our first answer says 4 remain: we take 2 more, keep the reserve of 2, wait for the window.
    assert seen_by_server[:3] == [16, 17, 18] and seen_by_server[3] < 16
    assert statuses(server) == [200] * 8


def test_a_429_holds_every_worker_until_the_window_resets(backend, follow_the_hub, replay):
    server = replay(["family.jsonl.gz"], api_budget=1, window=2)
    httpx2.get(f"{server.url}/api/models?limit=1")
    spent = httpx2.get(f"{server.url}/api/models?limit=1")
    assert spent.status_code == 429
    (a, b), waits = budgets(2, window=60)
    for announced in ratelimit.read(spent.headers):
        a.observe(announced)
    assert b.policy("api") == Policy(limit=1, window=2, reserve=0)  # shared through the store
    started = time.monotonic()
    b.acquire("api")
    assert 0.5 < time.monotonic() - started < 3 and waits


@pytest.mark.django_db(transaction=True)  # the threads see the committed row
def test_a_429_racing_other_answers_never_spends_a_long_window(backend, follow_the_hub):
    """A 429 says the window ends in a second; the answers around it, that it ends in minutes.
    Whatever their order, the spent count belongs to the short window: the long one is never
    left spent, nor is a wait read from the long one (both found by crawling in threads: a
    thread then slept out five minutes)."""
    later = ratelimit.Announced("api", remaining=999_000, reset=293, quota=1_000_000, window=300)
    refused = ratelimit.Announced("api", remaining=0, reset=1, quota=1_000_000, window=300)
    (budget,), _ = budgets(1, window=300)
    waits: list[float] = []
    for _ in range(60):
        budget.observe(later)
        start = threading.Barrier(4)

        def observe(announced, start=start):
            start.wait()
            for _ in range(5):
                budget.observe(announced)
            connection.close()

        def take(start=start):
            start.wait()
            limit = budget.policy("api").limit
            for _ in range(5):
                waits.append(budget.store.take("api", time.time(), limit, 300) or 0)
            connection.close()

        threads = [threading.Thread(target=observe, args=(a,)) for a in [refused, *[later] * 2]]
        threads.append(threading.Thread(target=take))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        end, used = _state(backend)
        if end > time.time() + 10:  # the long window
            assert used < budget.policy("api").limit
    assert max(waits) < 3  # a wait is never read from the window that came after it


def _state(backend):
    if backend == "redis":
        import redis

        client = redis.Redis.from_url(os.environ["REDIS_URL"])
        end, used = client.hmget(budget_module._RedisStore.key("api"), "end", "used")
        return float(end), int(used)
    row = HubBudget.objects.get(bucket="api")
    return row.window_end, row.used


# --- the settings ---------------------------------------------------------------------------


def test_a_budget_left_unset_is_told_from_one_set(monkeypatch):
    monkeypatch.delenv("CANOPY_HUB_API_BUDGET", raising=False)
    assert env_optional_int("CANOPY_HUB_API_BUDGET") is None
    monkeypatch.setenv("CANOPY_HUB_API_BUDGET", "")
    assert env_optional_int("CANOPY_HUB_API_BUDGET") is None
    monkeypatch.setenv("CANOPY_HUB_API_BUDGET", "450")
    assert env_optional_int("CANOPY_HUB_API_BUDGET") == 450
    monkeypatch.setenv("CANOPY_HUB_API_BUDGET", "lots")
    with pytest.raises(ImproperlyConfigured):
        env_optional_int("CANOPY_HUB_API_BUDGET")


def test_the_policy_from_the_announced_quota_and_the_ceiling(settings):
    settings.CANOPY_HUB_API_BUDGET = 100
    # The Hub's 500 per 300 s: 450 by the margin, 100 by the ceiling.
    assert budget_module.policy("api", 500, 300, 300) == Policy(100, 300, 50)
    # A 60 s window: a fifth of the ceiling; a 600 s window: no more than the ceiling itself.
    assert budget_module.policy("api", 500, 60, 300).limit == 20
    assert budget_module.policy("api", 5000, 600, 300).limit == 100
    settings.CANOPY_HUB_API_BUDGET = None
    assert budget_module.policy("api", 500, 300, 300) == Policy(450, 300, 50)  # the live Hub
    assert budget_module.policy("api", 0, 0, 300) == Policy(450, 300, 0)  # nothing announced
    assert budget_module.policy("api", 1, 5, 300) == Policy(1, 5, 0)
