"""Trying to break the license rules of usage profiles (licenses.rules, usage.verdict): lines
exactly at their threshold, regions the rules cannot read, EU member states against "EU",
WORLD, codes no rule reads. What each failing test shows is in its docstring."""

from __future__ import annotations

from dataclasses import replace

import pytest

import licenses.rules as rules
from licenses.classify import PROHIBITED, Entry, KnowledgeBase, kb
from licenses.rules import BLOCK, REVIEW, Circumstances, ModelFacts, judge
from usage.models import profile_problems
from usage.verdict import Inputs, answer

US = Circumstances(mau=50_000, revenue_usd=400_000, deployments=frozenset({"hosted"}),
                   based_in=frozenset({"US"}), offered_in=frozenset({"US"}))  # fmt: skip


def verdict(key: str, c: Circumstances, multimodal: bool | None = False) -> str:
    return answer(c, Inputs(assessed=True, declared=key, multimodal=multimodal)).verdict


def outcome(key: str, code: str, c: Circumstances, m: ModelFacts | None = None) -> str | None:
    return {f.code: f.outcome for f in judge(key, c, m or ModelFacts())}.get(code)


def test_a_revenue_line_of_at_least_blocks_at_the_line():
    """LTX-Video's clause (the knowledge base's, which the finding cites): entities "with annual
    revenues of at least $10,000,000" need a paid license; revenue_10m is judged `above`, so a
    profile at exactly USD 10,000,000 is usable."""
    assert "at least $10,000,000" in kb().get("ltxv-open-weights").data["clause"]
    at_line = replace(US, revenue_usd=10_000_000)
    assert outcome("ltxv-open-weights", "revenue_10m", at_line) == BLOCK
    assert verdict("ltxv-open-weights", at_line) != "usable"


def test_lines_of_more_than_do_not_block_at_the_line_and_an_unstated_one_goes_to_review():
    """Holds: Qwen's "more than 100 million", Stability's "more than USD $1,000,000",
    HyperCLOVA's "above 10 million", Hunyuan's 1M: one past the line blocks, the line does
    not; not stating the figure is review."""
    lines = [("tongyi-qianwen", "mau_100m", "mau", 100_000_000),
             ("qwen", "mau_100m", "mau", 100_000_000),
             ("stabilityai-ai-community", "revenue_1m", "revenue_usd", 1_000_000),
             ("hyperclovax-seed", "mau_10m", "mau", 10_000_000),
             ("tencent-hunyuan-community", "mau_1m", "mau", 1_000_000),
             ("llama2", "mau_700m", "mau", 700_000_000)]  # fmt: skip
    for key, code, field, line in lines:
        assert outcome(key, code, replace(US, **{field: line - 1})) is None, key
        assert outcome(key, code, replace(US, **{field: line + 1})) == BLOCK, key
        assert outcome(key, code, replace(US, **{field: None})) == REVIEW, key
        held = replace(US, **{field: line * 10}, licenses_held=frozenset({key}))
        assert outcome(key, code, held) == "oblige", key


@pytest.mark.parametrize(
    ("key", "code", "multimodal"),
    [("tencent-hunyuan-community", "UK", False),  # void in the United Kingdom (GB)
     ("llama3.2", "EL", True)],  # the EU's own code for Greece (ISO: GR)
)  # fmt: skip
def test_a_region_code_no_rule_can_place_is_not_read_as_outside_the_restriction(
    key, code, multimodal
):
    """profile_problems takes any two capital letters: "UK" (the usual name of GB, which the
    Hunyuan license is void in) and "EL" (Greece, an EU member) are accepted and read as
    somewhere else, so the territory and EU clauses are skipped and the verdict is usable."""
    fields = {"based_in": [code], "offered_in": [code]}
    if profile_problems(fields):
        return  # refused when saved: fine
    c = replace(US, based_in=frozenset(fields["based_in"]), offered_in=frozenset([code]))
    assert verdict(key, c, multimodal) != "usable", [
        (f.code, f.outcome) for f in judge(key, c, ModelFacts(multimodal))
    ]


