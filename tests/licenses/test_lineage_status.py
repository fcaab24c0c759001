"""Lineage status, not a boolean (issue 13, item 4): complete, missing_ancestors,
unknown_ancestor_terms or no_base_for_derivative, each naming the ancestors behind it.

The records here are CONSTRUCTED (ids under `constructed/`): small graphs that put each status
in one place; tests/licenses/test_assessment.py reads the statuses of a real crawled family."""

from __future__ import annotations

import pytest

from catalog.models import HubModel, LineageEdge
from licenses import assessment, inherit
from licenses.models import LineageStatus, ModelLicense, lineage_summary

S = LineageStatus


def test_each_status_comes_from_what_the_parents_pass_on():
    base = inherit.root("llama2", "conditional")
    assert base.status == S.COMPLETE
    unknown = inherit.combine("other", "unknown", [("meta/base", base)])
    assert unknown.status == S.COMPLETE  # its own license is unknown; its upstream is known
    child = inherit.combine("apache-2.0", "allowed", [("org/unknown", unknown)])
    assert (child.status, child.unknown_terms) == (S.UNKNOWN_ANCESTOR_TERMS, ("org/unknown",))
    grandchild = inherit.combine("mit", "allowed", [("org/child", child)])
    assert grandchild.unknown_terms == ("org/unknown",)  # named through the generations
    missing = inherit.combine("mit", "allowed", [("org/child", child), ("org/gone", None)])
    assert (missing.status, missing.missing) == (S.MISSING_ANCESTORS, ("org/gone",))
    lone = inherit.root("apache-2.0", "allowed", lacks_base=True)
    assert (lone.status, lone.complete) == (S.NO_BASE, False)
    below = inherit.combine("mit", "allowed", [("org/lone-gguf", lone), ("org/gone", None)])
    assert (below.status, below.baseless) == (S.NO_BASE, ("org/lone-gguf",))  # gravest first


def test_the_verdict_keeps_its_rule_whatever_the_status():
    unknown = inherit.root(None, "unknown")
    child = inherit.combine("apache-2.0", "allowed", [("org/unknown", unknown)])
    assert (child.effective, child.conflict) == ("allowed", False)


def test_the_summary_names_the_ancestors():
    assert lineage_summary(S.COMPLETE, {}) == ""
    assert "org/a" in lineage_summary(S.UNKNOWN_ANCESTOR_TERMS, {"unknown_terms": ["org/a"]})
    assert lineage_summary(S.MISSING_ANCESTORS, {"missing": ["x/y"]}).endswith("x/y")
    assert "names no base" in lineage_summary(S.NO_BASE, {})
    assert lineage_summary("bogus", None) == ""  # a stored value from elsewhere: nothing said


def _model(repo_id: str, tags: list[str], **kw) -> HubModel:
    return HubModel.objects.create(repo_id=repo_id, tags=tags, **kw)


def _edge(child: HubModel, parent: str) -> None:
    LineageEdge.objects.create(child=child, parent_repo_id=parent, relation="finetune",
                               relation_source="default", origin="tags")  # fmt: skip


@pytest.fixture
def graph(db):
    """CONSTRUCTED: an `other`-licensed base, its apache fine-tune, that one's fine-tune, a GGUF
    repo naming no base, and a fine-tune of that GGUF declaring nothing."""
    base = _model("constructed/base", ["license:other"])
    ft = _model("constructed/ft", ["license:apache-2.0"])
    ft2 = _model("constructed/ft2", ["license:mit"])
    gguf = _model("constructed/lone-GGUF", ["gguf", "license:apache-2.0"], siblings=["m.gguf"])
    over = _model("constructed/over-gguf", [])
    _edge(ft, base.repo_id)
    _edge(ft2, ft.repo_id)
    _edge(over, gguf.repo_id)
    return {m.repo_id.split("/")[1]: m for m in (base, ft, ft2, gguf, over)}


def _state(m: HubModel) -> ModelLicense:
    return ModelLicense.objects.select_related("assessment").get(model=m)


