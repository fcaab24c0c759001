"""Manual license determinations are audited: made, changed and revoked, by any way in."""

import csv
import io

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError

from approvals.models import AuditEvent
from catalog.models import HubModel
from licenses import assessment, signals
from licenses.models import Determination, ModelLicense
from tests.conftest import role

pytestmark = pytest.mark.django_db
HX = {"HX-Request": "true"}
REPO = "acme/tiny-chat"


@pytest.fixture
def model() -> HubModel:
    m = HubModel.objects.create(
        repo_id=REPO,
        author="acme",
        tags=["license:apache-2.0"],
        card_data={"license": "apache-2.0"},
    )
    assessment.assess([m.pk])
    return m


@pytest.fixture
def legal() -> User:
    user = User.objects.create_user("lena", password="x")
    user.groups.add(role("legal"))
    return user


def events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action__startswith="determination.").order_by("id"))


def test_each_determination_change_and_revocation_is_logged_with_actor_and_outcome(
    client, model, legal
):
    client.force_login(legal)
    post = {"repo_id": REPO, "license_key": "cc-by-nc-4.0", "reason": "the README says NC",
            "evidence_link": "https://example.com/readme"}  # fmt: skip
    assert client.post("/licenses/review/", post).status_code == 302

    [made] = events()
    determination = Determination.objects.get(active=True)
    assert (made.action, made.actor, made.actor_label) == ("determination.created", legal, "lena")
    assert (made.object_type, made.object_id) == ("determination", str(determination.pk))
    assert made.repo_id == REPO and made.at is not None
    assert made.detail["license"] == "cc-by-nc-4.0" and made.detail["reason"] == post["reason"]
    assert made.detail["evidence_link"] == post["evidence_link"]
    assert made.detail["before"]["declared"] == "apache-2.0"
    assert made.detail["after"] == {"declared": "cc-by-nc-4.0", "verdict": "prohibited",
                                    "effective": "prohibited", "conflict": False,
                                    "manual": True}  # fmt: skip

    # A change, on the model's license page: logged as replacing the first.
    r = client.post(f"/licenses/models/{REPO}/", {"action": "determine", "license_key": "mit",
                    "reason": "relicensed by the authors"}, headers=HX)  # fmt: skip
    assert r.status_code == 200 and 'id="model-license"' in r.text and "<html" not in r.text
    assert "relicensed by the authors" in r.text
    changed = events()[-1]
    assert changed.action == "determination.changed" and changed.actor == legal
    assert changed.detail["license"] == "mit"
    assert changed.detail["replaces"] == [{"id": determination.pk, "license": "cc-by-nc-4.0"}]
    assert Determination.objects.filter(model=model, active=True).count() == 1

    # A revocation: the automatic result applies again, and the log says which one went.
    r = client.post(f"/licenses/models/{REPO}/", {"action": "revoke", "reason": "wrong repo"})
    assert r.status_code == 302
    revoked = events()[-1]
    assert revoked.action == "determination.revoked" and revoked.actor == legal
    assert revoked.detail["license"] == "mit" and revoked.detail["reason"] == "wrong repo"
    assert revoked.detail["after"]["declared"] == "apache-2.0"
    assert not revoked.detail["after"]["manual"]
    state = ModelLicense.objects.get(model=model)
    assert state.declared == "apache-2.0" and not state.manual
    assert not Determination.objects.filter(model=model, active=True).exists()
    assert [e.action for e in events()] == [
        "determination.created", "determination.changed", "determination.revoked",
    ]  # fmt: skip


