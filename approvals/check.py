"""The pipeline check: may this model (at this revision) be used for this purpose now?

This is the hot path of the API (a deployment pipeline asks before every pull), so it is one raw,
parameterised SQL statement instead of ORM querysets: the approvals covering the model for the use
(coverage -> approval -> model, by the indexed coverage(model_id) and the unique repo_id) and,
in the same round trip, the model's active waivers (waiver(model_id, revoked) index). Then a
little Python over tuples decides. Nothing is cached, so a decision or a re-review shows at once.
tests/approvals/test_check_lean.py pins the answers to the previous ORM implementation's.

`token_check` is the same statement with the bearer token's lookup in front (unique digest,
not revoked, active user): the lean WSGI path (approvals/middleware.py) answers a pipeline in
one round trip, and reads approvals only for a live token. On PostgreSQL the statement goes
through a server-binding cursor, which psycopg prepares after a few runs on a connection
(DATABASES' prepare_threshold): planning the joins costs several times what running them does.
"""

from __future__ import annotations

import functools
import json
from datetime import date
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.urls import get_script_prefix, get_urlconf, reverse

from catalog.models import HubModel
from licenses import obligations
from licenses.models import LineageStatus, ModelLicense, lineage_summary, suspicion_of
from usage.models import UsageProfile
from usage.verdict import answer as verdict_answer
from usage.verdict import inputs_of

from .auth import TokenRef, token_params, token_ref, token_sql
from .models import ApprovalRequest, Coverage, Status, Waiver
from .profiles import Result

_A, _C, _W = (m._meta.db_table for m in (ApprovalRequest, Coverage, Waiver))
_M = HubModel._meta.db_table
_L = ModelLicense._meta.db_table
# Column positions of a row; waiver rows (kind 1) reuse ID, STATUS (its reason), REVISION,
# EXPIRES and REASON (its evidence link), the token's row (kind 2) ID, STATUS (its name), RULE
# (its user) and CHANGES (its scopes); the model's license row (kind 3) STATUS (its declared key),
# CHANGES (its ancestors' keys), from which the answer's obligations are read, SCOPE (its lineage
# status), REASON (the ancestors the status names, as JSON text), TEXT (its suspected bases),
# REVISION (its training data's verdict) and INTERNAL (its training-data conflict); the rest NULL.
KIND, ID, STATUS, SCOPE, REVISION, EXPIRES, REASON, ATTRIBUTION, INTERNAL, TEXT, RULE, CHANGES = (
    range(12)
)
FOR_MODEL, SHA = 12, 13
# Two more: PROFILE (an approval's profile, the token's), PIPELINE (the license row's model's
# pipeline tag, which the EU clause of a profile's verdict reads).
PROFILE, PIPELINE = 15, 16
APPROVAL, WAIVER, TOKEN, LICENSE = 0, 1, 2, 3


def _sql(*, token: bool) -> str:
    # With a token, approvals and waivers are read only when the token is live (its CTE has a
    # row); the token's own row comes last, so the first branch fixes the column types.
    with_token, gate, token_row = "", "", ""
    if token:
        with_token = f"WITH tok AS ({token_sql()})"
        gate = "AND EXISTS (SELECT 1 FROM tok)"
        token_row = (
            "UNION ALL SELECT 2, id, name, NULL, NULL, NULL, NULL, NULL, NULL, NULL, user_id,"
            " scopes, NULL, NULL, NULL, profile_id, NULL FROM tok"
        )
    return f"""{with_token}
SELECT 0 AS kind, a.id, a.status, a.scope, a.revision, a.expires_at, a.reason,
       a.attribution_required, a.internal_only, a.conditions_text, a.decided_by_rule_id,
       a.changes, m.repo_id, cm.sha, a.created_at, a.profile_id, NULL
  FROM {_C} c
  JOIN {_M} cm ON cm.id = c.model_id
  JOIN {_A} a ON a.id = c.approval_id
  JOIN {_M} m ON m.id = a.model_id
 WHERE cm.repo_id = %s AND a.intended_use = %s AND a.status <> %s {gate}
UNION ALL
SELECT 1, w.id, w.reason, NULL, w.revision, w.expires_at, w.evidence_link,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
  FROM {_W} w
  JOIN {_M} wm ON wm.id = w.model_id
 WHERE wm.repo_id = %s AND w.revoked = %s AND w.expires_at >= %s AND w.revision IN ('', %s) {gate}
UNION ALL
SELECT 3, NULL, l.declared, l.lineage_status, l.data_commercial, NULL,
       CAST(l.lineage_gaps AS TEXT), NULL, l.data_conflict, CAST(l.suspected_bases AS TEXT), NULL,
       l.inherited_keys, NULL, NULL, NULL, NULL, lm.pipeline_tag
  FROM {_L} l
  JOIN {_M} lm ON lm.id = l.model_id
 WHERE lm.repo_id = %s {gate}
{token_row}
 ORDER BY 1, 15 DESC, 2 DESC  -- kind, then approvals newest first (created_at, id)
"""  # table names come from model meta; every value is a parameter


