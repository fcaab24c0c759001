"""A suspected base where approvals read it (issue 13, item 7): a policy input (a rule allowing
`allowed` models can leave those with a suspected base to a person) and the check API's reason.

CONSTRUCTED records (ids under `constructed/`): an apache-2.0 model named as a Llama 3 re-upload
naming no base, its fine-tune, and an apache-2.0 model whose name says no family."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from approvals import review
from approvals.models import ApiToken, Policy, Status
from catalog.models import HubModel, LineageEdge
from licenses import assessment


@pytest.fixture
def models(db):
    reupload = HubModel.objects.create(repo_id="constructed/llama-3-8b-reupload",
                                       tags=["license:apache-2.0"])  # fmt: skip
    ft = HubModel.objects.create(repo_id="constructed/chat-ft", tags=["license:apache-2.0"])
    plain = HubModel.objects.create(repo_id="constructed/plain", tags=["license:apache-2.0"])
    LineageEdge.objects.create(child=ft, parent_repo_id=reupload.repo_id, relation="finetune",
                               relation_source="default", origin="tags")  # fmt: skip
    assessment.assess_all()
    return {"reupload": reupload, "ft": ft, "plain": plain}


def test_a_policy_leaves_a_suspected_base_to_a_person(models, users):
    Policy.objects.create(name="allowed, nothing suspected: approve", order=1, action="approve",
                          enforced=True, verdicts=["allowed"], suspected_base="no")  # fmt: skip
    ask = {"use": "research", "justification": "eval", "by": users["developer"]}
    assert review.submit(model=models["reupload"], **ask).status == Status.PENDING
    assert review.submit(model=models["ft"], **ask).status == Status.PENDING  # upstream too
    assert review.submit(model=models["plain"], **ask).status == Status.APPROVED


def test_the_check_api_says_which_base_is_suspected(models, users, client):
    _, token = ApiToken.issue(users["viewer"], name="ci", scopes=["check"])
    h = {"Authorization": f"Bearer {token}"}
    for repo, words in (("constructed/llama-3-8b-reupload", "say Llama 3: the llama3 terms"),
                        ("constructed/chat-ft", "constructed/llama-3-8b-reupload")):  # fmt: skip
        answer = client.get("/api/v1/check", {"model": repo, "use": "research"}, headers=h).json()
        [reason] = [r for r in answer["reasons"] if r.startswith("suspected base: ")]
        assert words in reason
    plain = client.get("/api/v1/check", {"model": "constructed/plain", "use": "research"},
                       headers=h).json()  # fmt: skip
    assert not any(r.startswith("suspected") for r in plain["reasons"])


def test_a_policy_with_a_bad_tri_value_is_refused_in_the_domain(db):
    with pytest.raises(ValidationError, match="suspected_base"):
        Policy.objects.create(name="typo", action="review", suspected_base="maybe")
