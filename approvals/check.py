"""The pipeline check: may this model (at this revision) be used for this purpose now?

This is the hot path of the API (a deployment pipeline asks before every pull), so it is one raw,
parameterised SQL statement instead of ORM querysets: the approvals covering the model for the use
(coverage -> approval -> model, by the indexed coverage(model_id) and the unique repo_id) and,
in the same round trip, the model's active waivers (waiver(model_id, revoked) index). Then a
little Python over tuples decides. Nothing is cached, so a decision or a re-review shows at once.
tests/approvals/test_check_lean.py pins the answers to the previous ORM implementation's."""

from __future__ import annotations

import functools
import json
from datetime import date
from typing import Any

from django.db import connection
from django.urls import get_script_prefix, get_urlconf, reverse

from catalog.models import HubModel

from .models import ApprovalRequest, Coverage, Status, Waiver

_A, _C, _W = (m._meta.db_table for m in (ApprovalRequest, Coverage, Waiver))
_M = HubModel._meta.db_table
# Column positions of a row; waiver rows (kind 1) reuse ID, STATUS (its reason), REVISION,
# EXPIRES and REASON (its evidence link), the rest is NULL.
KIND, ID, STATUS, SCOPE, REVISION, EXPIRES, REASON, ATTRIBUTION, INTERNAL, TEXT, RULE, CHANGES = (
    range(12)
)
FOR_MODEL, SHA = 12, 13
SQL = f"""
SELECT 0 AS kind, a.id, a.status, a.scope, a.revision, a.expires_at, a.reason,
       a.attribution_required, a.internal_only, a.conditions_text, a.decided_by_rule_id,
       a.changes, m.repo_id, cm.sha, a.created_at
  FROM {_C} c
  JOIN {_M} cm ON cm.id = c.model_id
  JOIN {_A} a ON a.id = c.approval_id
  JOIN {_M} m ON m.id = a.model_id
 WHERE cm.repo_id = %s AND a.intended_use = %s AND a.status <> %s
UNION ALL
SELECT 1, w.id, w.reason, NULL, w.revision, w.expires_at, w.evidence_link,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
  FROM {_W} w
  JOIN {_M} wm ON wm.id = w.model_id
 WHERE wm.repo_id = %s AND w.revoked = %s AND w.expires_at >= %s AND w.revision IN ('', %s)
 ORDER BY 1, 15 DESC, 2 DESC  -- kind, then approvals newest first (created_at, id)
"""  # table names come from model meta; every value is a parameter
APPROVED = frozenset({Status.APPROVED.value, Status.CONDITIONAL.value})
RANK = {Status.NEEDS_REREVIEW.value: 0, Status.PENDING.value: 1, Status.REJECTED.value: 2}
_NEVER = date.max


def _date(value: Any) -> date | None:
    # PostgreSQL and Django's SQLite converters give dates; a bare string is parsed to be safe.
    return date.fromisoformat(value) if isinstance(value, str) else value


def _expiry(row: tuple) -> date:
    return row[EXPIRES] or _NEVER


def _conditions(row: tuple) -> list[str]:
    out = []
    if row[ATTRIBUTION]:
        out.append("attribution required")
    if row[INTERNAL]:
        out.append("internal only")
    if row[TEXT]:
        out.append(row[TEXT])
    return out


@functools.lru_cache(maxsize=8)
def _url_template(prefix: str, urlconf: str | None) -> str:
    # reverse() once per script prefix and URLconf, then format: the page of request #pk.
    return reverse("approvals:request_detail", args=[918273645]).replace("918273645", "{}")


def _approval(row: tuple) -> dict[str, Any]:
    url = _url_template(get_script_prefix(), get_urlconf()).format(row[ID])
    return {"id": row[ID], "url": url,
            "scope": row[SCOPE], "revision": row[REVISION] or None, "for_model": row[FOR_MODEL],
            "conditions": _conditions(row), "decided_by_rule": row[RULE]}  # fmt: skip


def fetch(repo_id: str, revision: str, use: str, today: date) -> tuple[list[tuple], list[tuple]]:
    """(approval rows newest first, active waiver rows) in one statement."""
    with connection.cursor() as cursor:
        cursor.execute(SQL, [repo_id, use, Status.WITHDRAWN.value, repo_id, False, today, revision])
        rows = cursor.fetchall()
    approvals: list[tuple] = []
    waivers: list[tuple] = []
    for row in rows:
        if isinstance(row[EXPIRES], str):
            row = (*row[:EXPIRES], _date(row[EXPIRES]), *row[EXPIRES + 1 :])
        (waivers if row[KIND] else approvals).append(row)
    return approvals, waivers


def check(repo_id: str, *, revision: str = "", use: str) -> dict[str, Any]:
    today = date.today()
    rows, waivers = fetch(repo_id, revision, use, today)
    if rows:
        # A pinned (revision-scoped) approval applies to its sha: the asked one, else the
        # model's current one.
        pin = revision or rows[0][SHA]
        rows = [r for r in rows if r[SCOPE] != "revision" or not r[REVISION] or r[REVISION] == pin]
    allowed = [r for r in rows if r[STATUS] in APPROVED and _expiry(r) >= today]
    if allowed:
        best = max(allowed, key=_expiry)
        return {"allowed": True, "status": best[STATUS],
                "reasons": [f"approved for {use} (request #{best[ID]})"],
                "approval": _approval(best), "expires": best[EXPIRES]}  # fmt: skip
    if waivers:
        waiver = max(waivers, key=_expiry)
        return {"allowed": True, "status": "waived",
                "reasons": [f"waiver #{waiver[ID]}: {waiver[STATUS]}", waiver[REASON]],
                "approval": None, "expires": waiver[EXPIRES]}  # fmt: skip
    if not rows:
        return {"allowed": False, "status": "not_requested",
                "reasons": [f"no approval of {repo_id} for {use}"], "approval": None,
                "expires": None}  # fmt: skip
    open_ = sorted((r for r in rows if r[STATUS] in RANK), key=lambda r: RANK[r[STATUS]])
    if open_:
        row = open_[0]
        status = row[STATUS]
        if status == Status.NEEDS_REREVIEW:
            changes = row[CHANGES]
            changes = json.loads(changes) if isinstance(changes, str | bytes) else changes
            reasons = ["needs re-review: the model changed since approval"] + [
                f"{c['field']}: {c['before']} -> {c['after']}" for c in changes or []
            ]
        elif status == Status.PENDING:
            reasons = ["the request waits for a decision"]
        else:
            reasons = [f"rejected: {row[REASON]}"]
        return {"allowed": False, "status": status, "reasons": reasons,
                "approval": _approval(row), "expires": row[EXPIRES]}  # fmt: skip
    row = max((r for r in rows if r[STATUS] in APPROVED), key=_expiry)  # all past expiry
    return {"allowed": False, "status": "expired", "reasons": [f"expired {row[EXPIRES]}"],
            "approval": _approval(row), "expires": row[EXPIRES]}  # fmt: skip
