"""The audit log's hash chain: each entry's hash covers its content and the previous entry's
hash, so a row changed, removed or slipped in after the fact breaks every link after it.

The serialization below is frozen: the hashes stored depend on it byte for byte (migration
0004 chained the rows that existed before it with this same function)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# pg_advisory_xact_lock key of the audit log's tail ("audi" in ASCII): one writer at a time.
LOCK_KEY = 0x61756469


def canonical_detail(detail: Any) -> Any:
    """The detail as the JSON column gives it back (tuples as lists, keys as strings)."""
    return json.loads(json.dumps(detail if detail is not None else {}))


def _numbers(value: Any) -> Any:
    """Integral floats as ints: PostgreSQL's jsonb gives 1e20 back as 100000000000000000000."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    return value


def canonical_at(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def entry_hash(entry: Any, prev_hash: str) -> str:
    """SHA-256 over the entry's content as canonical JSON, the previous hash first."""
    content = [
        prev_hash, canonical_at(entry.at), entry.actor_user_id, entry.actor_label, entry.action,
        entry.object_type, entry.object_id, entry.repo_id, _numbers(canonical_detail(entry.detail)),
    ]  # fmt: skip
    body = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


def lock_tail(connection) -> None:
    """Held to the end of the transaction, so two writers never chain onto the same entry.
    SQLite needs none: the project opens its transactions IMMEDIATE, which serializes writers
    (and the unique prev_hash refuses a fork should a configuration not)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])


@dataclass
class Verdict:
    checked: int
    broken_at: int | None = None
    problem: str = ""
    head: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_at is None

    def __str__(self) -> str:
        if self.intact:
            return f"{self.checked} entries, chain intact (head {self.head or 'none'})"
        return f"chain broken at entry #{self.broken_at}: {self.problem}"


def verify(entries: Iterable[Any]) -> Verdict:
    """Walk the entries in id order and stop at the first broken link."""
    prev_hash, prev_id, n = "", None, 0
    for entry in entries:
        if entry.prev_hash != prev_hash:
            before = f"entry #{prev_id}'s hash" if prev_id else "the start of the chain"
            return Verdict(n, entry.pk, f"its previous-hash link ({entry.prev_hash[:12] or 'empty'}) "
                           f"does not match {before} ({prev_hash[:12] or 'empty'}): an entry "
                           "before it was removed, inserted or rewritten")  # fmt: skip
        computed = entry_hash(entry, entry.prev_hash)
        if computed != entry.hash:
            return Verdict(n, entry.pk, f"its content does not match its hash (stored "
                           f"{entry.hash[:12] or 'empty'}, computed {computed[:12]}): it was "
                           "changed after it was written")  # fmt: skip
        prev_hash, prev_id, n = entry.hash, entry.pk, n + 1
    return Verdict(n, head=prev_hash)
