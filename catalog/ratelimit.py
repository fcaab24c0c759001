"""The Hub's `RateLimit` and `RateLimit-Policy` headers (IETF draft-ietf-httpapi-ratelimit-headers-09).

    RateLimit: "api";r=<remaining>;t=<seconds to reset>
    RateLimit-Policy: "fixed window";"api";q=<quota>;w=<window seconds>

huggingface_hub's `parse_ratelimit_headers` reads both, but finds the policy's numbers with
`q=(\\d+).*?w=(\\d+)`, which takes quadratic time on a header of many `q=` without a `w=`
(0.25 s for 16 kB, 4 s for 64 kB), and it drops the policy's bucket name. The headers are read
on every answer, so they are parsed here by splitting, in one pass, with the bucket named.
Values outside sane bounds are dropped: a header is Hub input like any other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

BUCKETS = ("api", "resolvers")
MAX_QUOTA = 1_000_000_000  # hubreplay's "unlimited"; anything larger counts as this
MAX_WINDOW = 86_400


@dataclass(frozen=True)
class Announced:
    """What one answer said of one bucket; a field the answer did not give is None."""

    bucket: str
    remaining: int | None = None
    reset: int | None = None
    quota: int | None = None
    window: int | None = None


def read(headers: Mapping[str, str]) -> list[Announced]:
    """Every bucket of ours that the answer's headers speak of, limits and policy merged."""
    found: dict[str, dict[str, int]] = {}
    for name, keys in (("ratelimit", ("r", "t")), ("ratelimit-policy", ("q", "w"))):
        for bucket, params in _items(_header(headers, name)):
            found.setdefault(bucket, {}).update({k: params[k] for k in keys if k in params})
    out = []
    for bucket, p in found.items():
        window = p.get("w") if 0 < p.get("w", 0) <= MAX_WINDOW else None
        quota = min(p["q"], MAX_QUOTA) if p.get("q", 0) > 0 and window else None
        remaining = min(p["r"], MAX_QUOTA) if "r" in p else None
        reset = min(p["t"], window or MAX_WINDOW) if "t" in p else None
        out.append(Announced(bucket, remaining, reset, quota, window if quota else None))
    return out


def _header(headers: Mapping[str, str], name: str) -> str:
    # httpx joins repeated headers with ", ", which is also the list separator of the draft.
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name), "")
    return value


def _items(value: str) -> list[tuple[str, dict[str, int]]]:
    """`"fixed window";"api";q=500;w=300, ...` -> [("api", {"q": 500, "w": 300}), ...]."""
    items = []
    for item in value.split(","):
        bucket, params = None, {}
        for part in item.split(";"):
            part = part.strip()
            if len(part) > 2 and part[0] == part[-1] == '"' and part[1:-1] in BUCKETS:
                bucket = part[1:-1]
            key, eq, number = part.partition("=")
            number = number.strip()
            if eq and number.isascii() and number.isdigit() and len(number) <= 18:
                params[key.strip()] = int(number)
        if bucket:
            items.append((bucket, params))
    return items
