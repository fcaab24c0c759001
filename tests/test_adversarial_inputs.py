"""Adversarial inputs against the promise that one bad record never stops a crawl or loses
another model, and that a bad request is a 4xx: the cases marked "Found by testing" broke it
once (each fixed since); the others were tried and held.

Hostile records are constructed from real ones (tests/fixtures/rich-2025.jsonl.gz, real
model_info records with their README): ONE constructed value per case, named in the test,
written as a temporary hub-snapshot/1 file and crawled through hubreplay with the real client.
"""

from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from catalog import crawler, ingest, runs
from catalog.models import CrawlRun, HubModel, QuarantinedRecord
from tests.approvals.test_check_fastpath import wsgi  # noqa: F401 (fixture)
from tests.conftest import FIXTURES

pytestmark = pytest.mark.django_db

Done = CrawlRun.Status.DONE


def real_records(n: int = 6) -> list[dict[str, Any]]:
    """n real records (rich-2025: model_info answers with README.md), ungated, distinct ids."""
    with gzip.open(FIXTURES / "rich-2025.jsonl.gz", "rt") as f:
        recs = [json.loads(line) for line in f]
    recs = [r for r in recs if r.get("gated") is False and (r.get("__files") or {})]
    return copy.deepcopy(recs[:n])


def write_snapshot(path: Path, lines: list[Any]) -> str:
    """A hub-snapshot/1 file: dicts are written as JSON (ASCII escapes, as the Hub sends
    NULs and lone surrogates), strings as the line's raw text (non-standard JSON on purpose)."""
    text = "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    with gzip.open(path, "wb") as f:
        f.write(text.encode("utf-8", "surrogatepass"))
    return str(path)


def crawl(server, hub_for, kind=CrawlRun.Kind.FULL, target=""):
    run, _ = runs.start(kind, target=target, endpoint=server.url, limit=0)
    return crawler.run_sync(run, hub=hub_for(server))


def hostile_crawl(replay, hub_for, tmp_path, change, *, raw_line=None):
    """Crawl 6 real records, the first changed by `change` (or replaced by `raw_line`, a JSON
    text made from it). Returns (run, hostile id, the other ids)."""
    recs = real_records()
    hostile = recs[0]
    change(hostile)
    hostile.setdefault("__capture", {})["constructed"] = "see the test"
    lines: list[Any] = [raw_line(hostile) if raw_line else hostile, *recs[1:]]
    server = replay([write_snapshot(tmp_path / "hostile.jsonl.gz", lines)])
    run = crawl(server, hub_for)
    return run, hostile["id"], [r["id"] for r in recs[1:]]


def assert_nothing_lost(run, hostile_id, others, client):
    """The issue's promise: the run ends done, every other model is stored and browsable, the
    hostile one is stored or quarantined with its reason."""
    assert run.status == Done, (run.status, run.errors)
    stored = set(HubModel.objects.values_list("repo_id", flat=True))
    assert set(others) <= stored, set(others) - stored
    for repo_id in others:
        assert client.get(f"/models/{quote(repo_id)}/").status_code == 200, repo_id
    if hostile_id in stored:
        assert client.get(f"/models/{quote(hostile_id)}/").status_code == 200
    else:
        held = QuarantinedRecord.objects.filter(repo_id=hostile_id[:200])
        assert held.exists() and all(q.error for q in held), hostile_id


def nested(depth: int, leaf: Any = "x") -> Any:
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


# --- hostile records through the crawl --------------------------------------------------------


def test_card_base_model_relation_as_a_list(replay, hub_for, tmp_path, client):
    # Found by testing: cardData.base_model_relation holding a list (YAML `base_model_relation: [adapter]`)
    # makes lineage.edges_for raise TypeError (unhashable list `in RELATIONS`) in the listing
    # step: the whole run fails and none of the page's models get edges, derived columns or
    # assessments (expected: the run ends done, the odd relation ignored or noted).
    def change(r):
        r["cardData"]["base_model_relation"] = ["adapter"]

    run, hostile, others = hostile_crawl(replay, hub_for, tmp_path, change)
    assert_nothing_lost(run, hostile, others, client)


