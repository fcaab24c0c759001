"""Every page that answers htmx with a fragment (config.fragments): an htmx request gets the
fragment alone, a history restore (htmx sends HX-Request with it) and a plain visit the whole
page, and the answer varies on both headers.

Over the crawled Llama-2 family of tests/catalog/conftest.py (crawled once for the module).
"""

import pytest
from django.contrib.auth.models import User
from django_htmx.http import HttpResponseStopPolling

from approvals import review
from catalog.models import HubModel
from tests.catalog.conftest import ROOT, family  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
RESTORE = {**HTMX, "HX-History-Restore-Request": "true"}

# page -> what begins its fragment
PAGES = {
    "/models/?q=llama": '<div id="results"',
    f"/families/{ROOT}/": '<section id="variants"',
    f"/lineage/{ROOT}/?part=children": '<div class="groups">',
    f"/lineage/{ROOT}/?relation=finetune&page=1": '<li class="node',
    "/crawls/": '<section id="runs"',
    "/crawls/{run}/": '<section id="progress"',
    "/licenses/?verdict=prohibited": '<section id="results"',
    f"/licenses/models/{ROOT}/": '<div id="model-license"',
    "/licenses/review/": '<section id="queue"',
    "/approvals/": '<section id="results"',
    "/approvals/{request}/": '<div id="messages"',  # out of band, then <section id="decision">
    "/approvals/audit/": '<section id="results"',
}


@pytest.fixture
def signed_in(client, family):  # noqa: F811 (the fixture imported above)
    """A superuser's client (the approvals pages need a login) and the ids the pages name."""
    boss = User.objects.create_superuser("boss", "boss@example.com", "pw-boss")
    client.force_login(boss)
    model = HubModel.objects.get(repo_id=ROOT)
    pending = review.submit(model=model, use="internal_tool", justification="a chat bot", by=boss)
    return client, {"run": family.pk, "request": pending.pk}


@pytest.mark.parametrize("page", PAGES)
def test_htmx_gets_the_fragment(signed_in, page):
    client, ids = signed_in
    response = client.get(page.format(**ids), headers=HTMX)
    html = response.content.decode()
    # A crawl page with nothing running tells htmx to stop polling (286) with its fragment.
    assert response.status_code in (200, HttpResponseStopPolling.status_code), page
    assert html.lstrip().startswith(PAGES[page]), (page, html[:200])
    assert "<html" not in html, page
    assert {"HX-Request", "HX-History-Restore-Request"} <= vary(response), page


@pytest.mark.parametrize("page", PAGES)
def test_a_history_restore_gets_the_whole_page(signed_in, page):
    client, ids = signed_in
    response = client.get(page.format(**ids), headers=RESTORE)
    html = response.content.decode()
    assert response.status_code == 200, page  # never a stop-polling answer: it is a page
    assert "<html" in html and PAGES[page] in html, page
    assert html.count('id="messages"') == 1, page  # the messages once, where the page has them
    assert {"HX-Request", "HX-History-Restore-Request"} <= vary(response), page


@pytest.mark.parametrize("page", PAGES)
def test_a_plain_visit_gets_the_whole_page(signed_in, page):
    client, ids = signed_in
    response = client.get(page.format(**ids))
    assert response.status_code == 200 and "<html" in response.content.decode(), page


def vary(response) -> set[str]:
    return {h.strip() for h in response.get("Vary", "").split(",")}
