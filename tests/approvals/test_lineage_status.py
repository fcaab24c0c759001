"""The lineage status where approvals read it (issue 13, item 4): the check API's answer and
reasons, policies (allowed with unknown upstream terms sent to review), the ML-BOM.

CONSTRUCTED records (ids under `constructed/`): an `other`-licensed base and its apache-2.0
fine-tune, whose upstream terms are therefore unknown, beside an apache-2.0 base of its own."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from approvals import review
from approvals.models import ApiToken, Policy, Status
from catalog.models import HubModel, LineageEdge
from licenses import assessment


@pytest.fixture
def models(db):
    base = HubModel.objects.create(repo_id="constructed/base", tags=["license:other"])
    ft = HubModel.objects.create(repo_id="constructed/ft", tags=["license:apache-2.0"])
    plain = HubModel.objects.create(repo_id="constructed/plain", tags=["license:apache-2.0"])
    LineageEdge.objects.create(child=ft, parent_repo_id=base.repo_id, relation="finetune",
                               relation_source="default", origin="tags")  # fmt: skip
    assessment.assess_all()
    return {"ft": ft, "plain": plain}


def test_the_check_api_answers_the_status_and_says_why(models, users, client):
    _, token = ApiToken.issue(users["viewer"], name="ci", scopes=["check"])
    h = {"Authorization": f"Bearer {token}"}
    answer = client.get("/api/v1/check", {"model": "constructed/ft", "use": "research"},
                        headers=h).json()  # fmt: skip
    assert answer["lineage_status"] == "unknown_ancestor_terms"
    assert not answer["obligations_complete"]
    assert any(r.startswith("lineage: ") and "constructed/base" in r for r in answer["reasons"])
    plain = client.get("/api/v1/check", {"model": "constructed/plain", "use": "research"},
                       headers=h).json()  # fmt: skip
    assert plain["lineage_status"] == "complete" and plain["obligations_complete"]
    assert not any(r.startswith("lineage") for r in plain["reasons"])
    client.force_login(users["viewer"])  # the session path (ninja) answers the same
    assert client.get("/api/v1/check", {"model": "constructed/ft", "use": "research"}).json() == (
        answer
    )


def test_a_policy_sends_allowed_with_unknown_upstream_terms_to_review(models, users):
    Policy.objects.create(name="unknown upstream: a person looks", order=1, action="review",
                          enforced=True, verdicts=["allowed"],
                          lineage_statuses=["unknown_ancestor_terms"])  # fmt: skip
    Policy.objects.create(name="allowed: approve", order=2, action="approve", enforced=True,
                          verdicts=["allowed"])  # fmt: skip
    ask = {"use": "research", "justification": "eval", "by": users["developer"]}
    assert review.submit(model=models["ft"], **ask).status == Status.PENDING
    assert review.submit(model=models["plain"], **ask).status == Status.APPROVED


def test_a_policy_naming_an_unknown_status_is_refused_in_the_domain(db):
    with pytest.raises(ValidationError, match="lineage_statuses"):
        Policy.objects.create(name="typo", action="review", lineage_statuses=["incomplete"])
    with pytest.raises(ValidationError, match="verdicts"):
        Policy.objects.create(name="typo", action="review", verdicts=["fine"])


def test_the_api_refuses_an_unknown_status_with_a_4xx(client, users):
    client.force_login(users["admin"])
    r = client.post("/api/v1/policies", {"name": "x", "action": "review",
                                          "lineage_statuses": ["incomplete"]},
                    content_type="application/json")  # fmt: skip
    assert r.status_code == 422 and "detail" in r.json()


def test_the_bom_carries_the_status_and_the_ancestors_it_names(models, users, client):
    from approvals.exports import ml_bom

    bom = ml_bom([models["ft"]])
    (component,) = bom["components"]
    props = {p["name"]: p["value"] for p in component["properties"]}
    assert props["canopy:lineage_status"] == "unknown_ancestor_terms"
    assert props["canopy:lineage_unknown_terms"] == "constructed/base"
