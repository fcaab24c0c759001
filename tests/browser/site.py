"""The site as a reader meets it, for the accessibility and verdict-contrast tests: the real
Llama-2 family crawled from tests/fixtures/family.jsonl.gz and assessed, an approver who asked
for a fine-tune, and the table of main pages those tests visit (the one place it lives)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User
from django.test import Client

from approvals import review
from approvals.models import ApprovalRequest
from catalog.models import CrawlRun, HubModel
from licenses.models import ModelLicense
from tests.approvals.conftest import crawl_and_assess
from tests.browser.conftest import _new_page
from tests.conftest import role
from tests.usage.conftest import example_profiles
from usage import evaluate
from usage.models import UsageProfile

ROOT = "meta-llama/Llama-2-7b-chat-hf"  # a base model, gated ("manual") on the Hub
GGUF = "TheBloke/Llama-2-7B-Chat-GGUF"
FINETUNE = "ALIN-LLM/finetune-llama-2-7b-chat-gsm8k"
LICENSE = "llama2"


@dataclass
class Site:
    base: str
    run: CrawlRun
    request: ApprovalRequest
    conflicting: str  # a model whose license conflicts with an ancestor's
    session: str  # the approver's session cookie
    gap: str = ""  # a model whose lineage status is not complete

    def url(self, path: str) -> str:
        return f"{self.base}{path}"


# name -> path on the site (with `site` for the ids only known once crawled), and whether it is
# read logged out. The axe, keyboard and phone-width tests go over every row. READY: what a page
# draws with script after it loads, waited for before anything is checked.
READY = {"API docs": "#swagger-ui .opblock"}
PAGES: dict[str, tuple] = {
    "dashboard": (lambda s: "/dashboard/", False),
    "search with facets": (lambda s: "/models/?relation=quantized&format=gguf", False),
    "empty search": (lambda s: "/models/?q=no-such-model-anywhere", False),
    "model (base, gated)": (lambda s: f"/models/{ROOT}/", False),
    "model (GGUF)": (lambda s: f"/models/{GGUF}/", False),
    "model (conflicting)": (lambda s: f"/models/{s.conflicting}/", False),
    "lineage explorer": (lambda s: f"/lineage/{ROOT}/", False),
    "family": (lambda s: f"/families/{ROOT}/", False),
    "licenses": (lambda s: "/licenses/", False),
    "license": (lambda s: f"/licenses/{LICENSE}/", False),
    "model license": (lambda s: f"/licenses/models/{s.conflicting}/", False),
    "model (lineage gap)": (lambda s: f"/models/{s.gap}/", False),
    "search by lineage": (lambda s: "/models/?lineage=missing_ancestors", False),
    "search by profile": (lambda s: "/models/?profile=demo-platform&usable=false", False),
    "review queue": (lambda s: "/licenses/review/", False),
    "crawls": (lambda s: "/crawls/", False),
    "crawl run": (lambda s: f"/crawls/{s.run.pk}/", False),
    "approvals": (lambda s: "/approvals/", False),
    "usage profiles": (lambda s: "/approvals/profiles/", False),
    "new request": (lambda s: "/approvals/new/", False),
    "request detail": (lambda s: f"/approvals/{s.request.pk}/", False),
    "API docs": (lambda s: "/api/v1/docs", False),
    "login": (lambda s: "/approvals/login/", True),
    "404": (lambda s: "/models/nonexistent/foo/", False),
}


@pytest.fixture
def site(live_server, replay, hub_for) -> Site:
    server = replay(["family.jsonl.gz"])
    run = crawl_and_assess(server, hub_for)
    assert run.status == CrawlRun.Status.DONE, run.errors
    approver = User.objects.create_user("appr", "appr@example.com", "pw-appr")
    approver.groups.add(role("approver"), role("developer"))
    request = review.submit(
        model=HubModel.objects.get(repo_id=FINETUNE), use="internal_tool",
        justification="Help desk chat bot.", by=approver,
    )  # fmt: skip
    # The example profiles (a flush removed the migration's), evaluated: every model page,
    # the dashboard and the family page show their verdicts to the checks below.
    example_profiles()
    for profile in UsageProfile.objects.all():
        evaluate.evaluate(profile)
    conflicting = ModelLicense.objects.filter(conflict=True).order_by("model__repo_id").first()
    assert conflicting is not None, "the family snapshot holds license conflicts"
    gap = ModelLicense.objects.exclude(lineage_status="complete").order_by("model__repo_id").first()
    assert gap is not None, "the family snapshot holds models with ancestors not crawled"
    client = Client()
    client.force_login(approver)
    return Site(live_server.url, run, request, conflicting.model.repo_id,
                client.cookies["sessionid"].value, gap.model.repo_id)  # fmt: skip


def open_pages(browser, site: Site, **context_options):
    """(name, page) for every row of PAGES, each loaded in a fresh context (logged in as the
    approver unless the row says otherwise). Closes each context after its turn."""
    for name, (path, anonymous) in PAGES.items():
        context, page = _new_page(browser, **context_options)
        try:
            if not anonymous:
                context.add_cookies(
                    [{"name": "sessionid", "value": site.session, "url": site.base}]
                )
            page.goto(site.url(path(site)))
            if name in READY:
                page.wait_for_selector(READY[name])
            yield name, page
        finally:
            context.close()
