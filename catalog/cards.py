"""Model cards: README.md rendered from Markdown to sanitized HTML, and its summary line.

The card is untrusted input: markdown-it renders it (raw HTML allowed, as on the Hub) and nh3
(ammonia) keeps only harmless tags and attributes, so <script>, event handlers, style and
javascript:/data: links come out inert.
"""

from __future__ import annotations

import re

import nh3
from markdown_it import MarkdownIt

FRONT_MATTER = re.compile(r"\A---\s*\n.*?\n---\s*(?:\n|\Z)", re.DOTALL)
TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt", "em",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s",
    "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ATTRIBUTES = {
    "a": {"href", "title"}, "img": {"src", "alt", "title", "width", "height"},
    "td": {"align", "colspan"}, "th": {"align", "colspan"}, "code": {"class"},
}  # fmt: skip
_md = (
    MarkdownIt("commonmark", {"html": True, "linkify": False})
    .enable("table")
    .enable("strikethrough")
)


def strip_front_matter(text: str) -> str:
    return FRONT_MATTER.sub("", text, count=1)


def render(text: str) -> str:
    """Sanitized HTML of a Markdown card (its YAML front matter removed)."""
    html = _md.render(strip_front_matter(text))
    return nh3.clean(
        html,
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener nofollow ugc",
        strip_comments=True,
    )


def summary(text: str, *, limit: int = 300) -> str:
    """The first prose paragraph of a card, as plain text."""
    for block in re.split(r"\n\s*\n", strip_front_matter(text)):
        block = block.strip()
        if not block or block[0] in "#<|!>`-*=[" or block.startswith("```"):
            continue
        plain = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", block)
        plain = re.sub(r"[*_`]+", "", plain)
        plain = " ".join(plain.split())
        if len(plain) >= 20:
            return plain[:limit]
    return ""
