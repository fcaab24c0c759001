"""Turning Hub records (list items and model_info answers) into catalog rows."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any

import orjson

from .models import Gated

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


def record_hash(item: Any) -> str:
    # The Hub sends a record's keys in a stable order: no need to sort them.
    return hashlib.md5(orjson.dumps(item), usedforsecurity=False).hexdigest()


def change_key(item: dict[str, Any]) -> str:
    """What tells that the repo itself changed: its sha, else lastModified, else its content."""
    if item.get("sha"):
        return item["sha"]
    if item.get("lastModified"):
        return item["lastModified"]
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


class MalformedRecord(ValueError):
    """A Hub record we cannot read; the message says which field and why."""


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
        if isinstance(total, int) and total > 0:
            return total
    return None


def _text(item: dict[str, Any], key: str) -> str:
    value = item.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MalformedRecord(f"{key} should be a string, not {type(value).__name__}")
    return value


def gated(value: Any) -> str:
    if value is False:
        return Gated.NO
    if value in ("auto", "manual"):
        return value
    if value is True:
        return Gated.AUTO
    return Gated.UNKNOWN


def row_fields(item: dict[str, Any], *, digest: str | None = None) -> dict[str, Any]:
    """Field values for the keys this record has; a key the Hub did not send stays untouched.

    Raises MalformedRecord for a record whose fields do not have the Hub's types.
    """
    repo_id = item.get("id")
    if not isinstance(repo_id, str) or not repo_id:
        raise MalformedRecord("record without an id")
    fields: dict[str, Any] = {
        "repo_id": repo_id,
        "raw": item,
        "record_hash": digest or record_hash(item),
    }
    if item.get("_id"):
        fields["hub_id"] = _text(item, "_id")
    has = item.keys()
    fields["author"] = _text(item, "author") or (repo_id.split("/")[0] if "/" in repo_id else "")
    if "sha" in has:
        fields["sha"] = _text(item, "sha")
    if "createdAt" in has:
        fields["created_at"] = parse_date(item["createdAt"])
    if "lastModified" in has:
        fields["last_modified"] = parse_date(item["lastModified"])
    for key in ("private", "disabled"):
        if key in has:
            fields[key] = bool(item[key])
    if "gated" in has:
        fields["gated"] = gated(item["gated"])
    for key in ("downloads", "likes"):
        if key in has:
            if not isinstance(item[key], int | None):
                raise MalformedRecord(f"{key} should be an integer, not {item[key]!r}")
            fields[key] = item[key] or 0
    for key in ("library_name", "pipeline_tag"):
        if key in has:
            fields[key] = _text(item, key)
    if "tags" in has:
        tags = item["tags"] or []
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise MalformedRecord("tags should be a list of strings")
        fields["tags"] = tags
    if "cardData" in has:
        card = item["cardData"]
        if card is not None and not isinstance(card, dict):
            raise MalformedRecord(f"cardData should be an object, not {type(card).__name__}")
        fields["card_data"] = card
    if item.get("siblings") is not None:
        try:
            fields["siblings"] = [s["rfilename"] for s in item["siblings"]]
        except (TypeError, KeyError) as exc:
            raise MalformedRecord("siblings should be a list of {rfilename}") from exc
    if "safetensors" in has or "gguf" in has:
        fields["parameter_count"] = parameter_count(item)
    if "baseModels" in has:
        fields["base_models"] = item["baseModels"] if isinstance(item["baseModels"], dict) else None
    fields["change_key"] = change_key(item)
    return fields
