"""Breaking the lineage status where approvals read it: the check API (token fast path and the
session path), policies and their validation, the ML-BOM.

CONSTRUCTED records (ids under `constructed/`)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from approvals import policy as policies
from approvals.models import ApiToken, Policy
from catalog.models import HubModel, LineageEdge
from licenses import assessment
from licenses.models import ModelLicense

CHECK = {"model": "constructed/ft", "use": "research"}


@pytest.fixture
def models(db):
    base = HubModel.objects.create(repo_id="constructed/base", tags=["license:other"])
    ft = HubModel.objects.create(repo_id="constructed/ft", tags=["license:apache-2.0"])
    LineageEdge.objects.create(child=ft, parent_repo_id=base.repo_id, relation="finetune",
                               relation_source="default", origin="tags")  # fmt: skip
    assessment.assess_all()
    return {"base": base, "ft": ft}


def _both(client, users):
    _, token = ApiToken.issue(users["viewer"], name="ci", scopes=["check"])
    by_token = client.get("/api/v1/check", CHECK, headers={"Authorization": f"Bearer {token}"})
    client.force_login(users["viewer"])
    by_session = client.get("/api/v1/check", CHECK)
    client.logout()
    return by_token, by_session


HOSTILE = [
    {"missing": 5},
    {"unknown_terms": 5},
    {"missing": "abc"},
    {"unknown_terms": [1, None]},
    ["x"],
    "text",
]


@pytest.mark.parametrize("gaps", HOSTILE, ids=[str(i) for i in range(len(HOSTILE))])
def test_the_check_survives_stored_gaps_of_the_wrong_shape(models, users, client, gaps):
    ModelLicense.objects.filter(model=models["ft"]).update(lineage_gaps=gaps)
    by_token, by_session = _both(client, users)
    assert by_token.status_code == 200, by_token.content[:300]
    assert by_session.status_code == 200, by_session.content[:300]
    assert by_token.json() == by_session.json()
    reasons = by_token.json()["reasons"]
    assert any(r.startswith("lineage: ") for r in reasons)
    assert not any("a, b, c" in r for r in reasons)


def test_the_check_survives_json_null_gaps(models, users, client):
    with connection.cursor() as c:
        c.execute("UPDATE licenses_modellicense SET lineage_gaps = 'null' WHERE model_id = %s",
                  [models["ft"].pk])  # fmt: skip
    by_token, by_session = _both(client, users)
    assert by_token.status_code == by_session.status_code == 200
    assert by_token.json() == by_session.json()
    assert by_token.json()["lineage_status"] == "unknown_ancestor_terms"


def test_both_check_paths_answer_the_same_for_a_status_from_elsewhere(models, users, client):
    # a value the code does not know (an older or newer release wrote it): one answer, not
    # a 200 on one path and a 500 on the other
    ModelLicense.objects.filter(model=models["ft"]).update(lineage_status="incomplete")
    by_token, by_session = _both(client, users)
    assert by_token.status_code == by_session.status_code
    assert by_session.status_code < 500
    assert not by_token.json()["obligations_complete"]


def test_an_unassessed_model_checks_with_a_null_status_on_both_paths(models, users, client):
    ModelLicense.objects.filter(model=models["ft"]).delete()
    by_token, by_session = _both(client, users)
    assert by_token.json() == by_session.json()
    body = by_token.json()
    assert body["lineage_status"] is None and body["obligations_complete"] is False


def test_the_policy_api_refuses_statuses_of_the_wrong_type(client, users):
    client.force_login(users["admin"])
    for bad in ["complete", [1], None, {"complete": True}, [["complete"]]]:
        r = client.post("/api/v1/policies", {"name": "x", "action": "review",
                                              "lineage_statuses": bad},
                        content_type="application/json")  # fmt: skip
        assert r.status_code == 422, (bad, r.status_code)
    assert not Policy.objects.exists()


def test_the_policy_api_round_trips_a_status(client, users):
    client.force_login(users["admin"])
    r = client.post("/api/v1/policies", {"name": "x", "action": "review",
                                          "lineage_statuses": ["no_base_for_derivative"]},
                    content_type="application/json")  # fmt: skip
    assert r.status_code == 201
    assert Policy.objects.get().lineage_statuses == ["no_base_for_derivative"]
    listed = client.get("/api/v1/policies").json()
    assert listed[0]["lineage_statuses"] == ["no_base_for_derivative"]


def test_a_policy_written_around_save_does_not_break_the_policy_list(client, users, db):
    # A row written around Policy's checks (Django's own QuerySet.update, as an older release
    # or a script would) must not take the whole list down with a 500.
    from django.db.models import QuerySet

    Policy.objects.create(name="legacy", action="review")
    QuerySet.update(Policy.objects.all(), lineage_statuses=["incomplete"])
    client.force_login(users["admin"])
    r = client.get("/api/v1/policies")
    assert r.status_code < 500, r.content[:300]
    page = client.get("/approvals/policies/")
    assert page.status_code < 500


def test_bulk_create_cannot_store_a_status_no_model_has(db):
    with pytest.raises(ValidationError):
        Policy.objects.bulk_create([Policy(name="typo", action="review",
                                           lineage_statuses=["incomplete"])])  # fmt: skip


def test_a_status_stored_as_a_bare_string_does_not_match_by_substring(models):
    # update() skips clean(): "complete" as a string must not match "" (unassessed) by `in`
    Policy.objects.create(name="complete only", action="approve", enforced=True,
                          lineage_statuses=["complete"])  # fmt: skip
    from django.db.models import QuerySet

    with pytest.raises(ValidationError):
        Policy.objects.update(lineage_statuses="complete")  # checked as save() is
    QuerySet.update(Policy.objects.all(), lineage_statuses="complete")  # written around it
    p = Policy.objects.get()
    unassessed = policies.Facts(author="constructed", gated=False)
    assert not policies.matches(p, unassessed, "research")


def test_the_admin_refuses_an_unknown_status_with_a_form_error(client, users):
    from django.contrib.auth.models import User

    su = User.objects.create_superuser("su", "su@example.com", "pw")
    client.force_login(su)
    r = client.post("/admin/approvals/policy/add/", {
        "name": "typo", "order": 1, "action": "review", "gated": "any", "conflict": "any",
        "uses": "[]", "verdicts": "[]", "lineage_statuses": '["incomplete"]',
        "condition_codes": "[]", "licenses": "[]", "authors": "[]",
    })  # fmt: skip
    assert r.status_code in (200, 403), r.status_code  # the form again, or no admin to add in
    assert not Policy.objects.filter(name="typo").exists()


@pytest.mark.parametrize("gaps", HOSTILE, ids=[str(i) for i in range(len(HOSTILE))])
def test_the_bom_survives_stored_gaps_of_the_wrong_shape(models, gaps):
    from approvals.exports import ml_bom

    ModelLicense.objects.filter(model=models["ft"]).update(lineage_gaps=gaps)
    bom = ml_bom([models["ft"]])
    (component,) = bom["components"]
    props = {p["name"]: p["value"] for p in component["properties"]}
    assert props["canopy:lineage_status"] == "unknown_ancestor_terms"
    assert all(isinstance(v, str) and v != "a, b, c" for v in props.values())
