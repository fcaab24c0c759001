"""Breaking the lineage status (issue 13, item 4): the incremental assess() and the whole-graph
assess_all() must agree, a second whole pass must change nothing, and stored data of the wrong
shape must not crash a re-assessment.

Every record here is CONSTRUCTED (ids under `constructed/`)."""

from __future__ import annotations

import pytest

from catalog.models import HubModel, LineageEdge, RepoAlias
from licenses import assessment
from licenses.models import LineageStatus, ModelLicense, lineage_summary

S = LineageStatus


def _model(repo_id: str, tags: list | str, **kw) -> HubModel:
    return HubModel.objects.create(repo_id=repo_id, tags=tags, **kw)


def _edge(child: HubModel, parent: str) -> None:
    LineageEdge.objects.create(child=child, parent_repo_id=parent, relation="finetune",
                               relation_source="default", origin="tags")  # fmt: skip


def _snapshot(models) -> dict[str, tuple]:
    out = {}
    for m in models:
        s = ModelLicense.objects.get(model=m)
        gaps = {k: sorted(v) for k, v in (s.lineage_gaps or {}).items()}
        out[m.repo_id] = (s.lineage_status, gaps, s.effective, sorted(s.inherited_keys), s.digest)
    return out


def _agree(models, order=None):
    """Whole pass, then each model alone (parents first), then a whole pass again: the same."""
    assessment.assess_all()
    whole = _snapshot(models)
    for m in order or models:
        assessment.assess([m.pk])
    alone = _snapshot(models)
    again = assessment.assess_all()
    return whole, alone, again


def test_a_model_naming_itself_as_base_gets_one_status_from_both_passes(db):
    # The Hub has a few self-referencing base_model tags: an adapter that names only itself
    # names no base at all.
    selfish = _model("constructed/self-lora", ["lora", "license:apache-2.0"],
                     library_name="peft")  # fmt: skip
    _edge(selfish, selfish.repo_id)
    whole, alone, again = _agree([selfish])
    assert whole == alone, (whole, alone)
    assert again.changed == []
    assert whole["constructed/self-lora"][0] != S.COMPLETE  # its base is not known


def test_a_plain_model_naming_itself_gets_one_status_from_both_passes(db):
    m = _model("constructed/self-ft", ["license:mit"])
    _edge(m, m.repo_id)
    whole, alone, again = _agree([m])
    assert whole == alone, (whole, alone)
    assert again.changed == []


def test_a_model_naming_itself_by_an_alias_gets_one_status_from_both_passes(db):
    m = _model("constructed/renamed", ["license:mit"])
    RepoAlias.objects.create(alias="constructed/old-name", model=m)
    _edge(m, "constructed/old-name")
    whole, alone, again = _agree([m])
    assert whole == alone, (whole, alone)
    assert again.changed == []


def test_a_two_model_cycle_is_stable_and_agrees(db):
    a = _model("constructed/cyc-a", ["license:mit"])
    b = _model("constructed/cyc-b", ["license:apache-2.0"])
    _edge(a, b.repo_id)
    _edge(b, a.repo_id)
    whole, alone, again = _agree([a, b])
    assert whole == alone, (whole, alone)
    assert again.changed == []
    # a cycle member must not name itself as its own missing ancestor
    for m in (a, b):
        gaps = ModelLicense.objects.get(model=m).lineage_gaps
        assert m.repo_id not in gaps["missing"], gaps


def test_a_merge_of_a_missing_and_an_unknown_parent_names_both(db):
    unknown = _model("constructed/unk-base", ["license:other"])
    merge = _model("constructed/merge", ["merge", "mergekit", "license:apache-2.0"])
    _edge(merge, unknown.repo_id)
    _edge(merge, "constructed/never-crawled")
    whole, alone, again = _agree([unknown, merge])
    assert whole == alone
    assert again.changed == []
    s = ModelLicense.objects.get(model=merge)
    assert s.lineage_status == S.MISSING_ANCESTORS  # the gravest first
    assert s.lineage_gaps["missing"] == ["constructed/never-crawled"]
    assert s.lineage_gaps["unknown_terms"] == ["constructed/unk-base"]


def test_a_deep_chain_under_a_baseless_gguf_and_via_aliases_agrees(db):
    root = _model("constructed/lone-GGUF", ["gguf", "license:apache-2.0"], siblings=["m.gguf"])
    chain = [root]
    for i in range(30):
        m = _model(f"constructed/deep-{i}", ["license:mit"])
        parent = chain[-1]
        if i % 3 == 0:  # name the parent by an old id
            RepoAlias.objects.create(alias=f"constructed/old-{i}", model=parent)
            _edge(m, f"constructed/old-{i}")
        else:
            _edge(m, parent.repo_id)
        chain.append(m)
    whole, alone, again = _agree(chain)
    assert whole == alone
    assert again.changed == []
    last = ModelLicense.objects.get(model=chain[-1])
    assert (last.lineage_status, last.lineage_gaps["baseless"]) == (
        S.NO_BASE, ["constructed/lone-GGUF"],
    )  # fmt: skip
    assert not last.lineage_complete


