"""Assessing models against the database: evidence in, results compared, only changes written.

`assess(model_ids)` re-assesses the given models (own license from their evidence or a manual
determination, then their effective license from their parents' stored states) and writes an
`Assessment` history row plus the `ModelLicense` row only for models whose result changed. It
returns the ids that changed, so the caller (the Celery task) fans out to their children.

`assess_all()` does the whole catalog in one pass: resolution in memory, propagation over the
whole lineage graph in topological order, then the same compare-and-write of changed rows only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from catalog import bulk, datasets
from catalog.lineage import derivative_kind, models_named
from catalog.models import HubModel, LineageEdge, ModelFile, RepoAlias, TrainingData
from catalog.signals import bulk_written

from . import compliance, inherit, signals, suspects, training
from .classify import UNKNOWN, classify
from .models import Assessment, Determination, License, LineageStatus, ModelLicense, gaps_of
from .resolve import REVIEW_BELOW, Resolution, link_target, resolve

CHUNK = 2000
STATE_FIELDS = [
    "declared",
    "verdict",
    "effective",
    "conflict",
    "lineage_status",
    "lineage_gaps",
    "suspected_bases",
    "duties_unmet",
    "data_commercial",
    "data_status",
    "data_conflict",
    "data_carried",
    "needs_review",
    "manual",
    "confidence",
    "inherited_verdict",
    "inherited_keys",
    "restrictor",
    "restrictor_key",
    "assessment",
    "digest",
    "assessed_at",
]


@dataclass
class Own:
    key: str | None
    verdict: str
    conditions: list[dict[str, str]]
    resolution: Resolution
    determination: Determination | None = None
    suspects: list[dict[str, Any]] = field(default_factory=list)  # licenses.suspects, a root's
    facts: compliance.Facts | None = None  # a derivative's, for the duties its licenses set
    data: training.Standing = field(default_factory=lambda: training.standing([], {}, ""))
    carried: list[training.Carried] = field(default_factory=list)  # passed on to its children

    @property
    def suspect_key(self) -> str:
        return self.suspects[0]["license"] if self.suspects else ""


@dataclass
class Report:
    assessed: int = 0
    changed: list[int] = field(default_factory=list)
    missing: set[str] = field(default_factory=set)


# --- own result ---------------------------------------------------------------------------


def own_result(
    model: HubModel,
    files: dict[str, str],
    *,
    linked: dict[str, str] | None = None,
    determination: Determination | None = None,
) -> Own:
    res = resolve(
        repo_id=model.repo_id,
        tags=model.tags or [],
        card=model.card_data,
        files=files,
        linked=linked,
        revision=model.sha,
    )
    if determination is not None:
        verdict, conditions = classify(determination.license_key)
        manual = {
            "source": "determination",
            "value": determination.reason,
            "key": determination.license_key,
            "link": determination.evidence_link,
            "by": str(determination.decided_by or ""),
            "at": determination.decided_at.isoformat(),
        }
        res = Resolution(
            determination.license_key,
            1.0,
            [manual, *res.evidence],
            res.mismatch,
            [
                f"manual determination overrides the automatic result ({res.key or 'none'})",
                *res.notes,
            ],
        )
        return Own(determination.license_key, verdict, conditions, res, determination)
    verdict, conditions = classify(res.key)
    return Own(res.key, verdict, conditions, res)


def _payload(own: Own, state: inherit.State) -> dict[str, Any]:
    res = own.resolution
    return {
        "declared": own.key or "",
        "verdict": own.verdict,
        "conditions": own.conditions,
        "effective": state.effective,
        "effective_conditions": inherit.effective_conditions(own.conditions, state.inherited_keys),
        "conflict": state.conflict,
        "conflict_reasons": inherit.conflict_reasons(state),
        "lineage_complete": state.complete,
        "lineage_status": state.status,
        "lineage_gaps": state.gaps,
        "missing_ancestors": list(state.missing),
        "suspected_bases": own.suspects,
        "duty_checks": (
            compliance.check(own.facts, own.key, state.inherited_keys)
            if own.facts is not None and state.inherited_keys
            else []
        ),  # fmt: skip
        "evidence": res.evidence,
        "notes": res.notes,
        "confidence": res.confidence,
        "mismatch": res.mismatch,
        "determination_id": own.determination.pk if own.determination else None,
        "data": {
            "commercial": own.data.commercial,
            "status": own.data.status,
            "conditions": own.data.conditions,
            "unknown": own.data.unknown,
            "conflict": own.data.conflict,
            "reasons": own.data.reasons,
            "datasets": own.data.datasets,
            "carried": [list(c) for c in own.carried],
        },  # fmt: skip
        "inherited": [
            state.restrictor,
            state.restrictor_key,
            state.inherited_verdict,
            sorted(state.inherited_keys),
        ],
    }


def _digest(payload: dict[str, Any]) -> str:
    return hashlib.md5(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def needs_review(own: Own, state: inherit.State) -> bool:
    return own.determination is None and (
        own.verdict == UNKNOWN
        or own.resolution.confidence < REVIEW_BELOW
        or state.conflict
        or suspicion_binds(state)
    )


def suspicion_binds(state: inherit.State) -> bool:
    """A suspected base, its own or upstream, whose license is more restrictive than the verdict
    Canopy gives: a reviewer confirms (a determination) or dismisses it."""
    return any(
        inherit.more_permissive(state.effective, classify(key)[0]) for key in state.suspicion_keys
    )


def with_suspects(
    own: Own, model: HubModel, files: dict[str, str], raw: tuple[Any, Any] = (None, None)
) -> Own:
    """The model's own result with its suspected bases: only for a model naming no base and
    not decided by hand (a determination confirms or dismisses them)."""
    if own.determination is None:
        own.suspects = suspects.suspect(
            model.repo_id, declared=own.key, tags=model.tags if isinstance(model.tags, list) else [],
            config=raw[0], readme=files.get("README.md", ""), gguf=raw[1],
        )  # fmt: skip
    return own


def _facts(model: HubModel, files: dict[str, str]) -> compliance.Facts:
    return compliance.facts(model.repo_id, model.siblings, files.get("README.md"))


def _raw_of(model_ids: list[int]) -> dict[int, tuple[Any, Any]]:
    """The config and GGUF header the Hub gave with the details (None for list-only records).
    The whole record is read, not its keys through the database's JSON functions: SQLite's would
    decode a config the Hub sent as a JSON string."""
    rows = HubModel.objects.filter(
        Q(card_data__isnull=False) | Q(details_at__isnull=False), pk__in=model_ids
    ).values_list("pk", "raw")
    return {
        pk: (raw.get("config"), raw.get("gguf")) if isinstance(raw, dict) else (None, None)
        for pk, raw in rows
    }


# --- loading -------------------------------------------------------------------------------


def _files(model_ids: list[int]) -> dict[int, dict[str, str]]:
    out: dict[int, dict[str, str]] = {}
    for mid, path, text in ModelFile.objects.filter(model_id__in=model_ids).values_list(
        "model_id", "path", "text"
    ):
        out.setdefault(mid, {})[path] = text
    return out


def _linked(models: list[HubModel]) -> dict[str, str]:
    """Texts of other crawled repos' files that license_links point to ("owner/repo/path")."""
    wanted: dict[str, tuple[str, str]] = {}
    for m in models:
        link = (m.card_data or {}).get("license_link") if isinstance(m.card_data, dict) else None
        if isinstance(link, str):
            kind, target = link_target(link, m.repo_id)
            if kind == "hf":
                repo, _, path = target.partition("/")[2].partition("/")
                wanted[target] = (target.split("/")[0] + "/" + repo, path)
    if not wanted:
        return {}
    query = Q()
    for repo, path in wanted.values():
        query |= Q(model__repo_id=repo, path=path)
    found = {
        (r, p): t
        for r, p, t in ModelFile.objects.filter(query).values_list("model__repo_id", "path", "text")
    }
    return {target: found[rp] for target, rp in wanted.items() if rp in found}