def test_card_nested_300_levels(replay, hub_for, tmp_path, client):
    # Found by testing: a cardData value nested 300 levels deep (valid JSON, below json's recursion
    # limit) passes records.clean but orjson refuses to serialise it (depth > 255) in
    # records.record_hash: TypeError escapes ingest's first pass (it catches MalformedRecord
    # only), so the listing step fails and the run fails: the whole page is lost.
    def change(r):
        r["cardData"]["widget"] = nested(300)

    run, hostile, others = hostile_crawl(replay, hub_for, tmp_path, change)
    assert_nothing_lost(run, hostile, others, client)


def test_card_nested_10000_levels(replay, hub_for, tmp_path, client):
    # Found by testing: a cardData nested 10,000 levels deep: hubreplay's index build json.loads each
    # line and dies with RecursionError (the server never starts); the crawler's list_page
    # would hit the same RecursionError in json.loads after orjson refuses the depth.
    def change(r):
        r["cardData"]["widget"] = "@@DEEP@@"

    def raw(r):
        return json.dumps(r).replace('"@@DEEP@@"', "[" * 10_000 + "]" * 10_000)

    run, hostile, others = hostile_crawl(replay, hub_for, tmp_path, change, raw_line=raw)
    assert_nothing_lost(run, hostile, others, client)


def test_a_5000_digit_integer_in_card_data(replay, hub_for, tmp_path, client):
    # Found by testing (hubreplay first): its index build dies on the line with ValueError (Python's
    # 4,300-digit limit of int()), so the server never starts. Past that, a 5,000-digit integer anywhere in a listed record: orjson refuses it, then
    # json.loads raises ValueError (Python's 4,300-digit int limit) out of Hub.list_page,
    # neither transient nor caught: the run fails and the page is lost.
    def change(r):
        r["cardData"]["seed"] = "@@BIG@@"

    def raw(r):
        return json.dumps(r).replace('"@@BIG@@"', "1" * 5000)

    run, hostile, others = hostile_crawl(replay, hub_for, tmp_path, change, raw_line=raw)
    assert_nothing_lost(run, hostile, others, client)


def test_nan_and_infinity_in_card_data(replay, hub_for, tmp_path, client):
    def change(r):
        r["cardData"]["lr"] = "@@NAN@@"
        r["cardData"]["top"] = "@@INF@@"

    def raw(r):
        return json.dumps(r).replace('"@@NAN@@"', "NaN").replace('"@@INF@@"', "-Infinity")

    run, hostile, others = hostile_crawl(replay, hub_for, tmp_path, change, raw_line=raw)
    assert_nothing_lost(run, hostile, others, client)


def test_downloads_2_to_the_70(replay, hub_for, tmp_path, client):
    # Found by testing (hubreplay): a record with an integer past 64 bits (downloads 2**70, valid JSON)
    # stops hubreplay's index build (OverflowError: Python int too large to convert to
    # SQLite INTEGER in hubreplay/index.py): the server never starts.
    def change(r):
        r["downloads"] = 2**70
        r["likes"] = 1.5e300

    run, hostile, others = hostile_crawl(replay, hub_for, tmp_path, change)
    assert_nothing_lost(run, hostile, others, client)


def test_downloads_as_a_float_past_64_bits(replay, hub_for, tmp_path, client):
    # What the Hub (JavaScript numbers) would send for such a count: 1.1805916207174113e+21.
    def change(r):
        r["downloads"] = float(2**70)
        r["likes"] = 1.5e300

    run, hostile, others = hostile_crawl(replay, hub_for, tmp_path, change)
    assert_nothing_lost(run, hostile, others, client)


def test_nul_and_surrogates_in_card_keys(replay, hub_for, tmp_path, client):
    def change(r):
        r["cardData"]["lic\u0000ense"] = "mit"
        r["cardData"]["\ud800"] = {"\udfff\u0000": ["\u0000"]}
        r["cardData"]["license"] = "apache-2.0"

    run, hostile, others = hostile_crawl(replay, hub_for, tmp_path, change)
    assert_nothing_lost(run, hostile, others, client)
    model = HubModel.objects.filter(repo_id=hostile).first()
    if model is not None:
        assert "license" in model.card_data and "" in model.card_data


@pytest.mark.parametrize(
    "value",
    [{"name": "mit"}, 7, ["mit", {"x": 1}, None], True, "", "mit\u0000" * 10_000],
    ids=["dict", "int", "list-mixed", "bool", "empty", "nul-long"],
)
def test_card_license_of_odd_types(replay, hub_for, tmp_path, client, value):
    def change(r):
        r["cardData"]["license"] = value
        r["cardData"]["license_name"] = value
        r["cardData"]["license_link"] = value

    run, hostile, others = hostile_crawl(replay, hub_for, tmp_path, change)
    assert_nothing_lost(run, hostile, others, client)
    assert client.get(f"/licenses/models/{quote(hostile)}/").status_code == 200


