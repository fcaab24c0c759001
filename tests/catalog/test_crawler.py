import gzip
import json

import httpx2
import pytest

from catalog import crawler, runs
from catalog.models import CrawlRun, HubModel, LineageEdge, ModelFile, RepoAlias
from tests.conftest import FIXTURES

pytestmark = pytest.mark.django_db


def records(*names):
    """The state a replay of these files serves: later records replace earlier ones by _id."""
    by_key = {}
    for name in names:
        with gzip.open(FIXTURES / name, "rt") as f:
            for line in f:
                rec = json.loads(line)
                by_key[rec.get("_id") or rec["id"]] = rec
    return {rec["id"]: rec for rec in by_key.values()}


def crawl(server, hub_for, kind=CrawlRun.Kind.FULL, **kw):
    run, _ = runs.start(kind, endpoint=server.url, limit=kw.pop("limit", 0), **kw)
    return crawler.run_sync(run, hub=hub_for(server))


def test_a_full_crawl_gives_exactly_the_snapshots_models_and_edges(replay, hub_for):
    server = replay(["family.jsonl.gz"], page_size_cap=40)
    run = crawl(server, hub_for)

    expected = records("family.jsonl.gz")
    assert run.status == "done" and run.error_count == 0
    assert run.pages == 4 and run.listed == len(expected) == run.created
    assert set(HubModel.objects.values_list("repo_id", flat=True)) == set(expected)
    want_edges = set()
    for rid, rec in expected.items():
        for tag in rec.get("tags", []):
            if tag.startswith("base_model:"):
                want_edges.add((rid, tag.split(":")[-1]))
        base = (rec.get("cardData") or {}).get("base_model") or []
        for parent in [base] if isinstance(base, str) else base:
            want_edges.add((rid, parent))
    got = set(LineageEdge.objects.values_list("child__repo_id", "parent_repo_id"))
    assert got == want_edges
    assert LineageEdge.objects.count() == len(want_edges)


def test_relations_are_read_from_the_models_own_signals(replay, hub_for):
    crawl(replay(["family.jsonl.gz"]), hub_for)
    rel = dict(LineageEdge.objects.values_list("child__repo_id", "relation"))
    assert rel["TheBloke/Llama-2-7B-Chat-GGUF"] == "quantized"
    # Typed finetune by the Hub, but an fp8 quantization by its name and tags:
    assert rel["FriendliAI/Llama-2-7b-chat-hf-fp8"] == "quantized"
    assert rel["calibration-tuning/Llama-2-7b-chat-hf-ct-choice"] == "adapter"
    assert rel["mayanklohani19/mergekit-slerp-ujysgyd"] == "merge"
    edge = LineageEdge.objects.get(child__repo_id="FriendliAI/Llama-2-7b-chat-hf-fp8")
    assert edge.relation_source == "inferred"
    two = LineageEdge.objects.filter(child__repo_id="GianlucaMondillo/BioTakuya")
    assert {e.relation for e in two} == {"merge"} and two.count() == 2


def test_details_and_license_files_are_fetched_for_new_models(replay, hub_for):
    server = replay(["family.jsonl.gz"])
    run = crawl(server, hub_for)
    assert run.details_fetched == HubModel.objects.count()
    root = HubModel.objects.get(repo_id="meta-llama/Llama-2-7b-chat-hf")
    assert root.gated == "manual" and root.card_data["license"] == "llama2"
    assert root.details_key == root.change_key == root.sha
    # Gated: the anonymous crawler cannot read its files, and says nothing was read.
    assert not root.files.exists()
    readme = ModelFile.objects.filter(path="README.md").first()
    assert readme is not None and readme.text.strip()


def test_a_recrawl_updates_the_changed_models_and_touches_nothing_else(replay, hub_for):
    server = replay(["rich-2024.jsonl.gz"], ["rich-2025.jsonl.gz"])
    crawl(server, hub_for)
    before = dict(HubModel.objects.values_list("hub_id", "updated_at"))
    files_before = dict(ModelFile.objects.values_list("pk", "fetched_at"))
    old, new = records("rich-2024.jsonl.gz"), records("rich-2024.jsonl.gz", "rich-2025.jsonl.gz")
    changed = {rec["_id"] for rec in records("rich-2025.jsonl.gz").values()}

    server.set_state(1)
    server.request_log.clear()
    run = crawl(server, hub_for)

    assert run.status == "done"
    assert run.updated == len(changed) == 60 and run.created == 0
    assert run.unchanged == len(old) - len(changed) == 40
    after = dict(HubModel.objects.values_list("hub_id", "updated_at"))
    assert {h for h in after if after[h] != before[h]} == changed
    assert set(HubModel.objects.values_list("repo_id", flat=True)) == set(new)
    # Detail fetches only for what changed, besides the ancestors run it queued (run_sync
    # drives it too) for the new parents that are not in the snapshot.
    walked = {i for r in CrawlRun.objects.filter(kind="ancestors", created_at__gt=run.created_at)
              for i in r.seen}  # fmt: skip
    infos = [p.split("?")[0].removeprefix("/api/models/")
             for m, p, s in server.request_log if p.startswith("/api/models/")]  # fmt: skip
    assert walked and len([i for i in infos if i not in walked]) == len(changed)
    unchanged_files = ModelFile.objects.exclude(model__hub_id__in=changed)
    assert all(files_before[f.pk] == f.fetched_at for f in unchanged_files)


