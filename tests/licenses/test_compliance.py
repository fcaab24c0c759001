"""Derivatives' obligations, checked (issue 13, item 9): what an inherited license makes its
derivatives do, held against the derivative's name, files, README and own license.

Unit cases name CONSTRUCTED models; the crawled case is the real Llama 2 family
(tests/fixtures/family.jsonl.gz)."""

from __future__ import annotations

import pytest

from licenses import compliance
from licenses.models import ModelLicense
from tests.conftest import crawled_once


def _checks(name, declared, inherited, files=None, readme=None):
    f = compliance.facts(f"constructed/{name}", files, readme)
    return {c["code"]: c for c in compliance.check(f, declared, inherited)}


def test_llama_3s_name_prefix_and_attribution():
    ok = _checks("Llama-3-8B-medical", "llama3", ["llama3"],
                 files=[{"rfilename": "LICENSE"}, {"rfilename": "USE_POLICY.md"}],
                 readme="# Llama-3 medical\n\nBuilt with Meta Llama 3.")  # fmt: skip
    assert {c: v["met"] for c, v in ok.items()} == {
        "naming": True, "attribution": True, "license_copy": True, "aup": True,
        "derivatives_inherit": True,
    }  # fmt: skip
    bad = _checks("medical-8b", "apache-2.0", ["llama3"], files=["README.md"], readme="# hi")
    assert {c: v["met"] for c, v in bad.items()} == {
        "naming": False, "attribution": False, "license_copy": False, "aup": False,
        "derivatives_inherit": False,
    }  # fmt: skip
    assert bad["naming"]["detail"] == "the name must begin with “Llama 3”"
    assert (
        bad["derivatives_inherit"]["detail"]
        == "declares apache-2.0; the llama3 terms must carry on"
    )


def test_llama_3_1_asks_for_llama_first_and_built_with_llama():
    checks = _checks("Llama-chat-ft", "llama3.1", ["llama3.1"], readme="Built with Llama")
    assert checks["naming"]["met"] and checks["attribution"]["met"]
    assert checks["naming"]["detail"] == "the name begins with “Llama”"


def test_what_the_hub_did_not_give_cannot_be_told():
    checks = _checks("Llama-3-x", "llama3", ["llama3"])  # a list record: no files, no README
    assert checks["license_copy"]["met"] is None and checks["attribution"]["met"] is None
    assert checks["aup"]["met"] is None
    assert compliance.unmet(list(checks.values())) == []


def test_gemma_and_openrail_terms_must_carry_on():
    assert _checks("g-ft", "gemma", ["gemma"])["derivatives_inherit"]["met"]
    assert not _checks("g-ft", "mit", ["gemma"])["derivatives_inherit"]["met"]
    assert not _checks("g-ft", None, ["gemma"])["derivatives_inherit"]["met"]
    # An OpenRAIL derivative under another OpenRAIL of the same family carries the restrictions.
    assert _checks("sd-lora", "openrail++", ["openrail++"])["derivatives_inherit"]["met"]
    assert not _checks("sd-lora", "mit", ["creativeml-openrail-m"])["derivatives_inherit"]["met"]


def test_a_permissive_upstream_asks_only_for_its_license_copy():
    """Apache 2.0 (§4a) has redistributors give a copy of the license: no name, no terms on."""
    assert set(_checks("x", "mit", ["apache-2.0"])) == {"license_copy"}


@pytest.mark.parametrize("siblings", [None, "LICENSE", 5, [None, 3, {"rfilename": 7}], [{}]])
def test_any_file_list_is_read_without_raising(siblings):
    compliance.facts("a/b", siblings, b"bytes")


def test_stored_checks_are_read_never_trusted():
    stored = [{"code": "naming", "license": "llama3", "met": False, "detail": "x"},
              {"code": "naming", "license": "llama3", "met": 1, "detail": "x"},
              {"code": 5}, "junk", None]  # fmt: skip
    assert compliance.checks_of(stored) == stored[:1] and compliance.unmet(stored) == stored[:1]
    assert compliance.checks_of({"not": "a list"}) == []


@pytest.fixture(scope="module")
def family(django_db_setup, django_db_blocker, replay_index):
    with crawled_once(django_db_blocker, replay_index, ["family.jsonl.gz"]):
        yield


@pytest.mark.django_db
def test_a_crawled_fine_tune_under_apache_fails_to_carry_llama_2_on(family, client):
    child = ModelLicense.objects.get(model__repo_id="Arjs/Llama-2-7b-chatbot-finetune")
    assert child.duties_unmet
    fields = client.get("/api/v1/models/Arjs/Llama-2-7b-chatbot-finetune").json()
    codes = {c["code"]: c["met"] for c in fields["duty_checks"]}
    assert codes["derivatives_inherit"] is False and "naming" not in codes  # Llama 2 sets none
    assert (
        "llama2: declares apache-2.0; the llama2 terms must carry on"
        in fields["obligations_not_met"]
    )
    root = ModelLicense.objects.get(model__repo_id="meta-llama/Llama-2-7b-chat-hf")
    assert not root.duties_unmet and root.assessment.duty_checks == []  # the base itself
    listed = client.get("/api/v1/models", {"duties": "yes", "limit": 500}).json()
    ids = {i["id"] for i in listed["items"]}
    assert "Arjs/Llama-2-7b-chatbot-finetune" in ids and "meta-llama/Llama-2-7b-chat-hf" not in ids
    assert all(i["duties_unmet"] for i in listed["items"])
