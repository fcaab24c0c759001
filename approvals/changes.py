"""What an approval was decided on, and what changed since: the re-review's "what changed".

`snapshot(model)` records, for the model and each known ancestor, the license result and the
evidence it came from (per source: tag, card fields, LICENSE files with their revision and
etag), plus gated status and sha. `diff(before, after)` compares two snapshots and says, one
line per change, which model (this one or which ancestor), which field, and old -> new. A
change of evidence that keeps the license key names the part of the evidence that changed
(a tag, the card's license_name, a LICENSE file's text or revision), never "llama2 -> llama2".

Snapshots written before the evidence was recorded (gated, sha, declared, effective,
inherited_keys, conflict, digest; ancestors as [declared, digest, gated]) are still read: what
they lack is said to be unrecorded rather than guessed.
"""

from __future__ import annotations

from typing import Any

from catalog.models import Gated, HubModel, ModelFile
from licenses import ancestry, training
from licenses.models import LineageStatus, ModelLicense
from usage.models import UsageProfile
from usage.verdict import answer, inputs_for

THIS = "this model"
GATED = {**dict(Gated.choices), "": "unknown", "unknown": "unknown"}
# Fields derived from the model's own evidence (or a determination), in the order shown.
OWN = {
    "declared": "declared license",
    "verdict": "own verdict",
    "determination": "manual determination",
    "conditions": "license conditions",
}
# Fields that follow from the ancestors' results. For an ancestor these repeat what its own
# ancestors' lines say, so they are shown only when nothing else explains its change.
PROPAGATED = {
    "effective": "effective verdict (with ancestors)",
    "inherited_keys": "licenses inherited from ancestors",
    "restrictor": "most restrictive ancestor",
    "conflict": "license conflict",
    "lineage_status": "lineage",
    "datasets": "training datasets and their licenses",
    "data_commercial": "training data's verdict",
    "data_status": "training data",
    "data_conflict": "training-data conflict",
}
SOURCES = {
    "tag": "license tag",
    "card.license": "card license",
    "card.license_name": "card license_name",
    "card.license_link": "card license_link",
    "linked_file": "linked license file",
    "card.extra_gated_prompt": "license text in the gating prompt",
    "readme": "README license section",
}


# --- recording ---------------------------------------------------------------------------


def snapshot(model: HubModel, profile: UsageProfile | None = None) -> dict[str, Any]:
    """The model's facts (top level, with its sha) and each known ancestor's, by repo id; with
    a profile, the model's verdict for it by its terms (usage.verdict)."""
    chain = [a for a in ancestry.ancestors(model) if a["model"]]
    models = [model, *(a["model"] for a in chain)]
    own = ModelLicense.objects.filter(model=model).select_related("assessment").first()
    etags: dict[tuple[int, str], str] = {
        (mid, path): etag
        for mid, path, etag in ModelFile.objects.filter(model__in=models).values_list(
            "model_id", "path", "etag"
        )
    }
    snap = {"sha": model.sha, **facts(model, own, etags)}
    snap["ancestors"] = {a["id"]: facts(a["model"], a["state"], etags) for a in chain if a["state"]}
    if profile is not None:
        snap["profile"] = {"slug": profile.slug,
                           "verdict": answer(profile.circumstances, inputs_for(model)).verdict}  # fmt: skip
    return snap


def facts(
    model: HubModel, state: ModelLicense | None, etags: dict[tuple[int, str], str]
) -> dict[str, Any]:
    out: dict[str, Any] = {"gated": model.gated or "unknown"}
    if state is None:
        return out
    out.update(declared=state.declared, verdict=state.verdict, effective=state.effective,
               inherited_keys=sorted(state.inherited_keys), restrictor=state.restrictor,
               conflict=state.conflict, lineage_status=state.lineage_status,
               data_commercial=state.data_commercial, data_status=state.data_status,
               data_conflict=state.data_conflict, digest=state.digest)  # fmt: skip
    a = state.assessment
    if a is not None:
        out.update(
            determination={"id": a.determination_id, "license": a.declared}
            if a.determination_id
            else None,
            conditions=sorted(c["code"] for c in a.conditions),
            # The determination's own evidence item is the `determination` field already.
            evidence=[
                _evidence(e, model.pk, etags)
                for e in a.evidence
                if e.get("source") != "determination"
            ],
            notes=list(a.notes),
            datasets=[
                f"{d['id']}: {d['license'] or d['state'].replace('_', ' ')}"
                for d in training.rows_of(a.datasets)
            ],
        )
    return out


def _evidence(item: dict[str, Any], model_id: int, etags: dict) -> dict[str, Any]:
    source = str(item.get("source", ""))
    out = {"source": source, "value": item.get("value"), "key": item.get("key")}
    if item.get("score") is not None:
        out["score"] = round(float(item["score"]), 3)
    if item.get("revision"):
        out["revision"] = item["revision"]
    if source.startswith("file:"):
        out["etag"] = etags.get((model_id, source[5:]), "")
    return out


