"""Usage profiles where people and pipelines ask (issue 15, items 3-4): the profiles API, a
model's verdict for a profile in the model API and on the page, the search facet, the check
API per profile (named, or the token's, on both the lean path and ninja's), policies deciding
on a profile's verdict, and approvals re-reviewed when a profile edit moves their verdict."""

from __future__ import annotations

import orjson
import pytest
from django.db.models import Count
from django.test import override_settings

from approvals import review
from approvals.middleware import CheckFastPath
from approvals.models import ApiToken, Policy, Status
from catalog.models import HubModel
from config.wsgi import application
from tests.conftest import GEMMA, LLAMA2, MISTRAL, SD3
from tests.usage.conftest import example_profiles
from usage import evaluate
from usage.models import ProfileVerdict, UsageProfile

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _examples(profiles_catalog, db):
    example_profiles()
    for p in UsageProfile.objects.all():
        evaluate.evaluate(p)


def bearer(user, scopes=("check", "read", "write"), profile=None):
    token, secret = ApiToken.issue(user, name="ci", scopes=list(scopes))
    if profile is not None:
        token.profile = profile
        token.save(actor=user)
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def test_profiles_are_listed_and_only_legal_or_admin_create_and_edit(client, users):
    got = client.get("/api/v1/profiles", **bearer(users["viewer"], ["read"])).json()
    assert {"demo-startup-eu", "demo-platform"} <= {p["slug"] for p in got}
    body = {"slug": "product-x", "name": "Product X", "mau": 2_000_000, "revenue_usd": 5_000_000,
            "deployments": ["shipped"], "based_in": ["US"], "offered_in": ["WORLD"]}  # fmt: skip
    dev = client.post("/api/v1/profiles", body, content_type="application/json",
                      **bearer(users["developer"]))  # fmt: skip
    assert dev.status_code == 403
    made = client.post("/api/v1/profiles", body, content_type="application/json",
                       **bearer(users["legal"]))  # fmt: skip
    assert made.status_code == 201, made.content
    again = client.post("/api/v1/profiles", body, content_type="application/json",
                        **bearer(users["legal"]))  # fmt: skip
    assert again.status_code == 409
    changed = client.put("/api/v1/profiles/product-x", {**body, "mau": 800_000_000},
                         content_type="application/json", **bearer(users["admin"]))  # fmt: skip
    assert changed.status_code == 200 and changed.json()["mau"] == 800_000_000
    for bad in (
        {"mau": -5},
        {"based_in": ["Europe"]},
        {"deployments": ["moon"]},
        {"licenses_held": ["nope"]},
        {"name": "a\u0000b"},
        {"mau": 10**16},
    ):
        r = client.put("/api/v1/profiles/product-x", {**body, **bad},
                       content_type="application/json", **bearer(users["admin"]))  # fmt: skip
        assert r.status_code == 422, (bad, r.status_code, r.content)
        assert r.json()["detail"]
    missing = client.put("/api/v1/profiles/nope", body, content_type="application/json",
                         **bearer(users["admin"]))  # fmt: skip
    assert missing.status_code == 404 and "nope" in missing.json()["detail"]


def test_the_model_api_answers_for_a_profile(client):
    r = client.get(f"/api/v1/models/{LLAMA2}?profile=demo-platform").json()
    pv = r["profile_verdict"]
    assert pv["profile"] == "demo-platform" and pv["verdict"] == "blocked"
    assert {x["code"] for x in pv["reasons"]} >= {"mau_700m", "no_output_training"}
    assert all(x["clause"] for x in pv["reasons"])
    ok = client.get(f"/api/v1/models/{LLAMA2}?profile=demo-startup-eu").json()["profile_verdict"]
    assert ok["verdict"] == "usable" and any(o["code"] == "aup" for o in ok["obligations"])
    assert client.get(f"/api/v1/models/{LLAMA2}").json()["profile_verdict"] is None
    assert client.get(f"/api/v1/models/{LLAMA2}?profile=nope").status_code == 404


