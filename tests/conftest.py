"""Shared fixtures: the replayed Hub (real snapshot slices on loopback) and service checks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests: a modest number of examples so the suite stays fast; in CI (.ci/run sets CI)
# the examples are derived from each test's name, so a run is reproducible and writes no database.
settings.register_profile("canopy", max_examples=100, deadline=5_000)
settings.register_profile("ci", settings.get_profile("canopy"), derandomize=True, database=None)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "canopy")
)

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
    """Our own request budget is tested on purpose in test_budget; elsewhere it stays out of the way."""
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
