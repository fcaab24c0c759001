"""A record with lone surrogate escapes ("\\ud800": valid JSON, not encodable as UTF-8) loads,
is indexed and is served as the snapshot has it, to the unmodified huggingface_hub client.

Constructed from a real record of tests/hubreplay/fixtures/rich_2025.jsonl.gz: lone surrogates
put into its cardData.license, one tag, pipeline_tag and its README; everything else is real.
"""

import gzip
import json
import urllib.request
from pathlib import Path

import pytest
from huggingface_hub import HfApi

from hubreplay import ReplayServer

FIX = Path(__file__).parent / "fixtures"
MODEL = "Arjs/Llama-2-7b-chatbot-finetune"


def _lines():
    with gzip.open(FIX / "rich_2025.jsonl.gz", "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory):
    recs = [r for r in _lines() if r["id"] != MODEL]
    rec = next(r for r in _lines() if r["id"] == MODEL)
    rec["cardData"]["license"] = "apache-2.0\ud800"
    rec["tags"] = [*rec["tags"], "license:\udfff"]
    rec["pipeline_tag"] = "text-generation\ud83d"
    rec["__files"]["README.md"] = "\ud800" + rec["__files"]["README.md"]
    recs.append(rec)
    recs.sort(key=lambda r: r["id"])
    path = tmp_path_factory.mktemp("surrogates") / "lone-surrogates.jsonl.gz"
    lines = [json.dumps(r) for r in recs]  # ensure_ascii: the surrogates are \\u escapes
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    served = json.dumps({k: v for k, v in rec.items() if not k.startswith("__")})
    return path, rec, served


@pytest.fixture(scope="module")
def srv(snapshot, tmp_path_factory):
    s = ReplayServer([[str(snapshot[0])]], port=0, index_dir=tmp_path_factory.mktemp("idx"))
    s.start()
    yield s
    s.stop()


def test_the_record_is_served_byte_for_byte(srv, snapshot):
    _, _, served = snapshot
    with urllib.request.urlopen(f"{srv.url}/api/models/{MODEL}") as r:
        assert r.read() == served.encode("ascii")


def test_the_client_reads_it_in_model_info_and_listings(srv, snapshot):
    api = HfApi(endpoint=srv.url, token=False)
    info = api.model_info(MODEL)
    assert info.card_data["license"] == "apache-2.0\ud800"
    assert "license:\udfff" in info.tags and info.pipeline_tag == "text-generation\ud83d"
    listed = {m.id: m for m in api.list_models(full=True, cardData=True)}
    assert len(listed) == len(_lines()) and listed[MODEL].card_data["license"] == "apache-2.0\ud800"
    expanded = {m.id: m for m in api.list_models(expand=["tags", "pipeline_tag", "cardData"])}
    assert expanded[MODEL].pipeline_tag == "text-generation\ud83d"


def test_its_readme_is_served_as_the_hub_would_store_it(srv, snapshot, tmp_path):
    _, rec, _ = snapshot
    path = HfApi(endpoint=srv.url, token=False).hf_hub_download(
        MODEL, "README.md", cache_dir=tmp_path
    )
    want = rec["__files"]["README.md"].encode("utf-8", "surrogatepass")
    assert Path(path).read_bytes() == want
