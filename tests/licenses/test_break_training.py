"""Breaking the training-data standing (licenses.training, licenses.assessment._with_data).

Every record here is CONSTRUCTED (ids under `constructed/`)."""

from __future__ import annotations

import pytest

from catalog import ingest
from catalog.models import HubDataset, HubModel, LineageEdge
from licenses import assessment, training
from licenses.models import ModelLicense
from licenses.tasks import assess_tree


def _rec(repo_id, *, datasets=(), bases=(), license="mit", tags=()):
    card = {"license": license}
    if datasets:
        card["datasets"] = list(datasets)
    if bases:
        card["base_model"] = list(bases)
    return {
        "id": repo_id, "_id": "h" + repo_id.replace("/", "_"), "author": "constructed",
        "tags": [f"license:{license}", *tags], "cardData": card, "downloads": 1,
        "sha": "s" * 40,
    }  # fmt: skip


def _write(*records):
    counts = ingest.ingest(list(records), detail=True)
    assert not counts.rejected, counts.rejected
    pks = list(HubModel.objects.filter(repo_id__in=[r["id"] for r in records]).values_list(
        "pk", flat=True))  # fmt: skip
    return pks


def _carried(repo_id):
    return ModelLicense.objects.get(model__repo_id=repo_id).data_carried


DATA = ("data_commercial", "data_status", "data_conflict", "data_carried")


def _data():
    return {r["model__repo_id"]: r for r in ModelLicense.objects.values("model__repo_id", *DATA)}


def _cycle_recrawled(x):
    """A <-> B (a cycle, constructed); A declares a non-commercial dataset; settled by a whole
    pass; then A is re-crawled without it and the crawl's incremental assessment runs."""
    a = _rec(f"constructed/{x}a", datasets=[f"constructed/{x}d"], bases=[f"constructed/{x}b"])
    b = _rec(f"constructed/{x}b", bases=[f"constructed/{x}a"])
    HubDataset.objects.create(repo_id=f"constructed/{x}d", tags=["license:cc-by-nc-4.0"])
    assess_tree(_write(a, b), inline=True)
    assessment.assess_all()
    assert _carried(f"constructed/{x}b") == [[f"constructed/{x}d", "card", f"constructed/{x}a"]]
    a2 = {**_rec(f"constructed/{x}a", bases=[f"constructed/{x}b"]), "sha": "t" * 40}
    assess_tree(_write(a2), inline=True)


@pytest.mark.django_db
def test_break_cycle_keeps_a_dataset_nobody_declares_any_more():
    _cycle_recrawled("p")
    # Nobody declares constructed/pd now: neither model may carry it (nor conflict over it).
    assert _carried("constructed/pa") == []
    assert _carried("constructed/pb") == []


@pytest.mark.django_db
def test_break_cycle_incremental_and_assess_all_disagree_after_a_recrawl():
    _cycle_recrawled("q")
    incremental = _data()
    assessment.assess_all()
    assert _data() == incremental


@pytest.mark.django_db
def test_break_chain_drops_a_dataset_its_recrawled_base_no_longer_declares():
    base = _rec("constructed/k-base", datasets=["constructed/kd"])
    ft = _rec("constructed/k-ft", bases=["constructed/k-base"])
    q = _rec("constructed/k-q", bases=["constructed/k-ft"])
    HubDataset.objects.create(repo_id="constructed/kd", tags=["license:cc-by-nc-4.0"])
    assess_tree(_write(base) + _write(ft) + _write(q), inline=True)
    assert _carried("constructed/k-q") == [["constructed/kd", "card", "constructed/k-base"]]
    assess_tree(_write({**_rec("constructed/k-base"), "sha": "t" * 40}), inline=True)
    assert _carried("constructed/k-q") == [] and _carried("constructed/k-ft") == []
    incremental = _data()
    assessment.assess_all()
    assert _data() == incremental


@pytest.mark.parametrize("order", [("z", "a"), ("a", "z")])
@pytest.mark.django_db
def test_break_merge_parents_order_differs_between_incremental_and_assess_all(order):
    # A merge of two parents that both declare the same dataset (different sources): which
    # ancestor it is "via" must not depend on the code path.
    z = _rec("constructed/z-parent", datasets=["constructed/shared"])
    a = _rec("constructed/a-parent", tags=["dataset:constructed/shared"])
    HubDataset.objects.create(repo_id="constructed/shared", tags=["license:cc-by-nc-4.0"])
    pz = _write(z)
    pa = _write(a)
    m = _rec("constructed/merge", bases=[f"constructed/{p}-parent" for p in order])
    pm = _write(m)
    assert LineageEdge.objects.filter(child__repo_id="constructed/merge").count() == 2
    assess_tree(pz + pa + pm, inline=True)
    incremental = _data()
    assessment.assess_all()
    assert _data() == incremental


def test_break_carry_self_via_from_stored_cycle_partner():
    # Pure: a node reads its cycle partner's stored carried list, which names the node itself
    # as the declarer; the node no longer declares it. It must not carry it "via" itself.
    out = training.carry({"a": []}, {"a": ["b"]}, {"b": [("d", "tags", "a")]}, {"b": "b"})
    assert out["a"] == []
