"""Resolution of a model's declared license from its evidence, each piece with its source.

Evidence is read in the order of the shared research's §5 (../shared/docs/licenses.md, which the
repository does not hold; "licenses.md §N" below is that file): `license:` tags and the card's
`license`, `license_name` (normalised, through the alias table), `license_link` (host and path
patterns; a link to a file of the repo means that file is read), the text of LICENSE* / USE_POLICY*
files (and a license pasted into the gating prompt) matched against the reference texts, and last
the README's license section. Rules:

- a license text we recognise wins over metadata; when they disagree the mismatch is flagged;
- among metadata that disagree, the most restrictive reading is kept (never `allowed` by
  guesswork), the mismatch flagged and the confidence lowered for review;
- placeholders (`other`, `unknown`, family tags such as `openrail`) only decide when nothing
  more specific does.

Pure functions over plain data (tags, card dict, {path: text}), so they run on 760k listings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import unquote, urlsplit

from . import similarity
from .classify import PLACEHOLDERS, RANK, kb, normalise_name

LICENSE_FILE = re.compile(
    r"^(?:.*/)?(LICEN[CS]E|USE[_-]POLICY|ACCEPTABLE[_-]USE[_-]POLICY|MODEL[_-]LICEN[CS]E)"
    r"[\w.-]*$|\.license\.txt$",
    re.IGNORECASE,
)
HF_FILE = re.compile(
    r"^huggingface\.co/(?P<repo>[^/]+/[^/]+)/(?:blob|resolve|raw)/[^/]+/(?P<path>.+)$"
)
PLACEHOLDER_CONFIDENCE = 0.3  # what was declared is sure; what it means is not (reviewed)
NONCOMMERCIAL_NAME = re.compile(r"(^|-)(non-?commercial|nc|research(-only)?|noncommercial)(-|$)")
# A heading that names a license, and what follows up to the next heading. The blanks after the
# `#`s are taken whole (\s*+) and the word is looked for ahead, so a heading line is read at most
# twice: r"^#{1,6}\s*[^\n]*\blicen..." tried every split of a blank run between \s* and [^\n]*
# ("# " + " " * 100000 + "x" took 110 s). The same headings and sections as that pattern.
README_SECTION = re.compile(
    r"^#{1,6}\s*+(?=[^\n]*\blicen[cs](?:e|ing)\b)[^\n]*+\n(?P<body>.*?)(?=^#{1,6}\s|\Z)",
    re.IGNORECASE | re.MULTILINE | re.DOTALL,
)
# A paragraph a label opens ("**License** A custom commercial license is available at: <url>",
# "License: apache-2.0"): Meta's cards and their copies name their license so, with no heading.
# Blanks are [ \t] only, so a run of empty lines is not rescanned from each of its starts.
README_LABEL = re.compile(
    r"^[ \t]*(?:[*_]{1,2})?licen[cs](?:e|ing)\b(?:[*_]{1,2})?[ \t]*[:：]?(?:[*_]{1,2})?[ \t]*"
    r"(?P<body>[^\n]*(?:\n[ \t]*[^\s#][^\n]*)*)",
    re.IGNORECASE | re.MULTILINE,
)
# The card's YAML header (the Hub's metadata, read from cardData): also when the README is
# nothing else and ends on its closing `---`, or has Windows line ends.
FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n.*?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
README_URL = re.compile(r"https?://[^\s)\]>\"'<]{1,2000}")
# Browsers and CDNs stop at URLs of about 2,000-8,000 characters; a longer license_link is not a
# link anyone follows, and the knowledge base's link patterns (`nvidia\.com/.*...`) backtrack
# over every repetition of their prefix, so such a link is not read at all.
LINK_MAX = 8_192
# A README's license section is looked for in its first README_SCAN characters: the longest real
# README in the snapshot is 70,000; on a hostile one, the section and the prose mentions read from
# it stay bounded (linear either way, but a license section past 256 KB is not one a reader sees).
README_SCAN = 256_000

# Confidence of each kind of evidence when it decides alone.
STRENGTH = {
    "file": 0.95,
    "tag": 0.9,
    "card.license": 0.9,
    "card.license_name": 0.8,
    "card.license_link": 0.8,
    "linked_file": 0.9,
    "card.extra_gated_prompt": 0.85,
    "readme": 0.55,
    "name_rule": 0.6,
}
REVIEW_BELOW = 0.7


@dataclass
class Resolution:
    key: str | None
    confidence: float
    evidence: list[dict[str, Any]] = field(default_factory=list)
    mismatch: bool = False
    notes: list[str] = field(default_factory=list)


def _item(source: str, value: Any, key: str | None, **extra: Any) -> dict[str, Any]:
    if isinstance(value, str) and len(value) > 200:
        value = value[:200] + "…"
    return {"source": source, "value": value, "key": key, **extra}


def from_name(name: str) -> tuple[str | None, str]:
    """(key, rule) for a license_name: alias table, else a non-commercial/research name rule."""
    norm = normalise_name(name)
    aliases = kb().aliases
    if norm in aliases:
        return aliases[norm], "alias"
    if name.strip().lower() in aliases:
        return aliases[name.strip().lower()], "alias"
    if NONCOMMERCIAL_NAME.search(norm):
        return "other-non-commercial", "name_rule"
    return None, ""


def link_target(link: str, repo_id: str) -> tuple[str, str]:
    """('file', path) for a file of this repo, ('hf', repo/path) for another repo's file,
    ('url', host/path) otherwise."""
    link = link.strip()
    if not re.match(r"^[a-z]+://", link, re.IGNORECASE) and not link.startswith("www."):
        return "file", link.lstrip("./")
    host, path = _split(link)
    hostpath = f"{host}{unquote(path)}".rstrip("/")
    m = HF_FILE.match(f"{host}{path}")
    if m:
        if m.group("repo").lower() == repo_id.lower():
            return "file", unquote(m.group("path"))
        return "hf", f"{m.group('repo')}/{unquote(m.group('path'))}"
    return "url", hostpath


def _split(link: str) -> tuple[str, str]:
    """(host, path) of a link; a link urlsplit refuses (an unclosed `[` in its host reads as a
    broken IPv6 address) is all path, and so matches no known host."""
    link = link.strip()
    try:
        parts = urlsplit(link if "://" in link else "https://" + link)
    except ValueError:
        return "", link
    return parts.netloc.lower().removeprefix("www."), parts.path


def _hostpath(link: str) -> str:
    host, path = _split(link)
    return f"{host}{unquote(path)}".rstrip("/")


def from_link(hostpath: str) -> str | None:
    if len(hostpath) > LINK_MAX:
        return None
    low = hostpath.lower()
    for pattern, key in kb().links:
        if pattern.search(low):
            return key
    m = re.match(r"^spdx\.org/licenses/([^/]+?)(\.html|\.txt|\.json)?$", low)
    if m:
        for entry in kb().entries.values():
            if entry.data["spdx"].lower() == m.group(1):
                return entry.key
    return None


# Single words that name a family, not a license, are not read as mentions in prose.
MENTION_WORDS = {
    "mit",
    "gemma",
    "deepseek",
    "mrl",
    "mnpl",
    "unlicense",
    "wtfpl",
    "isc",
    "zlib",
    "postgresql",
    "exaone",
    "cogvideox",
    "openmdw",
}


def _words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower().replace("++", " plusplus")))


@cache
def _mentions() -> tuple[re.Pattern[str], dict[str, str]]:
    table: dict[str, str] = {}
    for entry in kb().entries.values():
        if entry.placeholder or entry.key == "other-non-commercial":
            continue
        for phrase in {entry.name, entry.key, *entry.data["aliases"]}:
            words = _words(phrase)
            if not words or (" " not in words and words not in MENTION_WORDS):
                continue
            table.setdefault(words, entry.key)
    alternation = "|".join(re.escape(p) for p in sorted(table, key=len, reverse=True))
    return re.compile(rf"(?<![a-z0-9])(?:{alternation})(?![a-z0-9])"), table


def mentioned(text: str) -> list[str]:
    """License keys named in prose, most specific phrase first, each once."""
    pattern, table = _mentions()
    return list(dict.fromkeys(table[m.group(0)] for m in pattern.finditer(_words(text))))


def readme_section(readme: str) -> str:
    """The README's license section: under a heading naming the license, and the paragraphs a
    "License" label opens."""
    body = FRONT_MATTER.sub("", readme[:README_SCAN], count=1)
    m = README_SECTION.search(body)
    parts = [m.group("body").strip()] if m else []
    parts += [p.group("body").strip() for p in README_LABEL.finditer(body)][:5]
    return "\n\n".join(p for p in parts if p)


def section_links(section: str) -> list[str]:
    """License keys of the known license URLs a README's license section links to."""
    found = (from_link(_hostpath(url)) for url in README_URL.findall(section)[:20])
    return list(dict.fromkeys(k for k in found if k))


