"""Usage profiles over real records of the bundled snapshot (hubreplay/data): the two example
profiles answer differently, with reasons, for Llama, Gemma, Stability and Apache models; the
stored verdicts follow assessments and profile edits, writing only what changed."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from approvals import profiles as approval_profiles
from catalog.models import HubModel
from tests.conftest import APACHE_LLAMA, GEMMA, LLAMA2, LLAMA3, MISTRAL, SD3
from tests.usage.conftest import user_with
from usage import evaluate
from usage.models import ProfileVerdict, UsageProfile
from usage.verdict import answer, inputs_for


def result(repo_id: str, slug: str):
    model = HubModel.objects.get(repo_id=repo_id)
    return approval_profiles.result_for(model, UsageProfile.objects.get(slug=slug))


def codes(r, outcome="reasons") -> set[str]:
    return {f.code for f in getattr(r.terms, outcome)}


@pytest.mark.django_db
def test_the_example_profiles_exist_named_as_examples():
    got = {p.slug: p for p in UsageProfile.objects.all()}
    assert {"demo-startup-eu", "demo-platform"} <= set(got)
    assert all(got[s].example and got[s].name.startswith("Example") for s in
               ("demo-startup-eu", "demo-platform"))  # fmt: skip


@pytest.mark.django_db
def test_llama_is_usable_for_the_startup_and_blocked_for_the_platform(profiles_catalog):
    startup, platform = result(LLAMA2, "demo-startup-eu"), result(LLAMA2, "demo-platform")
    assert startup.verdict == "usable"
    assert platform.verdict == "blocked"
    assert {"mau_700m", "no_output_training"} <= codes(platform)
    why = {f.code: f for f in platform.terms.reasons}
    assert "700 million monthly active users" in why["mau_700m"].clause
    assert "improve any other large language model" in why["no_output_training"].clause
    assert "acceptable use policy" in startup.terms.summary
    # Llama 3 names derivatives: the platform publishes them, the startup does not.
    assert "naming" in codes(result(LLAMA3, "demo-platform"), "obligations")
    assert "naming" not in codes(result(LLAMA3, "demo-startup-eu"), "obligations")


@pytest.mark.django_db
def test_a_fine_tune_declaring_apache_on_llama_carries_llama_terms(profiles_catalog):
    r = result(APACHE_LLAMA, "demo-platform")
    assert r.verdict == "blocked"
    assert any(f.license == "llama2" and f.code == "mau_700m" for f in r.terms.reasons)


@pytest.mark.django_db
def test_gemma_stability_and_apache_answers_differ_and_are_explained(profiles_catalog):
    assert result(GEMMA, "demo-startup-eu").verdict == "usable", result(
        GEMMA, "demo-startup-eu"
    ).terms.summary
    assert "aup" in codes(result(GEMMA, "demo-startup-eu"), "obligations")
    sd3_startup, sd3_platform = result(SD3, "demo-startup-eu"), result(SD3, "demo-platform")
    assert sd3_startup.verdict == "usable", sd3_startup.terms.summary
    assert sd3_platform.verdict == "blocked"
    assert "revenue_1m" in codes(sd3_platform)
    for slug in ("demo-startup-eu", "demo-platform"):
        r = result(MISTRAL, slug)
        assert r.verdict == "usable", r.terms.summary
        assert not r.terms.reasons


@pytest.mark.django_db
def test_whole_catalog_evaluation_writes_only_what_changed(profiles_catalog):
    platform = UsageProfile.objects.get(slug="demo-platform")
    ProfileVerdict.objects.filter(profile=platform).delete()
    first = evaluate.evaluate(platform)
    assert first.inserted == HubModel.objects.count() and first.updated == 0
    again = evaluate.evaluate(platform)
    assert again.inserted == again.updated == 0
    stored = dict(ProfileVerdict.objects.filter(profile=platform)
                  .values_list("model__repo_id", "verdict"))  # fmt: skip
    for repo_id, verdict in stored.items():  # the page's answer is the stored one
        model = HubModel.objects.get(repo_id=repo_id)
        assert answer(platform.circumstances, inputs_for(model)).verdict == verdict
    # The platform drops output training and signs a Llama 2 license: only Llama 2's move.
    platform.trains_on_outputs, platform.licenses_held = False, ["llama2"]
    platform.save()
    moved = evaluate.evaluate(platform)
    assert 0 < moved.updated < first.inserted
    assert result(LLAMA2, "demo-platform").verdict == "usable"


@pytest.mark.django_db
def test_only_legal_and_admin_edit_profiles_and_edits_are_checked_and_audited(profiles_catalog):
    from approvals.models import AuditEvent

    dev, legal = user_with("developer"), user_with("legal")
    fields = {"slug": "team-x", "name": "Team X", "mau": 10, "deployments": ["internal"]}
    with pytest.raises(PermissionDenied):
        approval_profiles.save_profile(by=dev, fields=fields)
    p = approval_profiles.save_profile(by=legal, fields=fields)
    assert AuditEvent.objects.filter(action="profile.created", object_id=str(p.pk)).exists()
    for bad in (
        {"mau": -1},
        {"mau": True},
        {"deployments": ["space"]},
        {"based_in": ["Europe"]},
        {"licenses_held": ["no-such"]},
        {"name": "x\x00"},
        {"domains": "medical"},
    ):
        with pytest.raises(ValidationError):
            approval_profiles.save_profile(by=legal, fields=bad, slug="team-x")
    with pytest.raises(ValidationError):
        approval_profiles.save_profile(by=legal, fields={"slug": "Bad Slug", "name": "n"})
