"""What a search query means: its terms, the id tokens each must match, and the score that ranks
a match. The only place that knows how a repo id is cut into words.

A repo id's words (`SearchEntry.words`) are its runs of ASCII letters and of digits, lowercased,
with the "/" between author and name kept as a word of its own, space-separated and with a
space at both ends: "TheBloke/Mistral-7B-Instruct-v0.1-GGUF" is
" thebloke / mistral 7 b instruct v 0 1 gguf ". A query is cut the same way, term by term (a word
or a "quoted phrase"), so "7b", "v0.1", "Q4_K_M" and "8x7B" find the ids that spell them with
any separator, and every term must be found (or be in the card summary).

A term matches where its words run in the id's words: a number only as a whole number ("7b"
never matches 17b or 70b), letters also inside a word at the start ("llama" finds CodeLlama)
and at the end (the last word typed is a prefix while one types).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_TERMS = 12  # more is refused with a message, not silently cut
TOKEN = re.compile(r"[0-9]+|[a-z]+|/")
TERM = re.compile(r'"([^"]*)"?|([^\s"]+)')  # an unclosed quote runs to the end


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


def words(repo_id: str | None) -> str:
    """The id's words as stored in the search table (canopy_words() in the database)."""
    return " " + " ".join(tokens(repo_id or "")) + " "


@dataclass(frozen=True)
class Term:
    text: str  # as typed: what the card summary is searched for
    words: str  # its id words, space-separated ("" when it has none, as 日本語)
    phrase: bool

    @property
    def pattern(self) -> str:
        """What the id's words must contain: a leading number from its start, a trailing one to
        its end; letters may continue a word (either side)."""
        if not self.words:
            return ""
        first, last = self.words.split()[0], self.words.split()[-1]
        lead = " " if first.isdigit() or first == "/" else ""
        tail = " " if last.isdigit() or last == "/" else ""
        return f"{lead}{self.words}{tail}"

    @property
    def whole(self) -> str:
        return f" {self.words} "

    @property
    def start(self) -> str:
        return f" {self.words}"


def parse(q: str) -> list[Term]:
    terms = []
    for m in TERM.finditer(q.replace("\x00", "")):
        phrase = m.group(1) is not None
        text = " ".join((m.group(1) if phrase else m.group(2)).split())
        if text:
            terms.append(Term(text, " ".join(tokens(text)), phrase))
    return terms


def count(q: str) -> int:
    return len(parse(q))


def join(terms: list[Term]) -> str:
    """A query string that parses to these terms (a suggestion's q)."""
    return " ".join(f'"{t.text}"' if t.phrase else t.text for t in terms)


# The ranking (README, "Search"): an exact id first; then points for how the terms meet the id,
# each point worth a factor of ten in downloads, so a far more downloaded partial match can pass a
# rarely used whole one, and a llamafile repo (llama inside a word) falls behind Llama models.
EXACT = 1000  # the id as typed
NAME = 4  # the name after the author, word for word ("vit-base-patch16-224")
WHOLE = 3  # every term a run of whole words ("llama" in Meta-Llama-3, not in llamafile)
PREFIX = 1  # the id or its name begins with the first term ("TheBloke ...", "Llama-2 ...")
ORDER = 2  # several terms, in the order typed, as one run of words ("llama 3 8b instruct gguf")
STARTS = 1  # every term begins at a word (not inside one: "llama" in CodeLlama)
# The most any match but an exact id gets above its downloads.
BONUS = NAME + WHOLE + PREFIX + ORDER + STARTS
