"""pool.each: a batch in a few threads, as the details phase fetches, with a loop's semantics."""

import threading
from contextvars import ContextVar

import pytest
from django.db import connections

from catalog import pool
from catalog.models import HubModel

who: ContextVar[str] = ContextVar("who", default="nobody")


def test_each_item_once_with_its_result():
    got = dict(pool.each(lambda n: n * n, range(50), threads=4))
    assert got == {n: n * n for n in range(50)}


def test_the_calls_overlap():
    meet = threading.Barrier(4, timeout=10)  # breaks unless four calls wait at once
    got = dict(pool.each(lambda n: meet.wait() >= 0 and n, range(8), threads=4))
    assert sorted(got) == list(range(8))


def test_the_first_failure_is_raised_after_the_calls_in_flight_are_given():
    started, release = [], threading.Event()

    def fn(n):
        started.append(n)
        if n == 0:
            raise ValueError("the Hub is down")
        release.wait(10)
        return n

    given = []
    with pytest.raises(ValueError, match="the Hub is down"):
        for item, _ in pool.each(fn, range(100), threads=3):
            given.append(item)
            release.set()
    assert len(started) < 100  # handing out stopped at the failure
    assert sorted(given) == sorted(set(started) - {0})  # what ran, apart from it, was given


def test_a_call_sees_the_callers_context():
    who.set("the crawl")
    assert {r for _, r in pool.each(lambda _: who.get(), range(6), threads=3)} == {"the crawl"}


@pytest.mark.django_db
def test_inside_a_transaction_it_runs_in_this_thread():
    # Another thread's connection would not see this uncommitted row.
    HubModel.objects.create(repo_id="a/b")
    me = threading.get_ident()
    got = list(pool.each(lambda _: (threading.get_ident(), HubModel.objects.count()), "xy",
                         threads=4))  # fmt: skip
    assert [r for _, r in got] == [(me, 1), (me, 1)]


@pytest.mark.django_db(transaction=True)
def test_threads_use_their_own_connections_and_close_them():
    HubModel.objects.create(repo_id="a/b")
    opened = []

    def fn(_):
        n = HubModel.objects.count()
        opened.append(connections["default"])  # this thread's wrapper, not the proxy
        return n

    assert {r for _, r in pool.each(fn, range(8), threads=4)} == {1}
    assert len({id(c) for c in opened}) > 1
    assert all(c.connection is None for c in opened)
