"""Break session on the layers refactoring (5ac63f3): a legal determination and the approvals of
the model it relicenses."""

from __future__ import annotations

import pytest

from approvals import review
from approvals.models import ApprovalRequest, Status
from catalog.models import HubModel
from config.celery import app
from licenses.models import ModelLicense

from .conftest import ROOT

pytestmark = pytest.mark.django_db
CHILD = "TheBloke/Llama-2-7B-Chat-GGUF"  # a quantization of ROOT


def _approve(model, users):
    req = review.submit(model=model, use="research", justification="x", by=users["developer"])
    return review.decide(req, by=users["approver"], status=Status.APPROVED)


def test_break_a_determination_re_reviews_the_approvals_of_the_model_it_relicenses(
    family, users, client, django_capture_on_commit_callbacks
):
    """Pre-existing (the same at bf0f4e4; the refactoring kept it): a determination on the license
    page (licenses.views._determine) re-assesses the model, then queues only its children
    (_fan_out -> assess_models -> assess_tree, which sends licenses.signals.assessed for the
    children). So the approvals of a quantization move to needs re-review, while an approval of
    the relicensed model itself, whose own verdict went from conditional to prohibited, stays
    approved: nothing sends `assessed` (nor calls review.rereview) for the determined model."""
    root, child = HubModel.objects.get(repo_id=ROOT), HubModel.objects.get(repo_id=CHILD)
    on_root, on_child = _approve(root, users), _approve(child, users)
    client.force_login(users["legal"])
    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            r = client.post(f"/licenses/models/{ROOT}/", {
                "action": "determine", "license_key": "cc-by-nc-4.0", "reason": "relicensed",
                "evidence_link": "",
            })  # fmt: skip
    finally:
        app.conf.task_always_eager = False
    assert r.status_code == 302
    assert ModelLicense.objects.get(model=root).effective == "prohibited"
    assert ApprovalRequest.objects.get(pk=on_child.pk).status == Status.NEEDS_REREVIEW
    assert ApprovalRequest.objects.get(pk=on_root.pk).status == Status.NEEDS_REREVIEW