def _determinations(model_ids: list[int]) -> dict[int, Determination]:
    rows = Determination.objects.filter(model_id__in=model_ids, active=True).select_related(
        "decided_by"
    )
    return {d.model_id: d for d in rows}


def _with_data(
    own: Mapping[Any, Own],
    declared: Mapping[Any, list[tuple[str, str]]],
    parents: Mapping[Any, list[Any]],
    stored: Mapping[Any, list[training.Carried]],
    names: Mapping[Any, str],
    states: Mapping[Any, inherit.State],
) -> None:
    """Each model's training-data standing (licenses.training) beside its weights' state: the
    datasets it and its ancestors declare (parents in the batch first, others as stored)."""
    carried = training.carry({k: declared.get(k, []) for k in own}, parents, stored, names)
    wanted = {d for c in carried.values() for d, _, _ in c}
    terms_of = {d: training.terms(r) for d, r in datasets.records_of(wanted).items()}
    for k, o in own.items():
        o.carried = carried[k]
        o.data = training.standing(carried[k], terms_of, states[k].effective)


def _state_of(row: ModelLicense) -> inherit.State:
    rank = inherit.RANK.get(row.inherited_verdict, inherit.NO_RANK)
    gaps = gaps_of(row.lineage_gaps)
    baseless = tuple(gaps["baseless"])
    suspicion = row.suspicion
    return inherit.State(
        row.declared or None,
        row.verdict,
        rank,
        row.restrictor,
        row.restrictor_key,
        frozenset(row.inherited_keys),
        row.lineage_complete,
        tuple(gaps["missing"]),
        tuple(gaps["unknown_terms"]),
        row.lineage_status == LineageStatus.NO_BASE and not baseless,
        baseless,
        suspicion.own[0]["license"] if suspicion.own else "",
        suspicion.upstream,
        frozenset(suspicion.upstream_keys),
    )


