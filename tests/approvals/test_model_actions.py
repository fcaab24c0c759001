"""Actions where people are: the model page's "Request approval" (the form prefilled), NOTICE, print
stylesheet and check `curl` line; the request form's model picker; a decided request shows its
decision, not an open form; an expiry is not a condition. The BOM links the real Hub and this site,
never the replay the catalog came from."""

from __future__ import annotations

import html as htmllib
import re
from datetime import date, timedelta

import pytest

from approvals import review
from approvals.models import Status
from catalog.models import HubModel

from .conftest import ROOT

pytestmark = pytest.mark.django_db


def _actions(client, repo_id: str = ROOT) -> str:
    html = client.get(f"/models/{repo_id}/").content.decode()
    found = re.search(r'<section class="model-actions".*?</section>', html, re.S)
    assert found, "the model page has no actions section"
    return found.group(0)


def test_the_model_page_offers_request_approval_prefilled_with_the_model(client, family, users):
    actions = _actions(client)
    link = re.search(r'href="([^"]+)"[^>]*>Request approval<', actions)
    assert link, actions
    url = htmllib.unescape(link.group(1))
    assert url == f"/approvals/new/?model={ROOT}"
    client.force_login(users["developer"])
    form = client.get(url).content.decode()
    assert re.search(rf'<input[^>]*name="model"[^>]*value="{re.escape(ROOT)}"', form)


def test_a_role_that_may_not_request_is_told_so_not_linked_to_a_403(client, users):
    HubModel.objects.create(repo_id="org/model", author="org")  # constructed: a bare row
    client.force_login(users["viewer"])
    actions = _actions(client, "org/model")
    assert "Request approval" in actions and "your role may not request" in actions
    assert "/approvals/new/" not in actions
    client.force_login(users["developer"])
    assert 'href="/approvals/new/?model=org/model"' in _actions(client, "org/model")


def test_the_notice_of_an_unknown_model_is_the_helpful_404(client, users, settings):
    settings.DEBUG = True  # not Django's debug page either
    client.force_login(users["viewer"])
    response = client.get("/approvals/notice/nonexistent/foo/")
    assert response.status_code == 404
    assert "<code>nonexistent/foo</code> is not in the catalog" in response.content.decode()


def test_the_model_page_links_the_notice_which_answers(client, family, users):
    actions = _actions(client)
    link = re.search(r'href="([^"]+)"[^>]*>NOTICE<', actions)
    assert link, actions
    client.force_login(users["viewer"])
    response = client.get(htmllib.unescape(link.group(1)))
    assert response.status_code == 200
    assert response.content.decode().startswith(f"NOTICE for {ROOT}")


def test_the_model_page_shows_the_check_curl_line_with_this_sites_url(client, family):
    text = htmllib.unescape(re.sub(r"<[^>]+>", "", _actions(client)))
    line = next(ln.strip() for ln in text.splitlines() if ln.strip().startswith("curl "))
    assert "Authorization: Bearer cnp_YOUR_TOKEN" in line
    assert f"'http://testserver/api/v1/check?model={ROOT}&use=" in line


def test_the_model_page_has_a_print_stylesheet(client, family):
    html = client.get(f"/models/{ROOT}/").content.decode()
    sheet = re.search(r'<link rel="stylesheet" href="([^"]+print[^"]*\.css)" media="print">', html)
    assert sheet, "no print stylesheet"
    css = b"".join(client.get(sheet.group(1)).streaming_content).decode()
    assert "#license-panel" in css and "display: none" in css


def test_the_request_form_suggests_models_from_the_search(client, family, users):
    client.force_login(users["developer"])
    html = client.get("/approvals/new/", {"model": "llama-2-7b-chat-gguf"}).content.decode()
    assert re.search(r'<input[^>]*name="model"[^>]*list="model-suggestions"', html)
    options = re.findall(r'<option value="([^"]+)"', html.split('id="model-suggestions"')[1])
    assert "TheBloke/Llama-2-7B-Chat-GGUF" in options, options
    # Without JavaScript: each suggestion is also a link that fills the form in.
    assert 'href="/approvals/new/?model=TheBloke/Llama-2-7B-Chat-GGUF"' in html
    # With htmx, typing fetches only the suggestions (posted: see test_picker_text.py).
    fragment = client.post("/approvals/new/suggestions/", {"model": "Llama-2-7b-chat-hf"},
                           headers={"HX-Request": "true"}).content.decode()  # fmt: skip
    assert "<html" not in fragment and f'<option value="{ROOT}"' in fragment


def test_a_hostile_model_box_is_a_form_error_not_a_500(client, users):
    client.force_login(users["developer"])
    for value in ("org/x\x00y", "x" * 100_000):
        response = client.post("/approvals/new/", {"model": value, "intended_use": "research",
                               "scope": "model", "justification": "x"})  # fmt: skip
        assert response.status_code == 200
        assert 'class="errorlist' in response.content.decode()


@pytest.fixture
def pending(family, users):
    model = HubModel.objects.get(repo_id=ROOT)
    return review.submit(model=model, use="internal_tool", justification="a chat bot",
                         by=users["developer"])  # fmt: skip


