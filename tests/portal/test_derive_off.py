"""CANOPY_DERIVE_ON_CRAWL=0: the crawl stores models without their derived columns and the read
side still makes them searchable (catalog.signals.models_derived with model_ids=None, since)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog import steps
from catalog.models import CrawlRun, HubModel
from portal.models import SearchEntry

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("derive", [True, False])
def test_models_listed_by_a_run_are_searchable_whether_derived_or_not(settings, derive):
    settings.CANOPY_DERIVE_ON_CRAWL = derive
    old = HubModel.objects.create(repo_id="org/old", author="org")
    HubModel.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=2))
    run = CrawlRun.objects.create(
        kind=CrawlRun.Kind.FULL, started_at=timezone.now() - timedelta(hours=1)
    )
    new = [
        HubModel.objects.create(repo_id=f"org/m{i}", author="org", downloads=i) for i in range(3)
    ]
    assert not SearchEntry.objects.exists()
    steps._derive_listed(run)
    assert set(SearchEntry.objects.values_list("repo_id", flat=True)) == {m.repo_id for m in new}
