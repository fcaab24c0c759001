"""Assessment over a real crawled family (Llama-2-7b-chat-hf and its descendants, via hubreplay)."""

import pytest

from catalog import lineage
from catalog.models import HubModel, LineageEdge
from licenses import assessment, tasks
from licenses.models import Assessment, Determination, ModelLicense
from tests.conftest import crawled_once

pytestmark = pytest.mark.django_db
ROOT = "meta-llama/Llama-2-7b-chat-hf"


def state(repo_id):
    return ModelLicense.objects.select_related("assessment").get(model__repo_id=repo_id)


@pytest.fixture(scope="module")
def _family(django_db_setup, django_db_blocker, replay_index):
    with crawled_once(django_db_blocker, replay_index, ["family.jsonl.gz"]) as (_, run):
        assert run.status == "done"
        # run_sync assessed every model as it crawled, page by page with its fan-out: the
        # whole-catalog pass finds the same results, nothing to change.
        assert ModelLicense.objects.count() == HubModel.objects.count()
        report = assessment.assess_all()
        assert report.assessed == HubModel.objects.count() and report.changed == []
        yield report


@pytest.fixture
def family(_family, db):
    """The family crawled and assessed once for the module (its whole-catalog report); each
    test's changes are rolled back."""
    return _family


def test_the_llama2_root_is_conditional_with_its_terms(family):
    root = state(ROOT)
    assert (root.declared, root.verdict, root.effective) == ("llama2", "conditional", "conditional")
    codes = {c["code"]: c["value"] for c in root.assessment.conditions}
    assert codes["mau_700m"] and codes["aup"].startswith("https://")
    assert root.lineage_complete and not root.conflict


def test_an_apache_finetune_of_llama2_is_in_conflict_naming_the_ancestor(family):
    s = state("Arjs/Llama-2-7b-chatbot-finetune")
    assert (s.declared, s.verdict, s.effective, s.conflict) == (
        "apache-2.0",
        "allowed",
        "conditional",
        True,
    )
    reason = s.assessment.conflict_reasons[0]
    assert ROOT in reason and "Llama 2" in reason and "mau_700m" in reason
    assert {"mau_700m", "aup", "license_copy"} <= {
        c["code"] for c in s.assessment.effective_conditions
    }
    assert s.needs_review


def test_a_grandchild_inherits_through_an_other_licensed_quantization(family):
    s = state("ThisIs-Developer/Llama-2-GGML-Medical-Chatbot")
    assert s.declared == "mit" and s.effective == "conditional" and s.conflict
    # The quantization declares `other`, but its README's "**License**" paragraph links to Meta's
    # Llama download page: it is the nearest Llama 2 ancestor (issue 13, item 5).
    assert s.restrictor == "TheBloke/Llama-2-7B-Chat-GGML"
    ggml = state(s.restrictor)
    assert (ggml.declared, ggml.verdict) == ("llama2", "conditional")
    readme = next(e for e in ggml.assessment.evidence if e["source"] == "readme")
    assert "links to the license of llama2" in readme["note"]


def test_a_non_commercial_derivative_stays_prohibited_without_conflict(family):
    s = state("bineric/NorskGPT-Llama-7B-v0.1")
    assert (s.verdict, s.effective, s.conflict) == ("prohibited", "prohibited", False)


def test_no_license_of_its_own_shows_unknown_and_takes_a_restrictive_ancestor(family):
    s = state("tsavage68/chat_1000_STEPS_01beta_1e5rate_CDPOSFT")
    assert (s.declared, s.verdict, s.effective, s.conflict) == ("", "unknown", "conditional", False)


def test_a_merge_reads_both_parents_and_marks_the_uncrawled_one(family):
    s = state("antoandgar/SVD_Franken_merge1")
    assert LineageEdge.objects.filter(child=s.model).count() == 2
    assert s.declared == "afl-3.0" and s.effective == "conditional" and s.conflict
    assert not s.lineage_complete
    assert "allenai/tulu-2-dpo-7b" in s.assessment.missing_ancestors
    assert "allenai/tulu-2-dpo-7b" in family.missing


