"""What a search query means: its terms, the id tokens each must match, and the tiers that rank
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
import unicodedata
from dataclasses import dataclass

MAX_TERMS = 12  # more is refused with a message, not silently cut
TOKEN = re.compile(r"[0-9]+|[a-z]+|/")
TERM = re.compile(r'"([^"]*)"?|([^\s"]+)')  # an unclosed quote runs to the end


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


def words(repo_id: str | None) -> str:
    """The id's words as stored in the search table (canopy_words() in the database)."""
    return " " + " ".join(tokens(repo_id or "")) + " "


def fold(text: str) -> str:
    """A query's letters as an id spells them: full-width forms (a CJK keyboard's Ｌｌａｍａ ７Ｂ)
    and accents (mistrál) become ASCII. Only the query is folded: ids are ASCII on the Hub, and
    canopy_words() in SQL must cut them as tokens() does."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


@dataclass(frozen=True)
class Term:
    text: str  # as typed: what the card summary is searched for
    words: str  # its id words, space-separated ("" when it has none, as 日本語)
    phrase: bool

    @property
    def pattern(self) -> str:
        """What the id's words must contain: a leading number from its start, a trailing one to
        its end; letters may continue a word (either side), except a one-letter unit after a
        number ("4b", "560m", "4k"), which ends there: 4b is a size, 4bit a quantization."""
        if not self.words:
            return ""
        every = self.words.split()
        first, last = every[0], every[-1]
        unit = len(every) > 1 and every[-2].isdigit() and len(last) == 1 and last != "/"
        lead = " " if first.isdigit() or first == "/" else ""
        tail = " " if last.isdigit() or last == "/" or unit else ""
        return f"{lead}{self.words}{tail}"

    @property
    def whole(self) -> str:
        return f" {self.words} "

    @property
    def start(self) -> str:
        return f" {self.words}"


def parse(q: str) -> list[Term]:
    terms = []
    for m in TERM.finditer(unicodedata.normalize("NFKC", q.replace("\x00", ""))):
        phrase = m.group(1) is not None
        text = " ".join((m.group(1) if phrase else m.group(2)).split())
        # A term of signs alone ("-", "—", "&", an emoji) is no term: with no id words it
        # could only match a card summary that holds the same sign.
        if any(c.isalnum() for c in text):
            terms.append(Term(text, " ".join(tokens(fold(text))), phrase))
    return terms


def count(q: str) -> int:
    return len(parse(q))


def join(terms: list[Term]) -> str:
    """A query string that parses to these terms (a suggestion's q)."""
    return " ".join(f'"{t.text}"' if t.phrase else t.text for t in terms)


# The ranking (README, "Search"): tiers, each sorted by downloads (its index serves a page from
# the most downloaded 20,000 entries); a row is in the highest tier it reaches.
EXACT = 5  # the id as typed
NAME = 4  # the name after the author, word for word ("vit-base-patch16-224"), two words or more,
NAME_FLOOR = 1000  # in a repo with this many downloads: not one of the copies of a popular name
# (catalog migration 0014 indexes the names of these repos: change both together)
ORDER = 3  # every term whole words, in the order typed, as one run ("llama 2 7b chat gguf"),
# also in a repo of NAME_FLOOR downloads
WHOLE = 2  # every term whole words ("llama" in Meta-Llama-3, not in llamafile)
STARTS = 1  # every term begins at a word ("llama" in llamafile)
# 0: a term inside a word ("llama" in CodeLlama)


def in_order(terms: list[Term]) -> list[str]:
    """The runs of words that hold the terms in the order typed, whole: one, or with the "/"
    between author and name falling between two terms ("TheBloke llama 2")."""
    every = [t.words for t in terms]
    runs = [f" {' '.join(every)} "]
    for i in range(1, len(every)):
        runs.append(f" {' '.join(every[:i])} / {' '.join(every[i:])} ")
    return runs
