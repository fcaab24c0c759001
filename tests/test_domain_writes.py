"""The domain functions refuse what the database cannot store (NUL characters, text past its
column, numbers out of range) with a ValidationError naming the field, whoever calls them (a
shell, a management command, a future view), on SQLite as on PostgreSQL, and write nothing."""

from datetime import date, timedelta

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from approvals import review
from approvals.models import ApiToken, ApprovalRequest, AuditEvent, Policy, Waiver
from catalog.models import HubModel
from licenses import assessment
from licenses.models import Determination
from tests.conftest import role

pytestmark = pytest.mark.django_db
NUL = "mit\x00"


@pytest.fixture
def model() -> HubModel:
    # CONSTRUCTED: a catalog row of our own; the Hub's data plays no part in these writes.
    m = HubModel.objects.create(repo_id="acme/tiny-chat", author="acme",
                                tags=["license:apache-2.0"], card_data={"license": "apache-2.0"})  # fmt: skip
    assessment.assess([m.pk])
    return m


def user(name: str) -> User:
    u = User.objects.create_user(name, password="x")
    u.groups.add(role(name))
    return u


def refused(field: str, message: str, call):
    events = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as info:
        call()
    assert field in info.value.message_dict, info.value
    assert message in " ".join(info.value.message_dict[field])
    assert AuditEvent.objects.count() == events  # nothing written, not even its log line


def test_submit_refuses_nul_and_overlong_text(model):
    dev = user("developer")
    submit = {"model": model, "use": "research", "justification": "for a study", "by": dev}
    refused("justification", "NUL", lambda: review.submit(**{**submit, "justification": NUL}))
    refused("revision", "at most 40", lambda: review.submit(**submit, revision="a" * 41))
    refused("intended_use", "at most 20", lambda: review.submit(**{**submit, "use": "r" * 21}))
    assert not ApprovalRequest.objects.exists()
    assert review.submit(**submit).status == "pending"


def test_decide_and_reopen_refuse_nul_text(model):
    req = review.submit(model=model, use="research", justification="study", by=user("developer"))
    approver = user("approver")
    refused("reason", "NUL", lambda: review.decide(req, by=approver, status="rejected", reason=NUL))
    refused("conditions_text", "NUL", lambda: review.decide(
        req, by=approver, status="approved_with_conditions", conditions_text="cite\x00"))  # fmt: skip
    req.refresh_from_db()
    assert req.status == "pending"
    review.decide(req, by=approver, status="approved", reason="fine")
    refused("detail", "NUL", lambda: review.reopen(req, by=approver, reason="changed\x00"))
    req.refresh_from_db()
    assert req.status == "approved"


def test_policies_refuse_nul_overlong_names_and_out_of_range_order():
    refused("name", "NUL", lambda: Policy.objects.create(name=NUL, action="approve"))
    refused("name", "at most 120", lambda: Policy.objects.create(name="p" * 121, action="approve"))
    refused("order", "from 0 to 2147483647",
            lambda: Policy.objects.create(name="p", action="approve", order=2**31))  # fmt: skip
    refused(
        "order", "from 0 to", lambda: Policy.objects.create(name="p", action="approve", order=-1)
    )
    refused("licenses", "NUL",
            lambda: Policy.objects.create(name="p", action="approve", licenses=[NUL]))  # fmt: skip
    assert not Policy.objects.exists()


def test_waivers_refuse_nul_and_overlong_text(model):
    granted = {"model": model, "reason": "legal_opinion", "evidence_link": "https://example.com/x",
                   "expires_at": date.today() + timedelta(days=30), "granted_by": user("approver")}  # fmt: skip
    refused("note", "NUL", lambda: Waiver.objects.create(**granted, note=NUL))
    refused("revision", "at most 40", lambda: Waiver.objects.create(**granted, revision="a" * 41))
    assert not Waiver.objects.exists()


def test_determinations_refuse_nul_and_overlong_text(model):
    legal = user("legal")
    made = {"model": model, "license_key": "mit", "by": legal}
    refused("reason", "NUL", lambda: assessment.determine(**made, reason="the README\x00"))
    refused("evidence_link", "at most 500", lambda: assessment.determine(
        **made, reason="the README", evidence_link="https://example.com/" + "x" * 500))  # fmt: skip
    assert not Determination.objects.exists()


def test_api_tokens_refuse_nul_and_overlong_names_and_nul_scopes():
    owner = User.objects.create_user("owner")
    refused("name", "NUL", lambda: ApiToken.issue(owner, name="ci\x00", scopes=["read"]))
    refused("name", "at most 100", lambda: ApiToken.issue(owner, name="n" * 101, scopes=["read"]))
    # "read\x00" is no scope at all: refused as one, before its NUL is looked at.
    refused(
        "scopes",
        "check, read, write",
        lambda: ApiToken.issue(owner, name="ci", scopes=["read\x00"]),
    )
    assert not ApiToken.objects.exists()
    token, secret = ApiToken.issue(owner, name="ci", scopes=["read"])
    assert secret.startswith("cnp_") and token.pk
