"""Hardware fit: the memory a model needs to run, estimated from its size and precision.

parameters: the safetensors / GGUF metadata total when the Hub gave one, else the size in the
repo name ("7B", "1.5b", "8x7B", "350M"): then the estimate is a guess.
bits per weight: the quantization in the name, tags or library (GGUF Q4_K_M is about 4.8 bits,
GPTQ/AWQ/bitsandbytes 4-bit about 4.25, 8-bit 8, fp8 8), else 16 (bf16/fp16, how most weights
ship). A GGUF repo without a quantization in its name holds several files: Q4_K_M is assumed.
memory = parameters x bits / 8, plus 20% for activations, KV cache and runtime buffers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .records import repo_name

OVERHEAD = 1.2

# GGUF / llama.cpp quantization types and their effective bits per weight.
GGUF_BITS = {
    "IQ1_S": 1.56, "IQ1_M": 1.75, "IQ2_XXS": 2.06, "IQ2_XS": 2.31, "IQ2_S": 2.5, "IQ2_M": 2.7,
    "Q2_K": 2.63, "IQ3_XXS": 3.06, "IQ3_XS": 3.3, "IQ3_S": 3.44, "IQ3_M": 3.66, "Q3_K_S": 3.5,
    "Q3_K_M": 3.91, "Q3_K_L": 4.27, "IQ4_XS": 4.25, "IQ4_NL": 4.5, "Q4_0": 4.55, "Q4_1": 5.0,
    "Q4_K_S": 4.58, "Q4_K_M": 4.85, "Q5_0": 5.54, "Q5_1": 6.0, "Q5_K_S": 5.54, "Q5_K_M": 5.69,
    "Q6_K": 6.59, "Q8_0": 8.5, "F16": 16.0, "BF16": 16.0, "F32": 32.0,
}  # fmt: skip
GGUF_NAME = re.compile(
    r"(?<![A-Za-z0-9])(I?Q[1-8]_(?:K_[SML]|K|[01]|XXS|XS|S|M|NL)|BF16|F16|F32)(?![A-Za-z0-9])",
    re.IGNORECASE,
)
BPW = re.compile(r"(\d+(?:\.\d+)?)\s*bpw", re.IGNORECASE)
NAME_SIZE = re.compile(
    r"(?<![A-Za-z0-9.])(?:(\d+)x)?(\d+(?:\.\d+)?)\s*([bm])(?![A-Za-z0-9])", re.IGNORECASE
)
BUCKETS = [(1e9, "<1B"), (3.5e9, "1-3B"), (9e9, "3-8B"), (16e9, "8-15B"), (41e9, "15-40B"),
           (81e9, "40-80B"), (float("inf"), "80B+")]  # fmt: skip
BUCKET_ORDER = [label for _, label in BUCKETS]


@dataclass(frozen=True)
class Estimate:
    params: int | None
    params_source: str  # "metadata", "name" or ""
    bits: float
    quant: str
    memory_gb: float | None

    @property
    def guess(self) -> bool:
        return self.params_source != "metadata"

    @property
    def bucket(self) -> str:
        return bucket(self.params)


def bucket(params: int | None) -> str:
    if not params:
        return ""
    return next(label for limit, label in BUCKETS if params < limit)


def params_from_name(repo_id: str) -> int | None:
    """The size a repo name states: 7B -> 7e9, 8x7B -> 56e9, 350M -> 3.5e8."""
    name = repo_name(repo_id)
    for experts, size, unit in NAME_SIZE.findall(name):
        value = float(size) * (1e9 if unit.lower() == "b" else 1e6)
        value *= int(experts) if experts else 1
        if 1e7 <= value <= 2e12:
            return int(value)
    return None


def quantization(repo_id: str, tags: Iterable[str], library: str, formats: Iterable[str]):
    """(label, bits per weight) of the weights, from the name, tags, library and formats."""
    name = repo_name(repo_id)
    tagset = {t.lower() for t in tags}
    fmts = set(formats)
    if m := GGUF_NAME.search(name):
        label = m.group(1).upper()
        # A variant missing from the table (Q4_K_L, ...): its digit plus the usual half bit.
        return label, GGUF_BITS.get(label) or int(re.search(r"\d", label)[0]) + 0.5  # type: ignore[index]
    if m := BPW.search(name):
        return f"EXL2 {m.group(1)}bpw", float(m.group(1))
    lowered = name.lower()
    for marker, label, bits in (
        ("gptq", "GPTQ", 4.25), ("awq", "AWQ", 4.25), ("4bit", "4-bit", 4.25),
        ("4-bit", "4-bit", 4.25), ("int4", "int4", 4.25), ("bnb", "4-bit", 4.25),
        ("8bit", "8-bit", 8.0), ("8-bit", "8-bit", 8.0), ("int8", "int8", 8.0),
        ("fp8", "fp8", 8.0), ("3bit", "3-bit", 3.25), ("2bit", "2-bit", 2.25),
    ):  # fmt: skip
        if marker in lowered or marker in tagset:
            return label, bits
    if "gguf" in fmts or library == "gguf" or "gguf" in tagset:
        return "Q4_K_M?", GGUF_BITS["Q4_K_M"]
    if "fp32" in lowered or "f32" in lowered:
        return "fp32", 32.0
    return "16-bit", 16.0


def estimate(
    *, repo_id: str, parameter_count: int | None, tags: Iterable[str], library: str,
    formats: Iterable[str],
) -> Estimate:  # fmt: skip
    quant, bits = quantization(repo_id, list(tags), library, list(formats))
    params: int | None
    if parameter_count:
        params, source = parameter_count, "metadata"
    else:
        params, source = params_from_name(repo_id), "name" if params_from_name(repo_id) else ""
    memory = round(params * bits / 8 / 1e9 * OVERHEAD, 1) if params else None
    return Estimate(params, source, bits, quant, memory)


def fits(memory_gb: float | None, budget_gb: float) -> bool | None:
    return None if memory_gb is None else memory_gb <= budget_gb
