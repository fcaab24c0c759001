"""In a real Celery worker process the read side's and approvals' receivers are connected: a
crawl run by the worker leaves the search table in step with the catalog and its licenses, and a
base license change seen by the worker moves the approval below it to re-review, once."""

from __future__ import annotations

import pytest

from approvals import review
from approvals.models import ApprovalRequest, AuditEvent, Status
from catalog import runs
from catalog.models import CrawlRun, HubModel
from catalog.tasks import crawl
from licenses.models import ModelLicense
from portal import searchindex
from portal.models import SearchEntry
from tests.approvals.conftest import ROOT, constructed_base_license_change
from tests.catalog.test_worker import wait_until, workers  # noqa: F401  (the fixture)
from tests.conftest import role

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
CHILD = "TheBloke/Llama-2-7B-Chat-GGUF"


def _in_step() -> bool:
    """Every model has an entry and a rebuild would write nothing."""
    return SearchEntry.objects.count() == HubModel.objects.count() and searchindex.rebuild() == 0


def _crawl(server) -> None:
    run, _ = runs.start(CrawlRun.Kind.FULL, endpoint=server.url, limit=0)
    crawl.delay(run.pk)
    assert wait_until(lambda: CrawlRun.objects.get(pk=run.pk).status == "done", timeout=240)


def test_a_worker_keeps_the_search_table_and_re_reviews(replay, workers, tmp_path):  # noqa: F811
    from django.contrib.auth.models import User

    server = replay(["family.jsonl.gz"], [str(constructed_base_license_change(tmp_path))])
    workers(server.url)
    _crawl(server)
    # The assessments are queued by the crawl: wait until every model has its verdict.
    assert wait_until(lambda: ModelLicense.objects.count() == HubModel.objects.count(), 240)
    assert wait_until(
        lambda: SearchEntry.objects.exclude(verdict="").count() == HubModel.objects.count(), 60
    )
    assert _in_step()

    dev = User.objects.create_user("dev", "d@example.com", "pw")
    dev.groups.add(role("developer"))
    boss = User.objects.create_user("boss", "b@example.com", "pw")
    boss.groups.add(role("approver"))
    req = review.submit(model=HubModel.objects.get(repo_id=CHILD), use="research",
                        justification="x", by=dev)  # fmt: skip
    review.decide(req, by=boss, status=Status.APPROVED)

    server.set_state(1)
    _crawl(server)
    assert wait_until(
        lambda: ApprovalRequest.objects.get(pk=req.pk).status == Status.NEEDS_REREVIEW, 240
    )
    assert wait_until(
        lambda: (
            SearchEntry.objects.get(repo_id=ROOT).declared == "cc-by-nc-4.0"
            or ModelLicense.objects.get(model__repo_id=ROOT).declared
            == SearchEntry.objects.get(repo_id=ROOT).declared
        ),
        60,
    )
    assert AuditEvent.objects.filter(action="request.needs_rereview").count() == 1
    assert _in_step()
