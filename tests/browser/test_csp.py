"""The Content-Security-Policy in Chromium: the main pages, the admin and the API docs load with
no violation (console or securitypolicyviolation event), and what runs on them keeps working
under it: htmx facets and lineage expansion, Swagger UI, the admin."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from approvals.models import ApprovalRequest
from catalog.models import HubModel
from tests.browser.conftest import _new_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = "meta-llama/Llama-2-7b-chat-hf"
# Seen in the page's own world before any of its script, so a violation cannot go unrecorded.
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e =>
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
"""


@pytest.fixture
def watched(browser):
    """A page that records every console message and CSP violation: watched.check() asserts none."""
    context, page = _new_page(browser)
    page.add_init_script(RECORD_VIOLATIONS)
    page.console = []
    page.on("console", lambda m: page.console.append(f"{m.type}: {m.text} {m.location['url']}"))

    def check(where: str) -> None:
        page.wait_for_load_state("networkidle")
        violations = page.evaluate("window.__csp")
        # (Chromium asks for /favicon.ico on its own; there is none, which is no policy's doing.)
        problems = [m for m in page.console if m.startswith(("error", "warning"))
                    and not m.endswith("/favicon.ico")]  # fmt: skip
        assert violations == [] and problems == [] and page.errors == [], (where, violations,
                                                                             problems, page.errors)  # fmt: skip
        page.console.clear()

    page.check = check
    yield page
    context.close()


def test_the_main_pages_load_with_no_csp_violation(live_server, family, watched):
    User.objects.create_superuser("root", "root@example.com", "pw-root")
    model = HubModel.objects.get(repo_id=ROOT)
    ApprovalRequest.objects.create(model=model, requested_by=User.objects.get(username="root"),
                                   intended_use="research", justification="csp")  # fmt: skip
    base = live_server.url
    page = watched
    response = page.goto(f"{base}/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.check("/")

    # htmx under the policy: a facet filters the results in place.
    page.goto(f"{base}/models/")
    expect(page.locator("#results .count")).to_have_text("150 of 150 models")
    page.evaluate("window.notReloaded = true")
    page.locator('a[data-facet="relation"]', has_text="quantized").click()
    expect(page).to_have_url(re.compile(r"relation=quantized"))
    expect(page.locator("#results .count")).not_to_have_text("150 of 150 models")
    assert page.evaluate("window.notReloaded") is True
    page.check("/models/ (facet)")

    page.goto(f"{base}/models/{ROOT}/")
    expect(page.locator("#license-panel")).to_be_visible()
    page.check("model page")

    # The lineage explorer: a node expands in place.
    page.goto(f"{base}/lineage/{ROOT}/")
    expect(page.locator("svg.graph")).to_be_visible()
    expand = page.locator("a.expand").first
    target = expand.get_attribute("aria-controls")
    expand.click()
    expect(page.locator(f"#{target} .groups")).to_be_visible()
    page.check("lineage (expanded)")

    page.goto(f"{base}/licenses/")
    expect(page.locator(".verdict").first).to_be_visible()
    page.check("/licenses/")

    page.goto(f"{base}/approvals/login/?next=/approvals/")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill("pw-root")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{base}/approvals/")
    expect(page.locator("#results")).to_contain_text(ROOT)
    page.locator("select").first.select_option(index=1)  # htmx filter
    page.check("/approvals/ (filtered)")

    page.goto(f"{base}/admin/")
    expect(page.locator("#site-name")).to_be_visible()
    page.goto(f"{base}/admin/auth/user/")
    expect(page.locator("#result_list")).to_contain_text("root")
    page.check("/admin/")

    # Swagger UI: its bundle and init script are files; the settings are a JSON data block.
    page.goto(f"{base}/api/v1/docs")
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible()
    page.locator(".opblock-summary", has_text="/api/v1/models").first.click()
    expect(page.locator(".opblock-body").first).to_be_visible()
    page.check("/api/v1/docs")


def test_an_inline_script_would_be_refused(live_server, family, watched):
    # The policy really blocks: a script injected into the page is reported, not run.
    page = watched
    page.goto(f"{live_server.url}/models/")
    page.evaluate("""() => { const s = document.createElement('script');
                            s.textContent = 'window.ran = 1'; document.head.append(s); }""")
    page.wait_for_timeout(200)
    assert page.evaluate("window.ran") is None
    assert any(v.startswith("script-src") for v in page.evaluate("window.__csp"))
