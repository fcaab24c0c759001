"""The request form's model picker and the user-typed text of a request, found by testing: a NUL
pasted into the picker made htmx's suggestion request a 400 (the site refuses NUL in a query) and
left the old suggestions up; whitespace showed 'Models that match “ ”'; a right-to-left override in
typed text reversed the rest of its line on the page. The suggestions come by POST (a body may carry
what was pasted; the view cleans it), and every user-typed text shown is bidi-isolated (<bdi>)."""

from __future__ import annotations

import re

import pytest

from approvals import review
from approvals.models import Status
from catalog.models import HubModel

from .conftest import ROOT

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
SUGGEST = "/approvals/new/suggestions/"
RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: what follows it shows reversed, until the paragraph ends


def _suggest(client, text: str) -> str:
    response = client.post(SUGGEST, {"model": text}, headers=HTMX)
    assert response.status_code == 200, response.content
    html = response.content.decode()
    assert "<html" not in html and html.lstrip().startswith('<div id="suggestions"')
    return html


def _options(html: str) -> list[str]:
    return re.findall(r'<option value="([^"]+)"', html)


def test_the_picker_asks_for_suggestions_by_post(client, family, users):
    client.force_login(users["developer"])
    html = client.get("/approvals/new/").content.decode()
    picker = re.search(r'<input[^>]*name="model"[^>]*>', html).group(0)
    assert f'hx-post="{SUGGEST}"' in picker and 'hx-params="model"' in picker
    assert f'<option value="{ROOT}"' in _suggest(client, "Llama-2-7b-chat-hf")


@pytest.mark.parametrize("typed", ["\x00", "llama\x00", "\x00\x00 7b", "llama-2\x00-7b-chat"])
def test_a_nul_pasted_in_clears_the_suggestions_and_says_why(client, family, users, typed):
    client.force_login(users["developer"])
    assert _options(_suggest(client, "llama-2-7b-chat-gguf"))  # suggestions are up ...
    html = _suggest(client, typed)  # ... a NUL is pasted: they go, and the page says why
    assert _options(html) == [] and "suggestion-links" not in html
    assert "a NUL character, which no repo id has" in html


@pytest.mark.parametrize("typed", [" ", "   ", "\t", "\n \r\n", "\u3000"])
def test_whitespace_only_clears_the_suggestions_without_an_empty_match(client, family, users,
                                                                       typed):  # fmt: skip
    client.force_login(users["developer"])
    html = _suggest(client, typed)
    assert _options(html) == [] and "Models that match" not in html and "“" not in html


def test_typed_text_is_echoed_isolated_and_trimmed(client, family, users):
    client.force_login(users["developer"])
    html = _suggest(client, f"  {RLO}llama-2-7b-chat-gguf ")
    assert f"Models that match “<bdi>{RLO}llama-2-7b-chat-gguf</bdi>”:" in html
    miss = _suggest(client, f"{RLO}zzzz-no-such-model")
    assert f"No model in the catalog matches “<bdi>{RLO}zzzz-no-such-model</bdi>”." in miss


def test_the_form_page_without_javascript_echoes_isolated_text_too(client, family, users):
    client.force_login(users["developer"])
    html = client.get("/approvals/new/", {"model": f"{RLO}llama-2-7b-chat-gguf"}).content.decode()
    assert f"“<bdi>{RLO}llama-2-7b-chat-gguf</bdi>”" in html


def test_a_requests_typed_texts_are_isolated_on_its_page(client, family, users):
    model = HubModel.objects.get(repo_id=ROOT)
    req = review.submit(model=model, use="internal_tool", by=users["developer"],
                        justification=f"help desk {RLO}bot\nsecond line")  # fmt: skip
    review.decide(req, by=users["approver"], status=Status.CONDITIONAL,
                  conditions_text=f"no {RLO}customer data", attribution_required=True)  # fmt: skip
    client.force_login(users["developer"])
    html = client.get(f"/approvals/{req.pk}/").content.decode()
    assert f"<bdi>help desk {RLO}bot<br>second line</bdi>" in html
    conditions = re.search(r'<dd id="conditions">(.*?)</dd>', html, re.S).group(1)
    assert f"<bdi>no {RLO}customer data</bdi>" in conditions


def test_a_rejections_reason_is_isolated(client, family, users):
    model = HubModel.objects.get(repo_id=ROOT)
    req = review.submit(model=model, use="internal_tool", by=users["developer"], justification="x")
    review.decide(req, by=users["approver"], status=Status.REJECTED, reason=f"{RLO}non-commercial")
    client.force_login(users["developer"])
    assert f"<bdi>{RLO}non-commercial</bdi>" in client.get(f"/approvals/{req.pk}/").content.decode()