# --- comparing ---------------------------------------------------------------------------


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """What changed, one dict per change: {model, field, before, after, note}; `model` is the
    repo id of the ancestor, or "" for the approved model itself."""
    changes = _changes(THIS, "", before, after, ancestor=False)
    was, now = before.get("profile"), after.get("profile")
    if isinstance(was, dict) and isinstance(now, dict) and was.get("verdict") != now.get("verdict"):
        changes.append(_line(THIS, "", f"verdict for {now.get('slug')}", was.get("verdict"),
                             now.get("verdict"), "the profile or the model's terms changed"))  # fmt: skip
    old, new = before.get("ancestors", {}), after.get("ancestors", {})
    for repo_id in sorted(set(old) | set(new)):
        a, b = _read(old.get(repo_id)), _read(new.get(repo_id))
        who = f"ancestor {repo_id}"
        if a is None and b is not None:
            changes.append(_line(who, repo_id, "lineage", "not known when decided",
                                 f"known now, declares {_key(b)}",
                                 "crawled since, or a parent edge was added"))  # fmt: skip
        elif b is None and a is not None:
            changes.append(_line(who, repo_id, "lineage", f"declared {_key(a)}",
                                 "no longer a known ancestor"))  # fmt: skip
        elif a is not None and b is not None:
            changes += _changes(who, repo_id, a, b, ancestor=True)
    return changes


def revision_change(pinned: str, sha: str) -> dict[str, Any]:
    return _line(THIS, "", "revision", pinned, sha or "unknown",
                 "the approval is pinned to that revision")  # fmt: skip


def _read(value: Any) -> dict[str, Any] | None:
    """An ancestor's facts; snapshots before the evidence was recorded kept a list."""
    if isinstance(value, list):
        declared, digest, gated = (list(value) + [None, None, None])[:3]
        return {"declared": declared, "digest": digest, "gated": gated}
    return value


def _line(who: str, repo_id: str, what: str, before: Any, after: Any, note: str = "") -> dict:
    out = {"model": repo_id, "field": f"{who}: {what}", "before": _show(before),
           "after": _show(after)}  # fmt: skip
    if note:
        out["note"] = note
    return out