def test_a_fine_tune_of_a_baseless_merge_with_a_missing_second_parent(db):
    merge = _model("constructed/lone-merge", ["merge", "mergekit", "license:mit"])
    ft = _model("constructed/ft-of-merge", ["license:mit"])
    _edge(ft, merge.repo_id)
    _edge(ft, "constructed/gone")
    whole, alone, again = _agree([merge, ft])
    assert whole == alone
    assert again.changed == []
    s = ModelLicense.objects.get(model=ft)
    assert s.lineage_status == S.NO_BASE
    assert s.lineage_gaps == {"missing": ["constructed/gone"], "unknown_terms": [],
                              "baseless": ["constructed/lone-merge"]}  # fmt: skip


@pytest.mark.parametrize(
    "siblings",
    [
        {"m.gguf": 1},
        [1, None, {"x": "m.gguf"}],
        "m.gguf",
        [f"f{i}.bin" for i in range(50_000)] + ["m.gguf"],
    ],
    ids=["dict", "mixed", "string", "huge"],
)
def test_siblings_of_the_wrong_shape_do_not_break_either_pass(db, siblings):
    m = _model("constructed/odd-siblings", ["license:mit"], siblings=siblings)
    whole, alone, again = _agree([m])
    assert whole == alone
    assert again.changed == []


def test_tags_of_the_wrong_type_do_not_break_either_pass(db):
    m = _model("constructed/odd-tags", {"gguf": True})
    whole, alone, again = _agree([m])
    assert whole == alone and again.changed == []


HOSTILE = [
    {"missing": 5},
    {"missing": "abc"},
    {"unknown_terms": None, "baseless": {"x": 1}},
    {"baseless": [None, 3]},
    ["constructed/x"],
    "nonsense",
    None,
]


@pytest.mark.parametrize("gaps", HOSTILE[:-1], ids=[str(i) for i in range(len(HOSTILE) - 1)])
def test_a_child_re_assessed_over_a_parent_with_gaps_of_the_wrong_shape(db, gaps):
    parent = _model("constructed/hostile-parent", ["license:mit"])
    child = _model("constructed/hostile-child", ["license:mit"])
    _edge(child, parent.repo_id)
    assessment.assess_all()
    ModelLicense.objects.filter(model=parent).update(
        lineage_status=S.MISSING_ANCESTORS, lineage_gaps=gaps
    )
    assessment.assess([child.pk])  # must not raise
    s = ModelLicense.objects.get(model=child)
    named = [i for v in s.lineage_gaps.values() for i in v]
    assert all(isinstance(i, str) and "/" in i for i in named), s.lineage_gaps
    assert s.lineage_status == S.MISSING_ANCESTORS


@pytest.mark.parametrize("gaps", HOSTILE, ids=[str(i) for i in range(len(HOSTILE))])
def test_the_summary_of_gaps_of_the_wrong_shape_never_raises(gaps):
    for status in S.values:
        text = lineage_summary(status, gaps)
        assert isinstance(text, str)
        assert "a, b, c" not in text  # a string is not a list of ids


def test_the_summary_escapes_ids_on_the_model_page(db, client):
    child = _model("constructed/escape-child", ["license:mit"])
    _edge(child, "constructed/<script>alert(1)</script>")
    assessment.assess_all()
    page = client.get("/licenses/models/constructed/escape-child/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert 'data-status="missing_ancestors"' in page


def test_the_fan_out_over_a_cycle_settles(db):
    """The Celery fan-out re-assesses the children of what changed; over a cycle it must stop."""
    a = _model("constructed/loop-a", ["license:mit"])
    b = _model("constructed/loop-b", ["license:apache-2.0"])
    _edge(a, b.repo_id)
    _edge(b, a.repo_id)
    assessment.assess_all()
    children = {a.pk: [b.pk], b.pk: [a.pk]}
    ids, rounds = [a.pk], 0
    while ids and rounds < 10:
        changed = assessment.assess(ids).changed
        ids = sorted({c for pk in changed for c in children[pk]})
        rounds += 1
    assert not ids, "still re-assessing after 10 rounds"
    # and a whole pass afterwards agrees with what the incremental passes left
    assert assessment.assess_all().changed == []
