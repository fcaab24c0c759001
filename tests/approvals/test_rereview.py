"""Check API answers and re-review when a crawl shows the base's license changed
(real family snapshot, then a constructed state with that one change)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from django.core import mail

from approvals import changes, review
from approvals.models import ApiToken, ApprovalRequest, Coverage, Status
from catalog import lineage
from catalog.models import HubModel, ModelFile
from licenses import assessment

from .conftest import ROOT, constructed_base_license_change, crawl_and_assess

pytestmark = pytest.mark.django_db
CHILD = "TheBloke/Llama-2-7B-Chat-GGUF"  # a quantization of ROOT
PIN = "a" * 40
TEXTS = Path(__file__).resolve().parents[2] / "licenses" / "data" / "texts"


def _lines(req: ApprovalRequest) -> dict[str, tuple[str, str]]:
    """{field: (before, after)} of the changes recorded, none of which may read "a -> a"."""
    assert all(c["before"] != c["after"] for c in req.changes), req.changes
    return {c["field"]: (c["before"], c["after"]) for c in req.changes}


def _approve(model: HubModel, users, **kw) -> ApprovalRequest:
    req = review.submit(model=model, use="research", justification="x", by=users["developer"],
                        **kw)  # fmt: skip
    return review.decide(req, by=users["approver"], status=Status.APPROVED)


def _check(client, token, **params):
    r = client.get("/api/v1/check", params, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.content
    return r.json()


def test_check_follows_the_approval_and_a_base_license_change_asks_for_re_review(
    replay,
    hub_for,
    users,
    client,
    tmp_path,
    django_assert_max_num_queries,
    django_capture_on_commit_callbacks,
):
    server = replay(["family.jsonl.gz"], [str(constructed_base_license_change(tmp_path))])
    crawl_and_assess(server, hub_for)
    _, token = ApiToken.issue(users["viewer"], name="ci", scopes=["check"])
    child = HubModel.objects.get(repo_id=CHILD)

    assert _check(client, token, model=CHILD, use="internal_tool")["status"] == "not_requested"
    req = review.submit(model=child, use="internal_tool", justification="chat bot",
                        by=users["developer"])  # fmt: skip
    assert _check(client, token, model=CHILD, use="internal_tool")["status"] == "pending"
    review.decide(req, by=users["approver"], status=Status.CONDITIONAL, attribution_required=True,
                  expires_at=date.today() + timedelta(days=90))  # fmt: skip
    with django_assert_max_num_queries(3):  # token, approvals (one join); no waiver read
        answer = _check(client, token, model=CHILD, use="internal_tool")
    assert answer["allowed"] is True and answer["status"] == "approved_with_conditions"
    assert answer["approval"]["conditions"] == ["attribution required"]
    assert answer["expires"] == (date.today() + timedelta(days=90)).isoformat()
    assert _check(client, token, model=CHILD, use="commercial_product")["allowed"] is False

    mail.outbox.clear()
    server.set_state(1)
    with django_capture_on_commit_callbacks(execute=True):  # the mail goes once the move commits
        crawl_and_assess(server, hub_for)
    assert HubModel.objects.get(repo_id=ROOT).tags.count("license:cc-by-nc-4.0") == 1

    req.refresh_from_db()
    assert req.status == Status.NEEDS_REREVIEW
    # The root's tag and card now say cc-by-nc-4.0 but its license text still wins: the page
    # names the evidence that changed and says the license held, never "llama2 -> llama2".
    assert _lines(req) == {
        f"ancestor {ROOT}: license evidence: license tag": ("llama2", "cc-by-nc-4.0"),
        f"ancestor {ROOT}: license evidence: card license": ("llama2", "cc-by-nc-4.0"),
    }
    assert req.changes[0]["model"] == ROOT
    assert req.changes[0]["note"].startswith("the declared license stays llama2; metadata says")
    answer = _check(client, token, model=CHILD, use="internal_tool")
    assert answer["allowed"] is False and answer["status"] == "needs_rereview"
    assert answer["reasons"][0].startswith("needs re-review")
    assert len(mail.outbox) == 1
    assert {"developer@example.com", "approver@example.com"} <= set(mail.outbox[0].to)

    client.force_login(users["developer"])
    page = client.get(f"/approvals/{req.pk}/")
    assert b"What changed since the decision" in page.content
    assert (
        "<code>llama2</code> → <code>cc-by-nc-4.0</code> <small>(the declared license stays llama2"
        in page.text
    )
    assert "card license: llama2 -> cc-by-nc-4.0" in mail.outbox[0].body


def test_a_family_approval_covers_quantizations_with_the_same_terms(family, users, client):
    root = HubModel.objects.get(repo_id=ROOT)
    req = review.submit(model=root, use="research", justification="x", by=users["developer"],
                        scope="family")  # fmt: skip
    review.decide(req, by=users["approver"], status=Status.APPROVED)
    covered = set(Coverage.objects.filter(approval=req).values_list("model__repo_id", flat=True))
    assert ROOT in covered and CHILD in covered
    assert "ALIN-LLM/finetune-llama-2-7b-chat-gsm8k" not in covered  # a finetune, not a quant
    _, token = ApiToken.issue(users["viewer"], name="ci", scopes=["check"])
    assert _check(client, token, model=CHILD, use="research")["allowed"] is True


def test_a_pinned_approval_covers_only_its_revision_and_a_waiver_allows(family, users, client):
    child = HubModel.objects.get(repo_id=CHILD)
    req = review.submit(model=child, use="hosted_service", justification="x",
                        by=users["developer"], revision=PIN)  # fmt: skip
    review.decide(req, by=users["approver"], status=Status.APPROVED)
    _, token = ApiToken.issue(users["viewer"], name="ci", scopes=["check"])
    assert _check(client, token, model=CHILD, use="hosted_service", revision=PIN)["allowed"]
    assert not _check(client, token, model=CHILD, use="hosted_service", revision="b" * 40)[
        "allowed"
    ]
    client.force_login(users["approver"])
    r = client.post("/approvals/waivers/", {"model": CHILD, "reason": "license_acquired",
                    "evidence_link": "https://example.com/contract",
                    "expires_at": (date.today() + timedelta(days=5)).isoformat()})  # fmt: skip
    assert r.status_code == 302
    answer = _check(client, token, model=CHILD, use="commercial_product")
    assert answer["allowed"] and answer["status"] == "waived"


def test_exports(family, users, client):
    root = HubModel.objects.get(repo_id=CHILD)
    req = review.submit(model=root, use="research", justification="x", by=users["developer"])
    review.decide(req, by=users["approver"], status=Status.APPROVED)
    client.force_login(users["approver"])
    bom = client.get("/approvals/bom.json").json()
    comp = bom["components"][0]
    assert comp["type"] == "machine-learning-model" and comp["name"] == CHILD
    assert comp["pedigree"]["ancestors"][0]["name"] == ROOT
    notice = client.get(f"/approvals/notice/{CHILD}/").content.decode()
    assert "Llama 2" in notice and ROOT in notice
    csv = b"".join(client.get("/approvals/export.csv").streaming_content).decode()
    assert CHILD in csv.splitlines()[1]


def test_dry_run_counts_what_a_policy_would_decide(family, users, client):
    from approvals.models import Policy

    p = Policy.objects.create(name="no llama2 in products", action="reject",
                              licenses=["llama2"], uses=["commercial_product"])  # fmt: skip
    client.force_login(users["viewer"])
    r = client.get(f"/approvals/policies/{p.pk}/dry-run/")
    rows = {u["use"]: u for u in r.context["per_use"]}
    assert rows["commercial_product"]["decided"] >= 1 and rows["research"]["decided"] == 0


def test_a_license_file_that_changes_but_keeps_its_key_says_what_changed(family, users):
    """CONSTRUCTED state: the quantization gets a LICENSE.txt (the Llama 2 text), then a new
    commit that leaves it alone, then one that edits it; the license stays llama2 throughout."""
    child = HubModel.objects.get(repo_id=CHILD)
    text = (TEXTS / "llama2__LICENSE.txt").read_text()
    file = ModelFile.objects.create(model=child, path="LICENSE.txt", text=text, etag="e1",
                                    revision="1" * 40)  # fmt: skip
    child.sha = "1" * 40
    child.save(update_fields=["sha"])
    assessment.assess([child.pk])
    req = _approve(child, users)

    child.sha = "2" * 40  # a commit that leaves the LICENSE as it was
    child.save(update_fields=["sha"])
    assessment.assess([child.pk])
    assert review.rereview([child.pk]) == [req.pk]
    req.refresh_from_db()
    assert _lines(req) == {
        "this model: license evidence: LICENSE.txt file read at revision": ("1" * 12, "2" * 12)
    }
    assert req.changes[0]["note"] == (
        "same text; still matches llama2; the declared license stays llama2"
    )

    req = _approve(child, users)
    file.text, file.etag = text + "\nQuantized by TheBloke; the terms above apply.\n", "e2"
    file.save(update_fields=["text", "etag"])
    child.sha = "3" * 40
    child.save(update_fields=["sha"])
    assessment.assess([child.pk])
    assert review.rereview([child.pk]) == [req.pk]
    req.refresh_from_db()
    assert _lines(req) == {
        "this model: license evidence: LICENSE.txt file text": (
            "as of revision 222222222222", "changed as of revision 333333333333",
        )
    }  # fmt: skip
    assert req.changes[0]["note"].startswith("still matches llama2")
    assert "the declared license stays llama2" in req.changes[0]["note"]


def test_an_ancestors_gated_status_and_license_name_and_a_pinned_revision_are_named(family, users):
    """CONSTRUCTED state: the root's card gains a license_name, then the name is reworded
    (same license) and its gate turns automatic; the pinned quantization gets a new commit."""
    root = HubModel.objects.get(repo_id=ROOT)
    root.card_data = {**root.card_data, "license_name": "Llama 2 Community License"}
    root.save(update_fields=["card_data"])
    assessment.assess([root.pk])
    child = HubModel.objects.get(repo_id=CHILD)
    child.sha = PIN
    child.save(update_fields=["sha"])
    pinned = _approve(child, users, revision=PIN)
    # An approval decided before snapshots recorded evidence (its stored form then).
    finetune = HubModel.objects.get(repo_id="ALIN-LLM/finetune-llama-2-7b-chat-gsm8k")
    legacy = _approve(finetune, users)
    snap = legacy.snapshot
    old = {k: snap[k] for k in ("gated", "sha", "declared", "effective", "inherited_keys",
                                "conflict", "digest")}  # fmt: skip
    old["ancestors"] = {r: [a["declared"], a["digest"], a["gated"]]
                        for r, a in snap["ancestors"].items()}  # fmt: skip
    ApprovalRequest.objects.filter(pk=legacy.pk).update(snapshot=old)

    root.card_data = {**root.card_data, "license_name": "LLAMA 2 COMMUNITY LICENSE AGREEMENT"}
    root.gated = "auto"
    root.save(update_fields=["card_data", "gated"])
    child.sha = "b" * 40
    child.save(update_fields=["sha"])
    assessment.assess([root.pk])
    assert sorted(review.rereview([root.pk, child.pk])) == sorted([pinned.pk, legacy.pk])

    pinned.refresh_from_db()
    assert _lines(pinned) == {
        f"ancestor {ROOT}: gated status": (
            "gated (manual approval)", "gated (automatic approval)",
        ),
        f"ancestor {ROOT}: license evidence: card license_name": (
            "“Llama 2 Community License”", "“LLAMA 2 COMMUNITY LICENSE AGREEMENT”",
        ),
        "this model: revision": (PIN, "b" * 40),
    }  # fmt: skip
    name = next(c for c in pinned.changes if c["field"].endswith("license_name"))
    assert name["note"] == "both read as llama2; the declared license stays llama2"

    legacy.refresh_from_db()
    lines = _lines(legacy)
    assert lines[f"ancestor {ROOT}: gated status"] == (
        "gated (manual approval)", "gated (automatic approval)",
    )  # fmt: skip
    before, after = lines[f"ancestor {ROOT}: license evidence"]
    assert before == "not recorded in detail when decided"
    assert "card license_name llama2" in after
    evidence = next(c for c in legacy.changes if c["field"].endswith("license evidence"))
    assert evidence["note"] == "the declared license is llama2 as before"


def test_a_new_declared_license_on_an_ancestor_names_it_and_its_effect(family, users):
    """A legal determination relicenses the root: the lines say which model, which field."""
    child = HubModel.objects.get(repo_id=CHILD)
    req = _approve(child, users)
    root = HubModel.objects.get(repo_id=ROOT)
    made, report = assessment.determine(model=root, license_key="cc-by-nc-4.0",
                                        reason="relicensed", by=users["legal"])  # fmt: skip
    assessment.assess(lineage.child_ids(report.changed))
    assert review.rereview([root.pk, child.pk]) == [req.pk]

    req.refresh_from_db()
    lines = _lines(req)
    assert lines[f"ancestor {ROOT}: declared license"] == ("llama2", "cc-by-nc-4.0")
    assert lines[f"ancestor {ROOT}: own verdict"] == ("conditional", "prohibited")
    assert lines[f"ancestor {ROOT}: manual determination"] == ("none", f"#{made.pk} cc-by-nc-4.0")
    assert lines["this model: effective verdict (with ancestors)"] == ("conditional", "prohibited")
    assert lines["this model: licenses inherited from ancestors"] == ("llama2", "cc-by-nc-4.0")
    # Nothing about the root's unchanged evidence, its conditions (the new license's own), nor
    # the child's declared license, which did not change.
    assert not [f for f in lines if "evidence" in f or "conditions" in f]
    assert "this model: declared license" not in lines
    assert {c["model"] for c in req.changes} == {ROOT, ""}


def test_reworded_evidence_that_reads_the_same_is_quoted_never_repeated():
    """Pure snapshots (no database): a README section and a tag reworded, same license."""
    section = "## License\nThis model is released under the Llama 2 Community License. " * 3

    def snap(tag: str, readme: str, notes: list[str]) -> dict:
        return {"gated": "no", "sha": "", "declared": "llama2", "verdict": "conditional",
                "effective": "conditional", "digest": f"{tag}{len(readme)}", "notes": notes,
                "evidence": [{"source": "tag", "value": tag, "key": "llama2"},
                             {"source": "readme", "value": readme, "key": "llama2"}],
                "ancestors": {}}  # fmt: skip

    found = changes.diff(snap("Llama2", section, []), snap("llama2", section + "Thanks!", []))
    assert [(c["field"], c["before"], c["after"]) for c in found] == [
        ("this model: license evidence: license tag", "“Llama2”", "“llama2”"),
        ("this model: license evidence: README license section text", "as decided", "reworded"),
    ]
    assert found[0]["note"] == "both read as llama2; the declared license stays llama2"
    assert found[1]["note"] == "both read as llama2"