# --- writing -------------------------------------------------------------------------------


def _write(results: list[tuple[int, Own, inherit.State]], now) -> list[int]:
    """Compare with the stored digests and write only what changed. Returns changed model ids."""
    ids = [mid for mid, _, _ in results]
    stored: dict[int, str] = {}
    for start in range(0, len(ids), 10000):
        stored.update(
            ModelLicense.objects.filter(model_id__in=ids[start : start + 10000]).values_list(
                "model_id", "digest"
            )
        )
    changed = []
    for mid, own, state in results:
        payload = _payload(own, state)
        digest = _digest(payload)
        if stored.get(mid) != digest:
            changed.append((mid, own, state, payload, digest))
    for start in range(0, len(changed), CHUNK):
        batch = changed[start : start + CHUNK]
        with transaction.atomic():
            rows = [
                Assessment(
                    model_id=mid,
                    declared=p["declared"],
                    verdict=p["verdict"],
                    conditions=p["conditions"],
                    effective=p["effective"],
                    effective_conditions=p["effective_conditions"],
                    conflict=p["conflict"],
                    conflict_reasons=p["conflict_reasons"],
                    lineage_complete=p["lineage_complete"],
                    lineage_status=p["lineage_status"],
                    lineage_gaps=p["lineage_gaps"],
                    missing_ancestors=p["missing_ancestors"],
                    suspected_bases=p["suspected_bases"],
                    duty_checks=p["duty_checks"],
                    data_commercial=p["data"]["commercial"],
                    data_status=p["data"]["status"],
                    data_conditions=p["data"]["conditions"],
                    data_conflict=p["data"]["conflict"],
                    data_conflict_reasons=p["data"]["reasons"],
                    datasets=p["data"]["datasets"],
                    inherited_from=[
                        {
                            "id": state.restrictor,
                            "key": state.restrictor_key,
                            "verdict": state.inherited_verdict,
                        }
                    ]
                    if state.restrictor
                    else [],
                    evidence=p["evidence"],
                    notes=p["notes"],
                    confidence=p["confidence"],
                    mismatch=p["mismatch"],
                    determination=own.determination,
                    revision=next(
                        (e.get("revision", "") for e in p["evidence"] if e.get("revision")), ""
                    ),
                    digest=digest,
                    assessed_at=now,
                )
                for mid, own, state, p, digest in batch
            ]
            Assessment.objects.bulk_create(rows)
            if any(r.pk is None for r in rows):  # a backend that does not return ids
                latest = dict(
                    Assessment.objects.filter(
                        model_id__in=[r.model_id for r in rows], assessed_at=now
                    ).values_list("model_id", "pk")
                )
                for r in rows:
                    r.pk = latest[r.model_id]
            states = [
                ModelLicense(
                    model_id=mid,
                    declared=p["declared"],
                    verdict=p["verdict"],
                    effective=p["effective"],
                    conflict=p["conflict"],
                    lineage_status=p["lineage_status"],
                    lineage_gaps=p["lineage_gaps"],
                    suspected_bases=p["suspected_bases"],
                    duties_unmet=any(c["met"] is False for c in p["duty_checks"]),
                    data_commercial=p["data"]["commercial"],
                    data_status=p["data"]["status"],
                    data_conflict=p["data"]["conflict"],
                    data_carried=p["data"]["carried"],
                    needs_review=needs_review(own, state),
                    manual=own.determination is not None,
                    confidence=p["confidence"],
                    inherited_verdict=state.inherited_verdict,
                    inherited_keys=sorted(state.inherited_keys),
                    restrictor=state.restrictor,
                    restrictor_key=state.restrictor_key,
                    assessment=row,
                    digest=digest,
                    assessed_at=now,
                )
                for (mid, own, state, p, digest), row in zip(batch, rows, strict=True)
            ]
            ModelLicense.objects.bulk_create(
                states, update_conflicts=True, unique_fields=["model"], update_fields=STATE_FIELDS
            )
            signals.states_written.send(sender=ModelLicense, model_ids=[mid for mid, *_ in batch])
    return [c[0] for c in changed]