@pytest.mark.parametrize(
    "value",
    [[{"name": "meta-llama/Llama-2-7b"}], {"id": "x/y"}, [["a/b"]], 5, [" ", "", "a/b" * 100]],
    ids=["list-of-dicts", "dict", "nested-list", "int", "blank-and-long"],
)
def test_card_base_model_of_odd_shapes(replay, hub_for, tmp_path, client, value):
    def change(r):
        r["cardData"]["base_model"] = value

    run, hostile, others = hostile_crawl(replay, hub_for, tmp_path, change)
    assert_nothing_lost(run, hostile, others, client)


@pytest.mark.parametrize("value", [{"a": 1}, ["manual"], 0, 1, "MANUAL", None], ids=str)
def test_gated_odd_values(replay, hub_for, tmp_path, client, value):
    def change(r):
        r["gated"] = value

    run, hostile, others = hostile_crawl(replay, hub_for, tmp_path, change)
    assert_nothing_lost(run, hostile, others, client)


def test_siblings_with_non_string_rfilename(replay, hub_for, tmp_path, client):
    def change(r):
        r["siblings"] += [{"rfilename": 7}, {"rfilename": ["LICENSE"]}, {"rfilename": None}]

    run, hostile, others = hostile_crawl(replay, hub_for, tmp_path, change)
    assert_nothing_lost(run, hostile, others, client)


@pytest.mark.parametrize(
    "value",
    [
        {"relation": ["finetune"], "models": [{"id": "meta-llama/Llama-2-7b"}]},
        {"relation": {"a": 1}, "models": [{"id": "meta-llama/Llama-2-7b"}]},
        {"relation": "finetune", "models": 5},
        {"relation": "finetune", "models": [{"id": ["a/b"]}, "a/b", None]},
        ["meta-llama/Llama-2-7b"],
        "meta-llama/Llama-2-7b",
    ],
    ids=["relation-list", "relation-dict", "models-int", "models-mixed", "list", "string"],
)
def test_base_models_of_wrong_shapes(value):
    # Found by testing (relation-list, relation-dict, models-int): a model_info answer's baseModels
    # with a list or object as `relation` (or an integer as `models`) makes
    # lineage.edges_for raise TypeError from ingest, after the row was written: the details
    # step quarantines the model as "TypeError: unhashable type" (and a descendants or
    # ancestors run, whose fetch_details has no such except, fails whole) where the value of
    # the wrong type could be dropped with a note like any other.
    # hubreplay computes baseModels from tags, so the answer is given to ingest directly
    # (the crawler's own function, as fetch_details calls it).
    rec = real_records(1)[0]
    rec.pop("__files"), rec.pop("__capture")
    rec["baseModels"] = value
    ingest.ingest([rec], detail=True)
    assert HubModel.objects.filter(repo_id=rec["id"]).exists()


def test_hub_id_collision_between_two_repos():
    # hubreplay merges records that share an `_id` (its layering key), so two repos answering
    # one `_id` in one page are given to ingest directly.
    recs = real_records(3)
    for r in recs:
        r.pop("__files"), r.pop("__capture")
    recs[2]["_id"] = recs[1]["_id"]
    counts = ingest.ingest(recs)
    stored = set(HubModel.objects.values_list("repo_id", flat=True))
    rejected = {r.repo_id for r in counts.rejected}
    for r in recs:
        assert r["id"] in stored or r["id"] in rejected, r["id"]


def test_a_descendants_run_whose_root_details_raise(replay, hub_for, tmp_path):
    # Found by testing: _children_step (and _ancestors_step) call fetch_details without the details
    # step's `except (*bulk.ROW_ERRORS, KeyError)`: a root whose details make ingest raise
    # (here its card's base_model_relation is a list) fails the whole descendants run instead
    # of quarantining the root and walking its children.
    recs = real_records()
    root = recs[0]
    root["cardData"]["base_model_relation"] = ["adapter"]
    server = replay([write_snapshot(tmp_path / "root.jsonl.gz", recs)])
    run = crawl(server, hub_for, CrawlRun.Kind.DESCENDANTS, target=root["id"])
    assert run.status == Done, run.errors


