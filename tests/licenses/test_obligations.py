"""Each license's own required texts (attribution, naming, Notice line, pass-throughs), from its
clauses: the knowledge base holds them, and the NOTICE, the model page and the check API show them.

Real records: the bundled snapshot's Llama 3, 3.1, 3.2, 3.3 and Gemma models, crawled through
hubreplay and assessed by the real code."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from approvals.models import ApiToken
from licenses import obligations
from licenses.classify import kb
from tests.approvals.conftest import crawl_and_assess, users  # noqa: F401
from tests.conftest import DEMO

pytestmark = pytest.mark.django_db
TEXTS = Path(__file__).resolve().parents[2] / "licenses" / "data" / "texts"
MODELS = {  # repo id in the bundled snapshot -> its declared license
    "meta-llama/Meta-Llama-3-8B": "llama3",
    "ghostyaZ/cloudApiAI": "llama3.1",
    "ManishDipole/Demo": "llama3.2",
    "Kelly70/Kelly": "llama3.3",
    "google/gemma-7b-aps-it": "gemma",
}
META = "Copyright © Meta Platforms, Inc. All Rights Reserved."
EXPECTED = {  # license -> {code: required text}, read off the license texts by hand
    "llama2": {"notice_file": "Llama 2 is licensed under the LLAMA 2 Community License, "
               "Copyright (c) Meta Platforms, Inc. All Rights Reserved."},
    "llama3": {"attribution": "Built with Meta Llama 3", "naming": "Llama 3",
               "notice_file": f"Meta Llama 3 is licensed under the Meta Llama 3 Community "
               f"License, {META}"},
    **{f"llama{v}": {"attribution": "Built with Llama", "naming": "Llama",
                     "notice_file": f"Llama {v} is licensed under the Llama {v} Community "
                     f"License, {META}"} for v in ("3.1", "3.2", "3.3")},
    "gemma": {"notice_file": "Gemma is provided under and subject to the Gemma Terms of Use "
              "found at ai.google.dev/gemma/terms", "use_restrictions": ""},
}  # fmt: skip
WITH_TEXTS = sorted(k for k, e in kb().entries.items() if e.data.get("obligations"))


def _texts(key: str) -> dict[str, str]:
    found = obligations.of_license(key)
    assert found is not None
    return {d.code: d.text for d in found.duties if d.text or d.duty}


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_the_named_licenses_carry_exactly_their_own_texts(key):
    assert _texts(key) == EXPECTED[key]


def test_only_llama_3_and_later_ask_for_built_with_and_a_name_prefix():
    for key in WITH_TEXTS:
        texts = _texts(key)
        if "Llama" in texts.get("attribution", "") + texts.get("naming", ""):
            assert key.startswith(("llama3", "llama4")), key
    assert "attribution" not in _texts("llama2") and "naming" not in _texts("llama2")


@pytest.mark.parametrize("key", WITH_TEXTS)
def test_every_required_text_has_its_clause_and_is_in_the_license_text_we_hold(key):
    entry = kb().entries[key]
    codes = {c for c, _ in entry.conditions}
    for ob in entry.data["obligations"]:
        assert ob["code"] in codes, ob
        assert ob["quote"] and (ob["clause"] or ob["source"] == "licenses.md"), ob
        assert ob["text"] or ob["duty"], ob
        if ob["checked_in"] and ob["checked_in"] != "licenses.md":
            held = " ".join((TEXTS / ob["checked_in"]).read_text(encoding="utf-8").split())
            for words in (ob["text"], *ob["quote"].split("…")):
                assert " ".join(words.split()) in held, (key, words)
        # the condition's value is the same text, not a second copy that can drift
        if ob["text"] and ob["code"] in obligations.TEXT_CODES:
            assert dict(entry.conditions)[ob["code"]] == ob["text"]


def test_a_required_text_the_knowledge_lacks_is_said_to_be_missing_not_invented():
    found = obligations.of_license("qwen-research")  # attribution and Notice: no words known
    assert found is not None
    missing = {d.code for d in found.duties if d.text_unknown}
    assert {"attribution", "notice_file"} <= missing
    assert all(not d.text for d in found.duties)


@pytest.fixture
def crawled(db, replay, hub_for, tmp_path):
    """The five real records (latest capture by _id), crawled and assessed."""
    records: dict[str, dict] = {}
    for name in ("demo-2024.jsonl.gz", "demo-2025.jsonl.gz"):
        with gzip.open(DEMO / name, "rt") as f:
            for rec in map(json.loads, f):
                if rec["id"] in MODELS:
                    records[rec["id"]] = rec
    assert set(records) == set(MODELS)
    path = tmp_path / "obligations.jsonl.gz"
    with gzip.open(path, "wt") as f:
        for rid in sorted(records):
            f.write(json.dumps(records[rid]) + "\n")
    crawl_and_assess(replay([str(path)]), hub_for)


@pytest.mark.parametrize("repo_id", sorted(MODELS))
def test_notice_page_and_check_show_the_models_own_license_texts(
    crawled,
    users,  # noqa: F811
    client,
    repo_id,
):
    key = MODELS[repo_id]
    want = {c: t for c, t in EXPECTED[key].items() if t}
    client.force_login(users["viewer"])
    notice = client.get(f"/approvals/notice/{repo_id}/").content.decode()
    page = client.get(f"/models/{repo_id}/").content.decode()
    _, token = ApiToken.issue(users["viewer"], name="ci", scopes=["check"])
    answer = client.get("/api/v1/check", {"model": repo_id, "use": "commercial_product"},
                        headers={"Authorization": f"Bearer {token}"}).json()  # fmt: skip
    rows = {(o["license"], o["code"]): o for o in answer["obligations"]}
    for code, text in want.items():
        assert text in notice, (code, text)
        assert text in page.replace("&#x27;", "'"), (code, text)
        assert rows[(key, code)]["text"] == text and rows[(key, code)]["clause"]
    if key.startswith("llama3") and key != "llama3":
        assert "Built with Meta Llama 3" not in notice
    if key == "gemma":
        assert "Built with" not in notice and "Pass-through (§3.1)" in notice
        assert rows[("gemma", "use_restrictions")]["clause"] == "§3.1"


# Research licenses whose held text fixes an attribution notice to ship with every copy: the
# words are read off the file by hand, and the test checks they are in it (a notice was once
# missing for a license that has one). The knowledge base had none of them.
HELD_NOTICES = {
    "tongyi-qianwen-research": ("tongyi-qianwen-research__LICENSE_AGREEMENT.txt", "§3.c",
                                "Tongyi Qianwen is licensed under the Tongyi Qianwen RESEARCH "
                                "LICENSE AGREEMENT, Copyright (c) Alibaba Cloud. All Rights "
                                "Reserved."),
    "deepfloyd-if-license": ("deepfloyd-if__LICENSE-MODEL.txt", "§3", "DeepFloyd is licensed "
                             "under the DeepFloyd License, Copyright (c) Stability AI Ltd. All "
                             "Rights Reserved."),
    "opt-175b": ("modelgo__OPT-175B.txt", "§3", "OPT-175B is licensed under the OPT-175B "
                 "license, Copyright (c) Meta Platforms, Inc. All Rights Reserved."),
    "seer": ("modelgo__SEER.txt", "§3", "SEER is licensed under SEER license, Copyright (c) Meta "
             "Platforms, Inc. All Rights Reserved."),
    "sdxl-0.9-research": ("sdxl0.9-research__LICENSE.txt", "§3", "SDXL 0.9 is licensed under "
                          "the SDXL Research License, Copyright (c) Stability AI Ltd. All Rights "
                          "Reserved."),
}  # fmt: skip


@pytest.mark.parametrize("key", sorted(HELD_NOTICES))
def test_a_research_license_carries_the_attribution_notice_its_held_text_fixes(key):
    name, clause, words = HELD_NOTICES[key]
    held = " ".join((TEXTS / name).read_text(encoding="utf-8").split())
    assert words in held  # the expectation itself is the license's own words
    found = obligations.of_license(key)
    assert found is not None
    notices = [d for d in found.duties if d.code == "notice_file"]
    assert [(d.text, d.clause, d.checked_in) for d in notices] == [(words, clause, name)]
    rows = obligations.as_json([key])
    assert {"license": key, "code": "notice_file", "text": words, "clause": clause} in rows
