"""The search table follows the catalog and the license results, and skips what is unchanged."""

import pytest

from catalog.models import HubModel
from licenses import assessment
from portal import searchindex
from portal.models import SearchEntry
from tests.catalog.conftest import ROOT

pytestmark = pytest.mark.django_db

SAME = ["repo_id", "author", "downloads", "likes", "base_relation", "base_family",
        "pipeline_tag", "library_name", "weights_format", "gated", "param_bucket", "memory_gb"]  # fmt: skip


def test_every_crawled_model_has_an_entry_like_its_row(family):
    models = {m.pk: m for m in HubModel.objects.select_related("license_state")}
    entries = {e.model_id: e for e in SearchEntry.objects.all()}
    assert entries.keys() == models.keys()
    for pk, m in models.items():
        e = entries[pk]
        assert [getattr(e, c) for c in SAME] == [getattr(m, c) for c in SAME], m.repo_id
        state = getattr(m, "license_state", None)
        assert e.effective == (state.effective if state else "")
        assert e.declared == (state.declared if state else "")


def test_an_unchanged_model_is_not_rewritten(family):
    ids = list(HubModel.objects.values_list("pk", flat=True))
    assert searchindex.sync(ids) == 0
    HubModel.objects.filter(repo_id=ROOT).update(downloads=123)
    assert searchindex.sync(ids) == 1
    assert SearchEntry.objects.get(repo_id=ROOT).downloads == 123


def test_a_new_license_result_reaches_the_search(family, client):
    root = HubModel.objects.get(repo_id=ROOT)
    root.tags = [t for t in root.tags if not t.startswith("license:")] + ["license:cc-by-nc-4.0"]
    root.card_data = {"license": "cc-by-nc-4.0"}
    root.save(update_fields=["tags", "card_data"])
    root.files.all().delete()  # its LICENSE file would otherwise outrank the card
    assessment.assess([root.pk])
    entry = SearchEntry.objects.get(model=root)
    assert entry.declared == "cc-by-nc-4.0"
    assert entry.verdict == "prohibited"
    response = client.get("/api/v1/models", {"license": "cc-by-nc-4.0"})
    assert ROOT in [item["id"] for item in response.json()["items"]]


def test_deleting_a_model_drops_its_entry(family):
    root = HubModel.objects.get(repo_id=ROOT)
    root.delete()
    assert not SearchEntry.objects.filter(repo_id=ROOT).exists()


def test_a_rebuild_since_a_time_writes_the_models_written_since(family):
    from datetime import timedelta

    from django.utils import timezone

    SearchEntry.objects.all().delete()
    HubModel.objects.update(updated_at=timezone.now() - timedelta(hours=2))
    assert searchindex.rebuild(since=timezone.now() - timedelta(hours=1)) == 0
    HubModel.objects.filter(repo_id=ROOT).update(updated_at=timezone.now())
    start = timezone.now() - timedelta(seconds=1)
    assert searchindex.rebuild(since=start) == 1
    assert list(SearchEntry.objects.values_list("repo_id", flat=True)) == [ROOT]
    assert searchindex.rebuild() == HubModel.objects.count() - 1