SQL = _sql(token=False)
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


def _cursor():
    """Django's cursor (logged, errors wrapped, health-checked); on PostgreSQL a server-binding
    one, because Django's default client-binding one never lets psycopg prepare."""
    conn = connections[DEFAULT_DB_ALIAS]  # once: each lookup goes through a thread-local
    if conn.vendor != "postgresql":
        return conn.cursor()
    from django.db.backends.postgresql.base import ServerBindingCursor

    conn.close_if_health_check_failed()
    conn.ensure_connection()
    with conn.wrap_database_errors:
        raw: Any = ServerBindingCursor(conn.connection)  # type: ignore[call-arg]
    return conn.make_debug_cursor(raw) if conn.queries_logged else conn.make_cursor(raw)


Rows = tuple[list[tuple], list[tuple], list[tuple], list[tuple]]


def _rows(sql: str, params: list[Any]) -> Rows:
    """(approval rows newest first, active waiver rows, token rows, license rows) of one
    statement."""
    with _cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    out: Rows = ([], [], [], [])
    for row in rows:
        if isinstance(row[EXPIRES], str):
            row = (*row[:EXPIRES], _date(row[EXPIRES]), *row[EXPIRES + 1 :])
        out[row[KIND]].append(row)
    return out


def _params(repo_id: str, revision: str, use: str, today: date) -> list[Any]:
    return [repo_id, use, Status.WITHDRAWN.value, repo_id, False, today, revision, repo_id]


def fetch(repo_id: str, revision: str, use: str, today: date) -> Rows:
    """(approval rows newest first, active waiver rows, [], license rows) in one statement."""
    return _rows(SQL, _params(repo_id, revision, use, today))


def _obligations(licenses: list[tuple]) -> dict[str, Any]:
    """The required texts of the model's license and its ancestors', from each license's own
    clauses (licenses.obligations), so a pipeline learns what to ship with the model; and
    whether they are all of them: only when its lineage is complete (every ancestor read, its
    license known)."""
    if not licenses:
        return {"obligations": [], "obligations_complete": False, "lineage_status": None}
    keys = licenses[0][CHANGES]
    keys = json.loads(keys) if isinstance(keys, str | bytes) else keys
    status = licenses[0][SCOPE]
    return {
        "obligations": obligations.as_json([licenses[0][STATUS], *(keys or [])]),
        "obligations_complete": status == LineageStatus.COMPLETE,
        "lineage_status": status,
    }


def _json(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str | bytes) else text
    except ValueError:
        return None  # lineage_summary reads what is not a JSON object as no names


