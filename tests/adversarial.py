"""Adversarial text for the linear-growth tests and benchmarks/text_bench.py: runs of the
characters that Markdown, link, header and name patterns backtrack on, at any size."""

from __future__ import annotations

import time
from collections.abc import Callable

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


def timed(call, *args) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one call. CPU time is what the input costs, while the wall
    clock of a shared machine also counts its other processes."""
    cpu, wall = time.process_time(), time.perf_counter()
    call(*args)
    return time.process_time() - cpu, time.perf_counter() - wall


# Growth, not a clock: 8 times the text costs about 8 times the CPU when a call is linear and 64
# times when it is quadratic, on a fast machine or a loaded one alike. A call that spends less
# than FLOOR on the whole megabyte has nothing to measure (a quadratic one would spend minutes).
FLOOR = 0.1
GROWTH_BOUND = 24.0


def growth(call, kind: str | Callable[[int], str], size: int = MB) -> tuple[float, float]:
    """(CPU seconds on `size` of `kind`, how many times that is the cost of an eighth of it);
    the growth is 1.0 when the whole call is under FLOOR. Best of three, to ignore pauses.
    `kind` names a unit, or makes the text of a given size."""
    make = kind if callable(kind) else lambda n: text(kind, n)
    big_text, small_text = make(size), make(size // 8)
    big = timed(call, big_text)[0]
    if big < FLOOR:
        return big, 1.0
    big = min(big, *(timed(call, big_text)[0] for _ in range(2)))
    small = min(timed(call, small_text)[0] for _ in range(3))
    return big, big / max(small, FLOOR / 64)


def text(kind: str, size: int = MB) -> str:
    prefix, unit = UNITS[kind]
    return prefix + unit * ((size - len(prefix)) // len(unit))


# Hypothesis strategies: any text the Hub's JSON can carry (NUL, control characters, lone
# surrogates included), and text assembled from the pieces the patterns care about.
def strategies():
    from hypothesis import strategies as st

    any_text = st.text(st.characters(exclude_categories=[]), max_size=2_000)
    pieces = st.sampled_from(
        ["[", "]", "(", ")", "](", "![", "*", "_", "`", "```", "<", ">", "!", "-", "|", " ",
         "\t", "\n", "\n\n", "\r\n", "#", "# License\n", "## Licensing\n", "---\n", "---",
         "http://", "https://huggingface.co/", "nvidia.com/", "www.", "\x00", "\ud800", "\x1f",
         "license", "-license", "-agreement", "copyright", "(c)", ".", "1", "7b", "8x", "bpw",
         "gguf", "Q4_K_M", "base_model:", "finetune:", ":", "/", "&#", "<a ", "apache-2.0",
         "mit", "llama 2 community license", "non-commercial", "\u00a0", "\u2028", "é"]
    )  # fmt: skip
    runs = st.tuples(pieces, st.integers(1, 1_000)).map(lambda t: t[0] * t[1])
    adversarial = st.lists(st.one_of(pieces, runs, any_text), max_size=20).map("".join)
    return any_text, adversarial
