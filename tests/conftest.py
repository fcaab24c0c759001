"""Shared fixtures: the replayed Hub (real snapshot slices on loopback) and service checks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
DEMO = Path(__file__).parent.parent / "hubreplay" / "data"


def pytest_collection_modifyitems(config, items):
    # Tests that need a server skip only where it is absent, and say why; CI sets both.
    for item in items:
        if "postgres" in item.keywords and not os.environ.get("DATABASE_URL", "").startswith(
            "postgres"
        ):
            item.add_marker(
                pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://...")
            )
        if "redis" in item.keywords and not os.environ.get("REDIS_URL"):
            item.add_marker(pytest.mark.skip(reason="needs Redis: set REDIS_URL=redis://..."))


@pytest.fixture(autouse=True)
def _empty_cache():
    """Cached figures (facet counts, dashboard) must not leak from one test's data to the next."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _generous_budget(settings):
    """An explicit ceiling too high to matter: only a quota a replay announces rations requests
    (our own budget is tested on purpose in test_budget, which clears it to follow the Hub)."""
    settings.CANOPY_HUB_API_BUDGET = 1_000_000
    settings.CANOPY_HUB_RESOLVERS_BUDGET = 1_000_000


@pytest.fixture(scope="session")
def replay_index(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("hubreplay-index")


@pytest.fixture
def replay(replay_index):
    """Start a hubreplay server: replay(["a.jsonl.gz"], ["b.jsonl.gz"], **options)."""
    from hubreplay import ReplayServer

    servers = []

    def start(*states, **options):
        layers = [[str(FIXTURES / f) if "/" not in str(f) else str(f) for f in s] for s in states]
        server = ReplayServer(layers, index_dir=replay_index, **options).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def hub_for():
    from catalog.hub import Hub

    return lambda server: Hub(endpoint=server.url, token="")
