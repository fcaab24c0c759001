"""Hardware fit: the memory a model needs to run, estimated from its size and precision.

parameters: the safetensors / GGUF metadata total when the Hub gave one, else the size in the
repo name ("7B", "1.5b", "8x7B", "350M"): then the estimate is a guess.
bits per weight: the quantization in the name, tags or library (GGUF Q4_K_M is about 4.8 bits,
GPTQ/AWQ/bitsandbytes 4-bit about 4.25, 8-bit 8, fp8 8), else 16 (bf16/fp16, how most weights
ship). A GGUF repo without a quantization in its name usually holds several files: where its
file list is known, their names say which quantizations it ships (the repo's figures are those of
its smallest file, so "fits in 8 GB" finds a repo with a file that fits, and the model page's
file table says which); where it is not, Q4_K_M is assumed and marked as a guess ("Q4_K_M?").
memory = parameters x bits / 8, plus 20% for activations, KV cache and runtime buffers.

`facts(row)` is the one place that says which of a row's figures are guesses: every template (the
`facts` template filters) and the API read it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .records import repo_name

OVERHEAD = 1.2
ASSUMED = "?"  # stored after a quantization that was assumed, not read: "Q4_K_M?"
DEFAULT_GGUF = "Q4_K_M"

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


def gguf_quant(name: str) -> tuple[str, float] | None:
    """(type, bits per weight) of a GGUF / GGML quantization named in a repo or file name."""
    m = GGUF_NAME.search(name)
    if not m:
        return None
    label = m.group(1).upper()
    # A variant missing from the table (Q4_K_L, ...): its digit plus the usual half bit.
    return label, GGUF_BITS.get(label) or int(re.search(r"\d", label)[0]) + 0.5  # type: ignore[index]


def quantization(
    repo_id: str, tags: Iterable[str], library: str, formats: Iterable[str],
    files: Iterable[str] | None = None,
) -> tuple[str, float]:  # fmt: skip
    """(label, bits per weight) of the weights, from the file names (when the Hub listed them),
    the name, tags, library and formats. A repo of several GGUF quantizations is labelled with
    its range ("Q2_K–Q8_0") and the bits of its smallest."""
    name = repo_name(repo_id)
    tagset = {t.lower() for t in tags}
    fmts = set(formats)
    listed = None if files is None else list(files)
    named = [f for f in weight_files(listed or []) if f.from_file_name]
    shipped = sorted({(f.bits or 0.0, f.quant) for f in named})
    if shipped:
        (low_bits, low), (_, high) = shipped[0], shipped[-1]
        return (low if low == high else f"{low}–{high}"), low_bits
    if found := gguf_quant(name):
        return found
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
    # A listed repo with safetensors beside an unnamed GGUF (google/gemma-7b ships gemma-7b.gguf
    # in F32 next to its safetensors) runs from the safetensors.
    safetensors = listed is not None and any(f.endswith(".safetensors") for f in listed)
    if ("gguf" in fmts or library == "gguf" or "gguf" in tagset) and not safetensors:
        return DEFAULT_GGUF + ASSUMED, GGUF_BITS[DEFAULT_GGUF]
    if "fp32" in lowered or "f32" in lowered:
        return "fp32", 32.0
    return "16-bit", 16.0


def estimate(
    *, repo_id: str, parameter_count: int | None, tags: Iterable[str], library: str,
    formats: Iterable[str], files: Iterable[str] | None = None,
) -> Estimate:  # fmt: skip
    quant, bits = quantization(repo_id, list(tags), library, list(formats), files)
    params: int | None
    if parameter_count:
        params, source = parameter_count, "metadata"
    else:
        params = params_from_name(repo_id)
        source = "name" if params else ""
    return Estimate(params, source, bits, quant, memory(params, bits))


def memory(params: int | None, bits: float | None) -> float | None:
    return round(params * bits / 8 / 1e9 * OVERHEAD, 1) if params and bits else None


def fits(memory_gb: float | None, budget_gb: float) -> bool | None:
    return None if memory_gb is None else memory_gb <= budget_gb


# --- Weight files ----------------------------------------------------------------------------

WEIGHT_FILE = re.compile(
    r"\.(gguf|ggml|safetensors)$|(^|/)(pytorch_model|model)[^/]*\.bin$|ggml[^/]*\.bin$",
    re.IGNORECASE,
)
QUANTIZED_FILE = re.compile(r"\.gguf$|ggml", re.IGNORECASE)  # files whose name says their type
SHARD = re.compile(r"[-.](\d{3,5})-of-(\d{3,5})(?=\.[A-Za-z0-9]+$)")
PROJECTOR = re.compile(r"mmproj", re.IGNORECASE)  # a vision projector, not the language model
MAX_WEIGHT_FILES = 500  # rows of one repo's table (the largest real repos list a few hundred)


@dataclass(frozen=True)
class WeightFile:
    """One weight file of a repo (the parts of a sharded file together)."""

    path: str  # the first part's
    parts: int
    quant: str  # from the file name ("Q4_K_M"), else ""
    bits: float | None
    size: int | None  # bytes, when the Hub gave the size of every part
    projector: bool = False

    @property
    def from_file_name(self) -> bool:
        return bool(self.quant) and not self.projector


def weight_files(files: Iterable[Any], sizes: dict[str, int] | None = None) -> list[WeightFile]:
    """The weight files among a repo's file names, a sharded file once, smallest first."""
    groups: dict[str, list[str]] = {}
    for path in files:
        if isinstance(path, str) and WEIGHT_FILE.search(path):
            groups.setdefault(SHARD.sub("", path), []).append(path)
            if len(groups) > MAX_WEIGHT_FILES:
                break
    sizes = sizes or {}
    out = []
    for key, parts in groups.items():
        read = gguf_quant(key.rpartition("/")[2]) if QUANTIZED_FILE.search(key) else None
        part_sizes = [sizes.get(p) for p in parts]
        size = sum(part_sizes) if all(part_sizes) else None  # type: ignore[arg-type]
        out.append(WeightFile(path=sorted(parts)[0], parts=len(parts), quant=read[0] if read else "",
                              bits=read[1] if read else None, size=size,
                              projector=bool(PROJECTOR.search(key))))  # fmt: skip
    return sorted(out, key=lambda f: (f.projector, f.bits or 99, f.path))