def test_a_license_change_and_new_lineage_arrive_with_the_recrawl(replay, hub_for):
    server = replay(["rich-2024.jsonl.gz"], ["rich-2025.jsonl.gz"])
    crawl(server, hub_for)
    model = HubModel.objects.get(repo_id="wadhma/Critique-L2-FT-DCR")
    assert "license:mit" not in model.tags and not model.parent_edges.exists()
    server.set_state(1)
    crawl(server, hub_for)
    model.refresh_from_db()
    assert "license:mit" in model.tags
    assert list(model.parent_edges.values_list("parent_repo_id", flat=True)) == [
        "meta-llama/Llama-2-7b-chat-hf"
    ]


def test_a_renamed_repo_keeps_its_row_and_its_old_id_redirects(replay, hub_for, client):
    server = replay(["rich-2024.jsonl.gz"], ["rich-2025.jsonl.gz"])
    crawl(server, hub_for)
    old = HubModel.objects.get(repo_id="qu-bit/llama-2-7b-qubit")
    server.set_state(1)
    crawl(server, hub_for)
    renamed = HubModel.objects.get(hub_id="656e28a0af6d3c41299b581e")
    assert renamed.pk == old.pk and renamed.repo_id == "qu-bit/SuperLLM"
    assert RepoAlias.objects.get(alias="qu-bit/llama-2-7b-qubit").model == renamed
    response = client.get("/models/qu-bit/llama-2-7b-qubit/")
    assert response.status_code == 302 and response["Location"] == "/models/qu-bit/SuperLLM/"


def test_targeted_crawls(replay, hub_for):
    server = replay(["family.jsonl.gz"])
    run = crawl(server, hub_for, CrawlRun.Kind.DESCENDANTS, target="meta-llama/Llama-2-7b-chat-hf")
    family = records("family.jsonl.gz")
    assert run.status == "done"
    got = set(HubModel.objects.values_list("repo_id", flat=True))
    assert "TheBloke/Llama-2-7B-Chat-GGUF" in got and "meta-llama/Llama-2-7b-chat-hf" in got
    assert got <= set(family)

    HubModel.objects.all().delete()
    run = crawl(server, hub_for, CrawlRun.Kind.ANCESTORS, target="TheBloke/Llama-2-7B-Chat-GGUF")
    assert run.status == "done"
    assert set(HubModel.objects.values_list("repo_id", flat=True)) == {
        "TheBloke/Llama-2-7B-Chat-GGUF",
        "meta-llama/Llama-2-7b-chat-hf",
    }

    HubModel.objects.all().delete()
    run = crawl(server, hub_for, CrawlRun.Kind.AUTHOR, target="TheBloke")
    assert run.listed == sum(1 for r in family if r.startswith("TheBloke/"))
    # Besides TheBloke's models, only the parents their assessment found missing, fetched by
    # the ancestors run it queued (which run_sync drives too).
    walked = {i for r in CrawlRun.objects.filter(kind="ancestors", created_at__gt=run.created_at)
              for i in r.seen}  # fmt: skip
    others = set(HubModel.objects.exclude(author="TheBloke").values_list("repo_id", flat=True))
    assert others == {"meta-llama/Llama-2-7b-chat-hf"} and others <= walked


def test_an_incremental_crawl_stops_at_the_watermark(replay, hub_for):
    server = replay(["family.jsonl.gz"], page_size_cap=10)
    crawl(server, hub_for)
    run = crawl(server, hub_for, CrawlRun.Kind.INCREMENTAL)
    assert run.status == "done"
    # Sorted by lastModified, the first page already reaches the last crawl's newest change.
    assert run.pages == 1 and run.created == 0


