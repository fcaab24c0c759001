"""The lineage status as a search facet and in the search API and CSV (issue 13, item 4).

CONSTRUCTED records (ids under `constructed/`): an `other`-licensed base, its apache-2.0
fine-tune (upstream terms unknown) and a GGUF repo that names no base."""

from __future__ import annotations

import pytest

from catalog.models import HubModel, LineageEdge
from licenses import assessment
from portal import searchindex


@pytest.fixture
def indexed(db):
    base = HubModel.objects.create(repo_id="constructed/base", tags=["license:other"])
    ft = HubModel.objects.create(repo_id="constructed/ft", tags=["license:apache-2.0"])
    HubModel.objects.create(repo_id="constructed/lone-GGUF", tags=["gguf", "license:mit"])
    LineageEdge.objects.create(child=ft, parent_repo_id=base.repo_id, relation="finetune",
                               relation_source="default", origin="tags")  # fmt: skip
    assessment.assess_all()
    searchindex.rebuild()


def test_the_facet_counts_filters_and_labels_the_statuses(indexed, client):
    page = client.get("/models/").content.decode()
    assert (
        "an ancestor&#x27;s license is unknown" in page
        and "a derivative that names no base" in (page)
    )
    hits = client.get("/api/v1/models", {"lineage": "unknown_ancestor_terms"}).json()
    assert [i["id"] for i in hits["items"]] == ["constructed/ft"]
    assert hits["items"][0]["lineage_status"] == "unknown_ancestor_terms"
    lone = client.get("/api/v1/models", {"lineage": "no_base_for_derivative"}).json()
    assert [i["id"] for i in lone["items"]] == ["constructed/lone-GGUF"]
    assert client.get("/api/v1/models", {"lineage": "incomplete"}).status_code == 422
    csv = client.get("/models/export.csv", {"lineage": "complete"}).getvalue().decode()
    header, *rows = csv.strip().splitlines()
    assert "lineage_status" in header.split(",")
    assert sorted(r.split(",")[0] for r in rows) == ["constructed/base"]
