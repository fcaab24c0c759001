"""Legacy un-namespaced ids (issue 13): a base named `gpt2` is `openai-community/gpt2`, as the Hub
says with a 307, and an id no move explains stays unresolved, saying so. Real records
(tests/fixtures/make_lineage.py)."""

import httpx2
import pytest

from catalog import crawler, lineage, runs
from catalog.models import CrawlRun, HubModel, RepoAlias
from licenses.models import ModelLicense

pytestmark = pytest.mark.django_db

MOVED = {
    "AvishayDev/TEVA-Vector-discriminator": ("gpt2", "openai-community/gpt2"),
    "DFJordan/EmailClassifierClaude": ("bert-base-uncased", "google-bert/bert-base-uncased"),
    "AdamCodd/distilbert-base-uncased-finetuned-sentiment-amazon": (
        "distilbert-base-uncased",
        "distilbert/distilbert-base-uncased",
    ),
}
UNEXPLAINED = "YongjieNiu/prior-2Relu-adl-cat-1-500"  # base_model:SDXL_model


def test_the_replay_answers_a_moved_id_as_the_hub_does(replay):
    server = replay(["legacy.jsonl.gz"])
    answer = httpx2.get(f"{server.url}/api/models/gpt2", follow_redirects=False)
    assert answer.status_code == 307
    assert answer.headers["Location"] == "/api/models/openai-community/gpt2"
    assert httpx2.get(f"{server.url}/api/models/SDXL_model").status_code == 404
    # The real client follows it to the canonical record.
    from huggingface_hub import HfApi

    assert HfApi(endpoint=server.url).model_info("gpt2").id == "openai-community/gpt2"


def test_a_crawl_resolves_legacy_bases_to_their_canonical_models(replay, hub_for):
    server = replay(["legacy.jsonl.gz"])
    run, _ = runs.start(CrawlRun.Kind.FULL, endpoint=server.url, limit=0)
    assert crawler.run_sync(run, hub=hub_for(server)).status == CrawlRun.Status.DONE
    for child, (old, canonical) in MOVED.items():
        assert RepoAlias.objects.get(alias=old).model.repo_id == canonical
        model = HubModel.objects.get(repo_id=child)
        assert [m.repo_id for _, m in lineage.parents(model) if m] == [canonical], child
        state = ModelLicense.objects.get(model=model)
        assert state.lineage_complete and state.inherited_keys, child
    # No row was made for an old id: the canonical model is the one row.
    assert not HubModel.objects.filter(repo_id__in=[old for old, _ in MOVED.values()]).exists()
    unexplained = ModelLicense.objects.get(model__repo_id=UNEXPLAINED)
    assert not unexplained.lineage_complete
    # The Hub has no SDXL_model: the ancestors walk says so, as an outcome.
    walks = CrawlRun.objects.filter(kind=CrawlRun.Kind.ANCESTORS)
    assert any("SDXL_model" in w.not_found_ids for w in walks)
    assert not any(old in w.not_found_ids for w in walks for old, _ in MOVED.values())


def test_children_derived_before_the_move_is_learnt_take_the_canonical_family(replay, hub_for):
    """Found by the chaos crawl: 100 models kept `base_family` = the old id when their columns
    were derived before the Hub's 307 taught the alias (the clean crawl learnt it first)."""
    from catalog import families
    from catalog.hub import Hub
    from catalog.steps import fetch_details

    server = replay(["legacy.jsonl.gz"])
    child = "AdamCodd/distilbert-base-uncased-finetuned-sentiment-amazon"
    run, _ = runs.start(CrawlRun.Kind.FULL, endpoint=server.url, limit=0)
    assert crawler.run_sync(run, hub=hub_for(server)).status == CrawlRun.Status.DONE
    # As when the child was derived first: the alias unknown, the family the old id.
    RepoAlias.objects.filter(alias="distilbert-base-uncased").delete()
    families.refresh([HubModel.objects.get(repo_id=child).pk])
    assert HubModel.objects.get(repo_id=child).base_family == "distilbert-base-uncased"
    # The ancestors walk asks the Hub for the old id and learns the move.
    fetch_details(HubModel(repo_id="distilbert-base-uncased"), Hub(endpoint=server.url, token=""))
    assert HubModel.objects.get(repo_id=child).base_family == "distilbert/distilbert-base-uncased"
