"""Text similarity of license files to the reference texts: normalised word shingles.

A text is lowercased, stripped of markup and punctuation, split into words, and cut into
overlapping 5-word shingles. Two measures come from the shared shingles:

- containment = |R ∩ D| / |R|: how much of the reference text R appears in the document D;
- dice = 2|R ∩ D| / (|R| + |D|): how close the two are as a whole.

The reference with the highest containment wins (dice breaks near-ties between versions).

Whitespace, line wrapping, quotes, markdown emphasis and copyright lines do not change the
tokens; an edit of a few words only removes the few shingles that span it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from .classify import DATA, kb

SHINGLE = 5
ACCEPT = 0.6  # containment at which a text counts as a copy of the reference
WORD = re.compile(r"[a-z0-9]+")
# A copyright line. Its leading blanks stay on its line ([^\S\n], not \s): with \s, every line
# start of a run of blank lines rescanned the rest of the run (quadratic on "\n" * n).
NOISE = re.compile(r"^[^\S\n]*(copyright|\(c\)|©).*$", re.IGNORECASE | re.MULTILINE)


def tokens(text: str) -> list[str]:
    text = NOISE.sub(" ", text).lower().replace("’", "'").replace("“", '"').replace("”", '"')
    return WORD.findall(text)


def shingles(text: str) -> frozenset[int]:
    words = tokens(text)
    if len(words) < SHINGLE:
        return frozenset([hash(tuple(words))]) if words else frozenset()
    return frozenset(hash(tuple(words[i : i + SHINGLE])) for i in range(len(words) - SHINGLE + 1))


@dataclass(frozen=True)
class Reference:
    key: str
    file: str
    fingerprint: frozenset[int]


@dataclass(frozen=True)
class Match:
    key: str
    reference: str
    containment: float
    dice: float

    @property
    def score(self) -> float:
        return round(max(self.dice, self.containment * 0.95), 3)


@cache
def references() -> tuple[Reference, ...]:
    refs = []
    for entry in kb().entries.values():
        for name in entry.data["texts"]:
            text = (DATA / "texts" / name).read_text(encoding="utf-8")
            refs.append(Reference(entry.key, name, shingles(text)))
    return tuple(refs)


def compare(a: str, b: str) -> tuple[float, float]:
    """(containment of a in b, dice) for two texts."""
    ra, rb = shingles(a), shingles(b)
    if not ra or not rb:
        return 0.0, 0.0
    common = len(ra & rb)
    return common / len(ra), 2 * common / (len(ra) + len(rb))


def best_match(text: str) -> Match | None:
    """The reference text this document copies, if any reaches ACCEPT containment."""
    doc = shingles(text)
    if not doc:
        return None
    best: Match | None = None
    for ref in references():
        common = len(ref.fingerprint & doc)
        if not common:
            continue
        containment = common / len(ref.fingerprint)
        dice = 2 * common / (len(ref.fingerprint) + len(doc))
        cand = Match(ref.key, ref.file, round(containment, 3), round(dice, 3))
        # Containment first (how much of the reference is there: a pasted LICENSE + AUP still
        # contains all of the right version), dice to break near-ties between versions.
        if best is None or (round(cand.containment, 2), cand.dice) > (
            round(best.containment, 2),
            best.dice,
        ):
            best = cand
    if best is None or best.containment < ACCEPT and best.dice < ACCEPT:
        return None
    return best
