"""Hardware fit: memory estimates from the parameter count or the name, and the precision."""

import pytest

from catalog import hardware


@pytest.mark.parametrize(
    ("repo_id", "params", "expected"),
    [
        ("meta-llama/Llama-2-7b-hf", None, 7e9),
        ("Qwen/Qwen2-1.5B-Instruct", None, 1.5e9),
        ("mistralai/Mixtral-8x7B-v0.1", None, 56e9),
        ("facebook/opt-350m", None, 3.5e8),
        ("bert-base-uncased", None, None),
    ],
)
def test_the_size_in_a_name_is_read(repo_id, params, expected):
    assert hardware.params_from_name(repo_id) == (int(expected) if expected else None)


@pytest.mark.parametrize(
    ("repo_id", "formats", "quant", "bits"),
    [
        ("x/Llama-2-7B-Chat-Q4_K_M-GGUF", ["gguf"], "Q4_K_M", 4.85),
        ("x/Llama-2-7B-Chat-GGUF", ["gguf"], "Q4_K_M?", 4.85),
        ("x/Llama-2-7B-Chat-GPTQ", ["safetensors"], "GPTQ", 4.25),
        ("x/model-4.0bpw-exl2", ["safetensors"], "EXL2 4.0bpw", 4.0),
        ("x/Llama-2-7b-hf", ["safetensors"], "16-bit", 16.0),
    ],
)
def test_the_precision_is_read_from_the_name_and_formats(repo_id, formats, quant, bits):
    assert hardware.quantization(repo_id, [], "", formats) == (quant, bits)


def test_metadata_beats_the_name_and_is_not_a_guess():
    est = hardware.estimate(repo_id="x/Llama-2-13b", parameter_count=6_738_415_616, tags=[],
                            library="", formats=["safetensors"])  # fmt: skip
    assert est.params == 6_738_415_616 and not est.guess
    assert est.memory_gb == pytest.approx(6.738 * 2 * 1.2, abs=0.1)
    assert est.bucket == "3-8B"


def test_a_size_from_the_name_is_a_guess():
    est = hardware.estimate(repo_id="x/Llama-2-7B-Q4_K_M-GGUF", parameter_count=None, tags=[],
                            library="", formats=["gguf"])  # fmt: skip
    assert est.guess and est.params_source == "name"
    assert est.memory_gb == pytest.approx(7 * 4.85 / 8 * 1.2, abs=0.1)
    assert hardware.fits(est.memory_gb, 16) and not hardware.fits(est.memory_gb, 4)


def test_without_any_size_there_is_no_estimate():
    est = hardware.estimate(repo_id="x/bert-base", parameter_count=None, tags=[], library="",
                            formats=[])  # fmt: skip
    assert est.memory_gb is None and est.bucket == ""
