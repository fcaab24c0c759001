"""Schema fuzzing: schemathesis generates requests from /api/v1/openapi.json for every operation and
sends them to the WSGI application in this process (the lean check path of config/wsgi.py included),
anonymous and with a read+write token, over the crawled and assessed Llama-2 family with a request,
a waiver and a policy. No answer may be a server error, and every answer must match the schema: its
status code declared, its body the declared model. Bounded and derandomised: the same examples on
every run."""

from __future__ import annotations

import time
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

import approvals.middleware
from approvals import review
from approvals.models import ApiToken, Policy, Waiver
from catalog.models import HubModel
from config.wsgi import application
from licenses import tasks as license_tasks
from tests.catalog.conftest import ROOT, family  # noqa: F401 (the module's crawled fixture)

pytestmark = pytest.mark.django_db

EXAMPLES = 20  # per operation, generation mode and caller
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


@contextmanager
def _test_transaction_kept(monkeypatch):
    # As Django's test client does: close_old_connections would close the connection holding
    # the test's transaction (its autocommit is off); the lean check path calls it itself.
    monkeypatch.setattr(approvals.middleware, "close_old_connections", lambda: None)
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    try:
        yield
    finally:
        for signal in (signals.request_started, signals.request_finished):
            signal.connect(close_old_connections)


@pytest.fixture
def data(family):  # noqa: F811
    """Assessed licenses, an approval request, a waiver and a policy, so lists have items."""
    license_tasks.assess_models(list(HubModel.objects.values_list("pk", flat=True)))
    admin = User.objects.create_superuser("fuzz", "fuzz@example.com", "pw")
    model = HubModel.objects.get(repo_id=ROOT)
    review.submit(model=model, use="research", justification="fuzzing", by=admin)
    Waiver.objects.create(model=model, reason="license_acquired", granted_by=admin,
                          evidence_link="https://example.com/w",
                          expires_at=date.today() + timedelta(days=30))  # fmt: skip
    Policy.objects.create(name="fuzz", action="review", verdicts=["prohibited"])
    return admin


def _fuzz(schema, headers: dict[str, str]) -> tuple[int, int, list[str]]:
    """(operations, examples sent, failures) of one caller over every operation: requests the
    schema allows (positive) and requests it does not (negative: they must be refused with a
    declared 4xx in the error shape, never a 500)."""
    sent, failures = 0, []
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation, mode in [(o, m) for o in operations for m in GenerationMode]:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                  phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        def run(case):
            nonlocal sent
            sent += 1
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            run()
        except Unsatisfiable:
            # No request breaks this operation's schema and still reaches it (a path
            # parameter that admits any text): nothing to send in this mode.
            assert mode == GenerationMode.NEGATIVE, operation.label
        except Exception as exc:  # each operation's first failure, with its reproduction
            failures.append(f"{operation.label} ({mode.value}): {exc}")
    return len(operations), sent, failures


@pytest.mark.parametrize("caller", ["anonymous", "read+write token"])
def test_the_api_answers_as_its_schema_says(data, monkeypatch, caller, capsys):
    headers = {}
    if caller != "anonymous":
        _, secret = ApiToken.issue(data, name="fuzz", scopes=["check", "read", "write"])
        headers = {"Authorization": f"Bearer {secret}"}
    started = time.monotonic()
    with _test_transaction_kept(monkeypatch):
        schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
        operations, sent, failures = _fuzz(schema, headers)
    with capsys.disabled():
        print(f"\nschemathesis ({caller}): {operations} operations, {sent} examples, "
              f"{len(failures)} failing operations, {time.monotonic() - started:.1f} s")  # fmt: skip
    assert operations >= 16 and sent >= operations * 2 * 5
    assert not failures, "\n\n".join(failures)