def test_a_card_base_model_url_fails_the_ancestors_run(replay, hub_for, tmp_path, client):
    # Found by testing: a card's base_model written as a URL ("https://huggingface.co/org/name", free
    # text in a card) becomes a lineage parent; the ancestors run queued for the missing parent
    # asks model_info for it, gets a plain 404 (no RepoNotFound code) as HfHubHTTPError,
    # which is neither ModelNotFound nor transient: the ancestors run fails, so `crawl --sync`
    # exits non-zero over one card's prose.
    recs = real_records()
    recs[0]["cardData"]["base_model"] = "https://huggingface.co/meta-llama/Llama-2-7b"
    server = replay([write_snapshot(tmp_path / "url.jsonl.gz", recs)])
    run, _ = runs.start(CrawlRun.Kind.FULL, endpoint=server.url, limit=0)
    driven = crawler.sync_runs(run, hub=hub_for(server))
    assert [(r.kind, r.status) for r in driven if r.status != Done] == [], [
        r.errors for r in driven
    ]


@pytest.mark.parametrize(
    "repo_id",
    ["org/../etc", "org/with space", "org/mödel-ü", "a/b/c", "org/x?expand=a", "org/x#frag",
     " org/lead", "org/..", "nons"],
    ids=["dotdot", "space", "unicode", "two-slashes", "query", "fragment", "lead-space",
         "dotdot-name", "no-namespace"],
)  # fmt: skip
def test_odd_ids(replay, hub_for, tmp_path, client, repo_id):
    # Found by testing (two-slashes): a listed id "a/b/c" is stored, then its model_info gets a plain
    # 404 (HfHubHTTPError, not RepositoryNotFoundError), which the details step does not catch
    # and after_error does not count transient: the whole full run fails in its details phase
    # (expected: that model noted or quarantined, the run done). Any other non-transient HTTP
    # answer to one model (400, 403, 404 without an error code) does the same.
    def change(r):
        r["id"] = r["modelId"] = repo_id

    run, hostile, others = hostile_crawl(replay, hub_for, tmp_path, change)
    assert_nothing_lost(run, hostile, others, client)


def test_a_record_that_is_not_an_object(replay, hub_for, tmp_path, client):
    recs = real_records()
    lines: list[Any] = ['["org/a-list"]', '"org/a-string"', "null", "42", *recs]
    server = replay([write_snapshot(tmp_path / "notobj.jsonl.gz", lines)])
    run = crawl(server, hub_for)
    assert run.status == Done, run.errors
    stored = set(HubModel.objects.values_list("repo_id", flat=True))
    assert {r["id"] for r in recs} <= stored


def test_duplicate_ids_in_one_page(replay, hub_for, tmp_path, client):
    recs = real_records()
    twin = copy.deepcopy(recs[1])
    twin["_id"] = "f" * 24  # another repo claiming the same id
    twin["downloads"] = recs[1]["downloads"]
    server = replay([write_snapshot(tmp_path / "dup.jsonl.gz", [*recs, twin])])
    run = crawl(server, hub_for)
    assert run.status == Done, run.errors
    assert HubModel.objects.filter(repo_id=recs[1]["id"]).count() == 1
    assert set(HubModel.objects.values_list("repo_id", flat=True)) >= {r["id"] for r in recs}


def test_rename_onto_an_existing_id_and_swap(replay, hub_for, tmp_path, client):
    recs = real_records()
    a, b = recs[1], recs[2]
    swapped = [copy.deepcopy(a), copy.deepcopy(b)]
    swapped[0]["id"] = swapped[0]["modelId"] = b["id"]  # a's repo now at b's id
    swapped[1]["id"] = swapped[1]["modelId"] = a["id"]  # and b's at a's
    first = write_snapshot(tmp_path / "s0.jsonl.gz", recs)
    second = write_snapshot(tmp_path / "s1.jsonl.gz", swapped)
    server = replay([first], [second])
    assert crawl(server, hub_for).status == Done
    server.set_state(1)
    run = crawl(server, hub_for)
    assert run.status == Done, run.errors
    by_id = dict(HubModel.objects.values_list("hub_id", "repo_id"))
    assert by_id[a["_id"]] == b["id"] and by_id[b["_id"]] == a["id"]
    assert not HubModel.objects.filter(repo_id__contains="~moved~").exists()
    for r in recs:
        assert client.get(f"/models/{quote(r['id'])}/").status_code == 200