def sizes_from(raw: Any) -> dict[str, int]:
    """File sizes the Hub gave in a record's siblings (`size`, or `lfs.size`), by file name;
    a size of the wrong type is left out (the real records hold none: listings do not send
    them, model_info only with files_metadata)."""
    siblings = raw.get("siblings") if isinstance(raw, dict) else None
    out: dict[str, int] = {}
    for s in siblings if isinstance(siblings, list) else []:
        if not isinstance(s, dict) or not isinstance(s.get("rfilename"), str):
            continue
        lfs = s.get("lfs")
        size = s.get("size", lfs.get("size") if isinstance(lfs, dict) else None)
        if isinstance(size, int) and not isinstance(size, bool) and 0 < size < 2**63:
            out[s["rfilename"]] = size
    return out


# --- Fact or guess -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """A row's size, precision and memory, each marked fact or guess: the one place that
    decides it (templates through catalog.templatetags.facts, the API through `as_json`)."""

    params: int | None
    params_guess: bool  # the size in the repo's name, not its metadata
    quant: str  # "Q4_K_M", "Q2_K–Q8_0", "GPTQ", "16-bit", ...
    quant_guess: bool  # assumed: a GGUF repo whose files are not known
    bits: float | None
    memory_gb: float | None

    @property
    def memory_guess(self) -> bool:
        return self.params_guess or self.quant_guess

    @property
    def several(self) -> bool:
        return "–" in self.quant

    @property
    def lowest(self) -> str:
        """Of several quantizations, the one with the fewest bits (the figures are its)."""
        return self.quant.partition("–")[0]

    @property
    def highest(self) -> str:
        return self.quant.rpartition("–")[2]

    @property
    def quant_text(self) -> str:
        if self.quant_guess:
            return f"{self.quant} (assumed)"
        return self.quant

    @property
    def memory_text(self) -> str:
        if self.memory_gb is None:
            return ""
        return f"{'~' if self.memory_guess else ''}{self.memory_gb} GB"

    @property
    def why(self) -> str:
        """What the memory figure rests on, in words."""
        reasons = []
        if self.params_guess:
            reasons.append("the size in its name")
        if self.quant_guess:
            # A search entry knows that the quantization was assumed, not which one.
            what = f"{self.quant} assumed" if self.quant else "an assumed quantization"
            reasons.append(f"{what} (the repo's file list is not known)")
        return "a guess from " + " and ".join(reasons) if reasons else ""

    def as_json(self) -> dict[str, Any]:
        return {"params": self.params, "params_guess": self.params_guess, "quant": self.quant,
                "quant_guess": self.quant_guess, "bits": self.bits, "memory_gb": self.memory_gb,
                "memory_guess": self.memory_guess}  # fmt: skip


def facts(row: Any) -> Facts:
    """The facts of a HubModel, a row of values() or a SearchEntry: that narrow row has no
    quant column, and its params_source says "assumed" where the model's quantization was
    (portal.searchindex)."""
    values = row if isinstance(row, dict) else row.__dict__
    quant = values.get("quant") or ""
    source = values.get("params_source") or ""
    return Facts(
        params=values.get("params_estimate"),
        params_guess=source == "name",
        quant=quant.removesuffix(ASSUMED),
        quant_guess=quant.endswith(ASSUMED) or source == "assumed",
        bits=values.get("bits"),
        memory_gb=values.get("memory_gb"),
    )


@dataclass(frozen=True)
class Variant:
    """A row of the model page's file table: a weight file and what it needs to run."""

    file: WeightFile
    quant: str
    bits: float | None
    memory_gb: float | None
    guess: bool  # the memory rests on a guessed size or an assumed quantization

    @property
    def memory_text(self) -> str:
        if self.memory_gb is None:
            return ""
        return f"{'~' if self.guess else ''}{self.memory_gb} GB"


def variants(model: Any) -> list[Variant] | None:
    """One row per weight file of a model whose file list is known (None when it is not): a
    GGUF file's type and bits from its name, any other file's from the repo; memory from the
    model's parameter count. A projector (mmproj) is listed without a memory figure."""
    if model.siblings is None:
        return None
    repo = facts(model)
    rows = []
    for f in weight_files(model.siblings, sizes_from(model.raw)):
        quant, bits, assumed = f.quant, f.bits, False
        # A file whose name names no type has the repo's (an unnamed one among several
        # quantizations: unknown).
        if not f.quant and not f.projector and not repo.several:
            quant, bits, assumed = repo.quant_text, repo.bits, repo.quant_guess
        need = None if f.projector else memory(repo.params, bits)
        rows.append(Variant(f, quant, bits, need, repo.params_guess or assumed))
    return rows
