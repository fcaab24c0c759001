"""The license knowledge base as plain data, and classification: key -> verdict + conditions.

The knowledge base is `licenses/data/licenses.json` (built by `licenses/build_kb.py`, reviewed in
git). Resolution and classification read it from the file, not from the database, so they are
pure functions that run at memory speed over hundreds of thousands of models; the `License` table
is loaded from the same file (`manage.py load_licenses`) for pages, the API and facets.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data"
KB_PATH = DATA / "licenses.json"

ALLOWED, CONDITIONAL, PROHIBITED, UNKNOWN = "allowed", "conditional", "prohibited", "unknown"
VERDICTS = (ALLOWED, CONDITIONAL, PROHIBITED, UNKNOWN)
# prohibited < conditional < allowed; unknown is not a rank (it never restricts nor permits).
RANK = {PROHIBITED: 0, CONDITIONAL: 1, ALLOWED: 2}
# Family tags and placeholders: never decisive on their own (the shared research's rule,
# ../shared/docs/licenses.md §5, outside the repository; licenses/build_kb.py builds with it).
PLACEHOLDERS = frozenset(
    {"other", "unknown", "none", "cc", "bsd", "gpl", "lgpl", "openrail", "gfdl", "c-uda"}
)
SUFFIXES = (
    "-license-agreement",
    "-licence-agreement",
    "-agreement",
    "-license",
    "-licence",
    "-terms-of-use",
)


@dataclass(frozen=True)
class Entry:
    key: str
    name: str
    verdict: str
    conditions: tuple[tuple[str, str], ...]
    verified: bool
    placeholder: bool
    data: dict[str, Any] = field(repr=False, compare=False, hash=False)

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(c for c, _ in self.conditions)


@dataclass(frozen=True)
class KnowledgeBase:
    entries: dict[str, Entry]
    aliases: dict[str, str]
    links: list[tuple[re.Pattern[str], str]]
    conditions: dict[str, dict[str, str]]

    def get(self, key: str | None) -> Entry | None:
        return self.entries.get(key) if key else None


def normalise_name(value: str) -> str:
    """Lowercase, then strip -license, -agreement and -terms-of-use (the shared research's
    rule, ../shared/docs/licenses.md §5)."""
    name = re.sub(r"[\s_]+", "-", value.strip().lower()).strip("-")
    # Suffixes are peeled off by moving an end index and the name is cut once: cutting a copy at
    # each suffix was quadratic on a name of repeated suffixes ("x" + "-license" * 125000).
    end = len(name)
    changed = True
    while changed:
        changed = False
        for suffix in SUFFIXES:
            if end > len(suffix) and name.endswith(suffix, 0, end):
                end, changed = end - len(suffix), True
    return name[:end]


def read_kb_file(path: Path = KB_PATH) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def kb() -> KnowledgeBase:
    raw = read_kb_file()
    entries: dict[str, Entry] = {}
    aliases: dict[str, str] = {}
    links: list[tuple[re.Pattern[str], str]] = []
    for lic in raw["licenses"]:
        key = lic["key"]
        entries[key] = Entry(
            key=key,
            name=lic["name"],
            verdict=lic["verdict"],
            conditions=tuple((c["code"], c["value"]) for c in lic["conditions"]),
            verified=lic["verified"],
            placeholder=lic["placeholder"],
            data=lic,
        )
        for alias in lic["aliases"]:
            aliases.setdefault(alias, key)
        links.extend((re.compile(p), key) for p in lic["links"])
    for key in entries:  # a key is always its own alias, and wins over another row's alias
        aliases[normalise_name(key)] = key
        aliases[key] = key
    return KnowledgeBase(entries, aliases, links, raw["conditions"])


def classify(key: str | None) -> tuple[str, list[dict[str, str]]]:
    """verdict and conditions [{code, value}] of a license key; unknown for none or unlisted."""
    entry = kb().get(key)
    if entry is None:
        return UNKNOWN, []
    return entry.verdict, [{"code": c, "value": v} for c, v in entry.conditions]


def more_permissive(a: str, b: str) -> bool:
    """True when verdict a permits more than verdict b (both known)."""
    return a in RANK and b in RANK and RANK[a] > RANK[b]


def condition_label(code: str) -> str:
    return kb().conditions.get(code, {}).get("label", code.replace("_", " "))


def condition_kind(code: str) -> str:
    return kb().conditions.get(code, {}).get("kind", "restriction")
