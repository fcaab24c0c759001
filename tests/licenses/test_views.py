"""Pages (full and htmx), the review queue with its permission, and the API fields."""

import pytest
from django.contrib.auth.models import Permission, User

from catalog.models import HubModel
from licenses import assessment
from licenses.api import license_fields
from licenses.models import Assessment, Determination, ModelLicense
from portal import search
from portal.models import SearchEntry
from tests.conftest import crawled_once

pytestmark = pytest.mark.django_db
HX = {"HX-Request": "true"}


@pytest.fixture(scope="module")
def _family(django_db_setup, django_db_blocker, replay_index):
    with crawled_once(django_db_blocker, replay_index, ["family.jsonl.gz"]):
        assessment.assess_all()
        yield


@pytest.fixture
def family(_family, db):
    """The family crawled and assessed once for the module; each test's changes roll back."""


def test_license_list_full_and_htmx(client):
    page = client.get("/licenses/?verdict=prohibited")
    assert page.status_code == 200 and "<html" in page.text and "cc-by-nc-4.0" in page.text
    assert "apache-2.0" not in page.text
    frag = client.get("/licenses/", headers=HX)
    assert 'id="results"' in frag.text and "<html" not in frag.text


def test_license_detail_shows_terms_clause_and_usage(client, family):
    page = client.get("/licenses/llama2/")
    assert page.status_code == 200
    for text in (
        "700,000,000 monthly active users",
        "greater than 700 million",
        "conditional",
        "meta-llama/Llama-2-7b-chat-hf",
    ):
        assert text in page.text
    assert client.get("/licenses/no-such-license/").status_code == 404


def test_model_license_panel_full_and_htmx(client, family):
    url = "/licenses/models/Arjs/Llama-2-7b-chatbot-finetune/"
    page = client.get(url)
    assert page.status_code == 200 and "<html" in page.text
    assert "conflict" in page.text and "Obligations checklist" in page.text
    assert "sets the effective terms" in page.text  # the inherited path highlights the root
    frag = client.get(url, headers=HX)
    assert 'id="model-license"' in frag.text and "<html" not in frag.text


def test_review_queue_lists_and_only_reviewers_may_decide(client, family):
    queue = client.get("/licenses/review/?reason=conflict")
    assert "Arjs/Llama-2-7b-chatbot-finetune" in queue.text and "Decide" not in queue.text
    post = {
        "repo_id": "Arjs/Llama-2-7b-chatbot-finetune",
        "license_key": "llama2",
        "reason": "fine-tune of Llama 2; the apache-2.0 tag is wrong",
        "evidence_link": "https://ai.meta.com/llama/license/",
    }
    assert client.post("/licenses/review/", post).status_code == 403
    plain = User.objects.create_user("viewer", password="x")
    client.force_login(plain)
    assert client.post("/licenses/review/", post).status_code == 403
    assert not Determination.objects.exists()

    legal = User.objects.create_user("legal", password="x")
    legal.user_permissions.add(Permission.objects.get(codename="add_determination"))
    client.force_login(legal)
    assert "Decide" in client.get("/licenses/review/").text
    frag = client.post("/licenses/review/", post, headers=HX)
    assert (
        frag.status_code == 200 and "determined manually" in frag.text and "<html" not in frag.text
    )
    s = ModelLicense.objects.get(model__repo_id=post["repo_id"])
    assert s.manual and s.declared == "llama2" and not s.conflict and not s.needs_review
    history = Assessment.objects.filter(model=s.model).order_by("assessed_at")
    declared = [h.declared for h in history]  # the crawl's rows may repeat a license (duties)
    assert [d for i, d in enumerate(declared) if i == 0 or declared[i - 1] != d] == [
        "apache-2.0",
        "llama2",
    ]
    assert history.last().determination.decided_by == legal
    assert history.last().evidence[0]["source"] == "determination"
    # Not in the queue any more; the page says it was decided manually.
    assert post["repo_id"] not in client.get("/licenses/review/?reason=conflict").text
    assert "manual determination" in client.get(f"/licenses/models/{post['repo_id']}/").text
    staff = User.objects.create_user("staff", password="x", is_staff=True)
    client.force_login(staff)
    assert client.post("/licenses/review/", {**post, "license_key": "mit"}).status_code == 403


