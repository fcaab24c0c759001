"""Playwright on the system Chromium (Debian's `chromium` package; Playwright's own download
is not used). Missing Chromium is a failure, not a skip: CI installs it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from catalog import crawler, runs
from catalog.models import CrawlRun

# Playwright's sync API runs an event loop in this thread; Django's ORM would refuse to run.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = os.environ.get("CANOPY_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-dev-shm-usage",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 900}


MISSING = (
    f"Chromium not found at {CHROMIUM}: install it (apt-get install -y chromium) "
    "or point CANOPY_CHROMIUM at a Chromium binary. Browser tests never skip."
)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item):
    # Checked in the call phase so a missing Chromium reports as FAILED, not as a setup ERROR.
    if "browser" in item.keywords and not Path(CHROMIUM).is_file():
        pytest.fail(MISSING, pytrace=False)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).is_file():
        yield None  # pytest_runtest_call fails the test
        return
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _new_page(browser, **options):
    if browser is None:
        return None, None
    context = browser.new_context(**{"viewport": VIEWPORT, **options})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    return context, page


@pytest.fixture
def page(browser):
    """A page with JavaScript; any uncaught script error fails the test."""
    context, page = _new_page(browser)
    yield page
    if context:
        context.close()
        assert page.errors == [], page.errors


@pytest.fixture
def page_without_js(browser):
    context, page = _new_page(browser, java_script_enabled=False)
    yield page
    if context:
        context.close()


@pytest.fixture
def screenshot():
    """screenshot(page, "name") saves docs/screenshots/name.png when CANOPY_SCREENSHOTS=1."""

    def take(page, name: str) -> None:
        if os.environ.get("CANOPY_SCREENSHOTS") == "1":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))

    return take


@pytest.fixture
def family(replay, hub_for):
    """The real family snapshot (tests/fixtures/family.jsonl.gz, 150 models) crawled and
    assessed: its run. The crawl's automatic ancestors run is left queued, never run here."""
    server = replay(["family.jsonl.gz"])
    run, _ = runs.start(CrawlRun.Kind.FULL, endpoint=server.url, limit=0)
    run = crawler.run_sync(run, hub=hub_for(server))
    assert run.status == CrawlRun.Status.DONE and run.listed == 150
    return run
