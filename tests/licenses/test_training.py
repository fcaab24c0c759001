"""A model's training-data standing (issue 14, item 3): kept apart from its weights' verdict,
carried down the lineage, a conflict named in words, the same from the crawl's incremental
assessments as from a whole pass.

Real records: tests/fixtures/training.jsonl.gz with training-datasets.jsonl.gz (see
tests/catalog/test_training_data.py). The pure tests' ids are constructed where said."""

from __future__ import annotations

import pytest

from catalog.models import HubDataset, HubModel
from licenses import assessment, training
from licenses.classify import classify
from licenses.models import ModelLicense
from tests.conftest import crawled_once

T = training.DatasetTerms


def _terms(**licenses):
    """Terms as the knowledge base gives them (the verdict is checked against it)."""
    out = {}
    for d, (key, verdict) in licenses.items():
        v, conditions = classify(key)
        assert v == verdict
        out[d] = T(key, v, tuple((c["code"], c["value"]) for c in conditions), "read")
    return out


def test_a_permissive_model_on_a_non_commercial_dataset_conflicts():
    terms = _terms(alpaca=("cc-by-nc-4.0", "prohibited"))
    s = training.standing([("alpaca", "tags", "")], terms, "allowed")
    assert (s.commercial, s.status, s.conflict) == ("prohibited", "complete", True)
    [reason] = s.reasons
    assert "trained on alpaca" in reason and "Non Commercial" in reason and "(prohibited)" in reason


def test_the_most_restrictive_dataset_decides_and_unknown_ones_are_named():
    terms = _terms(a=("mit", "allowed"), b=("openrail", "conditional"), c=("other", "unknown"))
    carried = [("a", "card", ""), ("b", "tags", "up/base"), ("c", "card", ""), ("d", "tags", "")]
    s = training.standing(carried, terms, "allowed")
    assert s.commercial == "conditional" and s.status == "datasets_unknown"
    assert s.unknown == ["c", "d"]  # d: not crawled
    assert s.conflict and "declared by its ancestor up/base" in s.reasons[0]
    assert {c["code"] for c in s.conditions} >= {"license_copy", "use_restrictions"}
    assert [d["state"] for d in s.datasets] == ["read", "read", "read", "not_crawled"]


def test_nothing_declared_is_its_own_status_and_no_conflict():
    s = training.standing([], {}, "allowed")
    assert (s.commercial, s.status, s.conflict) == ("unknown", "none_declared", False)
    # Weights that are themselves prohibited do not conflict with freer data.
    s = training.standing([("a", "tags", "")], _terms(a=("mit", "allowed")), "prohibited")
    assert not s.conflict


def test_carry_passes_datasets_down_with_the_ancestor_that_declared_them():
    own = {"base": [("d1", "tags")], "ft": [], "q": [("d2", "card")]}
    parents = {"ft": ["base"], "q": ["ft", "not-crawled"]}
    out = training.carry(own, parents)
    assert out["ft"] == [("d1", "tags", "base")]
    assert out["q"] == [("d2", "card", ""), ("d1", "tags", "base")]


def test_carry_reads_parents_outside_the_batch_as_stored_and_survives_cycles_and_depth():
    stored = {"p": [("d0", "tags", "grand")]}
    assert training.carry({"c": []}, {"c": ["p"]}, stored) == {"c": [("d0", "tags", "grand")]}
    cycle = training.carry({"a": [("x", "tags")], "b": [("y", "tags")]}, {"a": ["b"], "b": ["a"]})
    assert ("x", "tags", "") in cycle["a"] and ("x", "tags", "a") in cycle["b"]
    # A hostile chain (constructed ids) 20,000 deep: an explicit stack, no RecursionError.
    n = 20_000
    own = {f"m{i}": [] for i in range(n)} | {"m0": [("root-data", "tags")]}
    chain = training.carry(own, {f"m{i}": [f"m{i - 1}"] for i in range(1, n)})
    assert chain[f"m{n - 1}"] == [("root-data", "tags", "m0")]


def test_stored_rows_are_read_never_trusted():
    assert training.stored_carried([["a", "tags", ""], ["b"], "c", [1, 2, 3], None]) == [
        ("a", "tags", "")
    ]
    assert training.stored_carried({"a": 1}) == []
    rows = [{"id": "a", "license": "mit", "commercial": "allowed", "source": "tags", "via": "",
             "state": "read"}, {"id": "", "license": "", "commercial": "allowed", "source": "",
             "via": "", "state": ""}, {"id": "b", "commercial": "maybe"}, "x"]  # fmt: skip
    assert [r["id"] for r in training.rows_of(rows)] == ["a"]


