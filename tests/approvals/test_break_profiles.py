"""Trying to break usage profiles (issue 15) where people and pipelines meet them: the profiles
API and pages, the check (named profile or the token's; lean path and ninja), policies with a
profile, the search filter and the stored verdicts. Real records of the bundled snapshot
(profiles_catalog); what each failing test shows is in its docstring."""

from __future__ import annotations

import contextlib
from datetime import date, timedelta

import orjson
import pytest
from django.core.exceptions import ValidationError
from django.db.models import ProtectedError
from django.test import override_settings

from approvals import profiles, review
from approvals.middleware import CheckFastPath
from approvals.models import ApiToken, Policy, Status, Waiver
from approvals.policy import dry_run
from approvals.profiles import save_profile
from catalog.models import HubModel
from config.wsgi import application
from tests.conftest import APACHE_LLAMA, CHAT, LLAMA2, LLAMA3, MISTRAL, SD3
from tests.usage.conftest import example_profiles
from usage import evaluate
from usage.models import ProfileVerdict, UsageProfile

pytestmark = pytest.mark.django_db

BODY = {"slug": "product-x", "name": "Product X", "mau": 2_000_000, "revenue_usd": 5_000_000,
        "deployments": ["shipped"], "based_in": ["US"], "offered_in": ["WORLD"]}  # fmt: skip


@pytest.fixture(autouse=True)
def _examples(profiles_catalog, db):
    example_profiles()
    for p in UsageProfile.objects.all():
        evaluate.evaluate(p)


@pytest.fixture
def lean(monkeypatch):
    import approvals.middleware

    # The lean path ages out connections; in a test's transaction it must keep this one.
    monkeypatch.setattr(approvals.middleware, "close_old_connections", lambda: None)
    fast = CheckFastPath(application)

    def serve(query: str, auth: dict):
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/api/v1/check", "HTTP_HOST": "testserver",
                   "QUERY_STRING": query, "wsgi.url_scheme": "http", **auth}  # fmt: skip
        with override_settings(ALLOWED_HOSTS=["testserver"]):
            served = fast.serve(environ)
        return None if served is None else orjson.loads(served[1])

    return serve


def bearer(user, scopes=("check", "read", "write"), profile=None) -> dict:
    _, secret = ApiToken.issue(user, name="ci", scopes=list(scopes), profile=profile)
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def ids(client, query: str) -> set[str]:
    r = client.get(f"/api/v1/models?{query}&page_size=100")
    assert r.status_code == 200, r.content
    return {m["id"] for m in r.json()["items"]}


def api_verdict(client, repo_id: str, slug: str) -> str:
    return client.get(f"/api/v1/models/{repo_id}?profile={slug}").json()["profile_verdict"][
        "verdict"
    ]


# --- hostile input through the API ----------------------------------------------------------


def test_the_api_refuses_a_bool_for_a_number(client, users):
    """`"revenue_usd": false` is stored as USD 0 (pydantic's lax int), which clears every
    revenue line; the domain refuses bools (profile_problems), the API should answer 422."""
    r = client.post("/api/v1/profiles", {**BODY, "slug": "booly", "revenue_usd": False},
                    content_type="application/json", **bearer(users["legal"]))  # fmt: skip
    assert r.status_code == 422, (r.status_code, r.content[:300])
    r = client.post("/api/v1/profiles", {**BODY, "slug": "booly2", "mau": True},
                    content_type="application/json", **bearer(users["legal"]))  # fmt: skip
    assert r.status_code == 422, (r.status_code, r.content[:300])


def test_a_lone_surrogate_in_a_profile_name_is_a_422_not_a_500(client, users):
    """A JSON \\ud800 in `name` passes Text and check_writable, then the database encoding fails:
    POST and PUT /api/v1/profiles answer 500 (so do /requests and /policies: config.inputs.Text)."""
    client.raise_request_exception = False
    h = bearer(users["legal"])
    made = client.post("/api/v1/profiles", '{"slug": "sur", "name": "\\ud800"}',
                       content_type="application/json", **h)  # fmt: skip
    assert made.status_code == 422, made.status_code
    put = client.put("/api/v1/profiles/demo-platform", '{"name": "x\\udfff"}',
                     content_type="application/json", **h)  # fmt: skip
    assert put.status_code == 422, put.status_code