def _with_license(answer: dict[str, Any], licenses: list[tuple]) -> dict[str, Any]:
    """The answer with what the license result adds: obligations and the lineage status, a
    reason when the terms upstream could not all be read (an approval stands; the pipeline is
    told)."""
    out = {**answer, **_obligations(licenses), "profile_verdict": None}
    gaps = _json(licenses[0][REASON]) if licenses else {}
    if summary := lineage_summary(out["lineage_status"] or "", gaps):
        out["reasons"] = [*out["reasons"], f"lineage: {summary}"]
    if licenses and (suspicion := suspicion_of(_json(licenses[0][TEXT]), gaps)):
        out["reasons"] = [*out["reasons"], f"suspected base: {suspicion.summary}"]
    if licenses and licenses[0][INTERNAL]:
        out["reasons"] = [
            *out["reasons"],
            f"training data: {licenses[0][REVISION]}; its weights are more permissive than the "
            "data they were trained on (the model's data_conflict_reasons name the datasets)",
        ]
    return out


@functools.cache
def _token_check_sql() -> str:
    return _sql(token=True)  # once the user model is known


def token_check(
    digest: str, repo_id: str, *, revision: str = "", use: str
) -> tuple[TokenRef | None, dict[str, Any] | None]:
    """The token (None unless live: not revoked or expired, its user active) and, if it has
    the `check` scope, the answer; one statement for both."""
    today = date.today()
    params = [*token_params(digest), *_params(repo_id, revision, use, today)]
    approvals, waivers, tokens, licenses = _rows(_token_check_sql(), params)
    if not tokens:
        return None, None
    row = tokens[0]
    ref = token_ref(row[ID], row[RULE], row[STATUS], row[CHANGES], row[PROFILE])
    if "check" not in ref.scopes:
        return ref, None
    answer = answer_for(repo_id, revision, use, today, approvals, waivers)
    out = _with_license(answer, licenses)
    if ref.profile_id is not None:
        profile = UsageProfile.objects.filter(pk=ref.profile_id).first()
        out = _with_profile(out, profile, approvals, waivers, licenses, today, revision)
    return ref, out


def check(
    repo_id: str, *, revision: str = "", use: str, profile: UsageProfile | None = None
) -> dict[str, Any]:
    today = date.today()
    rows, waivers, _, licenses = fetch(repo_id, revision, use, today)
    answer = answer_for(repo_id, revision, use, today, rows, waivers)
    out = _with_license(answer, licenses)
    return _with_profile(out, profile, rows, waivers, licenses, today, revision) if profile else out


def _with_profile(
    out: dict[str, Any], profile: UsageProfile | None, approvals: list[tuple],
    waivers: list[tuple], licenses: list[tuple], today: date, revision: str,
) -> dict[str, Any]:  # fmt: skip
    """The answer with the profile's verdict (usage.verdict, from the license row already read)
    and its reason first among the reasons."""
    if profile is None:
        return out
    lic = licenses[0] if licenses else None
    state = None if lic is None else (
        lic[STATUS], _json(lic[CHANGES]) or [], lic[SCOPE], _json(lic[REASON]) or {},
        _json(lic[TEXT]) or [], lic[REVISION], "")  # fmt: skip
    terms = verdict_answer(profile.circumstances, inputs_of(lic[PIPELINE] if lic else "", state))
    approved = [r[ID] for r in _pinned(approvals, revision)
                if r[PROFILE] == profile.pk and r[STATUS] in APPROVED and _expiry(r) >= today]  # fmt: skip
    waiver = max(waivers, key=_expiry)[ID] if waivers else None
    result = Result(profile, terms, waiver, approved[0] if approved else None)
    said = f"usable ({result.over}); by its terms {terms.summary}" if result.over else terms.summary
    line = f"for {profile.slug}: {said}"
    return {**out, "reasons": [line, *out["reasons"]], "profile_verdict": result.as_json()}


def _pinned(rows: list[tuple], revision: str) -> list[tuple]:
    """The approval rows that apply: a pinned (revision-scoped) approval applies to its sha,
    the asked one, else the model's current one."""
    if not rows:
        return rows
    pin = revision or rows[0][SHA]
    return [r for r in rows if r[SCOPE] != "revision" or not r[REVISION] or r[REVISION] == pin]


def answer_for(
    repo_id: str, revision: str, use: str, today: date, rows: list[tuple], waivers: list[tuple]
) -> dict[str, Any]:
    """The answer from the approval rows (newest first) and the active waivers."""
    rows = _pinned(rows, revision)
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