# --- bad requests -----------------------------------------------------------------------------


@pytest.fixture
def anon():
    from django.test import Client

    return Client(raise_request_exception=False)


def test_a_superscript_page_number_on_the_lineage_explorer(anon):
    # Found by testing: /lineage/<id>/?page=² (U+00B2) answers 500: portal.views.model_lineage takes
    # `str.isdigit()` for "int() can read it", which "²" (and "³", "¹", circled digits...) is
    # not: int("²") raises ValueError (expected: page 1, or a 400 page).
    recs = real_records(1)[0]
    recs.pop("__files"), recs.pop("__capture")
    ingest.ingest([recs])
    for value in ("%C2%B2", "%E2%91%A0"):  # "²", "①"
        r = anon.get(f"/lineage/{recs['id']}/?page={value}")
        assert r.status_code < 500, (value, r.status_code)
        r = anon.get(
            f"/lineage/{recs['id']}/?relation=finetune&page={value}", HTTP_HX_REQUEST="true"
        )
        assert r.status_code < 500, (value, r.status_code)


@pytest.mark.parametrize(
    "url", ["/api/v1/models", "/api/v1/licenses", "/api/v1/openapi.json", "/api/v1/check"]
)
def test_head_of_a_get_endpoint(anon, url):
    # Found by testing (minor): HEAD of every GET operation of the API answers 405 (pages answer
    # HEAD as GET): RFC 9110 §9.3.2 expects HEAD wherever GET is served; a monitoring probe or
    # `curl -I` reports the API as broken. (The 405 has the error shape's header, no body.)
    assert anon.head(url).status_code != 405


@pytest.mark.parametrize(
    "header",
    ["Bearer \x00", "Bearer " + "a" * 100_000, "Bearer é\xff", "Bearer", "Bearer  ", "bearer x y",
     "Basic Zm9vOmJhcg==", "Bearer cnp_\t"],
    ids=["nul", "100k", "latin1", "bare", "spaces", "two-words", "basic", "tab"],
)  # fmt: skip
def test_the_check_with_odd_tokens_through_wsgi(wsgi, header):  # noqa: F811
    """Through config.wsgi.application (the lean path first, then Django; the fast path
    tests' fixture): a 401 in the error shape, never a 500."""
    status, _, body, _ = wsgi("model=org/x&use=research", HTTP_AUTHORIZATION=header)
    assert 400 <= int(status.split()[0]) < 500, (status, body)
    assert set(body) == {"detail", "errors"}


# --- crawl --sync interrupted, then run again -------------------------------------------------


def test_a_rerun_after_an_interrupted_sync_drives_its_queued_ancestors_run(replay, hub_for):
    # Found by testing: `crawl --sync` killed (SIGKILL, or Ctrl-C) after its listing leaves the
    # ancestors run it queued for missing parents `queued`; the next `crawl --sync` finishes
    # the full run (start() hands back the active one) but drives only runs it queues itself,
    # so the ancestors run stays `queued` for ever with no worker, the missing parents are
    # never fetched, and the command exits 0 ("done"). Seen live: SIGKILL of
    # `manage.py crawl --sync --limit 0` against hubreplay (rich-2024 + family), rerun with
    # CANOPY_STALL_SECONDS=5: "Full crawl #1 done", CrawlRun #2 ancestors `queued` after it.
    # (Within CANOPY_STALL_SECONDS the rerun instead exits 1 with "held by another worker;
    # not finished here" although no worker exists, the killed run `running` meanwhile.)
    from catalog.signals import models_changed

    server = replay(["family.jsonl.gz"])
    calls = []

    def interrupt(sender, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # the first assessment of the details phase: listing is done
            raise KeyboardInterrupt

    models_changed.connect(interrupt, weak=False)
    try:
        with pytest.raises(KeyboardInterrupt):
            crawl(server, hub_for)
    finally:
        models_changed.disconnect(interrupt)
    assert CrawlRun.objects.filter(kind=CrawlRun.Kind.ANCESTORS).exists()
    driven = crawler.sync_runs(runs.start(CrawlRun.Kind.FULL, endpoint=server.url, limit=0)[0],
                               hub=hub_for(server))  # fmt: skip
    assert driven[0].status == Done
    left = CrawlRun.objects.exclude(status__in=[Done, CrawlRun.Status.FAILED])
    assert list(left.values_list("kind", "status")) == []
