"""Turning Hub records (list items and model_info answers) into catalog rows.

Hub records are hostile input. `clean` is the one place they are made storable: NUL characters
and lone surrogates (valid JSON, but neither PostgreSQL nor UTF-8 can hold them) are removed from
every string, keys included, at any depth; strings, lists and the record as a whole are cut to
the sizes below. `row_fields` then drops values of the wrong type instead of refusing the
record. Whatever was changed is written down as the row's `ingest_notes` (shown on its page), so
a cut or dropped value is never mistaken for what the Hub said. A record that still cannot be
stored raises MalformedRecord and is quarantined by the crawler.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any

import orjson

from .models import Gated, ModelFile

# Bounds of a stored record (characters, entries, bytes of JSON); ingest notes say what was cut.
MAX_TEXT = 100_000  # one string anywhere in a record (the longest real cardData string: 12 k)
MAX_LIST = 20_000  # entries of one list anywhere in a record (siblings: 6,928 at most, real)
MAX_TAGS = 1_000  # tags kept (203 at most in the real records)
MAX_CARD_BYTES = 256_000  # cardData as JSON (55 kB at most, real): keys past it are dropped
MAX_RECORD_BYTES = 1_000_000  # the raw record kept as `raw` (730 kB at most, real)
MAX_FILE_CHARS = ModelFile.MAX_CHARS  # a license evidence file (README, LICENSE...) as stored
MAX_NOTES = 20
# Nesting kept anywhere in a record (real cardData: under 10 levels); orjson writes at most 255
# levels, so a deeper value is cut here, where its record is hashed and stored, and noted.
MAX_DEPTH = 64
INT64 = 2**63
# Lengths of the catalog's text columns (HubModel) that a record fills.
COLUMN_CHARS = {"repo_id": 200, "hub_id": 32, "author": 100, "sha": 40, "library_name": 100,
                "pipeline_tag": 100, "change_key": 64}  # fmt: skip
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # NUL, and surrogates (only lone ones survive
# json.loads: a valid pair is decoded to one character)
# Cut where the Hub's value is too long for its column (an id or a sha is never cut: a cut one
# would name another repo or commit).
CUT_COLUMNS = {k: COLUMN_CHARS[k] for k in ("author", "library_name", "pipeline_tag")}
FAST_BYTES = 2 * MAX_LIST  # a record this small can hold no string or list over its bound

# Keys that move daily without the repo changing.
VOLATILE = {"downloads", "likes", "trendingScore", "downloadsAllTime"}

FORMAT_FILES = [
    ("safetensors", re.compile(r"\.safetensors$")),
    ("gguf", re.compile(r"\.gguf$")),
    ("pickle", re.compile(r"\.(bin|pt|pth|ckpt|pkl|pickle)$")),
    ("onnx", re.compile(r"\.onnx$")),
]
# The Hub refuses repo names longer than this (huggingface_hub's REPO_ID_REGEX: [\w\-.]{1,96}), so
# no real name is cut; a hostile record's longer name is read no further, which keeps the name
# patterns of lineage and hardware (runs of digits and dots) from backtracking over megabytes.
REPO_NAME_MAX = 96
FORMAT_TAGS = {"safetensors": "safetensors", "gguf": "gguf", "onnx": "onnx", "mlx": "mlx"}


class MalformedRecord(ValueError):
    """A Hub record we cannot read; the message says which field and why."""


def clean_text(text: str) -> str:
    return UNSTORABLE.sub("", text) if UNSTORABLE.search(text) else text


def clean(item: Any) -> tuple[Any, list[str]]:
    """The record made storable, and notes of what was changed (see the module docstring).

    Raises MalformedRecord for what cannot be made storable (an integer beyond 64 bits)."""
    try:
        data = orjson.dumps(item)
    except TypeError:  # lone surrogates, an integer orjson cannot write, nesting past 255
        data = None
    if data is not None and len(data) <= FAST_BYTES and b"\\u0000" not in data:
        return item, []
    notes: list[str] = []
    if isinstance(item, dict):
        # Text columns are cut to their own length here, so raw and the row agree.
        item = {
            clean_text(k): _clean(v, clean_text(k), notes, CUT_COLUMNS.get(k, MAX_TEXT))
            for k, v in item.items()
        }
    else:
        item = _clean(item, "", notes)
    if isinstance(item, dict) and len(orjson.dumps(item)) > MAX_RECORD_BYTES:
        notes.append("the record was larger than its bound: its heaviest keys are kept out of raw")
    return item, notes


def _clean(value: Any, path: str, notes: list[str], limit: int = MAX_TEXT, depth: int = 1) -> Any:
    if isinstance(value, (dict, list)) and depth > MAX_DEPTH:
        _note(notes, f"{path}: nested deeper than {MAX_DEPTH} levels (cut there, not stored)")
        return None
    if isinstance(value, str):
        text = clean_text(value)
        if text is not value:
            _note(notes, f"{path or 'value'}: NUL or invalid characters removed")
        if len(text) > limit:
            _note(notes, f"{path}: cut from {len(text):,} to {limit:,} characters")
            text = text[:limit]
        return text
    if isinstance(value, dict):
        out = {}
        for key, v in value.items():
            name = clean_text(key) if isinstance(key, str) else key
            out[name] = _clean(v, f"{path}.{name}" if path else name, notes, depth=depth + 1)
        return out
    if isinstance(value, list):
        if len(value) > MAX_LIST:
            _note(notes, f"{path}: cut from {len(value):,} to {MAX_LIST:,} entries")
            value = value[:MAX_LIST]
        return [_clean(v, f"{path}[]", notes, depth=depth + 1) for v in value]
    if isinstance(value, int) and not -INT64 <= value < INT64:
        raise MalformedRecord(f"{path}: integer out of range ({str(value)[:30]}...)")
    return value


def _note(notes: list[str], note: str) -> None:
    if len(notes) < MAX_NOTES and note not in notes:
        notes.append(note)


def bounded_raw(item: dict[str, Any]) -> dict[str, Any]:
    """The record as kept in `raw`: whole when it fits MAX_RECORD_BYTES, else without its
    heaviest keys (the catalog's own columns hold what it reads of them)."""
    sizes = {k: len(orjson.dumps(v)) for k, v in item.items()}
    total = sum(sizes.values())
    kept = dict(item)
    for key in sorted(sizes, key=sizes.__getitem__, reverse=True):
        if total <= MAX_RECORD_BYTES or key in ("id", "_id"):
            break
        kept.pop(key)
        total -= sizes[key]
    return kept


def bounded_card(card: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    """cardData within MAX_CARD_BYTES: its keys in order while they fit."""
    data = orjson.dumps(card)
    if len(data) <= MAX_CARD_BYTES:
        return card
    kept, used = {}, 2
    for key, value in card.items():
        size = len(orjson.dumps({key: value}))
        if used + size <= MAX_CARD_BYTES:
            kept[key] = value
            used += size
    _note(notes, f"cardData: {len(data):,} bytes, kept {len(kept)} of {len(card)} keys")
    return kept


def bounded_file(text: str) -> tuple[str, int | None]:
    """A fetched file as stored, and its length when it had to be cut (else None)."""
    text = clean_text(text)
    if len(text) > MAX_FILE_CHARS:
        return text[:MAX_FILE_CHARS], len(text)
    return text, None


def record_hash(item: Any) -> str:
    # The Hub sends a record's keys in a stable order: no need to sort them.
    return hashlib.md5(orjson.dumps(item), usedforsecurity=False).hexdigest()


def change_key(item: dict[str, Any]) -> str:
    """What tells that the repo itself changed: its sha, else lastModified, else its content."""
    limit = COLUMN_CHARS["change_key"]
    for key in ("sha", "lastModified"):
        value = item.get(key)
        if value and isinstance(value, str) and len(value) <= limit:
            return value
    return "h:" + record_hash([v for k, v in item.items() if k not in VOLATILE])


def repo_name(repo_id: str) -> str:
    """The name part of an id (after its last "/"), at most REPO_NAME_MAX characters of it."""
    return repo_id.rpartition("/")[2][:REPO_NAME_MAX]


def formats(tags: list[str], files: list[str] | None, library: str) -> list[str]:
    found: set[str] = set()
    if files is not None:
        for name, pattern in FORMAT_FILES:
            if any(pattern.search(f) for f in files):
                found.add(name)
    for tag in tags:
        if tag in FORMAT_TAGS:
            found.add(FORMAT_TAGS[tag])
    if library == "mlx":
        found.add("mlx")
    # Without a file list, a PyTorch repo with no safetensors tag ships pickled weights.
    if files is None and "pytorch" in tags and not found & {"safetensors", "gguf"}:
        found.add("pickle")
    return sorted(found)


def parse_date(value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)  # the Hub writes "2024-07-11T08:15:02.000Z"
    except (TypeError, ValueError) as exc:
        raise MalformedRecord(f"bad date {value!r}") from exc


def parameter_count(item: dict[str, Any]) -> int | None:
    for key in ("safetensors", "gguf"):
        total = (item.get(key) or {}).get("total") if isinstance(item.get(key), dict) else None
        if isinstance(total, int) and not isinstance(total, bool) and 0 < total < INT64:
            return total
    return None


def gated(value: Any) -> str:
    if value is False:
        return Gated.NO
    if value in ("auto", "manual"):
        return value
    if value is True:
        return Gated.AUTO
    return Gated.UNKNOWN


class _Reader:
    """Reads one cleaned record's fields; a value of the wrong type is dropped with a note."""

    def __init__(self, item: dict[str, Any], notes: list[str]):
        self.item, self.notes = item, notes

    def wrong(self, key: str, expected: str) -> None:
        got = type(self.item[key]).__name__
        _note(self.notes, f"{key}: {expected} expected, got {got} (not stored)")

    def text(self, key: str, *, cut: bool = True) -> str | None:
        """A string column; one over its length is cut, or dropped where a cut one would be
        another value (a sha)."""
        value = self.item[key]
        if value is None:
            return ""
        if not isinstance(value, str):
            self.wrong(key, "a string")
            return None
        limit = COLUMN_CHARS.get(key)
        if limit and len(value) > limit and not cut:
            _note(self.notes, f"{key}: {len(value):,} characters, at most {limit} (not stored)")
            return None
        if limit and len(value) > limit:
            _note(self.notes, f"{key}: cut from {len(value):,} to {limit} characters")
            return value[:limit]
        return value

    def integer(self, key: str, limit: int) -> int | None:
        value = self.item[key]
        if value is None:
            return 0
        if not isinstance(value, int) or isinstance(value, bool) or not -limit <= value < limit:
            self.wrong(key, "an integer in range")
            return None
        return value

    def date(self, key: str) -> datetime | None:
        try:
            return parse_date(self.item[key])
        except MalformedRecord:
            self.wrong(key, "an ISO-8601 date")
            return None


def row_fields(
    item: dict[str, Any], *, digest: str | None = None, notes: list[str] | None = None
) -> dict[str, Any]:
    """Field values for the keys this record has; a key the Hub did not send stays untouched,
    and so does one whose value has the wrong type (it is noted in `ingest_notes`).

    `item` is a record passed through `clean` (whose `notes` go on). Raises MalformedRecord
    for a record that cannot be a row: no id, or an id no repo can have.
    """
    repo_id = item.get("id")
    if not isinstance(repo_id, str) or not repo_id:
        raise MalformedRecord("record without an id")
    if len(repo_id) > COLUMN_CHARS["repo_id"]:
        raise MalformedRecord(f"id of {len(repo_id):,} characters (at most 200)")
    notes = list(notes or [])
    read = _Reader(item, notes)
    fields: dict[str, Any] = {"repo_id": repo_id, "record_hash": digest or record_hash(item)}
    has = item.keys()
    if item.get("_id"):
        hub_id = read.text("_id", cut=False)
        if hub_id is not None:
            fields["hub_id"] = hub_id
    namespace = repo_id.split("/")[0] if "/" in repo_id else ""
    fields["author"] = (read.text("author") if "author" in has else "") or namespace
    if "sha" in has and (sha := read.text("sha", cut=False)) is not None:
        fields["sha"] = sha
    for key, name in (("createdAt", "created_at"), ("lastModified", "last_modified")):
        if key in has and ((value := read.date(key)) is not None or item[key] is None):
            fields[name] = value
    for key in ("private", "disabled"):
        if key in has:
            fields[key] = bool(item[key])
    if "gated" in has:
        fields["gated"] = gated(item["gated"])
        if fields["gated"] == Gated.UNKNOWN and item["gated"] is not None:
            _note(notes, f"gated: unknown value {str(item['gated'])[:40]!r} (stored as unknown)")
    for key, limit in (("downloads", INT64), ("likes", 2**31)):
        if key in has and (count := read.integer(key, limit)) is not None:
            fields[key] = count
    for key in ("library_name", "pipeline_tag"):
        if key in has and (text := read.text(key)) is not None:
            fields[key] = text
    if "tags" in has:
        fields["tags"] = _tags(item["tags"], notes)
    if "cardData" in has:
        card = item["cardData"]
        if card is not None and not isinstance(card, dict):
            read.wrong("cardData", "an object")
            card = None
        fields["card_data"] = None if card is None else bounded_card(card, notes)
    if item.get("siblings") is not None:
        fields["siblings"] = _siblings(item["siblings"], notes)
    if "safetensors" in has or "gguf" in has:
        fields["parameter_count"] = parameter_count(item)
    if "baseModels" in has:
        fields["base_models"] = _base_models(item["baseModels"], notes)
    fields["change_key"] = change_key(item)
    fields["raw"] = bounded_raw(item) if len(notes) else item
    fields["ingest_notes"] = notes
    return fields


def _base_models(value: Any, notes: list[str]) -> dict[str, Any] | None:
    """model_info's `{"relation": str, "models": [{"id": str}, ...]}`; a part of another JSON
    type is dropped with a note (lineage reads only strings and lists from it)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        _note(notes, f"baseModels: an object expected, got {type(value).__name__} (not stored)")
        return None
    out = dict(value)
    for key, kind, name in (("relation", str, "a string"), ("models", list, "a list")):
        if key in out and out[key] is not None and not isinstance(out[key], kind):
            _note(notes, f"baseModels.{key}: {name} expected, got {type(out[key]).__name__}")
            out.pop(key)
    return out


def _tags(value: Any, notes: list[str]) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        _note(notes, f"tags: a list expected, got {type(value).__name__} (not stored)")
        return []
    tags = [t for t in value if isinstance(t, str)]
    if len(tags) < len(value):
        _note(notes, f"tags: {len(value) - len(tags)} that are not strings dropped")
    if len(tags) > MAX_TAGS:
        _note(notes, f"tags: cut from {len(tags):,} to {MAX_TAGS:,}")
    return tags[:MAX_TAGS]


def _siblings(value: Any, notes: list[str]) -> list[str] | None:
    if not isinstance(value, list):
        _note(notes, f"siblings: a list expected, got {type(value).__name__} (not stored)")
        return None
    names = [
        s["rfilename"] for s in value if isinstance(s, dict) and isinstance(s.get("rfilename"), str)
    ]
    if len(names) < len(value):
        _note(notes, f"siblings: {len(value) - len(names)} entries without a file name dropped")
    return names
