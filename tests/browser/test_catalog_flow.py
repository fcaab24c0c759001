"""The main catalog flow in Chromium: search (htmx), a model, its parent, and back without JS."""

import json
import re
import urllib.request

import pytest
from django.test import Client
from playwright.sync_api import expect

from catalog.models import CrawlRun

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = "meta-llama/Llama-2-7b-chat-hf"
ADAPTER = "FinGPT/fingpt-forecaster_dow30_llama2-7b_lora"  # a LoRA adapter of ROOT


@pytest.fixture
def family(family):
    # The crawl queued an ancestors run for its missing parents; these tests never run it.
    CrawlRun.objects.exclude(pk=family.pk).delete()
    return family


def llama_count(live_server) -> int:
    """What `llama` matches (ids and, once their READMEs are read, card summaries), as the API
    counts it: the page must say the same."""
    with urllib.request.urlopen(f"{live_server.url}/api/v1/models?q=llama") as answer:
        return json.load(answer)["count"]


def test_search_a_model_and_follow_its_lineage(live_server, family, page, screenshot):
    page.goto(f"{live_server.url}/models/")
    expect(page.locator("#results .count")).to_have_text("150 of 150 models")
    expect(page.locator("#results tbody tr").first).to_contain_text(ROOT)
    screenshot(page, "model-list")

    # Typing searches through htmx: #results is swapped in place and the URL follows.
    page.evaluate("window.notReloaded = true")
    page.locator("#id_q").fill("llama")
    expect(page).to_have_url(re.compile(r"/models/\?q=llama"))
    expect(page.locator("#results .count")).to_have_text(
        f"{llama_count(live_server)} of 150 models"
    )
    assert page.evaluate("window.notReloaded") is True
    assert page.locator("#results").count() == 1  # swapped with outerHTML, not nested

    page.get_by_role("link", name=ADAPTER, exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/models/{ADAPTER}/")
    expect(page.locator("h1")).to_have_text("fingpt-forecaster_dow30_llama2-7b_lora")
    parents = page.locator("#lineage ul.edges").first
    expect(parents).to_contain_text("adapter of")

    parents.get_by_role("link", name=ROOT, exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/models/{ROOT}/")
    expect(page.locator("h1")).to_have_text("Llama-2-7b-chat-hf")
    expect(page.locator("#lineage")).to_contain_text("A base model: no parent declared.")
    child = page.locator("#lineage").get_by_role("link", name=ADAPTER, exact=True)
    expect(child).to_have_attribute("href", f"/models/{ADAPTER}/")
    screenshot(page, "model-detail")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Crawls").click()
    expect(page.locator("h1")).to_have_text("Crawls")
    expect(page.locator("#runs tbody")).to_contain_text("done")
    expect(page.get_by_role("button", name="Start")).to_have_count(0)


def test_staff_see_the_runs_and_the_start_form(live_server, family, admin_user, page, screenshot):
    client = Client()
    client.force_login(admin_user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    page.goto(f"{live_server.url}/crawls/")
    expect(page.locator("#runs tbody tr")).to_have_count(1)
    expect(page.locator("#runs tbody")).to_contain_text("done")
    expect(page.get_by_label("Kind")).to_be_visible()
    expect(page.get_by_role("button", name="Start")).to_be_visible()
    screenshot(page, "crawls")


def test_the_search_form_works_without_javascript(live_server, family, page_without_js):
    page = page_without_js
    page.goto(f"{live_server.url}/models/")
    page.locator("#id_q").fill("llama")
    page.locator("#id_sort").select_option("name")
    with page.expect_navigation():
        page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"/models/\?q=llama&sort=name"))
    expect(page.locator("#results .count")).to_have_text(
        f"{llama_count(live_server)} of 150 models"
    )
    expect(page.locator("#id_q")).to_have_value("llama")

    # Pagination is plain links that keep the query.
    page.get_by_role("link", name="Next →").click()
    expect(page).to_have_url(re.compile(r"\?q=llama&sort=name(&memory=)?&page=2$"))
    expect(page.locator(".pagination")).to_contain_text("Page 2 of 3")

    page.locator("#results tbody a").first.click()
    expect(page.locator("#lineage h3").first).to_have_text("Parents")