def test_a_blank_name_is_refused_by_the_api_as_by_the_site_form(client, users):
    """The site form (stripped, required) refuses a name of spaces; the API stores it, and the
    profile is listed, linked and filtered by an empty-looking name."""
    r = client.post("/api/v1/profiles", {**BODY, "slug": "blank", "name": "   "},
                    content_type="application/json", **bearer(users["legal"]))  # fmt: skip
    assert r.status_code == 422, (r.status_code, r.content[:300])


def test_hostile_bodies_get_4xx_never_500(client, users):
    h = bearer(users["admin"])
    bodies = ['[]', '"s"', "null", "{}", '{"name": "x", "deployments": "hosted"}',
              '{"name": "x", "deployments": [1]}', '{"name": "x", "licenses_held": [null]}',
              '{"name": "x", "based_in": [["EU"]]}', '{"name": {"a": 1}}', '{"name": "x", "mau": 1e400}',
              '{"name": "x", "mau": NaN}', '{"name": "x", "mau": 1.5}', '{"name": "x", "mau": -1}',
              '{"name": "x", "mau": 1' + "0" * 5000 + "}", '{"name": "x", "commercial": null}',
              '{"name": "x", "licenses_held": ["llama2\\u0000"]}', '{"name": "x\\u0000"}',
              '{"name": "x", "based_in": ["eu"]}', '{"name": "x", "based_in": ["\\ud800"]}',
              '{"name": "x", "offered_in": ' + orjson.dumps(["US"] * 251).decode() + "}",
              '{"name": "x", "revenue_usd": 1000000000000001}', "[" * 5000 + "]" * 5000]  # fmt: skip
    for body in bodies:
        r = client.put("/api/v1/profiles/demo-platform", body, content_type="application/json", **h)
        assert 400 <= r.status_code < 500, (body[:60], r.status_code)
    for slug in ("%00", "a" * 300, "DEMO-PLATFORM", "demo-platform%0A", "%C3%A9", ".."):
        assert 400 <= client.get(f"/api/v1/profiles/{slug}", **h).status_code < 500
        assert 400 <= client.get(f"/api/v1/models/{LLAMA2}?profile={slug}").status_code < 500
        r = client.get(f"/api/v1/check?model={LLAMA2}&use=research&profile={slug}", **h)
        assert 400 <= r.status_code < 500
    assert UsageProfile.objects.get(slug="demo-platform").name.startswith("Example")


# --- rows written around the checks ----------------------------------------------------------


def test_the_profiles_api_lists_a_row_written_around_its_checks(client, users):
    """A profile row the checks would refuse (an older release, bulk SQL, or the unchecked
    queryset update) makes GET /api/v1/profiles a 500 for everyone (response validation);
    PolicyOut lists such rows as they are, ProfileOut should too."""
    client.raise_request_exception = False
    from django.db import connection

    with connection.cursor() as cursor:  # around every check (queryset update refuses it)
        cursor.execute("UPDATE usage_usageprofile SET based_in = %s WHERE slug = %s",
                       ['["Europe"]', "demo-platform"])  # fmt: skip
    r = client.get("/api/v1/profiles", **bearer(users["viewer"], ["read"]))
    assert r.status_code == 200, r.status_code


def test_a_malformed_profile_row_does_not_break_the_model_page_and_the_check(client, users):
    """A profile whose deployments are not a list (written by queryset update, which nothing
    checks) makes the model page, the model API and the check 500 (frozenset(5))."""
    client.raise_request_exception = False
    from django.db import connection

    with connection.cursor() as cursor:  # around every check (queryset update refuses it)
        cursor.execute("UPDATE usage_usageprofile SET deployments = %s WHERE slug = %s",
                       ["5", "demo-platform"])  # fmt: skip
    assert client.get(f"/models/{LLAMA2}/").status_code == 200
    assert client.get(f"/api/v1/models/{LLAMA2}?profile=demo-platform").status_code < 500
    r = client.get(f"/api/v1/check?model={LLAMA2}&use=research&profile=demo-platform",
                   **bearer(users["viewer"], ["check"]))  # fmt: skip
    assert r.status_code < 500


def test_a_slug_with_a_trailing_newline_cannot_break_the_profiles_page(client, users):
    """SLUG.match() with `$` takes "team-x\\n": save_profile stores it, and then
    /approvals/profiles/ (NoReverseMatch) and GET /api/v1/profiles (pattern) answer 500."""
    client.raise_request_exception = False
    with pytest.raises(ValidationError):
        save_profile(by=users["legal"], fields={"slug": "team-x\n", "name": "Team X"})
    assert not UsageProfile.objects.filter(slug__startswith="team-x").exists()
    client.force_login(users["legal"])
    assert client.get("/approvals/profiles/").status_code == 200
    assert client.get("/api/v1/profiles").status_code == 200


