"""The request budget shared by all workers: the embedded (database) and Redis backends."""

import os
import time

import pytest

from catalog.budget import Budget

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["database", pytest.param("redis", marks=pytest.mark.redis)])
def backend(request, settings):
    settings.REDIS_URL = os.environ.get("REDIS_URL", "") if request.param == "redis" else ""
    settings.CANOPY_HUB_API_BUDGET = 3
    if request.param == "redis":
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        for key in client.scan_iter("canopy:budget:*"):
            client.delete(key)
    return request.param


def budgets(n=1, window=2):
    waits: list[float] = []

    def sleep(seconds):
        waits.append(seconds)
        time.sleep(seconds)

    return [Budget(window=window, sleep=sleep) for _ in range(n)], waits


def test_requests_within_the_quota_do_not_wait(backend):
    (budget,), waits = budgets()
    _align_to_window_start(2)
    for _ in range(3):
        assert budget.acquire("api") == 0
    assert waits == [] and budget.used("api") == 3


def test_workers_share_one_quota_and_the_next_request_waits_for_the_window(backend):
    (a, b), waits = budgets(2)
    _align_to_window_start(2)
    a.acquire("api")
    b.acquire("api")
    a.acquire("api")
    started = time.monotonic()
    b.acquire("api")  # the fourth in this window, whoever asks
    assert waits and 0 < time.monotonic() - started <= 2.2


def test_the_buckets_are_counted_apart(backend, settings):
    settings.CANOPY_HUB_RESOLVERS_BUDGET = 1
    (budget,), waits = budgets()
    _align_to_window_start(2)
    for _ in range(3):
        budget.acquire("api")
    budget.acquire("resolvers")
    assert waits == []


def test_a_block_from_the_hubs_headers_holds_every_worker(backend):
    (a, b), waits = budgets(2, window=60)
    a.block("api", 1.0)
    started = time.monotonic()
    b.acquire("api")
    assert 0.5 < time.monotonic() - started < 2 and waits


def _align_to_window_start(window):
    """Tests count within one window: start just after a window begins."""
    time.sleep(window - time.time() % window + 0.01)
