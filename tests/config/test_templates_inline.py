"""The Content-Security-Policy allows no inline script or style: no template may carry any
(a <script> without src, an on...= handler, a javascript: URL, a <style> block or a style=
attribute). The browser test (tests/browser/test_csp.py) sees the pages; this sees every one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
INLINE = {
    "inline script": re.compile(
        r"<script\b(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")", re.I
    ),
    "event handler": re.compile(r"<[^>]*\son[a-z]+\s*=", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
    "style element": re.compile(r"<style\b", re.I),
    "style attribute": re.compile(r"<[^>]*\sstyle\s*=", re.I),
}


@pytest.mark.parametrize(
    "path", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: str(p.relative_to(TEMPLATES))
)
def test_no_inline_script_or_style(path):
    text = path.read_text()
    found = {kind for kind, pattern in INLINE.items() if pattern.search(text)}
    assert not found, f"{path}: {found}"
