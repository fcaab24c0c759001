"""A suspected base in Chromium (issue 13, item 7): the facet finds it, the model page says what
the signals say and that the verdict is not changed, the review queue lists it. Obligations not
met (item 9): a facet, and the model page's line and checks."""

import re

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from catalog import crawler, runs
from catalog.models import CrawlRun
from tests.conftest import role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
UNSLOTH = "unsloth/llama-3-8b-Instruct-bnb-4bit"


@pytest.fixture
def suspects(replay, hub_for):
    server = replay(["suspects.jsonl.gz"])
    run, _ = runs.start(CrawlRun.Kind.FULL, endpoint=server.url, limit=0)
    assert crawler.run_sync(run, hub=hub_for(server)).status == CrawlRun.Status.DONE


def test_a_suspected_base_is_a_facet_a_page_line_and_a_review(
    live_server, suspects, page, screenshot
):
    page.goto(f"{live_server.url}/models/")
    page.locator('a[data-facet="suspected"]', has_text="suspected base").click()
    expect(page).to_have_url(re.compile(r"suspected=yes"))
    expect(page.locator("#results .count")).to_have_text(re.compile(r"^5 of 8 models"))
    page.locator("#results tbody a", has_text="llama-3-8b-Instruct-bnb-4bit").click()
    line = page.locator("#license-panel dd.suspected")
    expect(line).to_contain_text("Declares apache-2.0 and names no base, but its")
    expect(line).to_contain_text("say Llama 3: the llama3 terms probably apply")
    expect(line).to_contain_text("Not applied to the verdict")
    line.scroll_into_view_if_needed()
    screenshot(page, "suspected-base")

    lena = User.objects.create_user("lena", password="pw")
    lena.groups.add(role("legal"))
    page.goto(f"{live_server.url}/approvals/login/?next=/licenses/review/%3Freason%3Dsuspected")
    page.get_by_label("Username").fill("lena")
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("small.suspected").first).to_contain_text("suspected base:")
    expect(page.locator("body")).to_contain_text(UNSLOTH)


def test_obligations_not_met_are_a_facet_and_said_on_the_model_page(
    live_server, family, page, screenshot
):
    page.goto(f"{live_server.url}/models/")
    page.locator('a[data-facet="duties"]', has_text="obligations not met").click()
    expect(page).to_have_url(re.compile(r"duties=yes"))
    expect(page.locator("#results .count")).not_to_have_text(re.compile(r"^0 of"))
    page.goto(f"{live_server.url}/models/Arjs/Llama-2-7b-chatbot-finetune/")
    unmet = page.locator("#license-panel dd.unmet", has_text="llama2: declares apache-2.0")
    expect(unmet).to_contain_text("the llama2 terms must carry on")
    checks = page.locator("#license-panel ul.duty-checks")
    expect(checks.locator("li.duty-unmet")).not_to_have_count(0)
    unmet.scroll_into_view_if_needed()
    screenshot(page, "obligations-not-met")