# --- permissions ---------------------------------------------------------------------------


def test_only_write_tokens_of_legal_or_admin_and_their_sessions_edit_profiles(client, users):
    """Holds: a legal user's token without `write`, a developer's or approver's write token, a
    viewer's session, and the site for developer/approver/viewer are all refused."""
    refused = [
        bearer(users["legal"], ["check", "read"]),
        bearer(users["developer"]),
        bearer(users["approver"]),
        bearer(users["admin"], ["read"]),
    ]
    for h in refused:
        r = client.post("/api/v1/profiles", BODY, content_type="application/json", **h)
        assert r.status_code == 403, r.content
        r = client.put("/api/v1/profiles/demo-platform", {**BODY, "mau": 1},
                       content_type="application/json", **h)  # fmt: skip
        assert r.status_code == 403, r.content
    for name in ("viewer", "developer", "approver"):
        client.force_login(users[name])
        assert (
            client.post("/api/v1/profiles", BODY, content_type="application/json").status_code
            == 403
        )
        assert (
            client.post("/approvals/profiles/new/", {"slug": "x", "name": "x"}).status_code == 403
        )
        assert (
            client.post("/approvals/profiles/demo-platform/edit/", {"name": "x"}).status_code == 403
        )
    client.logout()
    assert client.post("/api/v1/profiles", BODY, content_type="application/json").status_code == 401
    assert not UsageProfile.objects.filter(slug="product-x").exists()
    assert UsageProfile.objects.get(slug="demo-platform").mau == 900_000_000


def test_the_admin_role_lists_profiles_read_only_in_the_admin(client, users):
    """The README: "the admin lists them read-only"; an admin-role user with staff status gets
    403 on the profiles' admin list (no usage.view_usageprofile, no has_view_permission)."""
    admin = users["admin"]
    admin.is_staff = True
    admin.save()
    client.force_login(admin)
    assert client.get("/admin/usage/usageprofile/").status_code == 200


def test_a_profile_in_use_cannot_be_deleted(users):
    """Holds: a token's, a policy's or a request's profile is PROTECTed."""
    platform = UsageProfile.objects.get(slug="demo-platform")
    ApiToken.issue(users["viewer"], name="pipe", scopes=["check"], profile=platform)
    with pytest.raises(ProtectedError):
        platform.delete()
    startup = UsageProfile.objects.get(slug="demo-startup-eu")
    Policy.objects.create(name="p", action="approve", profile=startup, profile_verdicts=["usable"])
    with pytest.raises(ProtectedError):
        UsageProfile.objects.filter(slug="demo-startup-eu").delete()


# --- the check: lean path vs ninja, and what the profile verdict counts ------------------------


def test_the_lean_path_and_ninja_agree_for_a_tokens_profile(client, users, lean):
    """Holds: with the token's profile, an approval for it, a waiver, an unknown model and a
    derivative carrying Llama terms, both paths give the same JSON."""
    platform = UsageProfile.objects.get(slug="demo-platform")
    llama = HubModel.objects.get(repo_id=LLAMA2)
    req = review.submit(model=llama, use="hosted_service", justification="x",
                        by=users["developer"], profile=platform)  # fmt: skip
    review.decide(req, by=users["approver"], status=Status.APPROVED)
    Waiver.objects.create(model=HubModel.objects.get(repo_id=SD3), reason="license_acquired",
                          evidence_link="https://example.com/deal", granted_by=users["approver"],
                          expires_at=date.today() + timedelta(days=30))  # fmt: skip
    h = bearer(users["viewer"], ["check"], profile=platform)
    for repo_id in (LLAMA2, SD3, MISTRAL, "nobody/absent", APACHE_LLAMA, CHAT):
        for use in ("hosted_service", "research"):
            query = f"model={repo_id}&use={use}"
            via_ninja = client.get(f"/api/v1/check?{query}", **h).json()
            assert lean(query, h) == via_ninja, (repo_id, use)
            assert via_ninja["profile_verdict"]["profile"] == "demo-platform"


