"""Personas (one user per role), a crawled Llama-2 family, and a constructed Hub state."""

from __future__ import annotations

import gzip
import json

import pytest
from django.contrib.auth.models import User

from catalog import crawler, runs
from catalog.models import CrawlRun, HubModel
from licenses import tasks as license_tasks
from tests.conftest import FIXTURES, crawled_once, role

ROLES = ["viewer", "developer", "legal", "approver", "admin"]
ROOT = "meta-llama/Llama-2-7b-chat-hf"


@pytest.fixture
def users(db) -> dict[str, User]:
    out = {}
    for name in ROLES:
        user = User.objects.create_user(name, f"{name}@example.com", "pw-" + name)
        user.groups.add(role(name))
        out[name] = user
    out["approver2"] = User.objects.create_user("approver2", "a2@example.com", "pw")
    out["approver2"].groups.add(role("approver"))
    return out


def crawl_and_assess(server, hub_for) -> CrawlRun:
    run, _ = runs.start(CrawlRun.Kind.FULL, endpoint=server.url, limit=0)
    run = crawler.run_sync(run, hub=hub_for(server))
    # The crawl queues assessment on commit, and each pass queues the children of what changed;
    # here the passes run in this process until nothing changes.
    ids = list(HubModel.objects.values_list("pk", flat=True))
    for _ in range(5):
        if not license_tasks.assess_models(ids):
            break
    return run


@pytest.fixture(scope="module")
def _family(django_db_setup, django_db_blocker, replay_index):
    with crawled_once(django_db_blocker, replay_index, ["family.jsonl.gz"]) as (
        server, _,
    ):  # fmt: skip
        yield server


@pytest.fixture
def family(_family, db):
    """The real family snapshot crawled and assessed once for the module (its server): each
    test's changes are rolled back, the crawl is not."""
    return _family


def constructed_base_license_change(tmp_path, *, license: str = "cc-by-nc-4.0"):
    """CONSTRUCTED test state (not a real capture): the real family.jsonl.gz record of the
    Llama-2 root with one change, its license (tag and card) set to `license`; sha and
    lastModified move on so the crawler sees a change. Everything else is the real record."""
    with gzip.open(FIXTURES / "family.jsonl.gz", "rt") as f:
        root = next(r for r in map(json.loads, f) if r["id"] == ROOT)
    root["tags"] = [f"license:{license}" if t.startswith("license:") else t for t in root["tags"]]
    root["cardData"]["license"] = license
    root.pop("__files", None)
    root["sha"] = "c0" * 20
    root["lastModified"] = "2025-05-01T00:00:00.000Z"
    root["__constructed"] = f"license changed to {license} from the real record (test only)"
    path = tmp_path / "constructed-base-license-change.jsonl.gz"
    with gzip.open(path, "wt") as f:
        f.write(json.dumps(root) + "\n")
    return path
