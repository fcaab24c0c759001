"""Adapter bases from the adapter's own config (issue 13): `config.peft.base_model_name_or_path`.
Real records (tests/fixtures/make_lineage.py: adapters.jsonl.gz)."""

import pytest

from catalog import crawler, lineage, runs
from catalog.models import CrawlRun, HubModel, LineageEdge
from licenses.models import ModelLicense

pytestmark = pytest.mark.django_db


@pytest.fixture
def crawled(replay, hub_for):
    server = replay(["adapters.jsonl.gz"])
    run, _ = runs.start(CrawlRun.Kind.FULL, endpoint=server.url, limit=0)
    assert crawler.run_sync(run, hub=hub_for(server)).status == CrawlRun.Status.DONE


def edges(repo_id):
    return list(
        LineageEdge.objects.filter(child__repo_id=repo_id).values_list(
            "parent_repo_id", "relation", "relation_source", "origin"
        )
    )


def test_an_adapter_declaring_no_base_gets_the_one_its_config_names(crawled):
    assert edges("0x-YuAN/llama2-tw") == [
        ("meta-llama/Llama-2-7b-hf", "adapter", "peft_config", "peft_config")
    ]
    state = ModelLicense.objects.get(model__repo_id="0x-YuAN/llama2-tw")
    # Llama 2's terms reach it through the base its config names.
    assert state.effective == "conditional" and state.lineage_complete
    assert state.restrictor == "meta-llama/Llama-2-7b-hf"


def test_the_config_confirms_a_declared_base_and_does_not_add_another(crawled):
    assert edges("000jd/phi-1_5-finetuned-bangla-bot") == [
        ("microsoft/phi-1_5", "adapter", "peft_config", "tags,card,baseModels,peft_config")
    ]
    # Its tag names another base than its config: one parent (the tag's), not a merge of two.
    [(parent, relation, *_)] = edges("qwopqwop/EEVE-ALMA-R")
    assert parent == "yanolja/EEVE-Korean-Instruct-10.8B-v1.0" and relation != "merge"


def test_a_local_path_is_no_parent_and_the_adapter_is_not_complete(crawled, client):
    model = HubModel.objects.get(repo_id="4daJ/llama2_SFT")
    assert edges(model.repo_id) == []
    base, note = lineage.peft_base(model.raw["config"])
    assert base is None and "/data/lizongyue/llm_factory/model/meta-llama" in note
    assert not ModelLicense.objects.get(model=model).lineage_complete
    page = client.get(f"/models/{model.repo_id}/").content.decode()
    assert "a local path or not a Hub id" in page


@pytest.mark.parametrize(
    "value, base",
    [
        ("meta-llama/Llama-2-7b-hf", "meta-llama/Llama-2-7b-hf"),
        (" gpt2 ", "gpt2"),
        ("https://huggingface.co/mistralai/Mistral-7B-v0.1", "mistralai/Mistral-7B-v0.1"),
        ("/home/me/llama", None),
        ("./out/checkpoint-500", None),
        ("C:\\models\\llama", None),
        ("a/b/c", None),
        ("../llama", None),
        ("", None),
        (None, None),
        (7, None),
        (["meta-llama/Llama-2-7b-hf"], None),
        ("x\x00y/z", None),
    ],
)
def test_what_a_peft_config_names(value, base):
    found, note = lineage.peft_base({"peft": {"base_model_name_or_path": value}})
    assert found == base
    assert bool(note) == (base is None)
    assert "\x00" not in note


def test_no_peft_config_says_nothing():
    for config in (None, {}, {"peft": None}, {"peft": {"task_type": "CAUSAL_LM"}}, "x", []):
        assert lineage.peft_base(config) == (None, "")


def test_an_adapter_naming_no_base_is_not_called_a_base_model(crawled, client):
    page = client.get("/models/4daJ/llama2_SFT/").content.decode()
    assert "adapter by 4daJ that names no base" in page and "a base model" not in page


def _as_on_the_live_hub(tmp_path, *, text: str | None = None):
    """CONSTRUCTED (not a real capture): the real 0x-YuAN/llama2-tw record as the live Hub's
    listing gives it, without config.peft, its repo serving the adapter_config.json that config
    came from (or `text` in its place); the two bases as they are."""
    import gzip
    import json

    from tests.conftest import FIXTURES

    with gzip.open(FIXTURES / "adapters.jsonl.gz", "rt") as f:
        records = {r["id"]: r for r in map(json.loads, f)}
    adapter = records["0x-YuAN/llama2-tw"]
    peft = adapter["config"].pop("peft")
    adapter["__files"] = {"adapter_config.json": json.dumps(peft) if text is None else text}
    if text is not None:  # another file: another commit (the download cache is by commit)
        adapter["sha"] = "d1" * 20
    adapter["__constructed"] = "config.peft moved into the repo's adapter_config.json (test only)"
    path = tmp_path / "constructed-live-adapter.jsonl.gz"
    with gzip.open(path, "wt") as f:
        for rid in ("0x-YuAN/llama2-tw", "meta-llama/Llama-2-7b-hf"):
            f.write(json.dumps(records[rid]) + "\n")
    return path


def _crawl(replay, hub_for, path):
    server = replay([str(path)])
    run, _ = runs.start(CrawlRun.Kind.FULL, endpoint=server.url, limit=0)
    assert crawler.run_sync(run, hub=hub_for(server)).status == CrawlRun.Status.DONE
    return server


def test_on_the_live_hub_the_adapters_own_config_file_names_its_base(replay, hub_for, tmp_path):
    _crawl(replay, hub_for, _as_on_the_live_hub(tmp_path))
    assert edges("0x-YuAN/llama2-tw") == [
        ("meta-llama/Llama-2-7b-hf", "adapter", "peft_config", "peft_config")
    ]
    state = ModelLicense.objects.get(model__repo_id="0x-YuAN/llama2-tw")
    assert state.effective == "conditional" and state.lineage_complete
    # The listing again (edges are rewritten from the record): the file's base stays.
    from catalog.ingest import ingest
    from catalog.models import ModelFile

    model = HubModel.objects.get(repo_id="0x-YuAN/llama2-tw")
    assert ModelFile.objects.filter(model=model, path="adapter_config.json").exists()
    ingest([{**model.raw, "downloads": 1}])
    assert edges("0x-YuAN/llama2-tw")[0][0] == "meta-llama/Llama-2-7b-hf"


def test_an_adapter_config_that_is_no_json_names_no_base(replay, hub_for, tmp_path):
    _crawl(replay, hub_for, _as_on_the_live_hub(tmp_path, text="{not json\x00"))
    assert edges("0x-YuAN/llama2-tw") == []
    state = ModelLicense.objects.get(model__repo_id="0x-YuAN/llama2-tw")
    assert state.lineage_status == "no_base_for_derivative"
