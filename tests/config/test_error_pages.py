"""Error pages that hold offline and with debug off: an unknown model answers the site's own 404
with a search for it, with DEBUG on (not Django's yellow debug page) and off; the 500 page renders
with debug off; the API docs' Swagger UI files are served by the site."""

from __future__ import annotations

import re

import pytest
from django.urls import path

from config import errors
from config import urls as site_urls

pytestmark = pytest.mark.django_db


def _boom(request):
    raise RuntimeError("a constructed failure (test only)")


# The site's own URLs (its pages link them) and one view that fails.
urlpatterns = [path("boom/", _boom), *site_urls.urlpatterns]
handler404 = errors.not_found
handler500 = errors.server_error


@pytest.mark.parametrize("debug", [True, False])
@pytest.mark.parametrize("page", ["models", "lineage", "families"])
def test_an_unknown_model_answers_a_helpful_404_with_a_search(client, settings, debug, page):
    settings.DEBUG = debug
    response = client.get(f"/{page}/nonexistent/foo/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "technical_404" not in html and "Django tried these URL patterns" not in html
    assert 'class="error-page"' in html
    assert "<code>nonexistent/foo</code> is not in the catalog" in html
    # A search for it, as a link and as a form prefilled with the id
    assert 'href="/models/?q=nonexistent%2Ffoo"' in html
    assert re.search(r'<input[^>]*name="q"[^>]*value="nonexistent/foo"', html)


def test_any_other_unknown_page_answers_the_sites_404_with_debug_off(client, settings):
    settings.DEBUG = False
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert 'class="error-page"' in response.content.decode()


@pytest.mark.urls(__name__)
def test_a_server_error_answers_the_sites_500_with_debug_off(client, settings):
    settings.DEBUG = False
    client.raise_request_exception = False
    response = client.get("/boom/")
    assert response.status_code == 500
    html = response.content.decode()
    assert 'class="error-page"' in html and "Something went wrong on our side" in html
    assert "RuntimeError" not in html  # no traceback, no exception text


def test_the_api_docs_load_only_the_sites_own_files_and_they_answer_with_debug_off(
    client, settings
):
    settings.DEBUG = False
    html = client.get("/api/v1/docs").content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets), assets
    for asset in assets:
        assert asset.startswith("/"), f"{asset} is not served by the site (offline it is blank)"
        response = client.get(asset)
        assert response.status_code == 200, asset
