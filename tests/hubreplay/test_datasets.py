"""hubreplay's datasets (`--datasets`) against the unmodified huggingface_hub 2.4 client.

The records are real (tests/hubreplay/fixtures/datasets_2024.jsonl.gz, cut from
hub-datasets-2024-07 by make_fixtures.py); the replacing file and the hostile record are
constructed here and named so.
"""

import gzip
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import pytest  # noqa: E402
from huggingface_hub import HfApi  # noqa: E402
from huggingface_hub.errors import BadRequestError, RepositoryNotFoundError  # noqa: E402

from hubreplay import ReplayServer  # noqa: E402
from hubreplay.declared_datasets import cut, declared_ids  # noqa: E402

from .conftest import DATASETS, MODELS  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def _lines(path=DATASETS) -> list[str]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f]


def _write(path: Path, lines: list[str]) -> str:
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in lines))
    return str(path)


def _served(line: str) -> dict:
    return {k: v for k, v in json.loads(line).items() if not k.startswith("__")}


REAL = {json.loads(line)["id"]: _served(line) for line in _lines()}


@pytest.fixture(scope="module")
def srv(datasets_srv):
    return datasets_srv


@pytest.fixture(scope="module")
def api(srv):
    return HfApi(endpoint=srv.url, token=False)


def _get(url):
    try:
        with urllib.request.urlopen(url) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def test_the_listing_pages_through_every_dataset_by_the_absolute_cursor_link(srv, api):
    before = len(srv.request_log)
    ids = [d.id for d in api.list_datasets()]
    assert ids == sorted(REAL) and srv.state_info()["datasets"] == len(REAL)  # load order
    pages = [p for _, p, _ in list(srv.request_log)[before:]]
    assert len(pages) == -(-len(REAL) // 5) and "cursor=" in pages[-1]
    status, headers, _ = _get(f"{srv.url}/api/datasets?limit=2")
    assert headers["Link"].startswith(f"<{srv.url}/api/datasets?limit=2&cursor=")


def test_an_item_is_the_record_as_the_hub_lists_it(srv, api):
    item = next(d for d in api.list_datasets(search="tatsu-lab/alpaca"))
    assert (item.id, item.author, item.tags) == (
        "tatsu-lab/alpaca",
        "tatsu-lab",
        REAL[item.id]["tags"],
    )
    assert item.downloads is None and item.likes is None and item.created_at is None  # not known
    _, _, body = _get(f"{srv.url}/api/datasets?search=alpaca")
    assert json.loads(body) == [REAL["tatsu-lab/alpaca"]]


def test_search_author_license_filter_sort_and_limit(api):
    assert [d.id for d in api.list_datasets(search="QUAD")] == ["lmqg/qag_dequad", "lmqg/qag_esquad", "lmqg/qag_itquad", "squad"]  # fmt: skip
    assert {d.id for d in api.list_datasets(author="0-hero")} == {
        i for i in REAL if i.startswith("0-hero/")
    }
    mit = {i for i, r in REAL.items() if "license:mit" in r["tags"]}
    assert {d.id for d in api.list_datasets(filter="license:mit")} == mit and len(mit) == 2
    assert [d.id for d in api.list_datasets(filter="license:mit", author="Open-Orca")] == [
        "Open-Orca/OpenOrca"
    ]
    assert list(api.list_datasets(filter=["license:mit", "license:other"])) == []
    # No record has a sort value: every sort keeps load order (missing values last).
    for sort in ("downloads", "likes", "created_at", "last_modified", "trending_score"):
        assert [d.id for d in api.list_datasets(sort=sort, limit=7)] == sorted(REAL)[:7]
    both = api.list_datasets(search="qag", dataset_name="esquad")
    assert [d.id for d in both] == ["lmqg/qag_esquad"]


def test_expand_gives_only_id_and_the_asked_keys(srv, api):
    d = next(iter(api.list_datasets(search="glue", expand=["author", "tags", "downloads"])))
    assert (d.id, d.author, d.tags, d.downloads) == ("glue", None, ["license:other"], None)
    _, _, body = _get(f"{srv.url}/api/datasets?search=OpenOrca&expand=author&expand[]=likes")
    assert json.loads(body) == [{"id": "Open-Orca/OpenOrca", "author": "Open-Orca"}]
    status, _, body = _get(f"{srv.url}/api/datasets?expand=baseModels")
    assert status == 400 and json.loads(body)["error"].startswith('"expand" must be one of [author')
    with pytest.raises(BadRequestError):
        next(iter(api.list_datasets(expand=["pipeline_tag"])))  # a model's, not a dataset's


def test_dataset_info_reads_one_and_an_unknown_id_is_the_hubs_404(srv, api):
    info = api.dataset_info("tatsu-lab/alpaca")
    assert (info.id, info.author, info.tags) == (
        "tatsu-lab/alpaca",
        "tatsu-lab",
        ["license:cc-by-nc-4.0"],
    )
    _, _, body = _get(f"{srv.url}/api/datasets/tatsu-lab/alpaca")
    assert json.loads(body) == REAL["tatsu-lab/alpaca"]
    assert api.dataset_info("squad", revision="main").tags == ["license:cc-by-sa-4.0"]
    assert api.dataset_info("glue", expand=["tags"]).tags == ["license:other"]
    with pytest.raises(RepositoryNotFoundError):
        api.dataset_info("nobody/no-such-dataset")
    status, headers, body = _get(f"{srv.url}/api/datasets/nobody/no-such-dataset")
    assert (status, headers["X-Error-Code"], json.loads(body)) == (
        404,
        "RepoNotFound",
        {"error": "Repository not found"},
    )
    with pytest.raises(RepositoryNotFoundError):
        api.dataset_info("meta-llama/Llama-2-7b")  # a model is not a dataset
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("tatsu-lab/alpaca")  # nor a dataset a model


def test_a_later_datasets_file_replaces_records_by_id(tmp_path):
    # Constructed: the real alpaca record with its license tag changed, and one new id.
    alpaca = json.loads(next(line for line in _lines() if '"tatsu-lab/alpaca"' in line))
    alpaca["tags"] = ["license:apache-2.0"]
    extra = {"id": "constructed/new-dataset", "author": "constructed", "tags": ["license:mit"]}
    later = _write(
        tmp_path / "constructed-replacing.jsonl.gz", [json.dumps(alpaca), json.dumps(extra)]
    )
    with ReplayServer([MODELS], datasets=[DATASETS, later], index_dir=tmp_path / "idx") as s:
        api = HfApi(endpoint=s.url, token=False)
        assert api.dataset_info("tatsu-lab/alpaca").tags == ["license:apache-2.0"]
        ids = [d.id for d in api.list_datasets()]
        assert len(ids) == len(REAL) + 1 and ids[-1] == "constructed/new-dataset"
        assert ids.index("tatsu-lab/alpaca") == sorted(REAL).index("tatsu-lab/alpaca")  # in place


def test_hostile_records_do_not_stop_the_index_and_are_served_as_they_are(tmp_path):
    # Constructed: a NUL byte and lone surrogates in the author and tags, an id the client would
    # refuse to ask for (listed only), and wrong types.
    hostile = [
        r'{"id":"constructed/nul-and-lone","author":"x\u0000\udfff","tags":["license:mit\u0000","license:\ud83d"]}',
        r'{"id":"constructed/id\u0000\ud800","tags":["license:\ud83d"]}',
        '{"id":"constructed/wrong-types","author":7,"tags":"license:mit","downloads":"many","likes":1e999}',
        '{"id":["not","a","string"],"tags":[]}',
        '["not an object"]',
    ]  # fmt: skip
    path = _write(tmp_path / "constructed-hostile.jsonl.gz", _lines() + hostile)
    with ReplayServer([MODELS], datasets=[path], index_dir=tmp_path / "idx") as s:
        api = HfApi(endpoint=s.url, token=False)
        assert s.state_info()["datasets"] == len(REAL) + 3
        _, _, body = _get(f"{s.url}/api/datasets?search=constructed/nul")
        assert body == ("[" + hostile[0] + "]").encode("utf-8")
        _, _, body = _get(f"{s.url}/api/datasets/constructed/nul-and-lone")
        assert body == hostile[0].encode("utf-8")
        info = api.dataset_info("constructed/nul-and-lone")
        assert info.author == "x\x00\udfff" and info.tags == ["license:mit\x00", "license:\ud83d"]
        assert [d.id for d in api.list_datasets(filter="license:mit\x00")] == [info.id]
        mit = {i for i, r in REAL.items() if "license:mit" in r["tags"]}
        assert {d.id for d in api.list_datasets(filter="license:mit")} == mit  # not cut at NUL
        listed = {d.id: d for d in api.list_datasets(search="constructed/id")}
        assert listed["constructed/id\x00\ud800"].tags == ["license:\ud83d"]
        _, _, body = _get(f"{s.url}/api/datasets/constructed/wrong-types")
        assert body == hostile[2].encode()
        assert api.dataset_info("constructed/wrong-types").downloads == "many"
        assert len(list(api.list_datasets(sort="likes"))) == len(REAL) + 3


def test_the_declared_datasets_of_models_are_their_tags_and_card(tmp_path):
    rec = {"id": "m", "tags": ["dataset:tatsu-lab/alpaca", "dataset:", "license:mit", 3],
           "cardData": {"datasets": ["squad", "tatsu-lab/alpaca", None, " glue "]}}  # fmt: skip
    assert declared_ids(rec) == ["tatsu-lab/alpaca", "squad", "glue"]
    assert declared_ids({"id": "m", "cardData": {"datasets": "imdb"}, "tags": None}) == ["imdb"]
    assert declared_ids({"id": "m", "cardData": "not a dict"}) == []
    models = _write(
        tmp_path / "models.jsonl.gz",
        [json.dumps(rec), json.dumps({"id": "n", "tags": ["dataset:nobody/x"]})],
    )
    out = tmp_path / "out.jsonl.gz"
    assert cut([models], DATASETS, str(out)) == (4, 3)
    assert _lines(out) == [
        line for line in _lines() if json.loads(line)["id"] in ("glue", "squad", "tatsu-lab/alpaca")
    ]
    first = out.read_bytes()
    cut([models], DATASETS, str(out))
    assert out.read_bytes() == first  # deterministic


def test_the_bundled_dataset_file_is_what_the_bundled_models_declare(tmp_path):
    data = ROOT / "hubreplay" / "data"
    declared = set()
    for f in sorted(data.glob("demo-*.jsonl.gz")):
        for line in _lines(f):
            declared.update(declared_ids(json.loads(line)))
    bundled = [json.loads(line)["id"] for line in _lines(data / "datasets-2024.jsonl.gz")]
    assert bundled == sorted(bundled) and set(bundled) <= declared and "tatsu-lab/alpaca" in bundled


def test_the_cli_takes_datasets_files_and_says_how_many_it_serves(tmp_path):
    cmd = [sys.executable, "-m", "hubreplay", MODELS, "--datasets", DATASETS, "--datasets",
           DATASETS, "--port", "0", "--index-dir", str(tmp_path)]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith(
            f"hubreplay: serving 10 models and {len(REAL)} datasets (state 0 of 1)"
        )
        url = line.rsplit(" ", 1)[1].strip()
        assert HfApi(endpoint=url, token=False).dataset_info("glue").tags == ["license:other"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
