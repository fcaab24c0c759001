"""Run one function over a batch in a few threads, as the details phase does with its fetches.

A model's details are mostly waiting: on the Hub's answer, on a retry's backoff, on a slow
answer's timeout. In a few threads those waits overlap, while the request budget (shared by all
threads through its store) still bounds what is asked of the Hub.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from django.db import connection, connections

T = TypeVar("T")
R = TypeVar("R")


def each(fn: Callable[[T], R], items: Iterable[T], *, threads: int) -> Iterator[tuple[T, R]]:
    """(item, fn(item)) for each item, in the order they finish.

    The first exception stops handing out items; the ones in flight finish and are given, then
    it is raised, as a loop would raise it (though a few items after it may have run).
    Each call sees the caller's context variables. Inside a transaction everything runs in this
    thread: another thread's connection would not see what the transaction has not committed.
    """
    work = list(items)
    if threads <= 1 or len(work) <= 1 or connection.in_atomic_block:
        for item in work:
            yield item, fn(item)
        return
    todo: queue.SimpleQueue[T] = queue.SimpleQueue()
    for item in work:
        todo.put(item)
    done: queue.SimpleQueue[tuple[T, Any, BaseException | None]] = queue.SimpleQueue()
    stop = threading.Event()
    context = contextvars.copy_context()

    def worker() -> None:
        try:
            while not stop.is_set():
                try:
                    item = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    done.put((item, context.copy().run(fn, item), None))
                except BaseException as exc:  # noqa: BLE001 -- raised by the caller's thread
                    stop.set()
                    done.put((item, None, exc))
        finally:
            connections.close_all()  # this thread's own; Django would leave them open

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(min(threads, len(work)))]
    for t in pool:
        t.start()
    failure: BaseException | None = None
    try:
        while True:
            try:
                item, result, exc = done.get(timeout=0.05)
            except queue.Empty:
                if any(t.is_alive() for t in pool) or not done.empty():
                    continue
                break
            if exc is not None:
                failure = failure or exc
            else:
                yield item, result
    finally:
        stop.set()
        for t in pool:
            t.join()
    if failure is not None:
        raise failure
