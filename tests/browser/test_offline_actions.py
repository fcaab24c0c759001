"""In Chromium with no network beyond this site: the API docs render their operations, the model
page's actions and the request form's model picker work, the picker's suggestions follow what is
typed (htmx) and are links without JavaScript, and the model page prints to one PDF page."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from catalog import crawler, runs
from catalog.models import CrawlRun
from tests.browser.conftest import _new_page
from tests.conftest import role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = "meta-llama/Llama-2-7b-chat-hf"
GGUF = "TheBloke/Llama-2-7B-Chat-GGUF"


def _offline(page, live_server) -> list[str]:
    """Abort every request that is not to the site itself, and record them: offline."""
    site = urlsplit(live_server.url).netloc
    blocked: list[str] = []

    def route(r):
        if urlsplit(r.request.url).netloc == site:
            return r.continue_()
        blocked.append(r.request.url)
        return r.abort()

    page.route("**/*", route)
    return blocked


def _developer() -> User:
    user = User.objects.create_user("dev", "dev@example.com", "pw-dev")
    user.groups.add(role("developer"))
    return user


def test_the_api_docs_render_their_operations_offline(live_server, page):
    blocked = _offline(page, live_server)
    page.goto(f"{live_server.url}/api/v1/docs")
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible()
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/check")).to_be_visible()
    assert blocked == []  # it asked for nothing outside the site


def test_every_action_of_the_api_docs_shows_the_sites_focus_ring(live_server, page):
    """Found by QA: Swagger UI's `.swagger-ui .link:focus` (1px dotted) outranked the docs'
    focus ring, so the schema link at the top showed a faint dotted box. The keyboard test's
    rule: an outline of 2px or more (or a box-shadow) on everything Tab reaches."""
    _offline(page, live_server)
    page.goto(f"{live_server.url}/api/v1/docs")
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible()
    faint = set()
    for _ in range(15):  # the links and buttons of the head, then the first operations
        page.keyboard.press("Tab")
        focused = page.evaluate("""() => {
          const e = document.activeElement, s = getComputedStyle(e);
          const ring = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2)
            || s.boxShadow !== 'none';
          return ring ? null : `${e.tagName.toLowerCase()} ${e.getAttribute('href') || e.textContent.trim().slice(0, 30)}`;
        }""")
        if focused:
            faint.add(focused)
    assert faint == set()


def test_request_approval_from_the_model_page_with_the_picker(live_server, family, page):
    blocked = _offline(page, live_server)
    _developer()
    base = live_server.url
    page.goto(f"{base}/models/{ROOT}/")
    hub = page.get_by_role("link", name=f"{ROOT} on the Hub")
    expect(hub).to_have_attribute("href", f"https://huggingface.co/{ROOT}")
    expect(page.locator("#hub-source")).to_contain_text("replay")
    expect(page.locator("#actions pre")).to_contain_text(f"{base}/api/v1/check?model={ROOT}")
    page.get_by_role("link", name="Request approval").click()
    page.get_by_label("Username").fill("dev")
    page.get_by_label("Password").fill("pw-dev")
    page.get_by_role("button", name="Log in").click()
    model = page.get_by_label("Model (repo id)")
    expect(model).to_have_value(ROOT)
    page.wait_for_load_state("load")  # htmx (a deferred script) is listening from here on
    # Typing asks the search for suggestions (htmx): the datalist and the links follow.
    model.fill("llama-2-7b-chat-gguf")
    expect(page.locator("#model-suggestions option").first).to_have_attribute("value", GGUF)
    expect(page.locator(".suggestion-links a").first).to_have_text(GGUF)
    page.locator(".suggestion-links a").first.click()
    expect(page.get_by_label("Model (repo id)")).to_have_value(GGUF)
    page.get_by_label("Intended use").select_option("internal_tool")
    page.get_by_label("Justification").fill("Help desk bot.")
    page.get_by_role("button", name="Send request").click()
    expect(page).to_have_url(re.compile(rf"{re.escape(base)}/approvals/\d+/$"))
    expect(page.locator("h1")).to_contain_text(GGUF)
    assert [u for u in blocked if "huggingface.co" not in u] == []


def test_the_picker_clears_its_suggestions_for_a_nul_or_blanks(live_server, family, page):
    """Found by testing: a NUL pasted in made the suggestion request a 400 (the site refuses
    NUL in a query) and the old suggestions stayed up; blanks showed 'Models that match “ ”'."""
    _developer()
    page.goto(f"{live_server.url}/approvals/login/?next=/approvals/new/")
    page.get_by_label("Username").fill("dev")
    page.get_by_label("Password").fill("pw-dev")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state("load")
    model, links = page.get_by_label("Model (repo id)"), page.locator(".suggestion-links a")
    model.fill("llama-2-7b-chat-gguf")
    expect(links.first).to_have_text(GGUF)
    model.fill("llama-2-7b\x00-chat")
    expect(page.locator("#suggestions")).to_contain_text("a NUL character, which no repo id has")
    expect(links).to_have_count(0)
    expect(page.locator("#model-suggestions option")).to_have_count(0)
    model.fill("llama-2-7b-chat-gguf")
    expect(links.first).to_have_text(GGUF)
    model.fill("   ")
    expect(links).to_have_count(0)
    expect(page.locator("#suggestions")).not_to_contain_text("match")
    # Typed text echoed on the page is isolated: an override in it cannot reverse the page's words.
    model.fill("\u202ellama-2-7b-chat-gguf")
    echo = page.locator("#suggestions bdi")
    expect(echo).to_have_text("\u202ellama-2-7b-chat-gguf")
    assert echo.evaluate("e => getComputedStyle(e).unicodeBidi") == "isolate"


def test_the_picker_without_javascript_suggests_after_a_miss(live_server, family, browser):
    _developer()
    context, page = _new_page(browser, java_script_enabled=False)
    try:
        base = live_server.url
        page.goto(f"{base}/approvals/login/?next=/approvals/new/")
        page.get_by_label("Username").fill("dev")
        page.get_by_label("Password").fill("pw-dev")
        page.get_by_role("button", name="Log in").click()
        page.get_by_label("Model (repo id)").fill("llama-2-7b-chat-gguf")
        page.get_by_label("Justification").fill("Help desk bot.")
        page.get_by_role("button", name="Send request").click()
        # Not an id: the form says so and offers what the search finds, as links.
        expect(page.locator(".errorlist")).to_contain_text("is not in the catalog")
        page.locator(".suggestion-links a", has_text=GGUF).click()
        expect(page.get_by_label("Model (repo id)")).to_have_value(GGUF)
    finally:
        context.close()


def test_the_model_page_prints_to_one_page(live_server, family, page, tmp_path):
    _offline(page, live_server)
    page.goto(f"{live_server.url}/models/{ROOT}/")
    page.emulate_media(media="print")
    for hidden in ("header.top", "#lineage", "#card", "#actions"):
        expect(page.locator(hidden)).to_be_hidden()
    expect(page.locator("#license-panel")).to_be_visible()
    pdf = page.pdf(format="A4", path=str(tmp_path / "summary.pdf"))
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1


def test_a_conflicting_models_page_prints_to_one_page_too(live_server, replay, hub_for, page):
    """Found by QA over the bundled snapshot: the legal reviewer's case, a model whose license
    conflicts with an ancestor's (Hermes-2-Theta: apache-2.0 over a Llama 3 parent), printed
    to two A4 pages where the Llama-2 root prints to one."""
    from tests.conftest import DEMO

    server = replay([str(DEMO / "demo-2024.jsonl.gz")], [str(DEMO / "demo-2025.jsonl.gz")])
    run, _ = runs.start(CrawlRun.Kind.ANCESTORS, target="NousResearch/Hermes-2-Theta-Llama-3-8B",
                           endpoint=server.url)  # fmt: skip
    assert crawler.run_sync(run, hub=hub_for(server)).status == CrawlRun.Status.DONE
    page.goto(f"{live_server.url}/models/NousResearch/Hermes-2-Theta-Llama-3-8B/")
    expect(page.locator("#license-panel")).to_contain_text("Conflict")
    page.emulate_media(media="print")
    # One page, and the legal summary is all there: where it came from, both verdicts in
    # words, the conflict, conditions, each license's duties with their fixed texts, the path.
    # The evidence table and the size and popularity facts are for the screen.
    panel = page.locator("#license-panel")
    for kept in (".print-only", "#hub-source", "dd.conflict", "ul.conditions", "ul.path"):
        expect(page.locator(kept).first).to_be_visible()
    expect(page.locator(".print-only").first).to_contain_text("Hermes-2-Theta-Llama-3-8B")
    expect(panel.locator(".verdict").first).to_have_text("allowed")
    expect(panel.locator("dd .verdict").nth(1)).to_have_text("conditional")
    expect(panel.locator(".required-text", has_text="Built with Meta Llama 3")).to_be_visible()
    expect(panel.locator("ul.path")).to_contain_text("NousResearch/Hermes-2-Pro-Llama-3-8B")
    for hidden in (".evidence", "#memory", "#actions"):
        expect(page.locator(hidden)).to_be_hidden()
    assert len(re.findall(rb"/Type\s*/Page[^s]", page.pdf(format="A4"))) == 1