def test_no_license_child_of_an_allowed_base_stays_unknown():
    base = HubModel.objects.create(
        repo_id="google-bert/bert-base-uncased", tags=["license:apache-2.0"]
    )
    child = HubModel.objects.create(repo_id="someone/bert-ft", tags=[])
    LineageEdge.objects.create(
        child=child,
        parent_repo_id=base.repo_id,
        relation="finetune",
        relation_source="default",
        origin="tags",
    )
    assessment.assess([base.pk])
    assessment.assess([child.pk])
    s = state("someone/bert-ft")
    assert (s.verdict, s.effective, s.conflict, s.lineage_complete) == (
        "unknown",
        "unknown",
        False,
        True,
    )
    assert s.needs_review


def test_history_rows_are_written_only_when_the_result_changes(family):
    rows = Assessment.objects.count()
    again = assessment.assess_all()
    assert again.changed == [] and Assessment.objects.count() == rows
    model = HubModel.objects.get(repo_id="Arjs/Llama-2-7b-chatbot-finetune")
    model.tags = [t for t in model.tags if not t.startswith("license:")] + ["license:cc-by-nc-4.0"]
    model.card_data = {**(model.card_data or {}), "license": "cc-by-nc-4.0"}
    model.save()
    report = assessment.assess([model.pk])
    assert report.changed == [model.pk] and Assessment.objects.count() == rows + 1
    history = list(model.assessments.order_by("assessed_at").values_list("declared", "effective"))
    # The crawl may write more than one row with the same verdicts: what it learns of the
    # derivative's duties (its README read after its listing) is part of the result.
    verdicts = [h for i, h in enumerate(history) if i == 0 or history[i - 1] != h]
    assert verdicts == [("apache-2.0", "conditional"), ("cc-by-nc-4.0", "prohibited")]


def test_a_change_fans_out_to_descendants_only(family, django_capture_on_commit_callbacks):
    root = HubModel.objects.get(repo_id=ROOT)
    Determination.objects.create(model=root, license_key="cc-by-nc-4.0", reason="test relicense")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        changed = tasks.assess_models([root.pk])
    assert changed == 1
    children = lineage.child_ids([root.pk])
    assert children and len(callbacks) >= 1  # the children's re-assessment is queued
    # Run the fan-out the worker would run, level by level.
    frontier, visited = children, set()
    while frontier:
        report = assessment.assess(frontier)
        visited.update(frontier)
        frontier = lineage.child_ids(report.changed)
    s = state("tsavage68/chat_1000_STEPS_01beta_1e5rate_CDPOSFT")
    assert s.effective == "prohibited"  # two levels down
    unrelated = set(
        HubModel.objects.exclude(pk__in=[*visited, root.pk]).values_list("pk", flat=True)
    )
    assert (
        not Assessment.objects.filter(model_id__in=unrelated)
        .exclude(
            assessed_at=Assessment.objects.filter(model_id__in=unrelated)
            .order_by("assessed_at")
            .values_list("assessed_at", flat=True)
            .first()
        )
        .exists()
    )


def test_missing_ancestors_queue_a_targeted_crawl(family, django_capture_on_commit_callbacks):
    from catalog.models import CrawlRun

    # The crawl's own sweep queued one ancestors run for the parents it did not find (and
    # run_sync drove it)...
    walks = CrawlRun.objects.filter(kind=CrawlRun.Kind.ANCESTORS)
    assert walks.count() == 1 and "allenai/tulu-2-dpo-7b" in walks.get().seen
    # ...while it is active, asking again queues nothing twice; once over, a new one.
    walks.update(status="queued")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert tasks.queue_missing_ancestors(["allenai/tulu-2-dpo-7b"]) is None
    assert callbacks == []
    walks.update(status="done")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        tasks.queue_missing_ancestors(["allenai/tulu-2-dpo-7b"])
    run = CrawlRun.objects.get(kind=CrawlRun.Kind.ANCESTORS, target="allenai/tulu-2-dpo-7b")
    assert run.status == "queued" and len(callbacks) == 1
    # Sent by name (catalog.runs cannot import catalog.tasks, which imports it): the name must
    # be the crawl task's, with the run's id.
    from catalog.tasks import crawl

    [queued] = callbacks
    assert queued.args == (crawl.name,) and queued.keywords == {"args": (run.pk,)}
