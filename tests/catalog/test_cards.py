"""Model cards: Markdown rendered, then sanitized (scripts, handlers, javascript: links inert)."""

import pytest

from catalog import cards
from catalog.models import HubModel, ModelFile
from tests.adversarial import GROWTH_BOUND, growth

EVIL = """---
license: mit
---
# Hello

Some **bold** text and a [link](https://example.com).

<script>window.pwned = true</script>
<img src="x.png" onerror="window.pwned = true">
<a href="javascript:window.pwned=true">click</a>
[md link](javascript:window.pwned=true)
<div onclick="window.pwned = true" style="color:red">div</div>
<iframe src="https://example.com"></iframe>
"""


def test_a_card_renders_markdown_without_its_front_matter():
    html = cards.render(EVIL)
    assert "<h1>Hello</h1>" in html and "<strong>bold</strong>" in html
    assert 'href="https://example.com"' in html
    assert "license: mit" not in html


def test_a_card_with_scripts_handlers_and_javascript_links_renders_inert():
    html = cards.render(EVIL).lower()
    for bad in ("<script", "onerror", "onclick", 'href="javascript:', "<iframe", "style="):
        assert bad not in html


def test_the_summary_is_the_first_prose_paragraph():
    assert cards.summary(EVIL) == "Some bold text and a link."


@pytest.mark.django_db
def test_the_model_page_shows_the_sanitized_card(client):
    model = HubModel.objects.create(repo_id="someone/evil-card", author="someone")
    ModelFile.objects.create(model=model, path="README.md", text=EVIL)
    html = client.get("/models/someone/evil-card/").content.decode()
    card = html.split('<article class="card">', 1)[1].split("</article>", 1)[0]
    assert "<h1>Hello</h1>" in card and "<script" not in card and "onerror" not in card


@pytest.mark.django_db
def test_a_gated_model_says_what_it_asks_for(client):
    HubModel.objects.create(
        repo_id="meta/gated", author="meta", gated="manual",
        card_data={"extra_gated_prompt": "Accept the license.",
                   "extra_gated_fields": {"Company": "text", "Country": "country"}},
    )  # fmt: skip
    html = client.get("/models/meta/gated/").content.decode()
    assert 'id="gate"' in html and "manual approval" in html
    assert "Accept the license." in html and "<code>Company</code>" in html


def test_the_summary_of_an_unclosed_bracket_run_takes_linear_time():
    # A bug once found: the link-stripping regex backtracked over the rest of the text at every
    # "[", so "x" + "[" * 60000 took 19 s (and a 1 MB card hours) in the crawl's derive step.
    assert cards.summary("x" + "[" * 60_000) == "x" + "[" * 299
    assert growth(cards.summary, "open-brackets")[1] < GROWTH_BOUND