def test_the_hubs_ratelimit_headers_are_honoured_before_any_429(replay, hub_for, settings):
    settings.CANOPY_DETAILS_PER_RUN = 3
    # A quota of 10 per 2 s (we take 9): the crawl's 40-odd API calls (pages, details, the
    # datasets its models declare, the ancestors run) still need several windows, without the
    # 2 s wait per request that a quota of 2 (1 for us) cost.
    server = replay(["family.jsonl.gz"], page_size_cap=50, api_budget=10, window=2)
    run = crawl(server, hub_for, limit=120)
    assert run.status == "done" and run.listed == 120 and run.details_fetched == 3
    assert not [s for _, _, s in server.request_log if s == 429]
    api = server.stats["buckets"]["api"]  # the budget bound: more than two windows' worth
    assert api["requests"] > 2 * 10 and api["max_per_window"] <= 10


def test_429_from_the_hub_is_waited_out(replay, hub_for, settings):
    settings.CANOPY_DETAILS_PER_RUN = 2
    # 10 per 2 s: the 429 is waited out, then the crawl's 30-odd API calls take a few windows
    # (at 3, 2 for us, each pair of them waited for a window).
    server = replay(["family.jsonl.gz"], page_size_cap=50, api_budget=10, window=2)
    # Another client spends the Hub's budget; our first request meets a 429.
    while httpx2.get(f"{server.url}/api/models?limit=1").status_code != 429:
        pass
    server.request_log.clear()
    run = crawl(server, hub_for, limit=100)
    assert run.status == "done" and run.listed == 100 and run.details_fetched == 2
    assert server.request_log[0][2] == 429
    # 401: gated files; 404: model_info of the parents the snapshot lacks (the ancestors run)
    assert {status for _, _, status in server.request_log} <= {200, 401, 404, 429}


def test_server_errors_are_retried(replay, hub_for, settings):
    settings.CANOPY_DETAILS_PER_RUN = 5
    settings.CANOPY_HUB_BACKOFF_SECONDS = 0.05  # the same retries, 1 s -> 50 ms before each
    server = replay(["family.jsonl.gz"], page_size_cap=50)
    server.set_faults(status=500, every=4)
    run = crawl(server, hub_for)
    assert run.status == "done" and run.listed == len(records("family.jsonl.gz"))
    assert any(status == 500 for _, _, status in server.request_log)


def test_a_malformed_record_is_reported_and_the_rest_of_the_page_is_kept(replay, hub_for, tmp_path):
    # Constructed from real records: two of the family's lines with broken types (a string
    # where the Hub sends a list, a non-object card), named as such; the others are untouched.
    with gzip.open(FIXTURES / "family.jsonl.gz", "rt") as f:
        broken = [json.loads(line) for line in f]
    broken[3]["tags"] = "not-a-list"
    broken[5]["cardData"] = "license: mit"
    path = tmp_path / "family-malformed-constructed.jsonl.gz"
    with gzip.open(path, "wt") as f:
        f.writelines(json.dumps(rec) + "\n" for rec in broken)
    run = crawl(replay([str(path)]), hub_for)
    assert run.status == "done"
    # Every record is stored; a value of the wrong type is left out, and the row says so.
    assert HubModel.objects.count() == len(broken)
    tags = HubModel.objects.get(repo_id=broken[3]["id"])
    assert tags.tags == [] and "tags: a list expected, got str (not stored)" in tags.ingest_notes
    card = HubModel.objects.get(repo_id=broken[5]["id"])
    assert card.card_data is None
    assert "cardData: an object expected, got str (not stored)" in card.ingest_notes
    assert not run.quarantined.exists() and run.error_count == 0
    others = HubModel.objects.exclude(repo_id__in=[broken[3]["id"], broken[5]["id"]])
    assert not others.exclude(ingest_notes=[]).exists()


def test_a_full_crawl_queues_one_ancestors_run_for_the_parents_it_did_not_find(replay, hub_for):
    server = replay(["family.jsonl.gz"])
    run = crawl(server, hub_for)
    known = set(records("family.jsonl.gz"))
    parents = set(LineageEdge.objects.values_list("parent_repo_id", flat=True))
    # run_sync drove it after the crawl, as a worker would have: model_info finds none of them
    # in this snapshot, and says so for each.
    walk = CrawlRun.objects.get(kind=CrawlRun.Kind.ANCESTORS)
    assert walk.pk != run.pk and walk.status == "done" and walk.pending == []
    assert set(walk.seen) == parents - known and "allenai/tulu-2-dpo-7b" in walk.seen
    assert walk.not_found == len(parents - known) and walk.error_count == 0  # an outcome
    assert walk.parent_id == run.pk  # grouped under the crawl that called for it
    assert runs.queue_ancestors(sorted(parents - known), endpoint=server.url) is not None