def _restrictive_first(keys: list[str]) -> list[str]:
    entries = kb().entries
    return sorted(keys, key=lambda k: RANK.get(entries[k].verdict, 3) if k in entries else 4)


def resolve(
    *,
    repo_id: str = "",
    tags: list[str] | None = None,
    card: dict[str, Any] | None = None,
    files: dict[str, str] | None = None,
    linked: dict[str, str] | None = None,
    revision: str = "",
) -> Resolution:
    """The declared license key, a confidence in [0, 1] and the evidence list.

    `files`: texts of this repo's files by path (README.md, LICENSE*, USE_POLICY*);
    `linked`: texts of other repos' files a license_link points to, by "owner/repo/path".
    """
    entries = kb().entries
    evidence: list[dict[str, Any]] = []
    meta: list[tuple[str, str]] = []  # (key, source) from metadata
    placeholders: list[tuple[str, str]] = []
    texts: list[tuple[str, str, float]] = []  # (key, source, score) from license texts
    notes: list[str] = []
    files = files or {}
    card = card if isinstance(card, dict) else {}

    # 1. license: tags, then the card's license (string or list).
    tag_values = [t[8:] for t in tags or () if t.startswith("license:")]
    card_value = card.get("license")
    card_values = (
        [card_value]
        if isinstance(card_value, str)
        else ([v for v in card_value if isinstance(v, str)] if isinstance(card_value, list) else [])
    )
    for source, values in (("tag", tag_values), ("card.license", card_values)):
        for value in values:
            key, _ = from_name(value) if value.lower() not in entries else (value.lower(), "")
            if key is None:
                evidence.append(_item(source, value, None, note="not a license we know"))
                continue
            evidence.append(_item(source, value, key))
            (placeholders if key in PLACEHOLDERS else meta).append((key, source))

    # 2. license_name.
    name = card.get("license_name")
    if isinstance(name, str) and name.strip():
        key, rule = from_name(name)
        if key:
            evidence.append(_item("card.license_name", name, key, rule=rule))
            meta.append((key, "name_rule" if rule == "name_rule" else "card.license_name"))
        else:
            evidence.append(
                _item("card.license_name", name, None, note="name not in the alias table")
            )

    # 3. license_link: a known URL, or a file (ours: read below first; another repo's: `linked`).
    link = card.get("license_link")
    link_file = ""
    if isinstance(link, str) and link.strip():
        kind, target = link_target(link, repo_id)
        if kind == "file":
            link_file = target
            evidence.append(
                _item("card.license_link", link, None, note=f"points to this repo's {target}")
            )
            known = from_link(_hostpath(link)) if "://" in link else None
            if known:  # our own file, at a URL we also know (THUDM/CogVideoX-5b's LICENSE)
                evidence.append(_item("card.license_link", link, known))
                meta.append((known, "card.license_link"))
        else:
            key = from_link(target if kind == "url" else _hostpath(link))
            if kind == "hf" and linked and target in linked:
                match = similarity.best_match(linked[target])
                if match:
                    evidence.append(
                        _item(
                            "linked_file",
                            target,
                            match.key,
                            score=match.score,
                            reference=match.reference,
                        )
                    )
                    texts.append((match.key, "linked_file", match.score))
                    key = None
            if key:
                evidence.append(_item("card.license_link", link, key))
                meta.append((key, "card.license_link"))
            elif kind != "hf" or not linked or target not in linked:
                evidence.append(_item("card.license_link", link, None, note="link not recognised"))

    # 4. License texts: LICENSE* / USE_POLICY* files (the linked one first), a pasted agreement.
    paths = sorted((p for p in files if LICENSE_FILE.search(p)), key=lambda p: (p != link_file, p))
    if link_file and link_file not in files:
        notes.append(f"license_link names {link_file}, which was not read")
    for path in paths:
        match = similarity.best_match(files[path])
        if match:
            evidence.append(
                _item(
                    f"file:{path}",
                    path,
                    match.key,
                    score=match.score,
                    reference=match.reference,
                    revision=revision,
                )
            )
            texts.append((match.key, "file", match.score))
        else:
            named = mentioned(files[path][:400])  # a short file that names its license
            key = _restrictive_first(named)[0] if named else None
            evidence.append(
                _item(
                    f"file:{path}",
                    path,
                    key,
                    score=0.0,
                    revision=revision,
                    note="no reference text matches" + ("; title names " + key if key else ""),
                )
            )
            if key:
                meta.append((key, "readme"))
    gated = card.get("extra_gated_prompt")
    if isinstance(gated, str) and len(gated) > 2000:
        match = similarity.best_match(gated)
        if match:
            evidence.append(
                _item(
                    "card.extra_gated_prompt",
                    "license text in the gating prompt",
                    match.key,
                    score=match.score,
                    reference=match.reference,
                )
            )
            texts.append((match.key, "card.extra_gated_prompt", match.score))

    # 5. README license section, last.
    readme = files.get("README.md") or ""
    section = readme_section(readme) if readme else ""
    linked_keys = section_links(section) if section else []
    readme_keys = _restrictive_first(list(dict.fromkeys([*linked_keys, *mentioned(section)])))
    if section:
        note = "prose of the README, weaker than a card field"
        if linked_keys:
            note += "; it links to the license of " + ", ".join(linked_keys)
        evidence.append(_item("readme", section, readme_keys[0] if readme_keys else None,
                              mentions=readme_keys, note=note))  # fmt: skip

    return _decide(evidence, meta, placeholders, texts, readme_keys, notes)


