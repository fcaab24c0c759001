"""Trying to break usage profiles (issue 15) below the views: writes through the domain
(save_profile, the model's save, its queryset's update and bulk_create) and the values the
profile checks accept. What each failing test shows is in its docstring."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from approvals.profiles import save_profile
from tests.usage.conftest import user_with
from usage.models import UsageProfile, profile_problems

pytestmark = pytest.mark.django_db


@pytest.fixture
def legal():
    return user_with("legal")


def test_a_slug_with_a_trailing_newline_is_refused(legal):
    """SLUG.match() with `$` matches before a final newline: "team-x\\n" passes
    profile_problems and is stored (no URL reaches it; the profiles page then 500s)."""
    assert "slug" in profile_problems({"slug": "team-x\n"})
    with pytest.raises(ValidationError):
        save_profile(by=legal, fields={"slug": "team-x\n", "name": "Team X"})


def test_the_querysets_update_is_checked_as_save_is(legal):
    """The README: profiles are "checked in usage.models.profile_problems" wherever written;
    UsageProfile.objects.update() writes an unknown region, a negative user count and a
    string for a list unchecked (Policy's queryset checks its update)."""
    with pytest.raises(ValidationError):
        UsageProfile.objects.filter(slug="demo-platform").update(based_in=["Europe"])
    with pytest.raises(ValidationError):
        UsageProfile.objects.filter(slug="demo-platform").update(mau=-5)
    with pytest.raises(ValidationError):
        UsageProfile.objects.filter(slug="demo-platform").update(deployments="hosted")
    p = UsageProfile.objects.get(slug="demo-platform")
    assert p.based_in == ["US"] and p.mau == 900_000_000 and p.deployments == ["hosted", "shipped"]


def test_bulk_create_is_checked_as_save_is():
    """UsageProfile.objects.bulk_create stores a slug with spaces, a negative user count and
    a string for deployments (its Circumstances then read the letters h, o, s, t, e, d)."""
    with pytest.raises(ValidationError):
        UsageProfile.objects.bulk_create(
            [UsageProfile(slug="Bad Slug", name="x", mau=-1, deployments="hosted")]
        )
    assert not UsageProfile.objects.filter(slug="Bad Slug").exists()


def test_a_duplicate_slug_is_a_validation_error_not_an_integrity_error(legal):
    """save_profile creating a slug that exists raises IntegrityError (the API's and the
    form's exists() checks run first, so two concurrent creates end in a 500)."""
    with pytest.raises(ValidationError):
        save_profile(by=legal, fields={"slug": "demo-platform", "name": "Copy"})


def test_nulls_are_validation_errors_not_integrity_errors(legal):
    """save_profile(fields={"commercial": None}) or a None name reaches the database's NOT NULL
    (IntegrityError) instead of being refused by the profile's checks."""
    for bad in ({"commercial": None}, {"name": None}, {"description": None}):
        with pytest.raises(ValidationError):
            save_profile(by=legal, fields=bad, slug="demo-platform")


def test_a_lone_surrogate_is_refused_by_the_domain(legal):
    """check_writable refuses NUL but not a lone surrogate: saving a name "\\ud800" fails in the
    database driver (UnicodeEncodeError), not as a ValidationError."""
    with pytest.raises(ValidationError):
        save_profile(by=legal, fields={"name": "bad \ud800 name"}, slug="demo-platform")


def test_what_the_checks_refuse_holds(legal):
    """Holds: bools as numbers, floats, numbers past 10**15, unknown deployments and domains,
    lower-case or long regions, unknown license keys, NUL anywhere, over-long text; all as
    ValidationError through save_profile, the model's save and create."""
    bad = [
        {"mau": True}, {"revenue_usd": False}, {"mau": 1.0}, {"mau": "5"}, {"mau": 10**15 + 1},
        {"mau": 2**70}, {"deployments": ["space"]}, {"deployments": "internal"},
        {"domains": [["medical"]]}, {"based_in": ["eu"]}, {"based_in": ["EUR"]},
        {"offered_in": "WORLD"}, {"licenses_held": ["LLAMA2"]}, {"licenses_held": [None]},
        {"name": "x\x00"}, {"description": "d\x00"}, {"licenses_held": ["llama2\x00"]},
        {"name": "n" * 121}, {"description": "d" * 2001},
    ]  # fmt: skip
    for fields in bad:
        with pytest.raises(ValidationError):
            save_profile(by=legal, fields=fields, slug="demo-platform")
        with pytest.raises(ValidationError):
            UsageProfile(**{"slug": "direct", "name": "Direct", **fields}).save()
    for slug in ("Team", "team_x", "-x", "x" * 51, "", "é", "team x"):
        with pytest.raises(ValidationError):
            UsageProfile.objects.create(slug=slug, name="x")
    assert UsageProfile.objects.get(slug="demo-platform").mau == 900_000_000


def test_the_site_form_normalises_regions_and_refuses_what_the_api_refuses(client):
    """Holds: lower-case codes are upper-cased, unknown words and license keys are refused on
    the page (200 with the errors), never a 500."""
    client.force_login(user_with("legal"))
    form = {"slug": "team-y", "name": "Team Y", "based_in": "de; fr", "offered_in": "eu, world",
            "licenses_held": "llama2", "commercial": "on"}  # fmt: skip
    assert client.post("/approvals/profiles/new/", form).status_code == 302
    made = UsageProfile.objects.get(slug="team-y")
    assert (made.based_in, made.offered_in, made.licenses_held) == (["DE", "FR"], ["EU", "WORLD"],
                                                                   ["llama2"])  # fmt: skip
    for bad in ({"based_in": "Europe"}, {"mau": "1e3"}, {"mau": "9" * 5000}, {"mau": "-1"},
                {"name": "a\x00b"}, {"licenses_held": "llama2, no-such"}, {"slug": "Team-Y"},
                {"deployments": "moon"}, {"offered_in": "U S"}):  # fmt: skip
        r = client.post("/approvals/profiles/new/", {**form, "slug": "team-z", **bad})
        assert r.status_code == 200, (bad, r.status_code)
    assert not UsageProfile.objects.filter(slug__in=["team-z", "Team-Y"]).exists()