def test_the_domain_function_checks_the_role_and_logs_nothing_it_refuses(model, legal):
    viewer = User.objects.create_user("vic", password="x")
    viewer.groups.add(role("viewer"))
    with pytest.raises(PermissionDenied):
        assessment.determine(model=model, license_key="mit", reason="x", by=viewer)
    with pytest.raises(ValidationError):
        assessment.determine(model=model, license_key="no-such-license", reason="x", by=legal)
    with pytest.raises(ValidationError):
        assessment.revoke_determination(model=model, reason="nothing to revoke", by=legal)
    assert not Determination.objects.exists() and not events()

    # Called directly (as the API or a shell would), it logs all the same.
    made, report = assessment.determine(model=model, license_key="mit", reason="x", by=legal)
    assert report.changed == [model.pk]
    assert [(e.action, e.object_id) for e in events()] == [("determination.created", str(made.pk))]


def test_the_model_page_refuses_other_users_and_shows_errors_inline(client, model, legal):
    assert client.post(f"/licenses/models/{REPO}/", {"action": "revoke"}).status_code == 403
    page = client.get(f"/licenses/models/{REPO}/")
    assert "Record a determination" not in page.text

    client.force_login(legal)
    page = client.get(f"/licenses/models/{REPO}/")
    assert "Record a determination" in page.text and "Revoke the determination" not in page.text
    r = client.post(f"/licenses/models/{REPO}/", {"action": "revoke", "reason": "x"}, headers=HX)
    assert r.status_code == 200 and "has no manual determination to revoke" in r.text
    r = client.post(f"/licenses/models/{REPO}/", {"action": "determine", "license_key": "mit"})
    assert r.status_code == 400 and 'role="alert"' in r.text and "This field is required" in r.text
    assert not events()


def test_the_admin_cannot_add_change_or_delete_determinations(client, model, legal):
    made, _ = assessment.determine(model=model, license_key="mit", reason="x", by=legal)
    admin = User.objects.create_superuser("root", "root@example.com", "x")
    client.force_login(admin)
    assert client.get("/admin/licenses/determination/").status_code == 200
    assert client.get("/admin/licenses/determination/add/").status_code == 403
    url = f"/admin/licenses/determination/{made.pk}/change/"
    assert b'name="_save"' not in client.get(url).content  # shown read-only
    assert client.post(url, {"license_key": "apache-2.0", "reason": "y"}).status_code == 403
    assert client.post(f"/admin/licenses/determination/{made.pk}/delete/").status_code == 403
    made.refresh_from_db()
    assert made.license_key == "mit" and made.active


def test_the_audit_log_filters_and_exports_determinations(client, model, legal):
    assessment.determine(model=model, license_key="mit", reason="x", by=legal)
    assessment.revoke_determination(model=model, reason="y", by=legal)
    AuditEvent.objects.create(actor_label="system", action="waiver.granted", repo_id=REPO)
    client.force_login(legal)  # legal may read the audit log

    page = client.get("/approvals/audit/")
    assert '<option value="determination">' in page.text  # the filter offers the kind
    listed = client.get("/approvals/audit/", {"action": "determination"}, headers=HX).text
    assert "determination.created" in listed and "determination.revoked" in listed
    assert "waiver.granted" not in listed
    response = client.get("/approvals/audit/", {"action": "determination", "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["action"] for r in rows] == ["determination.revoked", "determination.created"]
    assert {r["actor"] for r in rows} == {"lena"} and {r["model"] for r in rows} == {REPO}


def test_no_determination_is_made_where_no_audit_log_listens(model, legal):
    # licenses tells the audit log (approvals, a layer above) through a signal: with the
    # receiver gone, the determination is refused rather than made unlogged.
    from approvals import receivers

    uid = "canopy-audit-determination"
    assert signals.determination_recorded.disconnect(dispatch_uid=uid)
    try:
        with pytest.raises(ImproperlyConfigured):
            assessment.determine(model=model, license_key="mit", reason="x", by=legal)
    finally:
        signals.determination_recorded.connect(receivers.determination, dispatch_uid=uid)
    assert not Determination.objects.exists() and events() == []
    assessment.determine(model=model, license_key="mit", reason="x", by=legal)
    assert [e.action for e in events()] == ["determination.created"]
