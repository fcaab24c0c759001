"""Exports: CSV of approvals and of the audit log, a CycloneDX ML-BOM, a NOTICE bundle."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from django.http import StreamingHttpResponse

from catalog import hublink, lineage
from catalog.models import HubModel
from licenses import obligations, training
from licenses.models import License, ModelLicense, gaps_of

TEXTS = Path(__file__).resolve().parent.parent / "licenses" / "data" / "texts"
# What the knowledge base writes where no SPDX id exists: CycloneDX takes them as names only.
NOT_SPDX_IDS = {"NOASSERTION", "NONE"}


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv(name: str, header: list[str], rows) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    lines = (writer.writerow(r) for r in [header, *rows])
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def approvals_csv(qs) -> StreamingHttpResponse:
    header = ["id", "model", "revision", "use", "status", "scope", "requested_by", "created_at",
              "decided_by", "decided_by_rule", "decided_at", "expires_at", "conditions",
              "reason"]  # fmt: skip
    rows = (
        [r.pk, r.model.repo_id, r.revision, r.intended_use, r.status, r.scope,
         r.requested_by.get_username(), r.created_at.isoformat(),
         r.decided_by.get_username() if r.decided_by else "", r.decided_by_rule_id or "",
         r.decided_at.isoformat() if r.decided_at else "", r.expires_at or "",
         "; ".join([*r.structured_conditions, r.conditions_text]).strip("; "), r.reason]
        for r in qs.iterator(chunk_size=1000)
    )  # fmt: skip
    return _csv("approvals.csv", header, rows)


def audit_csv(qs) -> StreamingHttpResponse:
    header = ["id", "at", "actor", "action", "object_type", "object_id", "model", "detail"]
    rows = (
        [e.pk, e.at.isoformat(), e.actor_label, e.action, e.object_type, e.object_id, e.repo_id,
         json.dumps(e.detail, sort_keys=True, default=str)]
        for e in qs.iterator(chunk_size=2000)
    )  # fmt: skip
    return _csv("audit.csv", header, rows)


def _license_of(model: HubModel) -> tuple[ModelLicense | None, License | None]:
    state = ModelLicense.objects.filter(model=model).select_related("assessment").first()
    key = state.declared if state else ""
    return state, License.objects.filter(key=key).first() if key else None


def _properties(model: HubModel, state: ModelLicense | None) -> list[tuple[str, str]]:
    """Canopy's facts a BOM reader cannot derive: gating, and how far the terms the model
    inherits could be read (its lineage status, and the ancestors it names)."""
    out = [("canopy:gated", model.gated or "unknown")]
    if state is not None:
        out += [("canopy:effective_verdict", state.effective),
                ("canopy:lineage_status", state.lineage_status)]  # fmt: skip
        gaps = gaps_of(state.lineage_gaps)
        out += [(f"canopy:lineage_{k}", ", ".join(v)) for k, v in sorted(gaps.items()) if v]
        out += [("canopy:data_verdict", state.data_commercial),
                ("canopy:data_status", state.data_status),
                ("canopy:data_conflict", "yes" if state.data_conflict else "no")]  # fmt: skip
    return out


def _datasets(state: ModelLicense | None) -> list[dict[str, str]]:
    """The training data the model carries (its own and its ancestors'), as assessed."""
    return training.rows_of(state.assessment.datasets) if state and state.assessment else []


def ml_bom(models, site: str = "") -> dict[str, Any]:
    """A CycloneDX 1.6 ML-BOM: one machine-learning-model component per approved model, with its
    license and its ancestors as pedigree (built with cyclonedx-python-lib). Each links the real
    Hub's page (website; never the crawl endpoint, a replay serves no page) and, with `site`
    (this site's scheme and host), its page here (documentation)."""
    from cyclonedx.model import ExternalReference, ExternalReferenceType, Property, XsUri
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component, ComponentType, Pedigree
    from cyclonedx.model.license import DisjunctiveLicense
    from cyclonedx.output.json import JsonV1Dot6

    keys = {lic.key: lic for lic in License.objects.all()}

    def licensed(key: str) -> list[DisjunctiveLicense]:
        lic = keys.get(key)
        if lic is None:
            return []
        spdx = lic.spdx if lic.spdx and lic.spdx not in NOT_SPDX_IDS else None
        if spdx and spdx.startswith("LicenseRef"):
            spdx = None
        return [DisjunctiveLicense(id=spdx) if spdx else DisjunctiveLicense(name=lic.key)]

    data: dict[str, Component] = {}  # one data component per dataset, however many models

    def dataset(row: dict[str, str]) -> str:
        ref = f"dataset:{row['id']}"
        if ref not in data:
            url = hublink.url(row["id"], kind="datasets")
            data[ref] = Component(
                type=ComponentType.DATA, name=row["id"], bom_ref=ref,
                licenses=licensed(row["license"]),
                external_references=[ExternalReference(type=ExternalReferenceType.WEBSITE,
                                                       url=XsUri(url))] if url else [],
                properties=[Property(name="canopy:commercial_verdict", value=row["commercial"]),
                            Property(name="canopy:license_state", value=row["state"])],
            )  # fmt: skip
        return ref

    trained_on: dict[str, list[str]] = {}  # model component ref -> its data components' refs

    def component(model: HubModel, ref: str) -> Component:
        state, lic = _license_of(model)
        licenses = licensed(lic.key) if lic is not None else []
        trained_on[ref] = [dataset(row) for row in _datasets(state)]
        return Component(
            type=ComponentType.MACHINE_LEARNING_MODEL, name=model.repo_id, bom_ref=ref,
            version=model.sha or None, group=model.author or None, licenses=licenses,
            external_references=[
                *([ExternalReference(type=ExternalReferenceType.WEBSITE, url=XsUri(model.hub_url))]
                  if model.hub_url else []),
                *([ExternalReference(type=ExternalReferenceType.DOCUMENTATION,
                                     url=XsUri(site + model.get_absolute_url()))] if site else []),
            ],
            properties=[Property(name=k, value=v) for k, v in _properties(model, state)],
        )  # fmt: skip

    bom = Bom()
    for model in models:
        comp = component(model, f"model:{model.repo_id}")
        known = lineage.ancestor_models(model)
        if known:
            comp.pedigree = Pedigree(
                ancestors=[component(a, f"ancestor:{model.repo_id}:{a.repo_id}") for a in known]
            )
        bom.components.add(comp)
    for comp in data.values():
        bom.components.add(comp)
    out = json.loads(JsonV1Dot6(bom).output_as_string())
    # The library writes no modelCard yet: the datasets a model was trained on are referenced
    # from it here, as CycloneDX 1.6 puts them (modelCard.modelParameters.datasets[].ref).
    for comp in _walk(out.get("components", [])):
        refs = trained_on.get(comp.get("bom-ref", ""))
        if refs:
            comp["modelCard"] = {"modelParameters": {"datasets": [{"ref": r} for r in refs]}}
    return out


def _walk(components: list[dict[str, Any]]):
    for comp in components:
        yield comp
        yield from _walk(comp.get("pedigree", {}).get("ancestors", []))


def _duty_lines(lic: License) -> list[str]:
    """The license's own required texts and duties, each with its clause (licenses.obligations:
    from the license's knowledge-base entry, never from a family table)."""
    found = obligations.of_license(lic.key)
    out = []
    for d in found.duties if found else ():
        where = f" ({d.clause})" if d.clause else ""
        if d.text_unknown:
            out.append(f"  {d.label}{where}: required; its words are not in Canopy's knowledge "
                       "base: copy them from the license text")  # fmt: skip
        elif d.code == "naming" and d.text:
            out.append(f'  Naming{where}: names of derived models begin with "{d.text}"')
        elif d.text:
            kind = {"notice_file": "Notice", "attribution": "Attribution"}.get(d.code, d.label)
            out.append(f"  {kind}{where}: {d.text}")
        elif d.duty:
            out.append(f"  Pass-through{where}: {d.duty}")
        else:
            out.append(f"  Obligation: {d.label}")
    return out


def _training_lines(state: ModelLicense | None) -> list[str]:
    """The training data the model carries, with what each dataset's license asks: attribution
    for CC-BY and the like (whether those terms bind the weights is for a policy to decide;
    giving the credit costs nothing)."""
    rows = _datasets(state)
    if not rows:
        return []
    out = ["", "Training data (declared by the model or its ancestors):"]
    for row in rows:
        lic = License.objects.filter(key=row["license"]).first() if row["license"] else None
        via = f", declared by {row['via']}" if row["via"] else ""
        out.append(f"{row['id']}: {lic.name if lic else 'license unknown'} "
                   f"(commercial use {row['commercial']}{via})")  # fmt: skip
        if lic is not None and "attribution" in lic.codes:
            out.append(f"  Attribution: credit the dataset {row['id']} and its authors, and "
                       f"name its license ({lic.name}{', ' + lic.url if lic.url else ''})")  # fmt: skip
    return out


def notice(model: HubModel) -> str:
    """A NOTICE / obligations bundle: the licenses of the model and its ancestors, their
    obligations and required texts, use-policy links and the license texts."""
    ancestors = lineage.ancestors(model, depth=10)
    chain = [model, *(a["model"] for a in ancestors if a["model"])]
    # An ancestor the catalog lacks still binds the model: say so rather than read as complete.
    unread = list(dict.fromkeys(a["id"] for a in ancestors if not a["known"]))
    out = [f"NOTICE for {model.repo_id}" + (f" @ {model.sha}" if model.sha else ""), ""]
    texts: dict[str, str] = {}
    seen: set[str] = set()
    for m in chain:
        _, lic = _license_of(m)
        out.append(f"{m.repo_id}: {lic.name if lic else 'license unknown'}")
        if lic is None:
            continue
        if lic.key in seen:
            out.append("  (the same license: obligations as above)")
            continue
        seen.add(lic.key)
        out += _duty_lines(lic)
        for c in lic.conditions:
            if c["code"] == "aup" and c["value"]:
                out.append(f"  Acceptable use policy: {c['value']}")
        if lic.url:
            out.append(f"  License: {lic.url}")
        for name in lic.texts:
            path = TEXTS / name
            if path.is_file():
                texts[name] = path.read_text(errors="replace")
    for repo_id in unread:
        out.append(f"{repo_id}: not in the catalog: its license and obligations are not read, "
                   "so this NOTICE may be incomplete (check that model's license)")  # fmt: skip
    out += _training_lines(_license_of(model)[0])
    for name, text in texts.items():
        out += ["", "=" * 78, name, "=" * 78, text]
    return "\n".join(out) + "\n"