def test_search_filters_by_usable_for_a_profile(client):
    def ids(query):
        r = client.get(f"/api/v1/models?{query}&page_size=100")
        assert r.status_code == 200, r.content
        return {m["id"] for m in r.json()["items"]}

    usable = ids("profile=demo-platform&usable=true")
    assert MISTRAL in usable and LLAMA2 not in usable and SD3 not in usable
    assert LLAMA2 in ids("profile=demo-platform&usable=false")
    assert {LLAMA2, SD3, MISTRAL} <= ids("profile=demo-startup-eu&usable=true")
    assert client.get("/api/v1/models?usable=true").status_code == 422  # which profile?
    assert client.get("/api/v1/models?profile=nope&usable=true").status_code == 422
    page = client.get("/models/?profile=demo-platform&usable=true")
    assert page.status_code == 200 and MISTRAL in page.content.decode()
    assert "usable for Example: global platform" in page.content.decode()


def test_the_model_page_compares_the_profiles(client):
    html = client.get(f"/models/{LLAMA2}/").content.decode()
    assert 'data-profile="demo-platform" data-verdict="blocked"' in html
    assert 'data-profile="demo-startup-eu" data-verdict="usable"' in html
    assert "700,000,000 monthly active users" in html


def test_the_check_answers_per_profile_named_or_the_tokens(client, users, monkeypatch):
    import approvals.middleware

    # The lean path ages out connections; in a test's transaction it must keep this one.
    monkeypatch.setattr(approvals.middleware, "close_old_connections", lambda: None)
    h = bearer(users["viewer"], ["check"])
    named = client.get(f"/api/v1/check?model={SD3}&use=commercial_product&profile=demo-platform",
                       **h).json()  # fmt: skip
    assert named["profile_verdict"]["verdict"] == "blocked"
    assert named["reasons"][0].startswith("for demo-platform: blocked")
    assert "revenue" in named["reasons"][0]
    plain = client.get(f"/api/v1/check?model={SD3}&use=commercial_product", **h).json()
    assert plain["profile_verdict"] is None
    assert client.get(f"/api/v1/check?model={SD3}&use=research&profile=x%20y", **h).status_code in (
        404, 422)  # fmt: skip
    # The token's own profile, through ninja and through the lean WSGI path alike.
    startup = UsageProfile.objects.get(slug="demo-startup-eu")
    ht = bearer(users["viewer"], ["check"], profile=startup)
    via_ninja = client.get(f"/api/v1/check?model={SD3}&use=hosted_service", **ht).json()
    assert via_ninja["profile_verdict"]["verdict"] == "usable"
    fast = CheckFastPath(application)
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/api/v1/check", "HTTP_HOST": "testserver",
               "QUERY_STRING": f"model={SD3}&use=hosted_service", "wsgi.url_scheme": "http",
               "HTTP_AUTHORIZATION": ht["HTTP_AUTHORIZATION"]}  # fmt: skip
    with override_settings(ALLOWED_HOSTS=["testserver"]):
        served = fast.serve(environ)
    assert served is not None
    assert orjson.loads(served[1]) == via_ninja
    # A named profile is ninja's to look up: the lean path declines it.
    environ["QUERY_STRING"] += "&profile=demo-platform"
    with override_settings(ALLOWED_HOSTS=["testserver"]):
        assert fast.serve(environ) is None


def test_a_policy_approves_what_is_usable_for_its_profile_only(users):
    startup = UsageProfile.objects.get(slug="demo-startup-eu")
    Policy.objects.create(name="usable for the startup", action="approve", enforced=True,
                          profile=startup, profile_verdicts=["usable"])  # fmt: skip
    Policy.objects.create(name="blocked for the startup", action="reject", enforced=True,
                          profile=startup, profile_verdicts=["blocked"], order=101)  # fmt: skip
    gemma = HubModel.objects.get(repo_id=GEMMA)
    req = review.submit(model=gemma, use="hosted_service", justification="chat", by=users["developer"],
                        profile=startup)  # fmt: skip
    assert req.status == Status.APPROVED and req.decided_by_rule.name == "usable for the startup"
    other = review.submit(model=gemma, use="hosted_service", justification="chat",
                          by=users["developer"])  # fmt: skip
    assert other.status == Status.PENDING  # no profile: the profile's rules do not decide it


