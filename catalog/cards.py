"""Model cards: README.md rendered from Markdown to sanitized HTML, and its summary line.

The card is untrusted input: markdown-it renders it (raw HTML allowed, as on the Hub) and nh3
(ammonia) keeps only harmless tags and attributes, so <script>, event handlers, style and
javascript:/data: links come out inert.

It is also untrusted in size and shape. Everything here is linear in the card's length, and the
page renders at most RENDER_LIMIT characters of it: markdown-it is linear but pure Python, about
1 µs a character on real cards and up to 15 µs on runs of `![` or `[` (a 1 MB card of them took
over 10 s), so the bound keeps the worst card under half a second. markdown-it's own maxNesting
(20, the commonmark preset) bounds the depth of nested blocks and brackets.
"""

from __future__ import annotations

import re

import nh3
from markdown_it import MarkdownIt

# The YAML block: a first line `---` and the next line `---` (trailing blanks allowed). Blanks
# never span lines, so no line is rescanned (r"\A---\s*\n.*?\n---\s*" backtracked through
# every split of a run of blank lines: quadratic).
FRONT_MATTER_OPEN = re.compile(r"---[^\S\n]*\n")
FRONT_MATTER_CLOSE = re.compile(r"^---[^\S\n]*(?:\n|\Z)", re.MULTILINE)
# 99.8% of the real cards in the snapshot are shorter (the longest is 70,000); see the docstring.
RENDER_LIMIT = 32_000
# A lone surrogate is valid in a Python str (and in the Hub's JSON) but not in UTF-8: nh3 and the
# response would fail to encode it, so it is shown as U+FFFD, as a browser shows a broken byte.
SURROGATE = re.compile("[\ud800-\udfff]")
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
    opened = FRONT_MATTER_OPEN.match(text)
    if not opened:
        return text
    # The closing line starts after a newline of the block, never at the opening's own.
    closed = FRONT_MATTER_CLOSE.search(text, opened.end() + 1)
    return text[closed.end() :] if closed else text


def clip(text: str, limit: int = RENDER_LIMIT) -> str:
    """The first `limit` characters, cut at the last line break before it when there is one."""
    if len(text) <= limit:
        return text
    cut = text.rfind("\n", 0, limit)
    return text[: cut if cut > limit // 2 else limit]


def render(text: str) -> str:
    """Sanitized HTML of a Markdown card (its YAML front matter removed), at most RENDER_LIMIT
    characters of it, with a note saying so when the card is longer."""
    body = strip_front_matter(text)
    shown = clip(body)
    html = _sanitize(_md.render(SURROGATE.sub("\ufffd", shown)))
    if len(shown) < len(body):
        html += (
            f'<p class="card-clipped"><em>This card is {len(body):,} characters long; '
            f"the first {len(shown):,} are shown.</em></p>"
        )
    return html


def _sanitize(html: str) -> str:
    return nh3.clean(
        html,
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener nofollow ugc",
        strip_comments=True,
    )


def _strip_links(text: str) -> str:
    """`[label](target)` -> `label`, as re.sub(r"\\[([^\\]]*)\\]\\([^)]*\\)", r"\\1") does, but in
    one pass: that regex rescans the rest of the text from every `[` that no link closes, so
    "x" + "[" * 60000 took 19 s. Here each `[` looks for its first `]` and each `](` for its
    first `)` with str.find, and a missing `]` or `)` means no later link can close either."""
    out: list[str] = []
    done = 0
    start = text.find("[")
    while start != -1:
        close = text.find("]", start + 1)
        if close == -1:
            break
        if text.startswith("(", close + 1):
            end = text.find(")", close + 2)
            if end == -1:
                break
            out += (text[done:start], text[start + 1 : close])
            done = end + 1
            start = text.find("[", done)
        else:  # every `[` before this `]` ends at it too, and fails the same way
            start = text.find("[", close + 1)
    out.append(text[done:])
    return "".join(out)


def summary(text: str, *, limit: int = 300) -> str:
    """The first prose paragraph of a card, as plain text."""
    for block in re.split(r"\n\s*\n", strip_front_matter(text)):
        block = block.strip()
        if not block or block[0] in "#<|!>`-*=[" or block.startswith("```"):
            continue
        plain = _strip_links(block)
        plain = re.sub(r"[*_`]+", "", plain)
        plain = " ".join(plain.split())
        if len(plain) >= 20:
            return plain[:limit]
    return ""


def absence(model) -> str:
    """Why a model has no card to show. "Not fetched yet" only while its files were never read
    (files_key is set by the crawler's file step, README found or not)."""
    if not model.files_key:
        return "Not fetched yet."
    if model.siblings is not None and "README.md" not in model.siblings:
        return "The repo has no README.md: it has no model card."
    if model.gated in ("auto", "manual"):
        return "Its README.md is behind the Hub's gate: the crawl had no access to read it."
    when = f" ({model.details_at:%Y-%m-%d})" if model.details_at else ""
    return f"The Hub gave no README.md for it when its files were read{when}."