@pytest.mark.parametrize("whole", [True, False], ids=["assess_all", "assess one by one"])
def test_the_status_is_stored_and_named_the_same_by_both_passes(graph, whole):
    if whole:
        assessment.assess_all()
    else:  # parents first, each alone: a child reads what its parent stored
        for name in ("base", "ft", "ft2", "lone-GGUF", "over-gguf"):
            assessment.assess([graph[name].pk])
    ft, ft2 = _state(graph["ft"]), _state(graph["ft2"])
    assert (ft.lineage_status, ft.lineage_gaps["unknown_terms"]) == (
        S.UNKNOWN_ANCESTOR_TERMS, ["constructed/base"],
    )  # fmt: skip
    assert ft.lineage_complete and ft.assessment.lineage_status == S.UNKNOWN_ANCESTOR_TERMS
    assert ft2.lineage_gaps["unknown_terms"] == ["constructed/base"]
    gguf, over = _state(graph["lone-GGUF"]), _state(graph["over-gguf"])
    assert (gguf.lineage_status, gguf.lineage_complete) == (S.NO_BASE, False)
    assert (over.lineage_status, over.lineage_gaps["baseless"]) == (
        S.NO_BASE, ["constructed/lone-GGUF"],
    )  # fmt: skip
    assert _state(graph["base"]).lineage_status == S.COMPLETE


def test_the_model_page_says_the_status_with_its_ancestors(graph, client):
    assessment.assess_all()
    page = client.get("/licenses/models/constructed/ft/").content.decode()
    assert 'data-status="unknown_ancestor_terms"' in page and "constructed/base" in page
    page = client.get("/licenses/models/constructed/lone-GGUF/").content.decode()
    assert "a derivative that names no base" in page
    api = client.get("/api/v1/models/constructed/over-gguf").json()
    assert api["lineage_status"] == "no_base_for_derivative" and not api["lineage_complete"]
    assert api["lineage_gaps"]["baseless"] == ["constructed/lone-GGUF"]


def test_the_review_queue_filters_and_says_the_status(graph, client, django_user_model):
    from tests.conftest import role

    assessment.assess_all()
    legal = django_user_model.objects.create_user("legal", "l@example.com", "pw")
    legal.groups.add(role("legal"))
    client.force_login(legal)
    page = client.get("/licenses/review/?reason=lineage").content.decode()
    # Of the results that need review, those whose upstream terms are not all known: the
    # fine-tune of the GGUF naming no base, not the `other` base (its lineage is complete).
    flat = page.replace("<wbr>", "")
    assert (
        "constructed/over-gguf" in flat and "lineage: constructed/lone-GGUF: a derivative" in flat
    )
    assert "constructed/base<" not in flat and "constructed/base/" not in flat
    assert "constructed/base" in client.get("/licenses/review/?reason=other").content.decode()


@pytest.fixture(scope="module")
def upstream(django_db_setup, django_db_blocker, replay_index):
    from tests.conftest import crawled_once

    with crawled_once(django_db_blocker, replay_index, ["upstream.jsonl.gz"]):
        yield


@pytest.mark.django_db
def test_the_issues_unknown_ancestors_are_named_not_lost(upstream):
    """Real records (tests/fixtures/upstream.jsonl.gz): both answered `allowed`, lineage
    complete, before the status; the verdict keeps its rule, the status says what is unknown."""
    gguf = ModelLicense.objects.get(model__repo_id="922-SY/xDPO-test-OH-Monika-7b-gguf")
    assert (gguf.effective, gguf.lineage_status) == ("allowed", S.UNKNOWN_ANCESTOR_TERMS)
    assert gguf.lineage_gaps["unknown_terms"] == ["NousResearch/Llama-2-7b-hf"]
    # The licenseless grandparent is a Llama 2 re-upload by its name: suspected, named below.
    assert gguf.suspicion.upstream == ("NousResearch/Llama-2-7b-hf",) and gguf.needs_review
    tagalog = ModelLicense.objects.get(model__repo_id="922-Narra/tagalog-seallm-7b-v1")
    assert (tagalog.effective, tagalog.lineage_status) == ("allowed", S.UNKNOWN_ANCESTOR_TERMS)
    assert "SeaLLMs/SeaLLM-7B-v2" in tagalog.lineage_summary
