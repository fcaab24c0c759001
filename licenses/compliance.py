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
from typing import Any

from .classify import kb
from .obligations import of_license

CHECKED = ("naming", "attribution", "license_copy", "aup", "derivatives_inherit")
README_SCAN = 200_000
_LICENSE_FILE = re.compile(
    r"(?:^|/)(?:licen[cs]e|copying|[\w.-]*licen[cs]e[\w.-]*)(?:\.\w+)?$", re.I
)
_POLICY_FILE = re.compile(r"(?:^|/)[\w.-]*(?:use[_-]?policy|prohibited[_-]?use)[\w.-]*$", re.I)
_POLICY_WORDS = ("acceptable use policy", "prohibited use policy", "use_policy", "use-policy")


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def _words(text: str) -> str:
    return re.sub(r"\s+", " ", text.lower())


@dataclass(frozen=True)
class Facts:
    """What the checks read of a derivative (small: the whole-catalog pass keeps one per
    derivative, not its files or README); None where the Hub did not say."""

    name: str
    license_file: bool | None  # a license file in its file list (None: no file list)
    policy_file: bool | None  # a use-policy file
    phrases: frozenset[str] | None  # the fixed texts its README holds (None: no README)


def attribution_texts() -> frozenset[str]:
    """Every fixed attribution text the knowledge base holds, lowercased."""
    out = set()
    for entry in kb().entries.values():
        for ob in entry.data.get("obligations", []):
            if ob.get("code") == "attribution" and ob.get("text"):
                out.add(_words(ob["text"]))
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
        license_file = any(_LICENSE_FILE.search(p) for p in files)
        policy_file = any(_POLICY_FILE.search(p) for p in files)
    phrases = None
    if isinstance(readme, str) and readme:
        text = _words(readme[:README_SCAN])
        phrases = frozenset(t for t in attribution_texts() if t in text)
        if any(w in text for w in _POLICY_WORDS):
            phrases |= {"aup"}
    return Facts(repo_id.rsplit("/", 1)[-1], license_file, policy_file, phrases)


def _family(key: str | None) -> str:
    entry = kb().get(key) if key else None
    return str(entry.data.get("family") or entry.key) if entry else ""


def check(f: Facts, declared: str | None, inherited: Iterable[str]) -> list[dict[str, Any]]:
    """[{code, license, met, detail}] for each duty the inherited licenses set on derivatives."""
    out: list[dict[str, Any]] = []
    own_family = _family(declared)
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
            met, detail = _one(code, text, f, declared, own_family, key)
            out.append({"code": code, "license": key, "met": met, "detail": detail})
    return out


def _one(
    code: str, text: str, f: Facts, declared: str | None, own_family: str, key: str
) -> tuple[bool | None, str]:
    if code == "naming":
        if not text:
            return None, "the license fixes a name; the knowledge base does not hold it"
        ok = _squash(f.name).startswith(_squash(text))
        return ok, f"the name {'begins' if ok else 'must begin'} with “{text}”"
    if code == "attribution":
        if not text:
            return None, "the license fixes attribution words the knowledge base does not hold"
        if f.phrases is None:
            return None, f"no README read: “{text}” cannot be checked"
        ok = _words(text) in f.phrases
        return ok, f"the README {'shows' if ok else 'does not show'} “{text}”"
    if code == "license_copy":
        if f.license_file is None:
            return None, "no file list: a copy of the license cannot be checked"
        ok = f.license_file
        return ok, "a license file ships" if ok else "no license file in the repo"
    if code == "aup":
        if f.policy_file is None and f.phrases is None:
            return None, "no file list or README: the use policy cannot be checked"
        ok = bool(f.policy_file) or "aup" in (f.phrases or ())
        return ok, (
            "the use policy is passed on"
            if ok
            else "the use policy is not passed on (no policy file, the README names none)"
        )
    # derivatives_inherit: its own license carries the inherited terms on
    ok = bool(own_family) and own_family == _family(key)
    said = f"declares {declared}" if declared else "declares no license"
    return ok, f"{said}; the {key} terms must carry on" if not ok else f"declares {declared}"


def checks_of(stored: Any) -> list[dict[str, Any]]:
    """The well-formed checks of a stored list (read, never trusted)."""
    rows = stored[:50] if isinstance(stored, list) else []
    return [c for c in rows if isinstance(c, dict) and any(c.get("met") is v for v in (True, False, None))
            and all(isinstance(c.get(k), str) for k in ("code", "license", "detail"))]  # fmt: skip


def unmet(stored: Any) -> list[dict[str, Any]]:
    """The failed ones: "obligations not met"."""
    return [c for c in checks_of(stored) if c["met"] is False]
