"""Breaking the lineage facet: any value a URL can carry is a 4xx or a filter, never a 500.

CONSTRUCTED records (ids under `constructed/`)."""

from __future__ import annotations

import pytest

from catalog.models import HubModel, LineageEdge
from licenses import assessment
from portal import searchindex


@pytest.fixture
def indexed(db):
    base = HubModel.objects.create(repo_id="constructed/base", tags=["license:other"])
    ft = HubModel.objects.create(repo_id="constructed/ft", tags=["license:apache-2.0"])
    HubModel.objects.create(repo_id="constructed/unassessed", tags=["license:mit"])
    LineageEdge.objects.create(child=ft, parent_repo_id=base.repo_id, relation="finetune",
                               relation_source="default", origin="tags")  # fmt: skip
    assessment.assess_all()
    from licenses.models import ModelLicense

    ModelLicense.objects.filter(model__repo_id="constructed/unassessed").delete()
    searchindex.rebuild()


ODD = ["bogus", "", "unassessed", "x" * 5000, "complete\x00", "<script>", "COMPLETE", "%00"]


@pytest.mark.parametrize("value", ODD, ids=[str(i) for i in range(len(ODD))])
@pytest.mark.parametrize("path", ["/models/", "/api/v1/models", "/models/export.csv"])
def test_an_odd_lineage_value_is_never_a_500(indexed, client, path, value):
    r = client.get(path, {"lineage": value})
    assert r.status_code < 500, (path, value, r.status_code)


def test_unassessed_filters_the_models_without_a_result(indexed, client):
    hits = client.get("/api/v1/models", {"lineage": "unassessed"}).json()
    assert [i["id"] for i in hits["items"]] == ["constructed/unassessed"]
    assert hits["items"][0]["lineage_status"] is None


def test_repeated_lineage_values_are_never_a_500(indexed, client):
    r = client.get("/api/v1/models?lineage=complete&lineage=bogus")
    assert r.status_code < 500
    r = client.get("/models/?lineage=complete&lineage=unknown_ancestor_terms")
    assert r.status_code < 500


def test_the_csv_says_the_status_and_blank_when_unassessed(indexed, client):
    csv = client.get("/models/export.csv").getvalue().decode()
    header, *rows = csv.strip().splitlines()
    col = header.split(",").index("lineage_status")
    got = {r.split(",")[0]: r.split(",")[col] for r in rows}
    assert got == {"constructed/base": "complete", "constructed/ft": "unknown_ancestor_terms",
                   "constructed/unassessed": ""}  # fmt: skip
