"""Catalog exploration in Chromium: facets (htmx, URL state, back button), a family, a lineage
node expanded in place, and a model card whose scripts stay inert."""

import re

import pytest
from playwright.sync_api import expect

from catalog.models import HubModel, ModelFile

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = "meta-llama/Llama-2-7b-chat-hf"
EVIL = """# Evil card

A card that tries to run script.

<script>window.pwned = 1</script>
<img src="data:," onerror="window.pwned = 2">
<a id="js" href="javascript:window.pwned=3">click me</a>
"""


def test_a_facet_filters_in_place_and_the_back_button_restores(
    live_server, family, page, screenshot
):
    page.goto(f"{live_server.url}/models/")
    expect(page.locator("#results .count")).to_have_text("150 of 150 models")
    page.evaluate("window.notReloaded = true")
    n = HubModel.objects.filter(base_relation="quantized").count()
    page.locator('a[data-facet="relation"]', has_text="quantized").click()
    expect(page).to_have_url(re.compile(r"relation=quantized"))
    expect(page.locator("#results .count")).to_have_text(f"{n} of 150 models")
    assert page.evaluate("window.notReloaded") is True
    screenshot(page, "search-facets")
    page.go_back()
    expect(page.locator("#results .count")).to_have_text("150 of 150 models")


def test_open_a_family_and_expand_a_lineage_node(live_server, family, page, screenshot):
    page.goto(f"{live_server.url}/families/{ROOT}/")
    expect(page.locator("#variants h2").first).to_contain_text(re.compile("quantizations", re.I))
    page.locator("#id_format").select_option("gguf")
    expect(page).to_have_url(re.compile(r"format=gguf"))
    expect(page.locator("#variants")).to_contain_text("GGUF")
    screenshot(page, "family")

    page.goto(f"{live_server.url}/lineage/{ROOT}/")
    expect(page.locator("svg.graph")).to_be_visible()
    expand = page.locator("a.expand").first
    target = expand.get_attribute("aria-controls")
    expand.click()
    expect(page.locator(f"#{target} .groups")).to_be_visible()
    assert page.url.endswith(f"/lineage/{ROOT}/")  # expanded in place
    screenshot(page, "lineage")


def test_a_card_with_scripts_renders_inert(live_server, family, page, screenshot):
    model = HubModel.objects.get(repo_id=ROOT)
    ModelFile.objects.update_or_create(model=model, path="README.md", defaults={"text": EVIL})
    page.goto(f"{live_server.url}/models/{ROOT}/")
    expect(page.locator("#card h1")).to_have_text("Evil card")
    page.locator("#card a", has_text="click me").click()  # no href left: goes nowhere
    assert page.evaluate("window.pwned") is None
    assert page.locator("#card script").count() == 0
    page.locator("#card").scroll_into_view_if_needed()
    screenshot(page, "model-card")


def test_find_a_conflicting_model_and_see_why(live_server, family, page, screenshot):
    from licenses.tasks import assess_models

    assess_models(list(HubModel.objects.values_list("pk", flat=True)))
    page.goto(f"{live_server.url}/models/?conflict=yes")
    expect(page.locator("#results .count")).not_to_have_text(re.compile(r"^0 of"))
    expect(page.locator("#results .conflict-flag").first).to_be_visible()
    page.locator("#results tbody a").first.click()
    expect(page.locator("#license-panel dt.conflict")).to_have_text("Conflict")
    expect(page.locator("#license-panel dd.conflict")).not_to_be_empty()
    screenshot(page, "conflict")


def test_the_lineage_status_is_a_facet_and_said_on_the_model_page(
    live_server, family, page, screenshot
):
    from licenses.tasks import assess_models

    assess_models(list(HubModel.objects.values_list("pk", flat=True)))
    page.goto(f"{live_server.url}/models/")
    page.locator('a[data-facet="lineage"]', has_text="ancestors not crawled").click()
    expect(page).to_have_url(re.compile(r"lineage=missing_ancestors"))
    expect(page.locator("#results .count")).not_to_have_text(re.compile(r"^0 of"))
    page.locator("#results tbody a").first.click()
    status = page.locator("#license-panel .lineage-status")
    expect(status).to_be_visible()
    expect(status).to_contain_text("lineage: ancestors not crawled yet: ")
    status.scroll_into_view_if_needed()
    screenshot(page, "lineage-status")