def _show(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _key(facts: dict[str, Any]) -> str:
    return facts.get("declared") or "no license"


def _changes(
    who: str, repo_id: str, a: dict[str, Any], b: dict[str, Any], *, ancestor: bool
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if "gated" in a and a.get("gated") != b.get("gated"):
        out.append(_line(who, repo_id, "gated status", GATED.get(a["gated"] or "", a["gated"]),
                         GATED.get(b.get("gated") or "", b.get("gated"))))  # fmt: skip
    if "digest" not in a:
        if "digest" in b and not ancestor:
            out.append(_line(who, repo_id, "license", "not assessed when decided",
                             f"{_key(b)} ({b.get('verdict') or b.get('effective')})"))  # fmt: skip
        return out
    if a.get("digest") == b.get("digest"):
        return out  # the license result and its evidence are as they were
    lines = []
    for key, label in OWN.items():
        if key not in a or a.get(key) == b.get(key):
            continue
        if key == "conditions" and a.get("declared") != b.get("declared"):
            continue  # a new license has new conditions: the declared line says it
        before, after = a.get(key), b.get(key)
        if key == "determination":
            before, after = _determination(before), _determination(after)
        lines.append(_line(who, repo_id, label, before, after))
    lines += _evidence_lines(who, repo_id, a, b)
    if not ancestor or not lines:
        for key, label in PROPAGATED.items():
            # A snapshot taken before a field was recorded (lineage_complete, until issue 13
            # made it a status) shows no change of it.
            if key in a and key in b and a.get(key) != b.get(key):
                before, after = a.get(key), b.get(key)
                if key == "lineage_status":
                    before, after = _lineage(before), _lineage(after)
                elif key in ("conflict", "data_conflict"):
                    before, after = _conflict(before), _conflict(after)
                lines.append(_line(who, repo_id, label, before, after))
    if not lines and "notes" in a and a.get("notes") != b.get("notes"):
        lines.append(_line(who, repo_id, "license assessment notes", a.get("notes"),
                           b.get("notes")))  # fmt: skip
    lines = [line for line in lines if line["before"] != line["after"]]
    if not lines:
        if "evidence" not in a:
            lines.append(_line(who, repo_id, "license evidence", "not recorded in detail when decided",
                               _summary(b.get("evidence")) if "evidence" in b else "changed",
                               f"the declared license is {_key(b)} as before"
                               if a.get("declared") == b.get("declared") else ""))  # fmt: skip
        else:
            lines.append(_line(who, repo_id, "license assessment", f"#{a['digest'][:8]}",
                               f"#{b.get('digest', '')[:8]}",
                               "the license, verdicts, conditions and evidence are as before"))  # fmt: skip
    return out + lines


def _determination(value: dict | None) -> str:
    return f"#{value['id']} {value['license']}" if value else "none"


def _lineage(value: Any) -> str:
    return LineageStatus(value).label if value in LineageStatus.values else str(value)


def _conflict(value: Any) -> str:
    return "conflict" if value else "no conflict"


def _label(source: str) -> str:
    if source.startswith("file:"):
        return f"{source[5:]} file"
    return SOURCES.get(source, source)


def _summary(evidence: list[dict] | None) -> str:
    parts = [f"{_label(e['source'])} {e.get('key') or 'unrecognised'}" for e in evidence or []]
    return "; ".join(parts) or "no license evidence"


def _reads(items: list[dict]) -> str:
    """What a source's items read as: their keys, or the raw value when unrecognised."""
    return ", ".join(i.get("key") or f"“{_short(i.get('value'))}” (unrecognised)" for i in items)


def _short(value: Any, n: int = 80) -> str:
    text = " ".join(str(value or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _evidence_lines(who: str, repo_id: str, a: dict, b: dict) -> list[dict[str, Any]]:
    if "evidence" not in a or "evidence" not in b:
        return []
    old, new = a["evidence"], b["evidence"]
    sources = list(dict.fromkeys([e["source"] for e in new] + [e["source"] for e in old]))
    lines = []
    for source in sources:
        x = [e for e in old if e["source"] == source]
        y = [e for e in new if e["source"] == source]
        if x == y:
            continue
        what = f"license evidence: {_label(source)}"
        if not x:
            lines.append(_line(who, repo_id, what, "absent", f"reads {_reads(y)}"))
        elif not y:
            lines.append(_line(who, repo_id, what, f"read {_reads(x)}", "absent"))
        elif [e.get("key") for e in x] != [e.get("key") for e in y] or len(x) != len(y):
            lines.append(_line(who, repo_id, what, _reads(x), _reads(y)))
        else:
            lines += [
                _same_key(who, repo_id, what, e, f) for e, f in zip(x, y, strict=True) if e != f
            ]
    if lines and a.get("declared") == b.get("declared"):
        # The key held: say so once, with the resolver's own reason when it gave a new one.
        why = [n for n in b.get("notes", []) if n not in a.get("notes", [])]
        stays = f"the declared license stays {_key(b)}"
        lines[0]["note"] = "; ".join(filter(None, [lines[0].get("note"), stays, *why]))
    return lines


def _same_key(who: str, repo_id: str, what: str, e: dict, f: dict) -> dict[str, Any]:
    """One piece of evidence that reads as the same license as before: what part changed."""
    key = e.get("key") or "no license"
    if e.get("value") != f.get("value"):
        before, after = _short(e.get("value")), _short(f.get("value"))
        if before == after:  # a long text reworded past what is quoted
            return _line(who, repo_id, f"{what} text", "as decided", "reworded",
                         f"both read as {key}")  # fmt: skip
        return _line(who, repo_id, what, f"“{before}”", f"“{after}”",
                     f"both read as {key}")  # fmt: skip
    text_changed = e.get("etag") and f.get("etag") and e["etag"] != f["etag"]
    score = ""
    if e.get("score") != f.get("score"):
        score = f"similarity to the {key} text {e.get('score')} → {f.get('score')}"
    if text_changed:
        return _line(who, repo_id, f"{what} text", f"as of {_at(e)}", f"changed as of {_at(f)}",
                     "; ".join(filter(None, [f"still matches {key}", score])))  # fmt: skip
    if e.get("revision") != f.get("revision"):
        same = "same text" if e.get("etag") and e.get("etag") == f.get("etag") else ""
        return _line(who, repo_id, f"{what} read at revision", _rev(e), _rev(f),
                     "; ".join(filter(None, [same, f"still matches {key}", score])))  # fmt: skip
    if score:
        return _line(who, repo_id, f"{what} similarity", e.get("score"), f.get("score"),
                     f"still matches {key}")  # fmt: skip
    # Only the etag is left to differ (a file first read without one, say).
    return _line(who, repo_id, f"{what} etag", e.get("etag") or "unknown",
                 f.get("etag") or "unknown", f"still matches {key}")  # fmt: skip


def _rev(item: dict) -> str:
    return (item.get("revision") or "unknown")[:12]


def _at(item: dict) -> str:
    if item.get("revision"):
        return f"revision {item['revision'][:12]}"
    return f"etag {str(item.get('etag'))[:12]}"
