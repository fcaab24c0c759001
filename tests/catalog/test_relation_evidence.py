"""Relations from the strongest evidence (issue 13): the repo's own files and format outrank tags
a card copied from its base; `merge` needs several bases or a merge config of its own. Real
records (tests/fixtures/make_lineage.py: relations.jsonl.gz) and the pure rule."""

import pytest

from catalog import crawler, lineage, runs
from catalog.models import CrawlRun, LineageEdge

pytestmark = pytest.mark.django_db


def test_quantizations_carrying_their_bases_merge_tags_are_quantizations(replay, hub_for):
    server = replay(["relations.jsonl.gz"])
    run, _ = runs.start(CrawlRun.Kind.FULL, endpoint=server.url, limit=0)
    assert crawler.run_sync(run, hub=hub_for(server)).status == CrawlRun.Status.DONE
    relation = dict(LineageEdge.objects.values_list("child__repo_id", "relation"))
    # gguf + merge + mergekit tags, one base: with its .gguf files, and as a bare list item.
    assert relation["QuantFactory/Halu-8B-Llama3-Blackroot-GGUF"] == "quantized"
    assert relation["mradermacher/Pyrhea-72B-i1-GGUF"] == "quantized"
    # One declared base, but its own mergekit_config.yml: a merge.
    assert relation["4n3mone/KoSOLAR_merge_test_v0.1"] == "merge"


def rel(tags=(), library="", files=None, n_parents=1, repo_id="someone/model"):
    return lineage.infer_relation(
        repo_id=repo_id, tags=list(tags), library=library, files=files, n_parents=n_parents
    )


def test_the_strongest_signal_decides():
    assert rel(n_parents=2, files=["model.gguf"]) == "merge"  # several bases
    assert rel(["merge"], files=["adapter_config.json", "adapter_model.safetensors"]) == "adapter"
    assert rel(["merge", "mergekit"], files=["model.Q4_K_M.gguf"]) == "quantized"
    assert rel(["merge"], files=["mergekit_config.yml", "model.safetensors"]) == "merge"
    # Merge tags with the file list known and no merge config: copied from the base's card.
    assert rel(["merge", "mergekit"], files=["model.safetensors"]) is None
    assert rel(["merge"], files=None) == "merge"  # no file list: the tags are all there is
    assert rel(["merge", "gguf"], files=None) == "quantized"
    assert rel(["lora", "4-bit"], library="peft") == "adapter"
    assert rel(files=None, repo_id="someone/model-GPTQ") == "quantized"
    assert rel(files=[]) is None


def test_a_base_shipping_a_gguf_of_its_own_weights_is_no_baseless_quantization():
    # google/gemma-7b (bundled snapshot, 2025 record): its own safetensors shards and
    # gemma-7b.gguf, tag `gguf`, no base_model. It was read as a quantization naming no base,
    # which left every Gemma model's lineage "a derivative that names no base".
    from catalog.models import HubModel

    gemma = HubModel(repo_id="google/gemma-7b", tags=["transformers", "safetensors", "gguf"],
                     siblings=["config.json", "gemma-7b.gguf", "model-00001-of-00004.safetensors",
                               "model-00002-of-00004.safetensors", "model.safetensors.index.json"])  # fmt: skip
    assert lineage.derivative_kind(gemma) is None
    # A quantization repo stays one: GGUF alone, GGUF named so, or GPTQ weights with its config.
    only = HubModel(repo_id="TheBloke/x-GGUF", tags=["gguf"], siblings=["x.Q4_K_M.gguf"])
    named = HubModel(repo_id="someone/x-GGUF", tags=["gguf"],
                     siblings=["x.Q4_K_M.gguf", "model.safetensors"])  # fmt: skip
    gptq = HubModel(repo_id="someone/x", tags=["gptq"],
                    siblings=["model.safetensors", "quantize_config.json"])  # fmt: skip
    awq = HubModel(repo_id="someone/y", tags=["awq"], siblings=["model.safetensors"])
    assert {lineage.derivative_kind(m) for m in (only, named, gptq, awq)} == {"quantized"}