# --- entry points --------------------------------------------------------------------------


def _parent_edges(model_ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for child, parent in LineageEdge.objects.filter(child_id__in=model_ids).values_list(
        "child_id", "parent_repo_id"
    ):
        out.setdefault(child, []).append(parent)
    return out


def assess(model_ids: Iterable[int]) -> Report:
    """Re-assess these models from their evidence and their parents' stored states."""
    ids = sorted(set(model_ids))
    report = Report()
    now = timezone.now()
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        models = {
            m.pk: m
            for m in HubModel.objects.filter(pk__in=chunk).only(
                "id", "repo_id", "tags", "card_data", "sha", "library_name", "siblings"
            )
        }
        files = _files(chunk)
        linked = _linked(list(models.values()))
        determinations = _determinations(chunk)
        edges = _parent_edges(chunk)
        parent_models = models_named({p for ps in edges.values() for p in ps})
        stored, stored_data = {}, {}
        for row in ModelLicense.objects.filter(model_id__in=[m.pk for m in parent_models.values()]):
            stored[row.model_id] = _state_of(row)
            stored_data[row.model_id] = training.stored_carried(row.data_carried)
        raw = _raw_of(chunk)
        own = {
            pk: own_result(
                m, files.get(pk, {}), linked=linked, determination=determinations.get(pk)
            )
            for pk, m in models.items()
        }
        for pk, m in models.items():
            named = [n for n in edges.get(pk, []) if getattr(parent_models.get(n), "pk", 0) != pk]
            if not named:  # naming only itself is naming no base (_batch_states)
                with_suspects(own[pk], m, files.get(pk, {}), raw.get(pk, (None, None)))
            else:
                own[pk].facts = _facts(m, files.get(pk, {}))
        derivatives = {pk for pk, m in models.items() if derivative_kind(m)}
        states = _batch_states(own, edges, parent_models, stored, derivatives)
        parent_pks = {
            pk: [parent_models[n].pk for n in edges.get(pk, []) if n in parent_models]
            for pk in models
        }
        names = {m.pk: m.repo_id for m in parent_models.values()} | {
            pk: m.repo_id for pk, m in models.items()
        }
        _with_data(own, datasets.declared_by(chunk), parent_pks, stored_data, names, states)
        results = []
        for pk in own:
            state = states[pk]
            results.append((pk, own[pk], state))
            report.missing.update(state.missing)
        report.assessed += len(results)
        report.changed.extend(_write(results, now))
    return report


def _batch_states(
    own: dict[int, Own],
    edges: dict[int, list[str]],
    parent_models: dict[str, HubModel],
    stored: dict[int, inherit.State],
    derivatives: set[int],
) -> dict[int, inherit.State]:
    """States of a batch: parents in the batch first (their new state), others as stored."""
    done: dict[int, inherit.State] = {}

    def state_of(pk: int, stack: frozenset[int]) -> inherit.State:
        if pk in done:
            return done[pk]
        parents: list[tuple[str, inherit.State | None]] = []
        named = False  # a parent other than itself
        for name in edges.get(pk, []):
            pm = parent_models.get(name)
            if pm is not None and pm.pk == pk:
                continue  # itself (by its id or an alias): no parent (inherit.propagate too)
            named = True
            if pm is None:
                parents.append((name, None))
            elif pm.pk in stack:  # a cycle within the batch: its stored state, as propagate's
                if pm.pk in stored:  # later rounds read it; none yet: not read
                    parents.append((pm.repo_id, stored[pm.pk]))
            elif pm.pk in own:
                parents.append((pm.repo_id, state_of(pm.pk, stack | {pk})))
            else:
                parents.append((pm.repo_id, stored.get(pm.pk)))
        o = own[pk]
        if parents:
            done[pk] = inherit.combine(o.key, o.verdict, parents)
        else:
            done[pk] = inherit.root(o.key, o.verdict, lacks_base=pk in derivatives and not named,
                                    suspect=o.suspect_key)  # fmt: skip
        return done[pk]

    for pk in own:
        state_of(pk, frozenset())
    return done


def assess_all(*, batch: int = 20000) -> Report:
    """The whole catalog: resolve every model, propagate over the whole graph, write changes."""
    now = timezone.now()
    report = Report()
    own: dict[int, Own] = {}
    repo_of = dict(HubModel.objects.order_by("pk").values_list("pk", "repo_id"))
    pks = list(repo_of)
    determinations = {d.model_id: d for d in Determination.objects.filter(active=True)}
    derivatives: set[str] = set()  # a parentless one names no base: incomplete
    # An alias names its model, except where a crawled model has that id itself (lineage's rule).
    name_to_id = dict(RepoAlias.objects.values_list("alias", "model_id"))
    name_to_id.update({repo: pk for pk, repo in repo_of.items()})
    graph_parents: dict[str, list[str]] = {}
    named_base: set[int] = set()  # models naming a base other than themselves
    for child, parent in LineageEdge.objects.values_list("child_id", "parent_repo_id").iterator(
        chunk_size=20000
    ):
        pid = name_to_id.get(parent)
        graph_parents.setdefault(repo_of[child], []).append(repo_of[pid] if pid else parent)
        if pid != child:
            named_base.add(child)
    for start in range(0, len(pks), batch):
        chunk = pks[start : start + batch]
        models = list(
            HubModel.objects.filter(pk__in=chunk).only(
                "id", "repo_id", "tags", "card_data", "sha", "library_name", "siblings"
            )
        )
        files = _files(chunk)  # as assess() reads them: a README without a YAML header too
        linked = _linked([m for m in models if m.card_data])
        raw = _raw_of(chunk)
        for m in models:
            if derivative_kind(m):
                derivatives.add(m.repo_id)
            own[m.pk] = own_result(
                m, files.get(m.pk, {}), linked=linked, determination=determinations.get(m.pk)
            )
            if m.pk not in named_base:
                with_suspects(own[m.pk], m, files.get(m.pk, {}), raw.get(m.pk, (None, None)))
            else:
                own[m.pk].facts = _facts(m, files.get(m.pk, {}))
    suspected = {repo_of[pk]: o.suspect_key for pk, o in own.items() if o.suspects}
    states = inherit.propagate(
        {repo_of[pk]: (o.key, o.verdict) for pk, o in own.items()},
        graph_parents,
        derivatives,
        suspected,
    )
    declared: dict[str, list[tuple[str, str]]] = {}
    for mid, name, source in (
        TrainingData.objects.values_list("model_id", "dataset_repo_id", "source")
        .order_by("pk")
        .iterator(chunk_size=20000)
    ):
        declared.setdefault(repo_of[mid], []).append((name, source))
    _with_data({repo_of[pk]: o for pk, o in own.items()}, declared, graph_parents, {}, {}, states)
    results = [(pk, o, states[repo_of[pk]]) for pk, o in own.items()]
    for _, _, s in results:
        report.missing.update(s.missing)
    report.assessed = len(results)
    report.changed = _write(results, now)
    if len(report.changed) > 10_000:
        bulk.analyze(ModelLicense, Assessment)
        bulk_written.send(sender=ModelLicense)
    return report


# --- manual determinations -----------------------------------------------------------------


def can_determine(user) -> bool:
    """Who may record a manual determination: holders of licenses.add_determination (the legal
    role, and superusers). Staff status opens the admin and decides nothing here."""
    return user.is_authenticated and user.has_perm("licenses.add_determination")


def _result(model: HubModel) -> dict[str, Any] | None:
    state = ModelLicense.objects.filter(model=model).first()
    if state is None:
        return None
    return {"declared": state.declared, "verdict": state.verdict, "effective": state.effective,
            "conflict": state.conflict, "manual": state.manual}  # fmt: skip


def _lock(model: HubModel) -> None:
    # The model's row, not its determinations: there may be none yet, and two reviewers
    # deciding the same model at once must still leave exactly one active determination.
    HubModel.objects.select_for_update().filter(pk=model.pk).values_list("pk").first()


def _recorded(by, action: str, determination: Determination, model: HubModel, detail: dict) -> None:
    """Tell the audit log (approvals subscribes) inside this transaction: a failure there
    undoes the determination, and with nobody listening none is made."""
    if not signals.determination_recorded.has_listeners(Determination):
        raise ImproperlyConfigured("no audit log records license determinations")
    signals.determination_recorded.send(
        sender=Determination, by=by, action=action, determination=determination, model=model,
        detail=detail,
    )  # fmt: skip


@transaction.atomic
def determine(
    *, model: HubModel, license_key: str, reason: str, by, evidence_link: str = ""
) -> tuple[Determination, Report]:
    """Record a legal user's determination of a model's license: it replaces the active one,
    the model is re-assessed at once, and the audit log says who decided what, and what it
    replaced. Every way in (the review queue, the model's license page) goes through here and
    the admin is read-only, so none can skip the log. The caller queues the children of
    `report.changed`."""
    if not can_determine(by):
        raise PermissionDenied("you may not record license determinations")
    if not License.objects.filter(key=license_key).exists():
        raise ValidationError(f"{license_key} is not in the license knowledge base")
    if not reason.strip():
        raise ValidationError("a determination needs a reason")
    _lock(model)
    previous = list(Determination.objects.filter(model=model, active=True))
    before = _result(model)
    Determination.objects.filter(pk__in=[d.pk for d in previous]).update(active=False)
    made = Determination.objects.create(
        model=model, license_key=license_key, reason=reason, evidence_link=evidence_link,
        decided_by=by,
    )  # fmt: skip
    report = assess([model.pk])
    # Approvals decided on this model re-review now; those on its descendants when the fan-out
    # (the caller's) re-assesses them, so their changes say what changed for them too.
    signals.assessed.send(
        sender=Report, model_ids=[model.pk], changed=report.changed, through_ancestors=False
    )
    _recorded(
        by, "determination.changed" if previous else "determination.created", made, model,
        {"license": license_key, "reason": reason, "evidence_link": evidence_link,
         "replaces": [{"id": d.pk, "license": d.license_key} for d in previous],
         "before": before, "after": _result(model)},
    )  # fmt: skip
    return made, report


@transaction.atomic
def revoke_determination(*, model: HubModel, reason: str, by) -> Report:
    """Withdraw a model's active determination: the automatic result applies again."""
    if not can_determine(by):
        raise PermissionDenied("you may not revoke license determinations")
    if not reason.strip():
        raise ValidationError("a revocation needs a reason")
    _lock(model)
    active = list(Determination.objects.filter(model=model, active=True))
    if not active:
        raise ValidationError(f"{model.repo_id} has no manual determination to revoke")
    before = _result(model)
    Determination.objects.filter(pk__in=[d.pk for d in active]).update(active=False)
    report = assess([model.pk])
    # Approvals decided on this model re-review now; those on its descendants when the fan-out
    # (the caller's) re-assesses them, so their changes say what changed for them too.
    signals.assessed.send(
        sender=Report, model_ids=[model.pk], changed=report.changed, through_ancestors=False
    )
    for d in active:
        _recorded(
            by, "determination.revoked", d, model,
            {"license": d.license_key, "reason": reason, "decided_by": str(d.decided_by or ""),
             "decided_at": d.decided_at.isoformat(), "before": before, "after": _result(model)},
        )  # fmt: skip
    return report
