"""What a license makes its users do and reproduce, read from the license's own knowledge-base
entry (its `obligations`, each with the clause it comes from; see licenses/build_obligations.py).

The one place the NOTICE bundle, the model page's obligations checklist and the check API get
attribution, naming and notice texts from: nothing here is filled in by license family.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .classify import condition_kind, condition_label, kb

# Duties to reproduce fixed words; when the knowledge holds no words for one, we say so.
TEXT_CODES = frozenset({"attribution", "naming", "notice_file"})


@dataclass(frozen=True)
class Duty:
    code: str
    label: str
    text: str = ""  # the exact words the license fixes, "" where it fixes none
    duty: str = ""  # what to do, in our words
    clause: str = ""  # the license's section
    quote: str = ""  # the license's own words
    source: str = ""  # the reference text the quote comes from
    checked_in: str = ""  # the file the build found the quote in verbatim ("" when not held)

    @property
    def text_unknown(self) -> bool:
        """The license requires fixed words that the knowledge base does not hold."""
        return self.code in TEXT_CODES and not self.text and not self.duty

    def as_json(self) -> dict[str, str]:
        return {"code": self.code, "text": self.text, "clause": self.clause}


@dataclass(frozen=True)
class LicenseDuties:
    key: str
    name: str
    duties: tuple[Duty, ...]


def of_license(key: str | None) -> LicenseDuties | None:
    """The license's obligations in its conditions' order, with the texts of its own clauses;
    its pass-throughs (use restrictions) too. None for a key the knowledge base lacks."""
    entry = kb().get(key)
    if entry is None:
        return None
    given: dict[str, list[dict[str, str]]] = {}
    for ob in entry.data.get("obligations", []):
        given.setdefault(ob["code"], []).append(ob)
    duties = []
    for code, _ in entry.conditions:
        label = condition_label(code)
        for ob in given.get(code, []):
            duties.append(Duty(label=label, **ob))
        if code not in given and condition_kind(code) == "obligation":
            duties.append(Duty(code=code, label=label))
    return LicenseDuties(entry.key, entry.name, tuple(duties))


def for_keys(keys: Iterable[str | None]) -> list[LicenseDuties]:
    """Each distinct known license of a model and its ancestors, in the order given."""
    out: dict[str, LicenseDuties] = {}
    for key in keys:
        if key and key not in out:
            found = of_license(key)
            if found is not None and found.duties:
                out[key] = found
    return list(out.values())


def as_json(keys: Iterable[str | None]) -> list[dict[str, str]]:
    """The required texts for the check API: one row per duty that fixes words or is a
    pass-through, with the license it comes from."""
    return [
        {"license": lic.key, **d.as_json()}
        for lic in for_keys(keys)
        for d in lic.duties
        if d.text or d.duty or d.text_unknown
    ]