def _approved_at_another_revision(users) -> UsageProfile:
    """LLAMA3 approved for demo-platform pinned to a revision that is not its current one."""
    platform = UsageProfile.objects.get(slug="demo-platform")
    HubModel.objects.filter(repo_id=LLAMA3).update(sha="cd" * 20)
    model = HubModel.objects.get(repo_id=LLAMA3)
    req = review.submit(model=model, use="hosted_service", justification="x", by=users["developer"],
                        profile=platform, revision="ab" * 20, scope="revision")  # fmt: skip
    review.decide(req, by=users["approver"], status=Status.APPROVED)
    return platform


def test_the_checks_profile_verdict_counts_only_approvals_the_check_counts(client, users, lean):
    """An approval pinned to another revision does not apply (allowed false, not_requested),
    yet the same answer's profile_verdict says usable, "approved for demo-platform"
    (approvals.check._with_profile reads the approval rows before the revision filter)."""
    platform = _approved_at_another_revision(users)
    h = bearer(users["viewer"], ["check"], profile=platform)
    for got in (client.get(f"/api/v1/check?model={LLAMA3}&use=hosted_service", **h).json(),
                lean(f"model={LLAMA3}&use=hosted_service", h)):  # fmt: skip
        assert got["allowed"] is False and got["status"] == "not_requested"
        pv = got["profile_verdict"]
        assert pv["verdict"] == pv["terms_verdict"] == "blocked", pv["verdict"]
        assert not any(r["code"] == "approval" for r in pv["reasons"])


def test_the_model_api_does_not_count_an_approval_pinned_to_another_revision(client, users):
    """approvals.profiles._standing reads every approved request of the model for the profile,
    whatever its revision: the model API and page say usable ("approved for demo-platform")
    for a revision no approval covers, where the check says it is not approved."""
    _approved_at_another_revision(users)
    assert api_verdict(client, LLAMA3, "demo-platform") == "blocked"
    html = client.get(f"/models/{LLAMA3}/").content.decode()
    assert 'data-profile="demo-platform" data-verdict="blocked"' in html


# --- policies with a profile -----------------------------------------------------------------


def test_posting_a_policy_with_a_profile_does_not_make_an_unrestricted_rule(client, users):
    """POST /api/v1/policies drops `profile` and `profile_verdicts` (PolicyIO lacks them; extra
    keys are ignored): "approve what is usable for the startup" is stored as an enforced rule
    that approves every request, e.g. Llama 2 for a commercial product, with no profile."""
    body = {"name": "usable for the startup", "action": "approve", "enforced": True,
            "profile": "demo-startup-eu", "profile_verdicts": ["usable"]}  # fmt: skip
    r = client.post("/api/v1/policies", body, content_type="application/json",
                    **bearer(users["admin"]))  # fmt: skip
    if r.status_code == 201:
        p = Policy.objects.get(pk=r.json()["id"])
        assert p.profile is not None and p.profile.slug == "demo-startup-eu"
        assert p.profile_verdicts == ["usable"]
    else:
        assert r.status_code == 422
    req = review.submit(model=HubModel.objects.get(repo_id=LLAMA2), use="commercial_product",
                        justification="x", by=users["developer"])  # fmt: skip
    assert req.status == Status.PENDING, req.decided_by_rule


def test_a_policy_on_profile_verdicts_without_a_profile_is_a_422_not_a_500(client, users):
    """Found by schemathesis in CI: POST /api/v1/policies with `profile_verdicts` and no
    `profile` reached Policy's own check as an uncaught ValidationError (a 500)."""
    body = {"name": "no profile", "action": "reject", "profile_verdicts": ["review"]}
    r = client.post("/api/v1/policies", body, content_type="application/json",
                    **bearer(users["admin"]))  # fmt: skip
    assert r.status_code == 422, r.content
    assert "names the profile" in str(r.json()["detail"])
    assert not Policy.objects.filter(name="no profile").exists()


def test_the_policies_api_says_which_profile_a_rule_decides_for(client, users):
    """GET /api/v1/policies omits profile and profile_verdicts: a rule approving only what is
    usable for one profile is listed as approving everything."""
    startup = UsageProfile.objects.get(slug="demo-startup-eu")
    Policy.objects.create(name="usable for the startup", action="approve", enforced=True,
                          profile=startup, profile_verdicts=["usable"])  # fmt: skip
    [got] = client.get("/api/v1/policies", **bearer(users["viewer"], ["read"])).json()
    assert got.get("profile") == "demo-startup-eu", got
    assert got.get("profile_verdicts") == ["usable"], got


