"""Usage profiles as a reader meets them (issue 15): on real records of the bundled snapshot the
startup and the platform get different, explained answers for Llama, Gemma, Stability and
Apache models on the model page; the verdicts are readable (AA contrast, in words), and the
dashboard and search show them; axe finds nothing on those pages, and a phone does not scroll."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from catalog import crawler, runs
from catalog.models import CrawlRun
from tests.browser.test_verdicts import CONTRAST
from tests.conftest import GEMMA, LLAMA2, MISTRAL, SD3, demo_cut
from tests.usage.conftest import example_profiles
from usage import evaluate
from usage.models import UsageProfile

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
EXPECTED = {  # model -> (startup, platform), and a word each answer must give
    LLAMA2: ("usable", "blocked", "700,000,000 monthly active users"),
    GEMMA: ("usable", "usable", "acceptable use policy"),
    SD3: ("usable", "blocked", "USD 1,000,000 annual revenue"),
    MISTRAL: ("usable", "usable", "pass on a copy of the license"),
}


@pytest.fixture
def base(live_server, replay, hub_for, tmp_path):
    server = replay([demo_cut(tmp_path / "profiles.jsonl.gz")])
    run, _ = runs.start(CrawlRun.Kind.FULL, endpoint=server.url, limit=0)
    assert crawler.run_sync(run, hub=hub_for(server)).status == CrawlRun.Status.DONE
    example_profiles()
    for profile in UsageProfile.objects.all():
        evaluate.evaluate(profile)
    return live_server.url


def test_two_profiles_get_different_explained_answers_on_the_model_page(base, page, screenshot):
    axe = Axe()
    options = {"runOnly": {"type": "tag", "values": WCAG_21_AA}, "resultTypes": ["violations"]}
    for repo_id, (startup, platform, words) in EXPECTED.items():
        page.goto(f"{base}/models/{repo_id}/")
        rows = page.locator("#profiles tbody tr")
        got = {r.get_attribute("data-profile"): r for r in rows.all()}
        assert got["demo-startup-eu"].locator(".verdict").inner_text() == startup, repo_id
        assert got["demo-platform"].locator(".verdict").inner_text() == platform, repo_id
        assert words in page.locator("#profiles").inner_text(), repo_id
        for badge in page.locator("#profiles .verdict").evaluate_all(CONTRAST):
            assert badge["ratio"] >= 4.5, badge
            assert badge["text"] in ("usable", "review", "blocked")
        assert axe.run(page, options=options).response["violations"] == [], repo_id
        if repo_id == LLAMA2:
            page.locator("#profiles").scroll_into_view_if_needed()
            screenshot(page, "profiles")


def test_the_dashboard_and_search_show_profiles_readably_on_a_phone(base, browser, screenshot):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    phone = context.new_page()
    axe = Axe()
    options = {"runOnly": {"type": "tag", "values": WCAG_21_AA}, "resultTypes": ["violations"]}
    try:
        for path in (
            "/dashboard/",
            f"/models/{LLAMA2}/",
            "/models/?profile=demo-platform&usable=true",
        ):
            phone.goto(base + path)
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, (path, width)
            assert axe.run(phone, options=options).response["violations"] == [], path
        phone.goto(base + "/dashboard/")
        panel = phone.locator("#profiles-figure").inner_text()
        assert "Example: global platform" in panel and "Example: EU startup" in panel
        phone.goto(base + "/models/?profile=demo-platform&usable=true")
        listed = phone.locator("table.models").inner_text()
        assert MISTRAL in listed and LLAMA2 not in listed
    finally:
        context.close()
    desk = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    desk.goto(base + "/dashboard/")
    desk.locator("#profiles-figure").scroll_into_view_if_needed()
    screenshot(desk, "profiles-dashboard")
    desk.context.close()
