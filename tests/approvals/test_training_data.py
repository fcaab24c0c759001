"""Training data where people and pipelines read a model's standing (issue 14, items 3-4): the
model page, the dataset page, search facets, the API, a policy over the data's verdict, the
check API's reason, and re-review when a dataset's license changes.

Real records: tests/fixtures/training.jsonl.gz and training-datasets.jsonl.gz (see
tests/catalog/test_training_data.py). The relicensed dataset is CONSTRUCTED and named so."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError

from approvals import review
from approvals.models import ApiToken, Policy, Status
from catalog.models import HubDataset, HubModel
from licenses.tasks import assess_tree
from tests.conftest import crawled_once

APACHE_ALPACA = "0-hero/flan-alpaca-ul2"  # apache-2.0, trained on tatsu-lab/alpaca (cc-by-nc-4.0)


@pytest.fixture(scope="module")
def trained(django_db_setup, django_db_blocker, replay_index):
    with crawled_once(django_db_blocker, replay_index, ["training.jsonl.gz"],
                      ["training-datasets.jsonl.gz"]) as (server, run):  # fmt: skip
        yield run


@pytest.mark.django_db
def test_the_model_page_shows_the_data_conflict_beside_the_verdict(client, trained):
    html = client.get(f"/models/{APACHE_ALPACA}/").content.decode()
    assert "Training-data conflict" in html and "trained on tatsu-lab/alpaca" in html
    assert 'href="/datasets/tatsu-lab/alpaca/"' in html and "cc-by-nc-4.0" in html
    # The fine-tune says which ancestor declared its data.
    html = client.get("/models/Akhilsplendid/T5-model/").content.decode()
    assert "its ancestor" in html and "philschmid/flan-t5-base-samsum" in html


@pytest.mark.django_db
def test_the_dataset_page_counts_its_models_by_verdict(client, trained):
    r = client.get("/datasets/tatsu-lab/alpaca/")
    assert r.status_code == 200
    html = r.content.decode()
    assert "cc-by-nc-4.0" in html and "Models declaring it</dt><dd>11" in html
    assert APACHE_ALPACA in html and "training-data conflict" in html
    assert client.get("/datasets/svakulenk0/qrecc/").status_code == 200  # declared, not on Hub
    assert client.get("/datasets/nobody/declares-this/").status_code == 404
    assert client.get("/datasets/tatsu-lab/alpaca/?page=x%00").status_code in (200, 400)


@pytest.mark.django_db
def test_search_finds_conflicts_and_models_trained_on_a_dataset(client, trained):
    api = client.get("/api/v1/models", {"data_conflict": "yes", "page_size": 100}).json()
    ids = {i["id"] for i in api["items"]}
    assert APACHE_ALPACA in ids and "Akhilsplendid/T5-model" in ids
    assert "4bit/stable-vicuna-13B-GPTQ" not in ids
    assert all(i["data_conflict"] for i in api["items"])
    on = client.get("/api/v1/models", {"dataset": "tatsu-lab/alpaca", "page_size": 100}).json()
    assert on["count"] == 11
    html = client.get("/models/", {"data": "prohibited"}).content.decode()
    assert APACHE_ALPACA in html and "Training data" in html
    assert client.get("/models/", {"data": "nonsense"}).status_code == 400


@pytest.mark.django_db
def test_the_model_api_gives_the_data_fields(client, trained):
    body = client.get(f"/api/v1/models/{APACHE_ALPACA}").json()
    assert body["effective_commercial"] == "allowed"
    assert body["data_commercial"] == "prohibited" and body["data_status"] == "complete"
    assert body["data_conflict"] is True and "tatsu-lab/alpaca" in body["data_conflict_reasons"][0]
    assert body["datasets"] == [{"id": "tatsu-lab/alpaca", "license": "cc-by-nc-4.0",
                                 "commercial": "prohibited", "source": "card,tags", "via": "",
                                 "state": "read"}]  # fmt: skip
    assert {c["code"] for c in body["data_conditions"]} >= {"non_commercial"}


@pytest.mark.django_db
def test_the_datasets_api_lists_and_reads_datasets(client, trained):
    one = client.get("/api/v1/datasets/tatsu-lab/alpaca").json()
    assert one == {"id": "tatsu-lab/alpaca", "license": "cc-by-nc-4.0", "commercial": "prohibited",
                   "conditions": one["conditions"], "state": "read", "models": 11,
                   "url": "/datasets/tatsu-lab/alpaca/"}  # fmt: skip
    gone = client.get("/api/v1/datasets/taskmaster2").json()
    assert gone["state"] == "not_on_hub" and gone["commercial"] == "unknown"
    assert client.get("/api/v1/datasets/nobody/declares-this").status_code == 404
    page = client.get("/api/v1/datasets", {"search": "sam"}).json()
    assert [d["id"] for d in page["items"]] == ["samsum"] and page["next"] is None
    assert client.get("/api/v1/datasets", {"page": 0}).status_code == 422


@pytest.mark.django_db
def test_a_policy_over_the_training_data_decides_a_request(trained, users):
    Policy.objects.create(name="allowed weights, clean data: approve", order=1, action="approve",
                          enforced=True, verdicts=["allowed"], data_conflict="no")  # fmt: skip
    Policy.objects.create(name="non-commercial data: reject for products", order=2,
                          action="reject", enforced=True, data_verdicts=["prohibited"],
                          uses=["commercial_product"])  # fmt: skip
    ask = {"justification": "ship it", "by": users["developer"]}
    alpaca = HubModel.objects.get(repo_id=APACHE_ALPACA)
    assert review.submit(model=alpaca, use="research", **ask).status == Status.PENDING
    assert review.submit(model=alpaca, use="commercial_product", **ask).status == Status.REJECTED
    clean = HubModel.objects.get(repo_id="google/flan-t5-base")  # apache, no conflict
    assert review.submit(model=clean, use="research", **ask).status == Status.APPROVED


def test_a_policy_with_an_unknown_data_verdict_is_refused_in_the_domain(db):
    with pytest.raises(ValidationError, match="data_verdicts"):
        Policy.objects.create(name="typo", action="review", data_verdicts=["maybe"])
    with pytest.raises(ValidationError, match="data_statuses"):
        Policy.objects.create(name="typo", action="review", data_statuses=["partial"])


@pytest.mark.django_db
def test_the_check_api_names_the_data_conflict(trained, users, client):
    _, token = ApiToken.issue(users["viewer"], name="ci", scopes=["check"])
    h = {"Authorization": f"Bearer {token}"}
    answer = client.get("/api/v1/check", {"model": APACHE_ALPACA, "use": "research"},
                        headers=h).json()  # fmt: skip
    [reason] = [r for r in answer["reasons"] if r.startswith("training data: ")]
    assert "prohibited" in reason
    plain = client.get("/api/v1/check", {"model": "google/flan-t5-base", "use": "research"},
                       headers=h).json()  # fmt: skip
    assert not any(r.startswith("training data") for r in plain["reasons"])


@pytest.mark.django_db
def test_an_approval_is_re_reviewed_when_a_datasets_license_changes(trained, users):
    model = HubModel.objects.get(repo_id="Akhilsplendid/T5-model")
    req = review.submit(model=model, use="research", justification="eval", by=users["developer"])
    review.decide(req, by=users["approver"], status=Status.APPROVED, reason="ok for research")
    # CONSTRUCTED: samsum relicensed under mit; its models and their children are re-assessed.
    HubDataset.objects.filter(repo_id="samsum").update(tags=["license:mit"])
    parent = HubModel.objects.get(repo_id="philschmid/flan-t5-base-samsum")
    assess_tree([parent.pk], inline=True)
    req.refresh_from_db()
    assert req.status == Status.NEEDS_REREVIEW
    text = str(req.changes)
    assert "training" in text and "samsum" in text


@pytest.mark.django_db
def test_the_ml_bom_lists_datasets_as_data_components_of_the_model_card(trained):
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    from approvals.exports import ml_bom

    models = HubModel.objects.filter(repo_id__in=[APACHE_ALPACA, "Akhilsplendid/T5-model"])
    bom = ml_bom(models)
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(bom)) is None
    by_ref = {c["bom-ref"]: c for c in bom["components"]}
    data = by_ref["dataset:tatsu-lab/alpaca"]
    assert data["type"] == "data" and data["licenses"] == [{"license": {"id": "CC-BY-NC-4.0"}}]
    model = by_ref[f"model:{APACHE_ALPACA}"]
    assert model["modelCard"]["modelParameters"]["datasets"] == [
        {"ref": "dataset:tatsu-lab/alpaca"}
    ]
    props = {p["name"]: p["value"] for p in model["properties"]}
    assert props["canopy:data_conflict"] == "yes" and props["canopy:data_verdict"] == "prohibited"
    t5 = by_ref["model:Akhilsplendid/T5-model"]  # samsum, declared by its parent
    assert t5["modelCard"]["modelParameters"]["datasets"] == [{"ref": "dataset:samsum"}]
    assert "dataset:samsum" in by_ref


@pytest.mark.django_db
def test_the_notice_credits_cc_by_datasets(trained):
    from approvals.exports import notice

    text = notice(HubModel.objects.get(repo_id="google/flan-t5-base"))
    assert "Training data (declared by the model or its ancestors):" in text
    assert "lambada: Creative Commons Attribution 4.0" in text
    assert "Attribution: credit the dataset lambada" in text
    assert "svakulenk0/qrecc: license unknown" in text
