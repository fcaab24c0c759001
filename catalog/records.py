"""Turning Hub records (list items and model_info answers) into catalog rows."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from huggingface_hub.hf_api import ModelInfo

from .models import Gated

# Keys that move daily without the repo changing.
VOLATILE = {"downloads", "likes", "trendingScore", "downloadsAllTime"}

FORMAT_FILES = [
    ("safetensors", re.compile(r"\.safetensors$")),
    ("gguf", re.compile(r"\.gguf$")),
    ("pickle", re.compile(r"\.(bin|pt|pth|ckpt|pkl|pickle)$")),
    ("onnx", re.compile(r"\.onnx$")),
]
FORMAT_TAGS = {"safetensors": "safetensors", "gguf": "gguf", "onnx": "onnx", "mlx": "mlx"}


def record_hash(item: Any) -> str:
    # The Hub sends a record's keys in a stable order: no need to sort them.
    return hashlib.md5(json.dumps(item).encode(), usedforsecurity=False).hexdigest()


def change_key(item: dict[str, Any]) -> str:
    """What tells that the repo itself changed: its sha, else lastModified, else its content."""
    if item.get("sha"):
        return item["sha"]
    if item.get("lastModified"):
        return item["lastModified"]
    return "h:" + record_hash([v for k, v in item.items() if k not in VOLATILE])


def sibling_names(info: ModelInfo) -> list[str] | None:
    if info.siblings is None:
        return None
    return [s.rfilename for s in info.siblings]


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


def parameter_count(info: ModelInfo) -> int | None:
    if info.safetensors is not None and info.safetensors.total:
        return int(info.safetensors.total)
    gguf = info.gguf or {}
    if isinstance(gguf, dict) and isinstance(gguf.get("total"), int):
        return gguf["total"]
    return None


def card_dict(info: ModelInfo) -> dict[str, Any] | None:
    if info.card_data is None:
        return None
    return info.card_data.to_dict()


def gated(value: Any) -> str:
    if value is False:
        return Gated.NO
    if value in ("auto", "manual"):
        return value
    if value is True:
        return Gated.AUTO
    return Gated.UNKNOWN


def row_fields(item: dict[str, Any], info: ModelInfo) -> dict[str, Any]:
    """Field values for the keys this record has; a key the Hub did not send stays untouched."""
    fields: dict[str, Any] = {"repo_id": info.id, "raw": item, "record_hash": record_hash(item)}
    if item.get("_id"):
        fields["hub_id"] = item["_id"]
    has = item.keys()
    fields["author"] = info.author or (info.id.split("/")[0] if "/" in info.id else "")
    if "sha" in has:
        fields["sha"] = info.sha or ""
    if "createdAt" in has:
        fields["created_at"] = info.created_at
    if "lastModified" in has:
        fields["last_modified"] = info.last_modified
    for key in ("private", "disabled"):
        if key in has:
            fields[key] = bool(item[key])
    if "gated" in has:
        fields["gated"] = gated(item["gated"])
    if "downloads" in has:
        fields["downloads"] = info.downloads or 0
    if "likes" in has:
        fields["likes"] = info.likes or 0
    if "library_name" in has:
        fields["library_name"] = info.library_name or ""
    if "pipeline_tag" in has:
        fields["pipeline_tag"] = info.pipeline_tag or ""
    if "tags" in has:
        fields["tags"] = info.tags or []
    if "cardData" in has:
        fields["card_data"] = card_dict(info)
    if item.get("siblings") is not None:
        fields["siblings"] = sibling_names(info)
    if "safetensors" in has or "gguf" in has:
        fields["parameter_count"] = parameter_count(info)
    if "baseModels" in has:
        fields["base_models"] = info.base_models
    fields["change_key"] = change_key(item)
    return fields
