"""Shared fixtures: the replayed Hub (real snapshot slices on loopback) and service checks."""

from __future__ import annotations

import gzip
import importlib
import json
import os
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection, transaction
from hypothesis import settings

from config.celery import app

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


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashes():
    """PBKDF2 costs a third of a second per password by design, and the suite makes and logs in
    users by the hundred to test roles, not hashes (Django's own advice for test runs)."""
    from django.test import override_settings

    fast = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    fast.enable()
    yield
    fast.disable()


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


@contextmanager
def crawled_once(django_db_blocker, replay_index, files: list[str], datasets: list[str] = ()):
    """Crawl real snapshot files once for a whole module, as `crawl --sync` does (licenses
    assessed inline), inside a transaction rolled back after it, TestCase.setUpTestData's way:
    each test's own transaction nests in it. Gives (server, run); the server serves the files
    (and the dataset files `datasets`) until the end."""
    from django.test import override_settings

    from catalog import crawler, runs
    from catalog.hub import Hub
    from catalog.models import CrawlRun
    from hubreplay import ReplayServer

    server = ReplayServer(
        [[str(FIXTURES / f) for f in files]], index_dir=replay_index,
        datasets=[str(FIXTURES / f) for f in datasets],
    ).start()  # fmt: skip
    try:
        with django_db_blocker.unblock(), transaction.atomic():
            with override_settings(CANOPY_HUB_API_BUDGET=10**6, CANOPY_HUB_RESOLVERS_BUDGET=10**6):
                run, _ = runs.start(CrawlRun.Kind.FULL, endpoint=server.url, limit=0)
                run = crawler.run_sync(run, hub=Hub(endpoint=server.url, token=""))
            if connection.vendor == "postgresql":
                # Facet counts trust the planner's row estimates: fresh statistics, as
                # autovacuum would give a real catalog, not whatever earlier tests left behind.
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE catalog_hubmodel")
                    cursor.execute("ANALYZE catalog_searchentry")
            yield server, run
            transaction.set_rollback(True)
    finally:
        server.stop()


@pytest.fixture
def eager():
    """Tasks run in this process as they are sent (a retry runs again at once)."""
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def hub_for():
    from catalog.hub import Hub

    return lambda server: Hub(endpoint=server.url, token="")


@pytest.fixture(scope="session", autouse=True)
def _flush_past_the_audit_triggers():
    """Transactional tests empty every table after each test (TRUNCATE, or DELETE on SQLite),
    which the audit log's triggers refuse, as they must in production. Here, and only here,
    the flush lifts them inside its own transaction and puts them back before it commits; then
    it loads the license knowledge base again."""

    from django.db.backends.base.operations import BaseDatabaseOperations

    guard = importlib.import_module("approvals.migrations.0005_auditevent_append_only_triggers")
    original = BaseDatabaseOperations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        vendor = self.connection.vendor
        before: list[str] = []
        after: list[str] = []
        if any(guard.TABLE in sql for sql in sql_list) and vendor == "postgresql":
            trigger = f"{guard.TABLE}_append_only"
            before = [f"ALTER TABLE {guard.TABLE} DISABLE TRIGGER {trigger}"]
            after = [f"ALTER TABLE {guard.TABLE} ENABLE TRIGGER {trigger}"]
        elif any(guard.TABLE in sql for sql in sql_list) and vendor in guard.SQL:
            after, before = guard.SQL[vendor]
        original(self, [*before, *sql_list, *after])
        # The license knowledge base comes from a data migration, which a flush does not
        # replay: the next test finds it as migrate left it (roles: see role() below).
        from licenses.loading import load_licenses

        load_licenses()

    BaseDatabaseOperations.execute_sql_flush = execute_sql_flush
    yield
    BaseDatabaseOperations.execute_sql_flush = original


def role(name: str):
    """The group of a role, made again where a transactional test's flush removed it (the five
    roles come from data migrations, which a flush does not replay; approvals.roles states what
    they hold)."""
    from django.contrib.auth.models import Group, Permission

    from approvals.roles import permissions

    group, created = Group.objects.get_or_create(name=name)
    if created:
        for perm in permissions(name):
            app_label, codename = perm.split(".")
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
    return group


# --- usage profiles over the bundled snapshot ---------------------------------------

LLAMA2 = "meta-llama/Llama-2-7b-hf"
LLAMA3 = "meta-llama/Meta-Llama-3-8B-Instruct"
GEMMA = "google/gemma-7b-it"
SD3 = "stabilityai/stable-diffusion-3-medium"
MISTRAL = "mistralai/Mistral-7B-v0.1"
APACHE_LLAMA = "MaziyarPanahi/Llama-2-7b-chat-hf-GGUF"  # declares apache-2.0 on a Llama 2 base
CHAT = "meta-llama/Llama-2-7b-chat-hf"
IDS = {LLAMA2, LLAMA3, GEMMA, "google/gemma-7b", SD3, MISTRAL, APACHE_LLAMA, CHAT}


def demo_cut(path) -> str:
    """The records of IDS from the bundled snapshot, the 2025 record where there is one."""
    found = {}
    for name in ("demo-2024.jsonl.gz", "demo-2025.jsonl.gz"):
        with gzip.open(DEMO / name, "rt") as f:
            for line in f:
                if json.loads(line)["id"] in IDS:
                    found[json.loads(line)["id"]] = line
    assert set(found) == IDS
    with gzip.open(path, "wt") as w:
        w.writelines(found.values())
    return str(path)


@pytest.fixture(scope="module")
def profiles_catalog(django_db_setup, django_db_blocker, replay_index, tmp_path_factory):
    """Real records of the bundled snapshot for Llama, Gemma, Stability and Apache models,
    crawled and assessed once for a module (each test's changes roll back)."""
    cut = demo_cut(tmp_path_factory.mktemp("demo") / "profiles.jsonl.gz")
    with crawled_once(django_db_blocker, replay_index, [cut]) as (server, run):
        yield server
