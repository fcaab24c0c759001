"""Derivatives' obligations, checked: the duties an inherited license sets on what derives from
it (licenses.obligations reads them from each license's own clauses), held against the
derivative itself: its name, its files, its README and its own declared license.

- naming: the name begins with the fixed words (Llama 3's "Llama 3", Llama 3.1's "Llama");
- attribution: the README shows the fixed words ("Built with Llama");
- license_copy: a license file ships in the repo (its file list);
- aup: the use policy is passed on (a use-policy file, or the README names it);
- derivatives_inherit / use_restrictions: the derivative's own license carries the terms on
  (its declared license is of the inherited license's family: Gemma's terms, an OpenRAIL's use
  restrictions, the Llama agreement).

Each check is met (True), failed (False) or cannot be told (None: no file list, no README).
Only failed ones are "obligations not met". Pure: `facts` reads a record, `check` decides.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from .classify import kb
from .obligations import of_license

CHECKED = ("naming", "attribution", "license_copy", "aup", "derivatives_inherit")
README_SCAN = 200_000
NAME_CHARS = 300  # of a file name, a model name: longer is no name people read
TEXT_SUFFIXES = ("", ".md", ".txt", ".rst", ".html", ".pdf")
# A word of a file's stem (LICENSE, LICENSE-MODEL, LLAMA2_LICENSE.txt; not check_license.py).
_LICENSE_WORD = re.compile(r"(?:^|[-_. ])(?:licen[cs]e|copying)(?:$|[-_. ])", re.I)
_POLICY_WORD = re.compile(r"(?:^|[-_. ])(?:use[-_ ]?policy|prohibited[-_ ]?use)", re.I)
_POLICY_WORDS = ("acceptable use policy", "prohibited use policy", "use_policy", "use-policy")
_MARKDOWN_LINK = re.compile(r"\]\([^)\s]{0,2000}\)")
_MARKUP = re.compile(r"[*_`\[\]>#]+")
_PLACEHOLDER = re.compile(r"\[[^\]]{0,200}\]")


def _tokens(text: str) -> list[str]:
    """Words and numbers apart: `Llama3-8B` is llama, 3, 8, b; `Llama-30B` is llama, 30, b."""
    return re.findall(r"[a-z]+|[0-9]+", text.lower()[:NAME_CHARS])


def _words(text: str) -> str:
    """Prose as it reads: Markdown links and emphasis taken off, spaces collapsed."""
    text = _MARKUP.sub(" ", _MARKDOWN_LINK.sub(" ", text.lower()))
    return re.sub(r"\s+", " ", text).strip()


def _fixed(text: str) -> str:
    """A fixed text without its placeholders ("[name of relevant Derivative Work] is built
    using Falcon LLM technology ..." is met by any name in front)."""
    return _words(_PLACEHOLDER.sub(" ", text))


def _file_is(path: str, word: re.Pattern[str]) -> bool:
    name = path.rsplit("/", 1)[-1][:NAME_CHARS]
    stem, dot, suffix = name.rpartition(".")
    stem, suffix = (stem, f".{suffix.lower()}") if dot else (name, "")
    return suffix in TEXT_SUFFIXES and word.search(stem) is not None


@dataclass(frozen=True)
class Facts:
    """What the checks read of a derivative (small: the whole-catalog pass keeps one per
    derivative, not its files or README); None where the Hub did not say."""

    name: str
    license_file: bool | None  # a license file in its file list (None: no file list)
    policy_file: bool | None  # a use-policy file
    phrases: frozenset[str] | None  # the fixed texts its README holds (None: no README)
    readme_cut: bool = False  # longer than was read: a text not found may be further on


@cache
def attribution_texts() -> frozenset[str]:
    """Every fixed attribution text the knowledge base holds, lowercased (read once: facts()
    runs for every derivative of a whole-catalog pass)."""
    out = set()
    for entry in kb().entries.values():
        for ob in entry.data.get("obligations", []):
            if ob.get("code") == "attribution" and ob.get("text"):
                out.add(_fixed(ob["text"]))
    return frozenset(out)


def facts(repo_id: str, siblings: Any, readme: Any) -> Facts:
    """Read once per model, whatever types the record holds."""
    license_file = policy_file = None
    if isinstance(siblings, list):
        files = [
            s if isinstance(s, str) else str(s.get("rfilename", ""))
            for s in siblings[:5000]
            if isinstance(s, str | dict)
        ]
        license_file = any(_file_is(p, _LICENSE_WORD) for p in files)
        policy_file = any(_file_is(p, _POLICY_WORD) for p in files)
    phrases = None
    if isinstance(readme, str) and readme:
        text = _words(readme[:README_SCAN])
        phrases = frozenset(t for t in attribution_texts() if t in text)
        if any(w in text for w in _POLICY_WORDS):
            phrases |= {"aup"}
    cut = isinstance(readme, str) and len(readme) > README_SCAN
    return Facts(repo_id.rsplit("/", 1)[-1][:NAME_CHARS], license_file, policy_file, phrases, cut)


def check(f: Facts, declared: str | None, inherited: Iterable[str]) -> list[dict[str, Any]]:
    """[{code, license, met, detail}] for each duty the inherited licenses set on derivatives."""
    out: list[dict[str, Any]] = []
    for key in sorted(set(inherited)):
        duties = of_license(key)
        if duties is None:
            continue
        seen: set[str] = set()
        # The use policy is a restriction of the license, passed on with it: checked too.
        pairs = [(d.code, d.text) for d in duties.duties]
        entry = kb().get(key)
        if entry is not None and any(code == "aup" for code, _ in entry.conditions):
            pairs.append(("aup", ""))
        for code, text in pairs:
            if code not in CHECKED or code in seen:
                continue
            seen.add(code)
            met, detail = _one(code, text, f, declared, key)
            out.append({"code": code, "license": key, "met": met, "detail": detail})
    return out


def _one(code: str, text: str, f: Facts, declared: str | None, key: str) -> tuple[bool | None, str]:
    if code == "naming":
        if not text:
            return None, "the license fixes a name; the knowledge base does not hold it"
        want = _tokens(text)
        ok = _tokens(f.name)[: len(want)] == want
        return ok, f"the name {'begins' if ok else 'must begin'} with “{text}”"
    if code == "attribution":
        if not text:
            return None, "the license fixes attribution words the knowledge base does not hold"
        if f.phrases is None:
            return None, f"no README read: “{text}” cannot be checked"
        ok = _fixed(text) in f.phrases
        if not ok and f.readme_cut:
            return None, f"“{text}” is not in the part of the README read"
        return ok, f"the README {'shows' if ok else 'does not show'} “{text}”"
    if code == "license_copy":
        if f.license_file is None:
            return None, "no file list: a copy of the license cannot be checked"
        ok = f.license_file
        return ok, "a license file ships" if ok else "no license file in the repo"
    if code == "aup":
        ok = bool(f.policy_file) or "aup" in (f.phrases or ())
        if not ok and (f.phrases is None or f.readme_cut):
            return None, "no README read: whether the use policy is passed on cannot be told"
        return ok, (
            "the use policy is passed on"
            if ok
            else "the use policy is not passed on (no policy file, the README names none)"
        )
    # derivatives_inherit: its own license carries the inherited terms on
    ok = _carries(declared, key)
    said = f"declares {declared}" if declared else "declares no license"
    return ok, f"{said}; the {key} terms must carry on" if not ok else f"declares {declared}"


def checks_of(stored: Any) -> list[dict[str, Any]]:
    """The well-formed checks of a stored list (read, never trusted)."""
    rows = stored[:50] if isinstance(stored, list) else []
    return [c for c in rows if isinstance(c, dict) and "met" in c
            and any(c["met"] is v for v in (True, False, None))
            and all(_readable(c.get(k)) for k in ("code", "license", "detail"))]  # fmt: skip


def _readable(value: Any) -> bool:
    if not isinstance(value, str) or len(value) > 2000:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: no page could print it
        return False
    return True


def _carries(declared: str | None, key: str) -> bool:
    """Its own license carries the inherited terms on: the same license; one of the same
    unversioned family; or, under an OpenRAIL, another RAIL (their use restrictions carry on).
    A versioned agreement (Llama 2, 3, 3.1) is carried on only as itself."""
    own, inherited = kb().get(declared) if declared else None, kb().get(key)
    if own is None or inherited is None:
        return False
    if own.key == inherited.key:
        return True
    versioned = own.data.get("version") or inherited.data.get("version")
    if own.data.get("family") == inherited.data.get("family") and not versioned:
        return True
    return "rail" in inherited.key and "rail" in own.key


def unmet(stored: Any) -> list[dict[str, Any]]:
    """The failed ones: "obligations not met"."""
    return [c for c in checks_of(stored) if c["met"] is False]