def test_api_license_fields_and_endpoints(client, family):
    model = HubModel.objects.get(repo_id="Arjs/Llama-2-7b-chatbot-finetune")
    fields = license_fields(model)
    assert set(fields) == {
        "declared_license",
        "commercial",
        "conditions",
        "effective_commercial",
        "effective_conditions",
        "conflict",
        "conflict_reasons",
        "lineage_complete",
        "lineage_status",
        "lineage_gaps",
        "suspected_bases",
        "suspected_upstream",
        "duty_checks",
        "obligations_not_met",
        "data_commercial",
        "data_conditions",
        "data_status",
        "data_conflict",
        "data_conflict_reasons",
        "datasets",
        "evidence",
        "assessed_at",
    }
    assert fields["declared_license"] == "apache-2.0" and fields["commercial"] == "allowed"
    assert fields["lineage_status"] == "complete" and fields["lineage_complete"]
    assert fields["effective_commercial"] == "conditional" and fields["conflict"] is True
    assert {"code": "mau_700m", "value": "700,000,000 monthly active users"} in (
        fields["effective_conditions"]
    )
    unassessed = HubModel.objects.create(repo_id="x/new")
    assert license_fields(unassessed)["commercial"] == "unknown"

    listing = client.get("/api/v1/licenses?verdict=prohibited").json()
    assert {"cc-by-nc-4.0", "mrl", "llama-1"} <= {row["key"] for row in listing}
    one = client.get("/api/v1/licenses/llama2").json()
    assert one["verdict"] == "conditional" and one["models"] >= 1 and one["clause"]
    assert client.get("/api/v1/licenses/nope").status_code == 404


def test_license_facets_filter_and_count_in_the_catalog_search(family):
    """The license facets of the catalog search: the effective verdict and conflict filters find
    the mislabelled fine-tune, and the counts hold the verdicts and declared licenses."""
    found = search.apply(SearchEntry.objects.all(), {"effective": "conditional", "conflict": "yes"})
    assert found.filter(repo_id="Arjs/Llama-2-7b-chatbot-finetune").exists()
    counts, _, _ = search.facet_counts(SearchEntry.objects.all())
    assert dict(counts["verdict"])["conditional"] >= 1 and dict(counts["license"])["llama2"] >= 1


def test_the_review_queue_keeps_other_apart_from_nothing_declared(client):
    """Issue 13: a bare `other` (look for the custom terms) is not "none" (ask the author). The
    two rows are CONSTRUCTED (a record with a bare `license:other` tag, and one with no license)."""
    from catalog.models import HubModel
    from licenses import assessment

    other = HubModel.objects.create(repo_id="someone/custom-terms", tags=["license:other"])
    bare = HubModel.objects.create(repo_id="someone/no-license", tags=[])
    assessment.assess([other.pk, bare.pk])
    assert ModelLicense.objects.get(model=other).declared == "other"
    assert ModelLicense.objects.get(model=bare).declared == ""

    def row(model):  # the row's link (the id itself is drawn with <wbr> breaks)
        return f'href="/licenses/models/{model.repo_id}/"'

    for reason, shown, hidden in (("other", other, bare), ("undeclared", bare, other)):
        page = client.get("/licenses/review/", {"reason": reason, "q": "someone/"}).text
        assert row(shown) in page and row(hidden) not in page, reason
    both = client.get("/licenses/review/", {"reason": "unknown", "q": "someone/"}).text
    assert row(other) in both and row(bare) in both
    api = client.get(f"/api/v1/models/{other.repo_id}").json()
    assert api["declared_license"] == "other" and api["commercial"] == "unknown"
    assert client.get(f"/api/v1/models/{bare.repo_id}").json()["declared_license"] is None
