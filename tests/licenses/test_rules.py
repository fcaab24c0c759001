"""Each condition's rule against circumstances on both sides of its line (licenses.rules)."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from licenses.classify import DATA, kb
from licenses.rules import (
    BLOCK,
    OBLIGE,
    QUOTES,
    REVIEW,
    RISK,
    RULES,
    Circumstances,
    ModelFacts,
    clause_of,
    judge,
)  # fmt: skip

SMALL = Circumstances(mau=50_000, revenue_usd=400_000, deployments=frozenset({"hosted"}),
                      based_in=frozenset({"US"}), offered_in=frozenset({"US"}))  # fmt: skip


def outcomes(key: str, c: Circumstances, m: ModelFacts | None = None) -> dict[str, str]:
    m = m or ModelFacts()
    return {f.code: f.outcome for f in judge(key, c, m)}


def test_every_condition_code_of_the_knowledge_base_has_a_rule():
    codes = {code for e in kb().entries.values() for code, _ in e.conditions}
    assert codes - set(RULES) == set()


def test_every_quote_is_in_its_reference_text_verbatim():
    def flat(s: str) -> str:
        return re.sub(r"\s+", " ", s.replace("’", "'"))

    for (key, _code), (_section, quote, source) in QUOTES.items():
        text = (DATA / "texts" / source).read_text(encoding="utf-8")
        assert flat(quote) in flat(text), (key, source)


@pytest.mark.parametrize("key", ["llama2", "llama3", "llama3.1", "llama3.2", "llama4"])
def test_llama_700m_blocks_at_the_line_not_below(key):
    assert outcomes(key, replace(SMALL, mau=699_999_999)).get("mau_700m") is None
    found = [f for f in judge(key, replace(SMALL, mau=700_000_000)) if f.code == "mau_700m"]
    assert found[0].outcome == BLOCK
    assert "700 million monthly active users" in found[0].clause  # the clause it reads


def test_an_unstated_threshold_goes_to_review_and_a_held_license_lifts_it():
    assert outcomes("llama2", replace(SMALL, mau=None))["mau_700m"] == REVIEW
    held = replace(SMALL, mau=10**9, licenses_held=frozenset({"llama2"}))
    assert outcomes("llama2", held)["mau_700m"] == OBLIGE


def test_qwen_100m_line_is_more_than_not_at():
    assert outcomes("tongyi-qianwen", replace(SMALL, mau=100_000_000)).get("mau_100m") is None
    assert outcomes("tongyi-qianwen", replace(SMALL, mau=100_000_001))["mau_100m"] == BLOCK


def test_stability_revenue_line_blocks_above_unless_held():
    key = "stabilityai-ai-community"
    assert outcomes(key, replace(SMALL, revenue_usd=1_000_000)).get("revenue_1m") is None
    assert outcomes(key, replace(SMALL, revenue_usd=1_000_001))["revenue_1m"] == BLOCK
    held = replace(SMALL, revenue_usd=5_000_000, licenses_held=frozenset({key}))
    assert outcomes(key, held)["revenue_1m"] == OBLIGE


def test_a_revenue_line_in_another_currency_is_not_compared():
    assert outcomes("bilibili-model-ula", SMALL)["revenue_threshold"] == REVIEW


def test_no_output_training_blocks_only_a_profile_training_on_outputs():
    assert outcomes("llama2", SMALL).get("no_output_training") is None
    assert outcomes("llama2", replace(SMALL, trains_on_outputs=True))["no_output_training"] == BLOCK
    # Llama 3.1 dropped the clause.
    assert "no_output_training" not in outcomes("llama3.1", replace(SMALL, trains_on_outputs=True))


def test_eu_clause_blocks_multimodal_models_for_an_eu_based_organisation():
    eu = replace(SMALL, based_in=frozenset({"DE"}), offered_in=frozenset({"EU"}))
    assert outcomes("llama3.2", eu, ModelFacts(multimodal=True))["eu_restriction"] == BLOCK
    assert outcomes("llama3.2", eu, ModelFacts(multimodal=False)).get("eu_restriction") is None
    assert outcomes("llama3.2", eu, ModelFacts(multimodal=None))["eu_restriction"] == REVIEW
    # Offered in the EU from outside it: end users are not bound by the clause.
    us = replace(SMALL, offered_in=frozenset({"EU"}))
    assert outcomes("llama3.2", us, ModelFacts(multimodal=True)).get("eu_restriction") is None


def test_territories_block_where_the_license_is_void():
    key = "tencent-hunyuan-community"
    assert outcomes(key, SMALL).get("territory_restriction") is None
    gb = replace(SMALL, offered_in=frozenset({"GB"}))
    assert outcomes(key, gb)["territory_restriction"] == BLOCK
    assert outcomes(key, replace(SMALL, offered_in=frozenset({"WORLD"})))[
        "territory_restriction"] == BLOCK  # fmt: skip


def test_naming_and_attribution_become_obligations_when_derivatives_are_published():
    internal = replace(SMALL, deployments=frozenset({"internal"}))
    assert {"naming", "attribution"} & set(outcomes("llama3.1", internal)) == set()
    published = replace(internal, publishes_derivatives=True)
    got = {f.code: f for f in judge("llama3.1", published)}
    assert got["naming"].outcome == OBLIGE and got["attribution"].outcome == OBLIGE
    assert "Built with Llama" in got["attribution"].text


def test_use_policies_are_obligations_and_go_to_review_for_named_domains():
    assert outcomes("gemma", SMALL)["aup"] == OBLIGE
    assert outcomes("gemma", SMALL)["use_restrictions"] == OBLIGE
    medical = replace(SMALL, domains=frozenset({"medical"}))
    assert outcomes("gemma", medical)["aup"] == REVIEW
    assert outcomes("gemma", medical)["use_restrictions"] == REVIEW


@pytest.mark.parametrize("key", ["cc-by-nc-4.0", "mrl", "llama-1"])
def test_non_commercial_and_research_licenses_block_commercial_use_only(key):
    assert BLOCK in outcomes(key, SMALL).values()
    research = replace(SMALL, commercial=False)
    assert BLOCK not in outcomes(key, research).values()


def test_military_ban_and_clinical_authorization_read_the_domains():
    assert outcomes("deepseek", SMALL)["military_ban"] == OBLIGE
    assert outcomes("deepseek", replace(SMALL, domains=frozenset({"military"})))[
        "military_ban"] == BLOCK  # fmt: skip
    key = "health-ai-developer-foundations"
    assert outcomes(key, SMALL).get("clinical_authorization") is None
    assert outcomes(key, replace(SMALL, domains=frozenset({"medical"})))[
        "clinical_authorization"] == REVIEW  # fmt: skip


def test_risks_are_risks_and_apache_is_only_obligations():
    assert outcomes("llama2", SMALL)["revocable"] == RISK
    got = outcomes("apache-2.0", replace(SMALL, publishes_derivatives=True))
    assert set(got.values()) <= {OBLIGE, RISK}


def test_unknown_placeholder_and_unverified_terms_go_to_review():
    assert outcomes("no-such-license", SMALL) == {"unknown_terms": REVIEW}
    assert outcomes("other", SMALL) == {"unknown_terms": REVIEW}
    unverified = [e.key for e in kb().entries.values() if not e.verified and e.verdict != "unknown"
                  and not e.placeholder]  # fmt: skip
    assert unverified
    assert outcomes(unverified[0], SMALL)["unverified"] == REVIEW


def test_a_condition_without_a_rule_yields_review_never_silence(monkeypatch):
    monkeypatch.delitem(RULES, "aup")
    found = [f for f in judge("gemma", SMALL) if f.code == "aup"]
    assert found and found[0].outcome == REVIEW


def test_every_finding_cites_a_clause_where_the_knowledge_base_has_one():
    for key in ("llama2", "llama3.2", "gemma", "stabilityai-ai-community", "apache-2.0"):
        for f in judge(key, replace(SMALL, publishes_derivatives=True, mau=10**9)):
            assert f.clause, (key, f.code)
    assert "Built with Llama" in clause_of("llama3.1", "attribution")


circumstances = st.builds(
    Circumstances,
    mau=st.none() | st.integers(0, 10**12), revenue_usd=st.none() | st.integers(0, 10**12),
    commercial=st.booleans(),
    deployments=st.frozensets(st.sampled_from(["internal", "hosted", "shipped",
                                               "redistribute_weights"])),
    trains_on_outputs=st.booleans(),
    based_in=st.frozensets(st.sampled_from(["EU", "DE", "US", "GB", "KR", "WORLD"])),
    offered_in=st.frozensets(st.sampled_from(["EU", "FR", "US", "GB", "WORLD"])),
    publishes_derivatives=st.booleans(),
    domains=st.frozensets(st.sampled_from(["medical", "military", "legal"])),
)  # fmt: skip


@given(
    c=circumstances,
    key=st.sampled_from(sorted(kb().entries)),
    mm=st.sampled_from([None, True, False]),
)
def test_any_circumstances_give_known_outcomes_and_never_fail(c, key, mm):
    for f in judge(key, c, ModelFacts(mm)):
        assert f.outcome in (BLOCK, REVIEW, OBLIGE, RISK)
        assert f.text


QUIET = Circumstances(mau=1_000, revenue_usd=10_000, deployments=frozenset({"internal"}),
                      based_in=frozenset({"US"}), offered_in=frozenset({"US"}))  # fmt: skip
# code -> (a license carrying it, circumstances over its line and the outcome there, the
# outcome on QUIET's side: None where the condition asks nothing of such a use).
BOTH_SIDES = {
    "mau_700m": ("llama3.1", {"mau": 700_000_000}, BLOCK, None),
    "mau_100m": ("qwen", {"mau": 100_000_001}, BLOCK, None),
    "mau_10m": ("hyperclovax-seed", {"mau": 10_000_001}, BLOCK, None),
    "mau_1m": ("tencent-hunyuan-community", {"mau": 1_000_001}, BLOCK, None),
    "usage_threshold": ("cogvideox", {"mau": 10**9}, REVIEW, REVIEW),
    "revenue_1m": ("stabilityai-ai-community", {"revenue_usd": 1_000_001}, BLOCK, None),
    "revenue_10m": ("ltxv-open-weights", {"revenue_usd": 10_000_000}, BLOCK, None),
    "revenue_threshold": ("bilibili-model-ula", {"revenue_usd": 10**12}, REVIEW, REVIEW),
    "royalty": ("tii-falcon-llm-1.0", {"revenue_usd": 10**9}, REVIEW, REVIEW),
    "aup": ("llama3.1", {"domains": frozenset({"minors"})}, REVIEW, OBLIGE),
    "use_restrictions": ("bigscience-openrail-m", {"domains": frozenset({"medical"})}, REVIEW,
                         OBLIGE),
    "no_output_training": ("llama2", {"trains_on_outputs": True}, BLOCK, None),
    "distillation_inherit": ("gemma", {"trains_on_outputs": True}, OBLIGE, None),
    "outputs_restricted": ("mrl", {}, BLOCK, None),  # QUIET is commercial: see below
    "research_only": ("chameleon-research", {}, BLOCK, None),
    "non_commercial": ("cc-by-nc-4.0", {}, BLOCK, None),
    "non_production": ("mnpl", {}, BLOCK, None),
    "no_derivatives": ("cc-by-nd-4.0", {"publishes_derivatives": True}, BLOCK, None),
    "eu_restriction": ("llama4", {"based_in": frozenset({"IT"})}, BLOCK, None),
    "territory_restriction": ("tencent-hunyuan-community", {"offered_in": frozenset({"KR"})},
                              BLOCK, None),
    "hosting_restricted": ("falcon-180b", {"deployments": frozenset({"hosted"})}, REVIEW, None),
    "military_ban": ("deepseek", {"domains": frozenset({"military"})}, BLOCK, OBLIGE),
    "competitor_restriction": ("hyperclovax-seed", {}, REVIEW, REVIEW),
    "clinical_authorization": ("health-ai-developer-foundations",
                               {"domains": frozenset({"medical"})}, REVIEW, None),
    "registration_required": ("cogvideox", {}, OBLIGE, None),  # QUIET not commercial below
    "attribution": ("cc-by-4.0", {"deployments": frozenset({"shipped"})}, OBLIGE, None),
    "naming": ("llama3", {"publishes_derivatives": True}, OBLIGE, None),
    "notice_file": ("apache-2.0", {"deployments": frozenset({"hosted"})}, OBLIGE, None),
    "license_copy": ("apache-2.0", {"deployments": frozenset({"redistribute_weights"})}, OBLIGE,
                     None),
    "modification_notice": ("apache-2.0", {"publishes_derivatives": True}, OBLIGE, None),
    "share_alike": ("cc-by-sa-4.0", {"deployments": frozenset({"shipped"})}, OBLIGE, None),
    "network_copyleft": ("agpl-3.0", {"deployments": frozenset({"hosted"})}, OBLIGE, None),
    "derivatives_inherit": ("agpl-3.0", {"publishes_derivatives": True}, OBLIGE, None),
    **{code: (key, {}, RISK, RISK) for code, key in (
        ("revocable", "bigcode-openrail-m"), ("terms_updatable", "falcon-180b"),
        ("guardrail_termination", "nvidia-open-model-license"), ("patent_termination", "apache-2.0"),
        ("foreign_law", "deepseek"), ("no_patent_grant", "bsd-3-clause-clear"))},
}  # fmt: skip
# The commercial-use codes' quiet side is a non-commercial research profile.
NON_COMMERCIAL_QUIET = {"outputs_restricted", "research_only", "non_commercial",
                        "non_production", "registration_required"}  # fmt: skip


def test_the_table_covers_every_rule():
    assert set(BOTH_SIDES) == set(RULES)


@pytest.mark.parametrize("code", sorted(BOTH_SIDES))
def test_each_rule_on_both_sides_of_its_line(code):
    key, over, there, quiet_outcome = BOTH_SIDES[code]
    assert code in {c for c, _ in kb().get(key).conditions}, (key, code)
    quiet = replace(QUIET, commercial=code not in NON_COMMERCIAL_QUIET)
    m = ModelFacts(multimodal=True)  # the EU clause reads multimodal models (judged apart above)
    assert outcomes(key, replace(QUIET, **over), m).get(code) == there, (code, "over the line")
    assert outcomes(key, quiet, m).get(code) == quiet_outcome, (code, "on the quiet side")