def _decide(evidence, meta, placeholders, texts, readme_keys, notes) -> Resolution:
    entries = kb().entries
    mismatch = False
    if texts:
        # The license text is the authority (licenses.md §4.4 (1)); the best-scoring text decides.
        key, source, score = max(texts, key=lambda t: (t[2], -RANK.get(entries[t[0]].verdict, 3)))
        confidence = STRENGTH[source] * min(1.0, 0.5 + score / 2)
        others = {k for k, _ in meta if k != key}
        if others:
            mismatch = True
            notes.append(
                f"metadata says {', '.join(sorted(others))}; the license text says {key}, "
                "which wins"
            )
            confidence = min(confidence, 0.65)
        elif meta:
            confidence = min(0.99, confidence + 0.04)
        fams = {k for k, _ in placeholders if k not in ("other", "unknown", "none")}
        if (
            fams
            and entries[key].data["family"] not in fams
            and not any(key.startswith(f) for f in fams)
        ):
            notes.append(f"family tag {', '.join(sorted(fams))} refined by the license text")
        return Resolution(key, round(confidence, 3), evidence, mismatch, notes)

    keys = list(dict.fromkeys(k for k, _ in meta))
    if keys:
        ordered = _restrictive_first(keys)
        key = ordered[0]
        source = next(s for k, s in meta if k == key)
        confidence = STRENGTH.get(source, 0.7)
        if len(keys) > 1:
            mismatch = True
            confidence = min(confidence, 0.6)
            notes.append(
                f"metadata disagrees ({', '.join(keys)}); the most restrictive, {key}, is kept"
            )
        elif len(meta) > 1:
            confidence = min(0.97, confidence + 0.05)
        stricter = readme_keys[0] if readme_keys and readme_keys[0] not in keys else None
        if stricter and RANK.get(entries[stricter].verdict, 3) < RANK.get(entries[key].verdict, 3):
            mismatch = True
            confidence = min(confidence, 0.6)
            notes.append(f"README license section names {stricter}, stricter than {key}")
        if not entries[key].verified:
            confidence = min(confidence, 0.65)
        return Resolution(key, round(confidence, 3), evidence, mismatch, notes)

    if readme_keys:
        key = readme_keys[0]
        confidence = STRENGTH["readme"] if entries[key].verified else 0.5
        if len(readme_keys) > 1:
            notes.append(f"README names {', '.join(readme_keys)}; the most restrictive is kept")
        return Resolution(key, confidence, evidence, False, notes)

    declared_fams = [k for k, _ in placeholders if k not in ("other", "unknown", "none")]
    if declared_fams:
        key = _restrictive_first(list(dict.fromkeys(declared_fams)))[0]
        return Resolution(
            key, 0.5, evidence, False, [*notes, f"only the family tag {key} is declared"]
        )
    if placeholders:
        # `other` says "look for the custom terms", `unknown` "ask the author": a declaration
        # either way, kept as such (its verdict is unknown); None is for nothing declared.
        key = placeholders[0][0]
        notes.append(f"declared `{key}` with no name, link or file we recognise")
        return Resolution(key, PLACEHOLDER_CONFIDENCE, evidence, False, notes)
    return Resolution(None, 0.0, evidence, False, notes)