def test_eu_member_states_count_as_the_eu_and_world_everywhere():
    """Holds: the Llama 3.2 EU clause blocks a multimodal model for an organisation based in
    the EU or a member state, not one based outside it that offers the product there; an
    unknown modality in the EU and an unstated home are review. Hunyuan's territories block
    a profile offered in a member state, or WORLD."""
    mm = ModelFacts(multimodal=True)
    for home in ("EU", "DE", "FR", "IE", "GR", "CY"):
        c = replace(US, based_in=frozenset({home}))
        assert outcome("llama3.2", "eu_restriction", c, mm) == BLOCK, home
        assert outcome("llama3.2", "eu_restriction", c, ModelFacts(None)) == REVIEW, home
        assert outcome("llama3.2", "eu_restriction", c, ModelFacts(False)) is None, home
    for home in ("US", "CH", "GB", "NO"):
        c = replace(US, based_in=frozenset({home}), offered_in=frozenset({"EU", "WORLD"}))
        assert outcome("llama3.2", "eu_restriction", c, mm) is None, home
    assert outcome("llama3.2", "eu_restriction", replace(US, based_in=frozenset()), mm) == REVIEW
    hunyuan = "tencent-hunyuan-community"
    for where in ("FR", "EU", "WORLD", "GB", "KR"):
        c = replace(US, offered_in=frozenset({where}))
        assert outcome(hunyuan, "territory_restriction", c) == BLOCK, where
        assert verdict(hunyuan, c) == "blocked", where
    assert outcome(hunyuan, "territory_restriction", US) is None
    nowhere = replace(US, based_in=frozenset(), offered_in=frozenset())
    assert outcome(hunyuan, "territory_restriction", nowhere) == REVIEW


def test_a_code_no_rule_reads_and_a_value_no_rule_parses_go_to_review(monkeypatch):
    """Holds: a condition code without a rule, an unreadable territory list, a line in RMB,
    an unknown, unverified or placeholder license: review (or worse), never usable."""
    real = kb()
    fake = {
        "x-new-code": Entry("x-new-code", "New", "conditional", (("brand_new_code", ""),), True,
                            False, {}),
        "x-territory": Entry("x-territory", "Terr", "conditional",
                             (("territory_restriction", "Mars, Venus"),), True, False, {}),
        "x-rmb": Entry("x-rmb", "Rmb", "conditional",
                       (("revenue_threshold", "RMB 1,000"),), True, False, {}),
        "x-unverified": Entry("x-unverified", "Unv", "allowed", (), False, False, {}),
        "x-placeholder": Entry("x-placeholder", "Ph", "allowed", (), True, True, {}),
    }  # fmt: skip
    monkeypatch.setattr(rules, "kb", lambda: KnowledgeBase({**real.entries, **fake},
                                                           real.aliases, real.links,
                                                           real.conditions))  # fmt: skip
    for key in (*fake, "no-such-license"):
        for c in (US, replace(US, commercial=False, deployments=frozenset({"internal"}))):
            got = answer(c, Inputs(assessed=True, declared=key))
            assert got.verdict != "usable", (key, got)


def test_no_prohibited_or_unverified_license_is_usable_for_commercial_use():
    """Holds, over the whole knowledge base: a license Canopy calls prohibited is blocked for a
    commercial profile, an unverified or placeholder one is never usable, whatever the
    profile, and an unassessed model is review."""
    profiles = [US, replace(US, mau=None, revenue_usd=None, based_in=frozenset()),
                replace(US, deployments=frozenset({"internal"}), licenses_held=frozenset(kb().entries)),
                replace(US, commercial=False)]  # fmt: skip
    for key, entry in kb().entries.items():
        for c in profiles:
            for mm in (True, False, None):
                got = verdict(key, c, mm)
                if entry.verdict == PROHIBITED and c.commercial:
                    assert got == "blocked", (key, c)
                if not entry.verified or entry.placeholder:
                    assert got != "usable", (key, c)
    assert answer(US, Inputs(assessed=False)).verdict == "review"
