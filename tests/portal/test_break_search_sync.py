"""Break session on the layers refactoring (5ac63f3): pre-existing gaps in keeping the search
table in step, found while checking the refactoring (the same at bf0f4e4)."""

from __future__ import annotations

import pytest


def _edge(child, parent: str) -> None:
    from catalog.models import LineageEdge

    LineageEdge.objects.create(child=child, parent_repo_id=parent, relation="finetune",
                               relation_source="default", origin="card")  # fmt: skip


@pytest.mark.django_db
def test_break_a_family_that_moves_under_a_new_root_moves_in_the_search_too():
    """Pre-existing (the same at bf0f4e4, not a regression of the move): when a root gains a
    parent, families.refresh re-roots its former descendants with a bare
    `HubModel.objects.filter(base_family=old).update(...)`, which announces nothing
    (catalog.signals.models_derived is sent by _write only), so their search entries keep the
    old family: the search's base facet and `?base=` filter miss them until a
    `manage.py refresh_catalog`. Seen on the demo snapshot: 50 entries stale after the 2025
    incremental crawl (yhkim9362/gemma-en-ko-7b-v0.2: entry google/gemma-7b-it, model
    google/gemma-7b), at both commits."""
    from catalog import families
    from catalog.models import HubModel
    from portal import search
    from portal.models import SearchEntry

    a = HubModel.objects.create(repo_id="org/a", author="org")
    b = HubModel.objects.create(repo_id="someone/a-ft", author="someone")
    _edge(b, a.repo_id)
    families.refresh([a.pk, b.pk])
    assert SearchEntry.objects.get(pk=b.pk).base_family == "org/a"

    p = HubModel.objects.create(repo_id="meta/p", author="meta")
    _edge(a, p.repo_id)  # the root's new card names a base model
    families.refresh([p.pk, a.pk])  # what the crawl writes: the root and its new parent

    assert HubModel.objects.get(pk=b.pk).base_family == "meta/p"
    assert SearchEntry.objects.get(pk=b.pk).base_family == "meta/p"
    found = search.apply(SearchEntry.objects.all(), {"base": "meta/p"})
    assert set(found.values_list("repo_id", flat=True)) == {"meta/p", "org/a", "someone/a-ft"}
