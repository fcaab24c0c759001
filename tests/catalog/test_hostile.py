"""The hostile-records fixture (tests/fixtures/hostile.jsonl.gz: real records, one constructed
value in some, named in `__capture.constructed`) crawled through hubreplay with the real client.

Every untouched model is stored and browsable; each hostile one is stored clean (no NUL, no
lone surrogate, every value within its bound, what was changed noted on its row) or quarantined
with its reason; the run ends done, and the next crawl retries what was quarantined.
"""

import gzip
import json
from urllib.parse import quote

import orjson
import pytest

from catalog import crawler, records, runs
from catalog.models import CrawlRun, HubModel, ModelFile, QuarantinedRecord
from tests.conftest import FIXTURES

pytestmark = pytest.mark.django_db

REPAIRED = {"siblings-without-rfilename", "lastmodified-garbage", "createdat-int"}


def fixture():
    with gzip.open(FIXTURES / "hostile.jsonl.gz", "rt") as f:
        recs = [json.loads(line) for line in f]
    return {r["id"]: (r["__capture"].get("constructed") or {}).get("case") for r in recs}


def crawl(server, hub_for):
    run, _ = runs.start(CrawlRun.Kind.FULL, endpoint=server.url, limit=0)
    return crawler.run_sync(run, hub=hub_for(server))


def assert_clean(model):
    for name in ("raw", "card_data", "tags", "siblings", "ingest_notes", "base_models"):
        data = orjson.dumps(getattr(model, name))  # raises on a lone surrogate
        assert b"\\u0000" not in data, name
    assert len(orjson.dumps(model.raw)) <= records.MAX_RECORD_BYTES
    assert len(orjson.dumps(model.card_data)) <= records.MAX_CARD_BYTES
    assert len(model.siblings or []) <= records.MAX_LIST and len(model.tags) <= records.MAX_TAGS
    for field in HubModel._meta.fields:
        value = getattr(model, field.attname)
        if field.get_internal_type() == "CharField" and value:
            assert len(value) <= field.max_length, field.name
            assert not records.UNSTORABLE.search(value), field.name
    for f in model.files.all():
        assert len(f.text) <= records.MAX_FILE_CHARS and not records.UNSTORABLE.search(f.text)


def test_the_hostile_fixture_costs_only_what_cannot_be_stored(replay, hub_for, client):
    cases = fixture()
    server = replay(["hostile.jsonl.gz"], ["hostile-repaired.jsonl.gz"])
    run = crawl(server, hub_for)
    assert run.status == CrawlRun.Status.DONE and run.phase == CrawlRun.Phase.FINISHED

    stored = {m.repo_id: m for m in HubModel.objects.all()}
    held = {(q.repo_id, q.step): q for q in QuarantinedRecord.objects.all()}
    for repo_id, case in cases.items():
        model = stored.get(repo_id)
        if case is None:  # real and untouched: stored as it is, and browsable
            assert model is not None and model.ingest_notes == [], repo_id
            assert not any(r == repo_id for r, _ in held)
        if model is not None:
            assert_clean(model)
            assert client.get(f"/models/{quote(repo_id)}/").status_code == 200, repo_id
        else:
            reasons = [q for (r, _), q in held.items() if repo_id.startswith(r) and r]
            assert reasons and all(q.error for q in reasons), (case, repo_id)
    assert len(stored) >= len(cases) - 1  # only the record no repo can have is not stored

    by_case = {case: repo_id for repo_id, case in cases.items() if case}
    assert stored[by_case["nul-license"]].card_data["license"] == "mit"
    assert stored[by_case["surrogate-license"]].card_data["license"] == "apache-2.0"
    assert stored[by_case["downloads-string"]].downloads == 0
    assert "downloads: an integer in range expected, got str (not stored)" in (
        stored[by_case["downloads-string"]].ingest_notes
    )
    big = ModelFile.objects.get(model=stored[by_case["readme-5mb"]], path="README.md")
    assert big.original_chars > 5_000_000 and len(big.text) == records.MAX_FILE_CHARS
    page = client.get(f"/models/{by_case['readme-5mb']}/").content.decode()
    assert f"of {big.original_chars:,} characters" in page
    many = stored[by_case["siblings-100k"]]
    assert len(many.siblings) == records.MAX_LIST and "README.md" in many.siblings
    assert any(n.startswith("siblings: cut from") for n in many.ingest_notes)
    library = stored[by_case["library-1mb"]]
    assert len(library.library_name) == 100
    page = client.get(f"/models/{by_case['library-1mb']}/").content.decode()
    assert "library_name: cut from 1,000,000 to 100 characters" in page
    assert library.ingest_notes == ["library_name: cut from 1,000,000 to 100 characters"]
    gated = stored[by_case["gated-string"]]
    assert gated.gated == "" and gated.ingest_notes == [
        "gated: unknown value 'yes' (stored as unknown)"
    ]
    files = QuarantinedRecord.objects.get(repo_id=by_case["sha-long"], step="files")
    assert files.path == "README.md" and "File name too long" in files.error
    long_id = by_case["id-300"]
    assert held[(long_id[:200], "listing")].error.startswith("id of 300 characters")
    for case in REPAIRED:
        q = held[(by_case[case], "details")]
        assert "ModelInfo refused it" in q.error and q.resolved_at is None
        assert by_case[case] in q.record
    page = client.get(run.get_absolute_url()).content.decode()
    assert "Quarantined records" in page and "ModelInfo refused it" in page

    # The next crawl tries again: the repaired records are stored and resolved, the rest held.
    server.set_state(1)
    again = crawl(server, hub_for)
    assert again.status == CrawlRun.Status.DONE
    for case in REPAIRED:
        q = QuarantinedRecord.objects.get(repo_id=by_case[case], step="details")
        assert q.resolved_at is not None and q.attempts == 1
        assert HubModel.objects.get(repo_id=by_case[case]).details_key
    still = QuarantinedRecord.objects.get(repo_id=long_id[:200], step="listing")
    assert still.resolved_at is None and still.attempts == 2 and still.run_id == again.pk
