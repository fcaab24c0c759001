"""The search table follows what the layers below announce (connected at import, from
PortalConfig.ready): derived columns written, license states written, a bulk pass done."""

from __future__ import annotations

from django.dispatch import receiver

from approvals.forms import suggest_with
from catalog import bulk
from catalog.signals import bulk_written, models_derived
from licenses.signals import states_written

from . import search, searchindex
from .models import SearchEntry


@receiver(models_derived, dispatch_uid="portal-search-derived")
def derived(sender, *, model_ids, since=None, **kwargs) -> None:
    if model_ids is None:
        searchindex.rebuild(since=since)
    else:
        searchindex.sync(model_ids)


@receiver(states_written, dispatch_uid="portal-search-licenses")
def licenses_written(sender, *, model_ids, **kwargs) -> None:
    searchindex.sync(model_ids)


@receiver(bulk_written, dispatch_uid="portal-search-analyze")
def analyze(sender, **kwargs) -> None:
    bulk.analyze(SearchEntry)


suggest_with(search.repo_suggestions)