def test_a_queryset_update_cannot_leave_profile_verdicts_without_their_profile(users):
    """PolicyQuerySet.update checks only its kwargs: update(profile=None) on a rule with
    profile_verdicts is accepted, and the rule (no profile: _profile() is True) then approves
    every request, whatever its verdict."""
    from django.core.exceptions import ValidationError

    startup = UsageProfile.objects.get(slug="demo-startup-eu")
    p = Policy.objects.create(name="usable for the startup", action="approve", enforced=True,
                              profile=startup, profile_verdicts=["usable"])  # fmt: skip
    with contextlib.suppress(ValidationError):
        Policy.objects.filter(pk=p.pk).update(profile=None)
    req = review.submit(model=HubModel.objects.get(repo_id=LLAMA2), use="commercial_product",
                        justification="x", by=users["developer"])  # fmt: skip
    assert req.status == Status.PENDING, req.decided_by_rule


def test_the_dry_run_of_a_profile_rule_counts_what_it_would_decide(users):
    """dry_run never passes a profile to first_match, so a rule with a profile always shows
    0 decided: "approve what is usable for the startup" (all 8 models usable) looks inert."""
    startup = UsageProfile.objects.get(slug="demo-startup-eu")
    p = Policy.objects.create(name="usable for the startup", action="approve", enforced=False,
                              profile=startup, profile_verdicts=["usable"])  # fmt: skip
    per_use = dry_run(p)["per_use"]
    assert sum(u["decided"] for u in per_use) > 0, per_use


def test_a_profile_rule_decides_only_its_profiles_requests_on_the_verdict(users):
    """Holds: the rule approves what is usable for its profile, leaves other requests and
    what is blocked for a person."""
    platform = UsageProfile.objects.get(slug="demo-platform")
    Policy.objects.create(name="usable for the platform", action="approve", enforced=True,
                          profile=platform, profile_verdicts=["usable"])  # fmt: skip
    dev = users["developer"]
    mistral, llama = HubModel.objects.get(repo_id=MISTRAL), HubModel.objects.get(repo_id=LLAMA2)
    ok = review.submit(model=mistral, use="hosted_service", justification="x", by=dev,
                       profile=platform)  # fmt: skip
    assert ok.status == Status.APPROVED
    blocked = review.submit(model=llama, use="hosted_service", justification="x", by=dev,
                            profile=platform)  # fmt: skip
    assert blocked.status == Status.PENDING
    other = review.submit(model=mistral, use="hosted_service", justification="x", by=dev)
    assert other.status == Status.PENDING


# --- stored verdicts and the search filter -------------------------------------------------


def test_usable_false_does_not_list_models_not_evaluated_for_the_profile(
    client, users, django_capture_on_commit_callbacks
):
    """Until a new profile's evaluation task has run, `usable=false` lists every model,
    Mistral (apache-2.0) included, which the model API calls usable for it: a model with no
    stored verdict is "not usable" (evaluation writes a row for every model, unassessed ones
    as review, so `false` could read review and blocked rows only)."""
    with django_capture_on_commit_callbacks(execute=False):  # the task is queued, not run yet
        save_profile(by=users["legal"], fields={
            "slug": "fresh", "name": "Fresh", "mau": 10, "revenue_usd": 10, "based_in": ["US"],
            "offered_in": ["US"], "deployments": ["internal"]})  # fmt: skip
    assert api_verdict(client, MISTRAL, "fresh") == "usable"
    assert MISTRAL not in ids(client, "profile=fresh&usable=false")


def test_the_usable_filter_agrees_with_the_page_for_a_waived_model(client, users):
    """A waiver makes Llama 2 usable for the platform on the model page and in the model API
    (the README: the verdict with its waiver is shown ... "as the search filter"), but
    `profile=demo-platform&usable=true` leaves it out and `usable=false` lists it."""
    llama = HubModel.objects.get(repo_id=LLAMA2)
    Waiver.objects.create(model=llama, reason="license_acquired", evidence_link="https://example.com/a",
                          granted_by=users["approver"], expires_at=date.today() + timedelta(days=30))  # fmt: skip
    assert api_verdict(client, LLAMA2, "demo-platform") == "usable"
    assert LLAMA2 in ids(client, "profile=demo-platform&usable=true")
    assert LLAMA2 not in ids(client, "profile=demo-platform&usable=false")


