"""Verdicts people can read: every verdict badge on the pages that show one has its text at WCAG AA
contrast on its own background and names its verdict in words; the four verdicts have four colours,
taken from the stylesheet's custom properties by the badges, the dashboard's chart and the lineage
explorer's drawing alike."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from licenses.models import ModelLicense
from tests.browser.site import ROOT, site  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VERDICTS = ("allowed", "conditional", "prohibited", "unknown")
USAGE = ("usable", "review", "blocked")  # a usage profile's verdict (usage.verdict), same colours

# WCAG 2.1 relative luminance and contrast ratio, computed on what the browser painted: the
# element's colour over the first opaque background at or above it.
CONTRAST = """
els => {
  const rgb = s => s.match(/[\\d.]+/g).map(Number);
  const lum = ([r, g, b]) => {
    const f = c => (c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = el => {
    for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length < 4 || c[3] > 0) return c;
    }
    return [255, 255, 255];
  };
  return els.map(el => {
    const fg = rgb(getComputedStyle(el).color), bg = background(el);
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    return {text: el.textContent.trim(), cls: el.className, ratio: (a + 0.05) / (b + 0.05),
            fg: getComputedStyle(el).color, bg: `rgb(${bg.slice(0, 3).join(',')})`};
  });
}
"""
VAR = "name => getComputedStyle(document.documentElement).getPropertyValue(name).trim()"
# A colour as the browser normalises it, so '#17692f' and 'rgb(23, 105, 47)' compare equal.
NORMAL = "c => { const e = document.createElement('i'); e.style.color = c; document.body.append(e);"
NORMAL += " const v = getComputedStyle(e).color; e.remove(); return v; }"


def badges(page) -> list[dict]:
    return page.locator(".verdict").evaluate_all(CONTRAST)


@pytest.mark.parametrize(
    "path",
    [
        "/licenses/",
        "/licenses/llama2/",
        "/licenses/cc-by-nc-4.0/",
        f"/models/{ROOT}/",
        "/licenses/review/",
        "request",
        f"/lineage/{ROOT}/",
    ],
)
def test_every_verdict_badge_is_readable_and_says_its_verdict(site, page, path):  # noqa: F811
    page.context.add_cookies([{"name": "sessionid", "value": site.session, "url": site.base}])
    page.goto(site.url(f"/approvals/{site.request.pk}/" if path == "request" else path))
    found = badges(page)
    assert found, f"no verdict badge on {path}"
    unreadable = [b for b in found if b["ratio"] < 4.5]
    assert unreadable == [], f"{path}: text under 4.5:1 on its background: {unreadable[:5]}"
    wordless = [b for b in found if b["text"] not in (*VERDICTS, *USAGE, "unassessed")]
    assert wordless == [], f"{path}: a badge that does not name its verdict: {wordless[:5]}"


def test_the_four_verdicts_have_four_colours_from_the_stylesheet(site, page):  # noqa: F811
    page.goto(site.url("/licenses/"))
    seen = {}
    for verdict in VERDICTS:
        badge = page.locator(".verdict", has_text=verdict).first
        expect(badge).to_be_visible()
        seen[verdict] = badge.evaluate("e => getComputedStyle(e).borderColor")
        assert seen[verdict] == page.evaluate(NORMAL, page.evaluate(VAR, f"--{verdict}"))
    assert len(set(seen.values())) == 4, seen


def test_the_dashboard_draws_each_verdict_in_its_own_colour(site, page):  # noqa: F811
    # CONSTRUCTED: the family is all conditional but one; two assessments are set to allowed and
    # unknown so the chart has all four verdicts to draw.
    states = ModelLicense.objects.filter(conflict=False, effective="conditional").order_by("pk")
    ModelLicense.objects.filter(pk=states[0].pk).update(effective="allowed")
    ModelLicense.objects.filter(pk=states[1].pk).update(effective="unknown")
    page.goto(site.url("/dashboard/"))
    chart = page.locator("section.chart", has=page.get_by_role("heading", name="Effective verdict"))
    fills = dict(
        chart.locator("svg g").evaluate_all(
            "gs => gs.map(g => [g.querySelector('title').textContent.split(':')[0],"
            " getComputedStyle(g.querySelector('rect')).fill])"
        )
    )
    for verdict in VERDICTS:
        assert fills.get(verdict) == page.evaluate(NORMAL, page.evaluate(VAR, f"--{verdict}")), (
            verdict,
            fills,
        )
        expect(chart.locator(".legend")).to_contain_text(verdict)  # a word beside each colour
    assert len(set(fills.values())) == 4, fills


def test_the_lineage_drawing_names_verdicts_and_relations_and_keeps_labels_whole(
    site,  # noqa: F811
    page,
):
    page.goto(site.url(f"/lineage/{ROOT}/"))
    nodes = page.locator("svg.graph g.node")
    assert nodes.count() > 10
    drawn = nodes.evaluate_all(
        """gs => gs.map(g => ({
          rect: g.querySelector('rect').getBBox().width,
          texts: [...g.querySelectorAll('text')].map(t => [t.textContent, t.getBBox().width]),
          stroke: getComputedStyle(g.querySelector('rect')).stroke,
          cls: g.getAttribute('class')}))"""
    )
    for node in drawn:
        words = " ".join(t for t, _ in node["texts"])
        verdict = next(v for v in VERDICTS if f"v-{v}" in node["cls"])
        assert verdict in words, node  # the verdict in words, not in colour alone
        assert all(w <= node["rect"] - 8 for _, w in node["texts"]), node  # not cut
        assert node["stroke"] == page.evaluate(NORMAL, page.evaluate(VAR, f"--{verdict}"))
    children = [n for n in drawn if "child" in n["cls"]]
    assert children and all(
        any(
            r in " ".join(t for t, _ in n["texts"])
            for r in ("finetune", "adapter", "quantized", "merge")
        )
        for n in children
    ), children  # each edge's relation is written on the node it leads to
