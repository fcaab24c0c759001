"""Adversarial text for the linear-time tests and benchmarks/text_bench.py: runs of the
characters that Markdown, link, header and name patterns backtrack on, at any size."""

from __future__ import annotations

MB = 1_000_000

# name -> one unit; an input of n bytes repeats it (a prefix keeps some patterns' first branch).
UNITS: dict[str, tuple[str, str]] = {
    "open-brackets": ("x", "["),
    "brackets-then-paren": ("", "[]("),
    "link-openers": ("", "[a]("),
    "nested-brackets": ("", "[[[[[[[[]]]]]]]]"),
    "parens": ("", "("),
    "stars": ("", "*"),
    "underscores": ("", "_"),
    "backticks": ("", "`"),
    "angles": ("", "<"),
    "bangs": ("", "!["),
    "dashes": ("", "-"),
    "pipes": ("", "|"),
    "spaces": ("# ", " "),
    "newlines": ("#", "\n"),
    "blank-lines": ("#", " \n"),
    "hashes": ("", "#"),
    "header-lines": ("", "# a\n"),
    "quotes": ("", "> "),
    "list-nesting": ("", "- "),
    "dots": ("x.", "."),
    "digits": ("x-", "1"),
    "urls": ("", "http://"),
    "nvidia-links": ("", "nvidia.com/"),
    "license-suffixes": ("x", "-license"),
    "copyright-blanks": ("", "\n  "),
    "long-word": ("", "a"),
    "entities": ("", "&#"),
    "html-open": ("", "<a "),
}


def text(kind: str, size: int = MB) -> str:
    prefix, unit = UNITS[kind]
    return prefix + unit * ((size - len(prefix)) // len(unit))