def test_no_suggestion_is_a_search_the_form_refuses(client):
    """A search matching nothing suggests dropping `profile` and keeping `usable=false`
    (`/api/v1/models?usable=false&author=mistralai`), which the form refuses with 422
    ("usable= needs profile=<slug>"); the page links the same."""
    r = client.get("/api/v1/models?profile=demo-startup-eu&usable=false&author=mistralai").json()
    assert r["count"] == 0 and r["suggestions"]
    for s in r["suggestions"]:
        got = client.get(s["url"].removeprefix("http://testserver"))
        assert got.status_code == 200, (s["url"], got.status_code)


def test_a_determination_moves_the_stored_verdict_the_filter_and_the_approval(
    client, users, eager, django_capture_on_commit_callbacks
):
    """Holds: a legal determination (and its fan-out to a derivative) re-evaluates the stored
    verdicts, the filter follows, and an approval for the profile goes to re-review."""
    startup = UsageProfile.objects.get(slug="demo-startup-eu")
    mistral = HubModel.objects.get(repo_id=MISTRAL)
    req = review.submit(model=mistral, use="hosted_service", justification="x",
                        by=users["developer"], profile=startup)  # fmt: skip
    review.decide(req, by=users["approver"], status=Status.APPROVED)
    client.force_login(users["legal"])
    for repo_id in (MISTRAL, CHAT):
        with django_capture_on_commit_callbacks(execute=True):
            r = client.post("/licenses/review/", {"repo_id": repo_id, "license_key": "cc-by-nc-4.0",
                            "reason": "the card says NC", "evidence_link": "https://example.com/x"})  # fmt: skip
        assert r.status_code == 302
    for repo_id in (MISTRAL, CHAT, APACHE_LLAMA):
        stored = ProfileVerdict.objects.get(model__repo_id=repo_id, profile=startup).verdict
        assert stored == api_verdict(client, repo_id, "demo-startup-eu") == "blocked", repo_id
    usable = ids(client, "profile=demo-startup-eu&usable=true")
    assert not {MISTRAL, CHAT, APACHE_LLAMA} & usable and LLAMA2 in usable
    req.refresh_from_db()
    assert req.status == Status.NEEDS_REREVIEW
    assert any(c["field"].endswith("verdict for demo-startup-eu") and c["after"] == "blocked"
               for c in req.changes)  # fmt: skip


def test_a_profile_edit_through_the_api_re_evaluates_what_the_filter_reads(
    client, users, eager, django_capture_on_commit_callbacks
):
    """Holds: PUT moves the stored verdicts (on commit) and the filter agrees with the API."""
    with django_capture_on_commit_callbacks(execute=True):
        r = client.put("/api/v1/profiles/demo-platform",
                       {"name": "Platform", "mau": 10, "revenue_usd": 10, "based_in": ["US"],
                        "offered_in": ["US"], "deployments": ["internal"]},
                       content_type="application/json", **bearer(users["admin"]))  # fmt: skip
    assert r.status_code == 200, r.content
    usable = ids(client, "profile=demo-platform&usable=true")
    for m in HubModel.objects.all():
        assert (m.repo_id in usable) == (
            api_verdict(client, m.repo_id, "demo-platform") == "usable"
        )


def test_a_whole_catalog_batch_finds_the_waivers_and_approvals_a_few_ids_find(users, monkeypatch):
    """standing_ids reads the waivers and a profile's approvals whole for a batch of more than
    MANY ids (a whole-catalog pass) and by id for a few: both give the same models (MANY is
    lowered to this module's small catalog)."""
    monkeypatch.setattr(profiles, "MANY", 3)
    platform = UsageProfile.objects.get(slug="demo-platform")
    llama, sd3 = HubModel.objects.get(repo_id=LLAMA2), HubModel.objects.get(repo_id=SD3)
    req = review.submit(model=llama, use="hosted_service", justification="x",
                        by=users["developer"], profile=platform)  # fmt: skip
    review.decide(req, by=users["approver"], status=Status.APPROVED)
    Waiver.objects.create(model=sd3, reason="license_acquired", evidence_link="https://example.com/d",
                          granted_by=users["approver"], expires_at=date.today() + timedelta(days=9))  # fmt: skip
    every = sorted(HubModel.objects.values_list("pk", flat=True))
    assert len(every) > profiles.MANY
    batch = profiles.standing_ids(platform, every)
    assert {llama.pk, sd3.pk} <= batch
    assert batch == {m for m in every if profiles.standing_ids(platform, [m])}
    # Of a batch, only its own ids: the waived model is left out of one that lacks it.
    without = [m for m in every if m != sd3.pk]
    assert profiles.standing_ids(platform, without) == batch - {sd3.pk}