DECISION = {"status": "approved_with_conditions", "scope": "model", "reason": "",
            "attribution_required": "on", "conditions_text": "", "expires_at": ""}  # fmt: skip


@pytest.mark.parametrize("htmx", [False, True])
def test_the_decision_form_closes_once_decided(client, users, pending, htmx):
    client.force_login(users["approver"])
    url = f"/approvals/{pending.pk}/"
    assert 'name="status"' in client.get(url).content.decode()
    headers = {"HX-Request": "true"} if htmx else {}
    response = client.post(url, {**DECISION}, headers=headers, follow=not htmx)
    html = response.content.decode()
    pending.refresh_from_db()
    assert pending.status == Status.CONDITIONAL
    for page in (html, client.get(url).content.decode()):
        assert 'name="status"' not in page and "Record decision" not in page
        # Reopening stays possible, folded away: the decision, not a form, is what shows.
        assert re.search(r'<details class="reopen">\s*<summary>', page), page


def test_the_expiry_is_shown_apart_from_the_conditions(client, users, pending):
    expires = date.today() + timedelta(days=30)
    review.decide(pending, by=users["approver"], status=Status.CONDITIONAL,
                  attribution_required=True, expires_at=expires)  # fmt: skip
    pending.refresh_from_db()
    assert pending.structured_conditions == ["attribution required"]
    client.force_login(users["developer"])  # the requester
    html = client.get(f"/approvals/{pending.pk}/").content.decode()
    conditions = re.search(r'<dd id="conditions">(.*?)</dd>', html, re.S)
    expiry = re.search(r'<dd id="expires">(.*?)</dd>', html, re.S)
    assert conditions and expiry, html
    assert "attribution required" in conditions.group(1)
    assert f"{expires:%Y-%m-%d}" not in conditions.group(1)
    assert f"{expires:%Y-%m-%d}" in expiry.group(1)


def test_conditions_written_on_separate_lines_stay_separate(client, users, pending):
    """Found by QA: two conditions typed on two lines read as one run-on sentence on the
    request page ("No customer data Keep the NOTICE"), which changes what was approved."""
    review.decide(pending, by=users["approver"], status=Status.CONDITIONAL,
                  conditions_text="No customer data\nKeep the NOTICE")  # fmt: skip
    client.force_login(users["developer"])
    html = client.get(f"/approvals/{pending.pk}/").content.decode()
    conditions = re.search(r'<dd id="conditions">(.*?)</dd>', html, re.S).group(1)
    assert re.search(r"No customer data\s*<br>\s*Keep the NOTICE", conditions), conditions


def test_an_expiry_alone_is_not_a_condition(users, pending):
    with pytest.raises(Exception, match="at least one condition"):
        review.decide(pending, by=users["approver"], status=Status.CONDITIONAL,
                      expires_at=date.today() + timedelta(days=30))  # fmt: skip


def test_the_bom_links_the_real_hub_and_this_site_not_the_replay(client, users, pending, family):
    review.decide(pending, by=users["approver"], status=Status.APPROVED)
    client.force_login(users["developer"])  # the requester sees their approvals
    bom = client.get("/approvals/bom.json")
    assert bom.status_code == 200
    assert family.url not in bom.content.decode()
    (component,) = [c for c in bom.json()["components"] if c["name"] == ROOT]
    urls = {r["type"]: r["url"] for r in component["externalReferences"]}
    assert urls["website"] == f"https://huggingface.co/{ROOT}"
    assert urls["documentation"] == f"http://testserver/models/{ROOT}/"
    assert client.get(f"/models/{ROOT}/").status_code == 200


def test_the_api_refuses_a_past_expiry_as_the_form_does(client, users, pending):
    """The decision form refuses an expiry in the past; the API took one and wrote an approval
    that was expired when it was given (one rule, in review.decide, for both)."""
    from approvals.models import ApiToken

    _, secret = ApiToken.issue(users["approver"], name="t", scopes=["read", "write"])
    past = date.today() - timedelta(days=1)
    response = client.post(f"/api/v1/requests/{pending.pk}/decision",
                           {"status": "approved", "expires_at": past.isoformat()},
                           content_type="application/json",
                           headers={"Authorization": f"Bearer {secret}"})  # fmt: skip
    assert response.status_code == 422, response.content
    assert "past" in response.json()["detail"]
    pending.refresh_from_db()
    assert pending.status == Status.PENDING


def test_the_notice_download_name_of_a_hostile_id_is_a_valid_header(client, users):
    """CONSTRUCTED model: a repo id with a quote and non-ASCII letters (hostile Hub data is
    stored as it comes). The attachment's file name must be quoted per RFC 6266, not break out
    of its quotes or arrive MIME-encoded."""
    HubModel.objects.create(repo_id='someone/na\u00efve"x.gguf', author="someone")
    client.force_login(users["viewer"])
    response = client.get("/approvals/notice/someone/na\u00efve%22x.gguf/")
    assert response.status_code == 200
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment; ")
    assert '"x.gguf' not in disposition and "=?utf-8?" not in disposition, disposition
    assert "filename*=utf-8''NOTICE-na%C3%AFve%22x.gguf.txt" in disposition, disposition