def test_a_profile_edit_sends_approvals_whose_verdict_moved_to_re_review(
    users, django_capture_on_commit_callbacks
):
    from approvals.profiles import save_profile

    startup = UsageProfile.objects.get(slug="demo-startup-eu")
    llama = HubModel.objects.get(repo_id=LLAMA2)
    req = review.submit(model=llama, use="hosted_service", justification="x", by=users["developer"],
                        profile=startup)  # fmt: skip
    review.decide(req, by=users["approver"], status=Status.APPROVED)
    with django_capture_on_commit_callbacks(execute=False):
        save_profile(by=users["legal"], slug=startup.slug,
                     fields={"mau": 750_000_000, "trains_on_outputs": True})  # fmt: skip
    evaluate.evaluate(UsageProfile.objects.get(pk=startup.pk))  # what the queued task runs
    req.refresh_from_db()
    assert req.status == Status.NEEDS_REREVIEW
    assert any("verdict for demo-startup-eu" in c["field"] and c["after"] == "blocked"
               for c in req.changes)  # fmt: skip


def test_a_policy_naming_profile_verdicts_needs_its_profile(db):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        Policy.objects.create(name="x", action="approve", profile_verdicts=["usable"])
    with pytest.raises(ValidationError):
        Policy.objects.create(name="x", action="approve", profile_verdicts=["fine"],
                              profile=UsageProfile.objects.first())  # fmt: skip


def test_legal_edits_a_profile_on_the_site_and_others_may_not(client, users):
    client.force_login(users["developer"])
    assert client.get("/approvals/profiles/").status_code == 200
    assert client.get("/approvals/profiles/new/").status_code == 403
    assert client.post("/approvals/profiles/demo-platform/edit/", {"name": "x"}).status_code == 403
    client.force_login(users["legal"])
    page = client.get("/approvals/profiles/").content.decode()
    assert "Example: global platform" in page and "/approvals/profiles/demo-platform/edit/" in page
    form = {"slug": "team-y", "name": "Team Y", "mau": "1000", "deployments": ["internal"],
            "based_in": "de, fr", "offered_in": "EU", "commercial": "on"}  # fmt: skip
    r = client.post("/approvals/profiles/new/", form)
    assert r.status_code == 302, r.content.decode()[:2000]
    made = UsageProfile.objects.get(slug="team-y")
    assert made.based_in == ["DE", "FR"] and made.updated_by == users["legal"]
    bad = client.post("/approvals/profiles/team-y/edit/", {**form, "based_in": "Europe",
                                                            "licenses_held": "nope"})  # fmt: skip
    assert bad.status_code == 200
    text = bad.content.decode()
    assert "ISO 3166 country codes" in text and "not in the knowledge base" in text
    assert client.get("/approvals/profiles/nope/edit/").status_code == 404


def test_a_request_made_for_a_profile_on_the_site_shows_its_verdict(client, users):
    client.force_login(users["developer"])
    form = client.get(f"/approvals/new/?model={LLAMA2}&profile=demo-platform").content.decode()
    assert 'value="demo-platform" selected' in form
    r = client.post("/approvals/new/", {"model": LLAMA2, "intended_use": "commercial_product",
                                        "scope": "model", "profile": "demo-platform",
                                        "justification": "chat in the app"})  # fmt: skip
    assert r.status_code == 302
    from approvals.models import ApprovalRequest

    req = ApprovalRequest.objects.get(model__repo_id=LLAMA2, requested_by=users["developer"])
    assert req.profile.slug == "demo-platform"
    page = client.get(f"/approvals/{req.pk}/").content.decode()
    assert "For usage profile" in page and "blocked" in page
    bad = client.post("/approvals/new/", {"model": LLAMA2, "intended_use": "research",
                                          "scope": "model", "profile": "nope",
                                          "justification": "x"})  # fmt: skip
    assert bad.status_code == 200 and "Select a valid choice" in bad.content.decode()


def test_the_family_page_counts_the_family_and_its_root_per_profile(client):
    biggest = (HubModel.objects.exclude(base_family="").values("base_family")
               .annotate(n=Count("pk")).order_by("-n").first())  # fmt: skip
    root = HubModel.objects.get(repo_id=biggest["base_family"])
    family = HubModel.objects.filter(base_family=root.repo_id) | HubModel.objects.filter(pk=root.pk)
    assert family.count() > 1
    rows = client.get(f"/families/{root.repo_id}/").context["profiles"]
    assert {r["profile"].slug for r in rows} == set(
        UsageProfile.objects.values_list("slug", flat=True)
    )
    for r in rows:
        assert r["total"] == family.count()
        mine = ProfileVerdict.objects.filter(profile=r["profile"], model__in=family)
        usable = mine.filter(verdict="usable").count()
        assert r["usable"] == usable
