"""hubreplay against the unmodified huggingface_hub 2.4 client, on real snapshot slices."""

import json
import os
import time
import urllib.error
import urllib.request
from pathlib import Path

os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import pytest  # noqa: E402
from huggingface_hub import HfApi  # noqa: E402
from huggingface_hub.errors import (  # noqa: E402
    BadRequestError,
    GatedRepoError,
    HfHubHTTPError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils import parse_ratelimit_headers  # noqa: E402

from hubreplay import ReplayServer, derived_sha  # noqa: E402

FIX = Path(__file__).parent / "fixtures"
LIST = str(FIX / "list_2024.jsonl.gz")
OLD = str(FIX / "rich_2024.jsonl.gz")
NEW = str(FIX / "rich_2025.jsonl.gz")
LLAMA = "meta-llama/Llama-2-7b-chat-hf"


def _records(*paths):
    import gzip

    out = {}
    for p in paths:
        with gzip.open(p, "rt", encoding="utf-8") as f:
            for line in f:
                r = json.loads(line)
                out[r["id"]] = r
    return out


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("hubreplay-index")


@pytest.fixture(scope="module")
def srv(index_dir):
    s = ReplayServer([[LIST, OLD, NEW]], port=0, index_dir=index_dir, page_size_cap=7)
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def api(srv):
    return HfApi(endpoint=srv.url, token=False)


def _get(url, headers=None, method="GET"):
    req = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


# -- list_models ------------------------------------------------------------------------------


def test_list_pages_through_everything(srv, api):
    n_before = len(srv.request_log)
    models = list(api.list_models())
    ids = [m.id for m in models]
    assert len(ids) == len(set(ids)) == srv.state_info()["models"]
    assert "neuralmagic/phi-2-pruned50" not in ids  # renamed within state 0
    assert "RedHatAI/phi-2-pruned50" in ids
    pages = [e for e in list(srv.request_log)[n_before:] if e[1].startswith("/api/models")]
    assert len(pages) == -(-len(ids) // 7)
    assert all("cursor=" in p[1] for p in pages[1:])
    # default sort: downloads, descending, missing last
    dl = [m.downloads for m in models if m.downloads is not None]
    assert dl == sorted(dl, reverse=True)


def test_link_header_is_absolute_and_keeps_params(srv):
    st, h, body = _get(srv.url + "/api/models?filter=license%3Amit&sort=likes&limit=2")
    assert st == 200 and len(json.loads(body)) == 2
    link = h["Link"]
    assert link.startswith(f"<{srv.url}/api/models?filter=license%3Amit&sort=likes&limit=2&cursor=")
    assert link.endswith('>; rel="next"')
    assert h["RateLimit"].startswith('"api";r=') and "RateLimit-Policy" in h


def test_default_item_shape(srv):
    st, _, body = _get(srv.url + "/api/models?search=bert-base-uncased&limit=1")
    item = json.loads(body)[0]
    rec = _records(LIST)[item["id"]]
    # a 2024 list record is served as captured, minus the `__` keys
    assert item == {k: v for k, v in rec.items() if not k.startswith("__")}
    assert list(item)[:2] == ["_id", "id"]
    # a full record is cut down to the default list keys
    st, _, body = _get(srv.url + "/api/models?author=meta-llama")
    for item in json.loads(body):
        assert set(item) <= {
            "_id",
            "id",
            "likes",
            "trendingScore",
            "private",
            "downloads",
            "tags",
            "pipeline_tag",
            "library_name",
            "createdAt",
            "modelId",
        }


def test_filters(api):
    recs = _records(LIST, OLD, NEW)
    mit = {m.id for m in api.list_models(filter="license:mit")}
    assert mit == {i for i, r in recs.items() if "license:mit" in r.get("tags", [])} - {
        "neuralmagic/phi-2-pruned50"
    }
    both = {m.id for m in api.list_models(filter=["license:mit", "transformers"])}
    assert both and both <= mit
    assert all("transformers" in recs[i]["tags"] for i in both)
    # a filter value matches library_name / pipeline_tag too
    gguf = {m.id for m in api.list_models(filter="gguf")}
    assert "TheBloke/Llama-2-7B-Chat-GGUF" in gguf
    kids = {m.id for m in api.list_models(filter=f"base_model:{LLAMA}")}
    assert "Arjs/Llama-2-7b-chatbot-finetune" in kids and len(kids) >= 6
    typed = {m.id for m in api.list_models(filter=f"base_model:finetune:{LLAMA}")}
    assert typed and typed < kids
    assert {m.id for m in api.list_models(author="meta-llama")} == {LLAMA, "meta-llama/Llama-2-7b"}
    # author derived from the id for list records without `author`
    assert {m.id for m in api.list_models(author="TheBloke")} >= {"TheBloke/Llama-2-7B-GGUF"}
    assert {m.id for m in api.list_models(search="PHI-2")} >= {"microsoft/phi-2"}
    tg = list(api.list_models(pipeline_tag="text-generation"))
    assert tg and all(m.pipeline_tag == "text-generation" for m in tg)
    gated = {m.id for m in api.list_models(gated=True)}
    assert gated == {i for i, r in recs.items() if r.get("gated") in ("auto", "manual")}
    assert gated & {m.id for m in api.list_models(gated=False)} == set()


@pytest.mark.parametrize(
    "sort,attr", [("likes", "likes"), ("created_at", "created_at"), ("downloads", "downloads")]
)
def test_sort(api, sort, attr):
    models = list(api.list_models(sort=sort, expand=[{"created_at": "createdAt"}.get(attr, attr)]))
    vals = [getattr(m, attr) for m in models]
    present = [v for v in vals if v is not None]
    assert present == sorted(present, reverse=True)
    assert vals[: len(present)] == present  # missing values last


def test_expand_and_full(api):
    ms = list(api.list_models(expand=["downloads", "cardData"], author="meta-llama"))
    assert ms and all(m.downloads is not None and m.card_data is not None for m in ms)
    assert all(m.tags is None for m in ms)
    full = list(api.list_models(author="meta-llama", full=True))
    assert all(m.sha and m.siblings and m.card_data is None for m in full)
    card = list(api.list_models(author="meta-llama", cardData=True))
    assert all(m.card_data is not None for m in card)


def test_bad_expand_is_400(api, srv):
    with pytest.raises(BadRequestError):
        list(api.list_models(expand=["childrenModelCount"]))
    st, _, body = _get(srv.url + "/api/models?expand[]=nope")
    assert st == 400 and json.loads(body)["error"].startswith('"expand" must be one of [author, ')


# -- model_info ----------------------------------------------------------------------------


def test_model_info_full_record(api):
    recs = _records(NEW)
    m = api.model_info(LLAMA)
    assert m.sha == recs[LLAMA]["sha"] and m.gated == "manual"
    assert m.card_data["license"] == "llama2"
    assert getattr(m, "base_models", None) is None


def test_model_info_revision(api):
    sha = _records(NEW)[LLAMA]["sha"]
    assert api.model_info(LLAMA, revision=sha).sha == sha
    assert api.model_info(LLAMA, revision="main").sha == sha
    with pytest.raises(RevisionNotFoundError):
        api.model_info(LLAMA, revision="refs/pr/1")


def test_model_info_expand_lineage(api):
    child = api.model_info("Arjs/Llama-2-7b-chatbot-finetune", expand=["baseModels", "cardData"])
    assert child.base_models["relation"] == "finetune"
    llama_id = _records(NEW)[LLAMA]["_id"]
    assert child.base_models["models"] == [{"_id": llama_id, "id": LLAMA}]
    assert child.card_data is not None and child.tags is None
    parent = api.model_info(LLAMA, expand=["childrenModelCount"])
    counts = parent.children_model_count
    recs = _records(LIST, NEW)
    plain = {i for i, r in recs.items() if f"base_model:{LLAMA}" in r.get("tags", [])}
    assert isinstance(counts, dict) and sum(counts.values()) == len(plain)
    # list record with only a plain base_model tag
    plain_child = next(i for i in plain if i not in _records(NEW))
    bm = api.model_info(plain_child, expand=["baseModels"]).base_models
    assert bm["models"][0]["id"] == LLAMA


def test_model_info_not_found(api):
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("nobody/nothing-here")


def test_rename_redirect(api, srv):
    m = api.model_info("neuralmagic/phi-2-pruned50")
    assert m.id == "RedHatAI/phi-2-pruned50"
    st, h, body = _get(srv.url + "/api/models/neuralmagic/phi-2-pruned50?expand=sha")
    # urllib follows redirects too; check the raw 307 in the log
    assert st == 200
    assert ("GET", "/api/models/neuralmagic/phi-2-pruned50?expand=sha", 307) in srv.request_log


# -- resolve --------------------------------------------------------------------------------


def test_download_readme(api, tmp_path):
    recs = _records(NEW)
    p = api.hf_hub_download("microsoft/phi-2", "README.md", cache_dir=tmp_path)
    assert Path(p).read_text(encoding="utf-8") == recs["microsoft/phi-2"]["__files"]["README.md"]
    assert recs["microsoft/phi-2"]["sha"] in p


def test_download_list_record_missing_file(api, tmp_path, srv):
    mid = "TheBloke/Llama-2-7B-GGUF"
    with pytest.raises(RemoteEntryNotFoundError):
        api.hf_hub_download(mid, "README.md", cache_dir=tmp_path)
    st, h, _ = _get(f"{srv.url}/{mid}/resolve/main/README.md", method="HEAD")
    assert st == 404 and h["X-Error-Code"] == "EntryNotFound"
    rec = _records(LIST)[mid]
    assert h["X-Repo-Commit"] == derived_sha(mid, rec["createdAt"])
    with pytest.raises(RepositoryNotFoundError):
        api.hf_hub_download("nobody/nothing-here", "README.md", cache_dir=tmp_path)


def test_gated_download(srv, tmp_path):
    anon = HfApi(endpoint=srv.url, token=False)
    with pytest.raises(GatedRepoError):
        anon.hf_hub_download(LLAMA, "README.md", cache_dir=tmp_path)
    authed = HfApi(endpoint=srv.url, token="hf_anything")
    p = authed.hf_hub_download(LLAMA, "README.md", cache_dir=tmp_path)
    assert "Llama 2" in Path(p).read_text(encoding="utf-8")
    st, h, _ = _get(f"{srv.url}/{LLAMA}/resolve/main/README.md")
    assert st == 401 and h["X-Error-Code"] == "GatedRepo"
    assert h["X-Error-Message"].startswith(f"Access to model {LLAMA} is restricted.")


def test_resolve_headers_and_range(srv):
    text = _records(NEW)["microsoft/phi-2"]["__files"]["README.md"].encode()
    st, h, body = _get(f"{srv.url}/microsoft/phi-2/resolve/main/README.md", method="HEAD")
    assert st == 200 and body == b"" and int(h["Content-Length"]) == len(text)
    assert h["ETag"].startswith('"') and len(h["X-Repo-Commit"]) == 40
    assert h["RateLimit"].startswith('"resolvers";')
    st, h, body = _get(
        f"{srv.url}/microsoft/phi-2/resolve/main/README.md", headers={"Range": "bytes=10-"}
    )
    assert st == 206 and body == text[10:]
    # renamed repo: relative 307 to the new id
    st, h, body = _get(f"{srv.url}/neuralmagic/phi-2-pruned50/resolve/main/README.md")
    assert st == 200 and body
    assert ("GET", "/neuralmagic/phi-2-pruned50/resolve/main/README.md", 307) in srv.request_log


def test_agent_harnesses(srv):
    st, _, body = _get(srv.url + "/api/agent-harnesses")
    assert st == 200 and json.loads(body) == {"standardEnvVars": [], "harnesses": {}}


# -- states, rate limits, faults, Python API ----------------------------------------------------


def test_state_switch(index_dir):
    with ReplayServer([[OLD], [NEW]], index_dir=index_dir) as s:
        api = HfApi(endpoint=s.url, token=False)
        old = api.model_info("neuralmagic/phi-2-pruned50")
        assert old.id == "neuralmagic/phi-2-pruned50"
        assert "license:mit" not in api.model_info("prsdm/phi-2-medquad").tags
        s.set_state(1)
        assert api.model_info("neuralmagic/phi-2-pruned50").id == "RedHatAI/phi-2-pruned50"
        assert "license:mit" in api.model_info("prsdm/phi-2-medquad").tags
        # over HTTP
        st, _, body = _get(s.url + "/_replay/state?n=0", method="POST")
        assert st == 200 and json.loads(body) == {"state": 0}
        st, _, body = _get(s.url + "/_replay/state")
        assert json.loads(body)["state"] == 0 and json.loads(body)["models"] == 2
        assert "license:mit" not in api.model_info("prsdm/phi-2-medquad").tags


def test_rate_limit(srv):
    srv.set_budget(api=1, window=2)
    try:
        api = HfApi(endpoint=srv.url, token=False)
        t0 = time.monotonic()
        assert list(api.list_models(author="meta-llama"))
        assert list(api.list_models(author="meta-llama"))  # 429 waited out by the client
        assert time.monotonic() - t0 >= 1.0
        with pytest.raises(HfHubHTTPError) as ei:
            api.model_info(LLAMA)
        assert ei.value.response.status_code == 429
        info = parse_ratelimit_headers(ei.value.response.headers)
        assert info.resource_type == "api" and info.remaining == 0 and info.limit == 1
        assert 1 <= info.reset_in_seconds <= 2 and info.window_seconds == 2
        assert ei.value.response.headers["Retry-After"] == str(info.reset_in_seconds)
    finally:
        srv.set_budget(api=None, resolvers=None, window=300)


def test_faults(srv, api):
    srv.set_faults(status=500, every=2)
    try:
        api.model_info(LLAMA)  # API request 1: fine
        n = len(srv.request_log)
        ms = list(api.list_models(author="meta-llama"))  # request 2 -> 500, retried by the client
        assert len(ms) == 2
        log = list(srv.request_log)[n:]
        assert [e[2] for e in log] == [500, 200] and log[0][1] == log[1][1]
        with pytest.raises(HfHubHTTPError) as ei:
            api.model_info(LLAMA)  # request 4 -> 500, model_info does not retry
        assert ei.value.response.status_code == 500
    finally:
        srv.set_faults(every=None)


def test_python_api_basics(index_dir):
    s = ReplayServer([NEW], index_dir=index_dir, delay_ms=1)
    s.start()
    try:
        assert s.url.startswith("http://127.0.0.1:")
        assert s.state_info() == {
            "state": 0,
            "states": 1,
            "models": 10,
            "aliases": 0,
            "datasets": 0,
        }
        HfApi(endpoint=s.url, token=False).model_info(LLAMA)
        assert s.request_log[-1] == ("GET", f"/api/models/{LLAMA}", 200)
        with pytest.raises(ValueError):
            s.set_state(1)
    finally:
        s.stop()


def test_command_line(tmp_path):
    import subprocess
    import sys

    cmd = [
        sys.executable,
        "-m",
        "hubreplay",
        OLD,
        "--then",
        NEW,
        "--port",
        "0",
        "--index-dir",
        str(tmp_path),
        "--api-budget",
        "100",
        "--window",
        "60",
    ]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("hubreplay: serving 2 models (state 0 of 2) on http://127.0.0.1:")
        url = line.split(" on ")[1].strip()
        st, h, body = _get(url + "/_replay/state?n=1", method="POST")
        assert json.loads(body) == {"state": 1}
        st, h, body = _get(url + "/api/models/neuralmagic/phi-2-pruned50?expand=sha")
        assert json.loads(body)["id"] == "RedHatAI/phi-2-pruned50"
        assert h["RateLimit-Policy"] == '"fixed window";"api";q=100;w=60'
    finally:
        proc.terminate()
        proc.wait(timeout=10)
