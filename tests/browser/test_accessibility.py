"""Accessibility in Chromium over every main page (tests/browser/site.py's PAGES): axe-core (bundled
by axe-playwright-python, no CDN) finds no WCAG 2.1 A/AA violation; on the key pages every action is
reached with Tab and shows a visible focus ring; at phone width (390 px) no page scrolls
sideways."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.browser.site import PAGES, open_pages, site  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
KEY_PAGES = ["dashboard", "search with facets", "model (base, gated)", "lineage explorer", "license",
             "request detail", "login"]  # fmt: skip
PHONE = {"width": 390, "height": 844}


def _report(failures: dict[str, list]) -> str:
    return "\n".join(
        f"{page}:\n  " + "\n  ".join(map(str, found)) for page, found in failures.items()
    )


def test_axe_finds_no_wcag_21_a_or_aa_violation_on_any_main_page(site, browser):  # noqa: F811
    axe = Axe()
    options = {"runOnly": {"type": "tag", "values": WCAG_21_AA}, "resultTypes": ["violations"]}
    failures, seen = {}, []
    for name, page in open_pages(browser, site):
        seen.append(name)
        violations = axe.run(page, options=options).response["violations"]
        if violations:
            failures[name] = [
                (v["id"], v["impact"], v["help"], [n["target"] for n in v["nodes"][:4]])
                for v in violations
            ]
    assert seen == list(PAGES)
    assert failures == {}, _report(failures)


# Marks every element a keyboard user should reach, then records what each Tab lands on and
# whether it draws a focus ring (an outline or a box-shadow) there.
MARK_ACTIONS = """
() => {
  const all = [...document.querySelectorAll(
    'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]')];
  const actions = all.filter(e => e.tabIndex >= 0 && !e.disabled && e.checkVisibility());
  actions.forEach((e, i) => e.dataset.action = i);
  return actions.map(e => `${e.tagName.toLowerCase()} ${(e.textContent || e.name || '').trim()
    .slice(0, 40)}`);
}
"""
FOCUSED = """
() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const s = getComputedStyle(e);
  const ring = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2)
    || s.boxShadow !== 'none';
  return {action: e.dataset.action ?? null, ring, tag: e.tagName.toLowerCase(),
          text: (e.textContent || e.name || '').trim().slice(0, 40)};
}
"""


def test_every_action_on_the_key_pages_is_reached_with_tab_and_shows_focus(
    site,  # noqa: F811
    browser,
):
    failures = {}
    for name, page in open_pages(browser, site):
        if name not in KEY_PAGES:
            continue
        actions = page.evaluate(MARK_ACTIONS)
        reached, ringless = set(), []
        for _ in range(len(actions) + 10):
            page.keyboard.press("Tab")
            focused = page.evaluate(FOCUSED)
            if focused is None:
                continue
            if not focused["ring"]:
                ringless.append(f"{focused['tag']} {focused['text']}")
            if focused["action"] is not None:
                reached.add(int(focused["action"]))
        missed = [a for i, a in enumerate(actions) if i not in reached]
        if missed or ringless:
            failures[name] = [f"not reached by Tab: {missed[:8]}", f"no focus ring: {ringless[:8]}"]
    assert failures == {}, _report(failures)


# Whatever sticks out past the viewport's right edge, to say what widens the page.
WIDER = """
w => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > w + 1 && !e.closest('.scroll'))
  .slice(0, 6).map(e => `${e.tagName.toLowerCase()}.${e.className} ${
    Math.round(e.getBoundingClientRect().right)}px`)
"""


BREAK_ALL = """
() => [...document.querySelectorAll('main *')]
  .filter(e => getComputedStyle(e).wordBreak === 'break-all')
  .slice(0, 4).map(e => `${e.tagName.toLowerCase()} ${e.textContent.slice(0, 40)}`)
"""


def test_no_main_page_scrolls_sideways_at_phone_width(site, browser):  # noqa: F811
    failures = {}
    for name, page in open_pages(browser, site, viewport=PHONE):
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            failures[name] = [f"scrollWidth {width}", *page.evaluate(WIDER, PHONE["width"])]
        # Narrow columns must not fall back to breaking ids anywhere (they break at <wbr>).
        mid_word = page.evaluate(BREAK_ALL)
        if mid_word:
            failures.setdefault(name, []).append(f"word-break: break-all on {mid_word}")
    assert failures == {}, _report(failures)