@pytest.fixture(scope="module")
def trained(django_db_setup, django_db_blocker, replay_index):
    with crawled_once(django_db_blocker, replay_index, ["training.jsonl.gz"],
                      ["training-datasets.jsonl.gz"]) as (server, run):  # fmt: skip
        yield run


def _state(repo_id: str) -> ModelLicense:
    return ModelLicense.objects.select_related("assessment").get(model__repo_id=repo_id)


@pytest.mark.django_db
def test_alpaca_trained_apache_weights_show_the_conflict_and_keep_their_verdict(trained):
    s = _state("0-hero/flan-alpaca-ul2")
    assert (s.declared, s.effective) == ("apache-2.0", "allowed")  # not folded in
    assert (s.data_commercial, s.data_status, s.data_conflict) == ("prohibited", "complete", True)
    a = s.assessment
    assert a.datasets == [{"id": "tatsu-lab/alpaca", "license": "cc-by-nc-4.0",
                           "commercial": "prohibited", "source": "card,tags", "via": "",
                           "state": "read"}]  # fmt: skip
    assert "tatsu-lab/alpaca" in a.data_conflict_reasons[0]
    assert {c["code"] for c in a.data_conditions} >= {"non_commercial", "attribution"}
    # A prohibited model trained on the same data: no conflict, both say prohibited.
    vicuna = _state("4bit/stable-vicuna-13B-GPTQ")
    assert vicuna.effective == "prohibited" and not vicuna.data_conflict


@pytest.mark.django_db
def test_a_fine_tune_carries_its_bases_training_data(trained):
    s = _state("Akhilsplendid/T5-model")
    assert s.data_conflict and s.data_commercial == "prohibited"
    assert s.assessment.datasets[0]["via"] == "philschmid/flan-t5-base-samsum"
    assert (
        "samsum, declared by its ancestor philschmid/flan-t5-base-samsum"
        in (s.assessment.data_conflict_reasons[0])
    )


@pytest.mark.django_db
def test_unknown_datasets_are_named_and_none_declared_is_said(trained):
    t5 = _state("google/flan-t5-base")
    assert t5.data_status == "datasets_unknown" and not t5.data_conflict
    states = {d["id"]: d["state"] for d in t5.assessment.datasets}
    assert states["svakulenk0/qrecc"] == "not_on_hub" and states["gsm8k"] == "read"
    assert _state("meta-llama/Llama-2-7b").data_status == "none_declared"


@pytest.mark.django_db
def test_a_whole_pass_agrees_with_the_crawls_incremental_assessments(trained):
    assert assessment.assess_all().changed == []


@pytest.mark.django_db
def test_a_dataset_license_change_reassesses_its_models_and_their_children(trained):
    # CONSTRUCTED: samsum relicensed under mit (the snapshot's samsum is cc-by-nc-nd-4.0).
    HubDataset.objects.filter(repo_id="samsum").update(tags=["license:mit"])
    parent = HubModel.objects.get(repo_id="philschmid/flan-t5-base-samsum")
    from licenses.tasks import assess_tree

    assess_tree([parent.pk], inline=True)
    assert not _state("philschmid/flan-t5-base-samsum").data_conflict
    child = _state("Akhilsplendid/T5-model")
    assert child.data_commercial == "allowed" and not child.data_conflict
    assert child.assessment.datasets[0]["license"] == "mit"


def test_the_eval_reproduces_the_studys_figure_from_its_own_table():
    from evals import training as figure

    models, datasets, table = figure._load()
    study, ours = figure.table_figures(table)
    assert abs(study[0] / study[1] - 2695 / 38112) < 0.005  # the 7.1%, by its rule
    assert abs(ours[0] / ours[1] - 2695 / 38112) < 0.005  # and by Canopy's verdicts
    crawled = figure.crawled(models, datasets)
    assert crawled.declaring == 75_881
    assert 0 < crawled.prohibited <= crawled.unclassified + crawled.known_prohibited
    assert crawled.known_prohibited / crawled.known_allowed < study[0] / study[1]


@pytest.mark.django_db
def test_the_dashboard_gives_the_figure_from_the_catalog(trained, client):
    f = training.figure()
    # Own verdict allowed and declaring datasets: the 2 apache-2.0 and 7 mit models trained on
    # alpaca and philschmid's (samsum), prohibited; google/flan-t5-base (apache-2.0), whose
    # datasets the table partly lacks. The T5 fine-tune declares none of its own (it carries
    # samsum from its parent: not the study's count).
    assert (f.allowed, f.prohibited, f.unclassified) == (11, 10, 1)
    html = client.get("/dashboard/").content.decode()
    assert "Training data" in html and f"<strong>{f.prohibited}</strong> of {f.allowed}" in html
