"""Suspected bases: the base model a model probably derives from when its metadata names none.

Metadata lies most where it is silent: a re-upload of Llama 3 tagged apache-2.0 with no
`base_model`, a fine-tune that declares mit. What the repo is made of still says where it came
from: its name (`llama-3-8b`), its tags, its config (`model_type`, a diffusers pipeline), its
tokenizer (`<|begin_of_text|>` is Llama 3's), a README line ("fine-tuned from ..."). Each is a
signal for a family; families form a tree (Llama > Llama 3.x > Llama 3.1), and the suspicion is
the most specific family the signals agree on, with the license that family's base carries.

A suspicion never changes a verdict: it is evidence for a legal reviewer, who confirms it (a
manual determination) or dismisses it. `make eval` measures it (evals/run.py, suspected-bases).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

EMIT_AT = 0.5  # below this a suspicion is not said


@dataclass(frozen=True)
class Family:
    label: str
    license: str | None  # the license key of the family's base; None: it depends on the version
    parent: str | None = None
    publishers: tuple[str, ...] = ()  # whose repos *are* the family's bases


FAMILIES: dict[str, Family] = {
    "llama": Family("Llama (version unknown)", None),
    "llama1": Family("LLaMA 1", "llama-1", "llama", ("facebook", "huggyllama")),
    "llama2": Family("Llama 2", "llama2", "llama", ("meta-llama", "codellama")),
    "llama3x": Family("Llama 3.x", None, "llama"),
    "llama3": Family("Llama 3", "llama3", "llama3x", ("meta-llama",)),
    "llama3.1+": Family("Llama 3.1 or later", None, "llama3x"),
    "llama3.1": Family("Llama 3.1", "llama3.1", "llama3.1+", ("meta-llama",)),
    "llama3.2": Family("Llama 3.2", "llama3.2", "llama3.1+", ("meta-llama",)),
    "llama3.3": Family("Llama 3.3", "llama3.3", "llama3.1+", ("meta-llama",)),
    "mistral": Family("Mistral", "apache-2.0", None, ("mistralai",)),
    "mixtral": Family("Mixtral", "apache-2.0", None, ("mistralai",)),
    "gemma": Family("Gemma", "gemma", None, ("google",)),
    "qwen": Family("Qwen (version unknown)", None),
    "qwen1": Family("Qwen", "tongyi-qianwen", "qwen", ("qwen",)),
    "qwen1.5": Family("Qwen1.5", "tongyi-qianwen", "qwen", ("qwen",)),
    "qwen2": Family("Qwen2", "apache-2.0", "qwen", ("qwen",)),
    "qwen2-72b": Family("Qwen2 72B", "tongyi-qianwen", "qwen2", ("qwen",)),
    "qwen2.5": Family("Qwen2.5", "apache-2.0", "qwen", ("qwen",)),
    "qwen2.5-3b": Family("Qwen2.5 3B", "qwen-research", "qwen2.5", ("qwen",)),
    "qwen2.5-72b": Family("Qwen2.5 72B", "qwen", "qwen2.5", ("qwen",)),
    "phi": Family("Phi", "mit", None, ("microsoft",)),
    "deepseek": Family("DeepSeek", "deepseek", None, ("deepseek-ai",)),
    "falcon": Family("Falcon", "apache-2.0", None, ("tiiuae",)),
    "falcon-180b": Family("Falcon 180B", "falcon-180b", "falcon", ("tiiuae",)),
    "bloom": Family("BLOOM", "bigscience-bloom-rail-1.0", None, ("bigscience",)),
    "sd": Family("Stable Diffusion (version unknown)", None),
    "sd1": Family(
        "Stable Diffusion 1.x",
        "creativeml-openrail-m",
        "sd",
        ("runwayml", "compvis", "stable-diffusion-v1-5"),
    ),  # fmt: skip
    "sd2": Family("Stable Diffusion 2.x", "openrail++", "sd", ("stabilityai",)),
    "sdxl": Family("Stable Diffusion XL", "openrail++", "sd", ("stabilityai",)),
    "sd3": Family("Stable Diffusion 3", "stabilityai-ai-community", "sd", ("stabilityai",)),
    "flux": Family("FLUX.1 (variant unknown)", None, None, ("black-forest-labs",)),
    "flux-dev": Family(
        "FLUX.1 [dev]", "flux-1-dev-non-commercial-license", "flux", ("black-forest-labs",)
    ),  # fmt: skip
    "flux-schnell": Family("FLUX.1 [schnell]", "apache-2.0", "flux", ("black-forest-labs",)),
}

# The base each family's derivatives most often name, by size: the suspicion's best candidate.
CANDIDATES: dict[str, dict[str, str]] = {
    "llama2": {"7b": "meta-llama/Llama-2-7b-hf", "13b": "meta-llama/Llama-2-13b-hf",
               "70b": "meta-llama/Llama-2-70b-hf"},
    "llama3": {"8b": "meta-llama/Meta-Llama-3-8B", "70b": "meta-llama/Meta-Llama-3-70B"},
    "llama3.1": {"8b": "meta-llama/Meta-Llama-3.1-8B", "70b": "meta-llama/Meta-Llama-3.1-70B"},
    "mistral": {"7b": "mistralai/Mistral-7B-v0.1"},
    "mixtral": {"8x7b": "mistralai/Mixtral-8x7B-v0.1"},
    "gemma": {"2b": "google/gemma-2b", "7b": "google/gemma-7b", "9b": "google/gemma-2-9b"},
    "sdxl": {"": "stabilityai/stable-diffusion-xl-base-1.0"},
    "sd1": {"": "runwayml/stable-diffusion-v1-5"},
}  # fmt: skip


@dataclass(frozen=True)
class Signal:
    kind: str  # name, tag, config, tokenizer, readme, gguf
    family: str
    detail: str
    weight: float
    base: str | None = None  # a repo id the signal names
    fact: str = ""  # signals of one fact (the Hub's model-type tag, the config, a GGUF header
    # all say the architecture) count once


# --- reading the signals --------------------------------------------------------------------

# Names that hold a family's word without being of it.
_NOT_LLAMA = re.compile(r"tiny-?llama|open[-_]?llama|llama[-_.]?(?:file|cpp|index)|ollama|llava")
# A version digit is one that no other digit or a size (`13b`, `11.5b`) follows.
_LLAMA = re.compile(
    r"(?<![a-z])(code[-_ ]?)?llama[-_ ]?(?:(\d)(?![0-9b])(?:[._-](\d)(?![0-9.b]))?)?"
)
_LLAMA2_SIZED = re.compile(r"llama[-_ ]?2(?:7|13|70)b")
# The community's L3-8B-Stheno, L3.1-70B-Euryale: only with a Llama size ("l2-norm" is no Llama).
_SHORT_LLAMA = re.compile(r"^l(3|2)(?:\.(\d))?[-_](?=(?:.*[-_])?(?:7|8|13|70|405)b(?![a-z]))")
_QWEN = re.compile(r"qwen[-_ ]?(\d(?:\.\d)?)?")
_SIZE = re.compile(r"(?<![0-9a-z.])(\d+(?:\.\d+)?x)?(\d+(?:\.\d+)?)b(?![a-z])")
_NAME_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"mixtral"), "mixtral"),
    (re.compile(r"mistral(?![-_]?(?:large|small|medium))"), "mistral"),
    (re.compile(r"(?<![a-z])(?:code|recurrent|pali)?gemma"), "gemma"),
    (re.compile(r"(?<!dol)phi[-_ ]?(?:[1-3](?![0-9])|1_5)"), "phi"),
    (re.compile(r"deepseek"), "deepseek"),
    (re.compile(r"falcon[-_ ]?180b"), "falcon-180b"),
    (re.compile(r"(?<![a-z])falcon[-_ ]?(?:7b|40b|rw)"), "falcon"),
    (re.compile(r"(?<![a-z])bloomz?(?:[-_]|$)"), "bloom"),
    (re.compile(r"sdxl|stable[-_ ]?diffusion[-_ ]?xl|sd[-_]?xl"), "sdxl"),
    (re.compile(r"(?<![a-z0-9])sd[-_ ]?3|stable[-_ ]?diffusion[-_ ]?3"), "sd3"),
    (re.compile(r"stable[-_ ]?diffusion[-_ ]?(?:v?2)|(?<![a-z0-9])sd[-_ ]?2[._-]?[01]"), "sd2"),
    (
        re.compile(r"stable[-_ ]?diffusion[-_ ]?v?1|(?<![a-z0-9])sd[-_ ]?(?:v?1[._-]?[45]|15)"),
        "sd1",
    ),
    (re.compile(r"(?<![a-z])flux[-_.]?1?[-_.]?dev(?![a-z])"), "flux-dev"),
    (re.compile(r"(?<![a-z])flux[-_.]?1?[-_.]?schnell"), "flux-schnell"),
]


def name_families(name: str) -> list[str]:
    """The families a model's name (without its author) says, most specific of each line."""
    text = name.lower()
    found = []
    if fam := _llama_of(text):
        found.append(fam)
    versions = [m.group(1) or "" for m in _QWEN.finditer(text)]
    if versions:
        found.append(_qwen(max(versions), text))
    found.extend(family for pattern, family in _NAME_RULES if pattern.search(text))
    return list(dict.fromkeys(found))


def name_family(name: str) -> str | None:
    """The one family a name says; None when it says none or several (a merge's name)."""
    found = name_families(name)
    return found[0] if len(found) == 1 else None


def _llama_of(text: str) -> str | None:
    if _NOT_LLAMA.search(text):
        text = _NOT_LLAMA.sub(" ", text)
    m = _LLAMA.search(text)
    if m:
        if m.group(1):  # Code Llama is under the Llama 2 license
            return "llama2"
        major, minor = m.group(2), m.group(3)
        if major == "2":
            return "llama2"
        if major == "3":
            return f"llama3.{minor}" if minor in ("1", "2", "3") else "llama3"
        if _LLAMA2_SIZED.search(text):  # llama27b, llama2-13b's run-together forms
            return "llama2"
        # Only Llama 3 came in 8B: a bare "llama-8b" is one.
        return "llama3" if "8" in {g.group(2) for g in _SIZE.finditer(text)} else "llama"
    short = _SHORT_LLAMA.search(text)
    if short:
        major, minor = short.groups()
        if major == "2":
            return "llama2"
        return f"llama3.{minor}" if minor in ("1", "2", "3") else "llama3"
    return None


def _qwen(version: str, text: str) -> str:
    size = {m.group(2) for m in _SIZE.finditer(text)}
    if version.startswith("2.5"):
        return "qwen2.5-72b" if "72" in size else "qwen2.5-3b" if "3" in size else "qwen2.5"
    if version.startswith("2"):
        return "qwen2-72b" if "72" in size else "qwen2"
    if version.startswith("1.5"):
        return "qwen1.5"
    return "qwen"  # a bare "qwen": which one it is, the name does not say


# Tags and config model types that are a family's own words.
_TAGS = {
    "llama": "llama", "llama-2": "llama2", "llama2": "llama2", "llama-3": "llama3",
    "llama3": "llama3", "llama-3.1": "llama3.1", "llama3.1": "llama3.1", "llama-3.2": "llama3.2",
    "mistral": "mistral", "mixtral": "mixtral", "gemma": "gemma", "gemma2": "gemma",
    "qwen": "qwen1", "qwen2": "qwen", "qwen2_moe": "qwen", "phi": "phi", "phi3": "phi",
    "phi-msft": "phi", "deepseek": "deepseek", "deepseek_v2": "deepseek", "falcon": "falcon",
    "refinedweb": "falcon", "refinedwebmodel": "falcon", "bloom": "bloom",
    "stable-diffusion-xl": "sdxl", "sdxl": "sdxl", "stable-diffusion": "sd",
    "stable-diffusion-3": "sd3", "sd3": "sd3", "flux": "flux",
}  # fmt: skip
# The Hub tags a model with its config's model_type: an architecture, which models trained from
# scratch share (Yi and TinyLlama are Llama-shaped), so alone it is no suspicion; Gemma's is.
_ARCH_WEIGHT = {
    "llama": 0.45, "mistral": 0.45, "mixtral": 0.45, "qwen2": 0.45, "qwen2_moe": 0.45,
    "phi": 0.45, "phi3": 0.45, "phi-msft": 0.45, "falcon": 0.45, "refinedweb": 0.45,
    "refinedwebmodel": 0.45, "bloom": 0.45, "deepseek_v2": 0.45, "gemma": 0.55, "gemma2": 0.55,
    "stable-diffusion": 0.5,
}  # fmt: skip
_PIPELINES = {
    "StableDiffusionXLPipeline": "sdxl", "StableDiffusionPipeline": "sd",
    "StableDiffusion3Pipeline": "sd3", "FluxPipeline": "flux",
}  # fmt: skip
_ARCHITECTURES = {
    "LlamaForCausalLM": "llama", "MistralForCausalLM": "mistral",
    "MixtralForCausalLM": "mixtral", "GemmaForCausalLM": "gemma", "Gemma2ForCausalLM": "gemma",
    "Qwen2ForCausalLM": "qwen", "QWenLMHeadModel": "qwen1", "Phi3ForCausalLM": "phi",
    "PhiForCausalLM": "phi", "FalconForCausalLM": "falcon", "BloomForCausalLM": "bloom",
}  # fmt: skip
_README_BASE = re.compile(
    r"(?:fine-?tuned|trained|based|built|quanti[sz]ed|merged|derived|distilled)"
    r"(?: version)?(?: model)? (?:of|from|on|upon|using)(?: the)?(?: model)? \[?`?"
    r"(?:https://huggingface\.co/)?(?P<id>[A-Za-z0-9][\w.-]{0,95}/[\w.-]{1,96})",
    re.IGNORECASE,
)
_BUILT_WITH = re.compile(r"built with (meta )?llama( 3(?:\.(\d))?)?", re.IGNORECASE)
README_SCAN = 20_000  # the head of a README: where a model says what it is
NAME_CHARS = 300  # a repo id is at most 200 (HubModel.repo_id); more is not a name


def tag_list(tags: Any) -> list[str]:
    """The string tags of whatever the record holds (a list, a generator, None, a number)."""
    if isinstance(tags, str | bytes | dict) or not isinstance(tags, Iterable):
        return []
    return [t for t in itertools.islice(tags, 5000) if isinstance(t, str)]


def _text(value: Any, limit: int = 20_000) -> str:
    return value[:limit] if isinstance(value, str) else ""


def signals(
    repo_id: str,
    tags: Iterable[Any] = (),
    config: Any = None,
    readme: str = "",
    gguf: Any = None,
) -> list[Signal]:
    """Every signal the record gives, whatever types its fields hold."""
    out: list[Signal] = []
    name = repo_id.rsplit("/", 1)[-1][:NAME_CHARS]
    named = name_families(name)
    for fam in named:  # a name with several families (a merge's) is weaker evidence of each
        out.append(Signal("name", fam, name, 0.75 if len(named) == 1 else 0.4))
    tags = tag_list(tags)
    for tag in tags:
        if tagged := _TAGS.get(tag.lower()):
            shape = tag.lower() in _ARCH_WEIGHT
            out.append(Signal("tag", tagged, tag, _ARCH_WEIGHT.get(tag.lower(), 0.6),
                              fact=f"architecture {tagged}" if shape else ""))  # fmt: skip
    cfg = config if isinstance(config, dict) else {}
    out.extend(_config_signals(cfg))
    out.extend(_tokenizer_signals(cfg.get("tokenizer_config"), cfg.get("model_type")))
    out.extend(_readme_signals(_text(readme, README_SCAN), repo_id))
    arch = gguf.get("architecture") if isinstance(gguf, dict) else None
    if isinstance(arch, str) and (shaped := _TAGS.get(arch.lower())):
        out.append(Signal("gguf", shaped, f"GGUF architecture {arch}", 0.4,
                          fact=f"architecture {shaped}"))  # fmt: skip
    return _of_its_kind(out, tags, cfg)


_IMAGE_TAGS = frozenset({"diffusers", "text-to-image", "image-to-image", "stable-diffusion",
                         "stable-diffusion-diffusers", "stable-diffusion-xl"})  # fmt: skip
_TEXT_TAGS = frozenset({"text-generation", "text2text-generation", "conversational"})
_IMAGE_FAMILIES = frozenset(f for f in FAMILIES if f.startswith(("sd", "flux")))


def _of_its_kind(found: list[Signal], tags: list[str], cfg: dict[str, Any]) -> list[Signal]:
    """An image model is no Llama, whatever its name says (a LoRA named after an artist called
    Gemma), and a text generator no Stable Diffusion."""
    words = {t.lower() for t in tags}
    if words & _IMAGE_TAGS or "diffusers" in cfg:
        return [s for s in found if s.family in _IMAGE_FAMILIES]
    if words & _TEXT_TAGS or "model_type" in cfg:
        return [s for s in found if s.family not in _IMAGE_FAMILIES]
    return found


def _config_signals(cfg: dict[str, Any]) -> list[Signal]:
    out = []
    model_type = cfg.get("model_type")
    if isinstance(model_type, str) and (fam := _TAGS.get(model_type.lower())):
        weight = _ARCH_WEIGHT.get(model_type.lower(), 0.45)
        out.append(Signal("config", fam, f"model_type {model_type}", weight,
                          fact=f"architecture {fam}"))  # fmt: skip
    archs = cfg.get("architectures")
    for arch in archs[:4] if isinstance(archs, list) else []:
        if isinstance(arch, str) and (fam := _ARCHITECTURES.get(arch)) and not out:
            out.append(Signal("config", fam, f"architecture {arch}", 0.45,
                              fact=f"architecture {fam}"))  # fmt: skip
    diffusers = cfg.get("diffusers")
    pipeline = diffusers.get("_class_name") if isinstance(diffusers, dict) else None
    if isinstance(pipeline, str) and (fam := _PIPELINES.get(pipeline)):
        out.append(Signal("config", fam, f"diffusers pipeline {pipeline}", 0.6))
    return out


def _token(value: Any) -> str:
    if isinstance(value, dict):  # {"content": "<s>", ...}
        value = value.get("content")
    return value if isinstance(value, str) else ""


def _tokenizer_signals(tok: Any, model_type: Any) -> list[Signal]:
    if not isinstance(tok, dict):
        return []
    bos, eos = _token(tok.get("bos_token")), _token(tok.get("eos_token"))
    template = tok.get("chat_template")
    if isinstance(template, list):  # named templates: [{"name", "template"}]
        template = " ".join(_text(t.get("template")) for t in template if isinstance(t, dict))
    template = _text(template)
    if bos == "<|begin_of_text|>" or "<|start_header_id|>" in template:
        if "Cutting Knowledge Date" in template:
            return [Signal("tokenizer", "llama3.1+", "Llama 3.1+ chat template", 0.8)]
        return [Signal("tokenizer", "llama3x", "Llama 3 tokens (<|begin_of_text|>)", 0.7)]
    if "<start_of_turn>" in template or bos == "<bos>":
        return [Signal("tokenizer", "gemma", "Gemma tokens (<start_of_turn>, <bos>)", 0.7)]
    if "<<SYS>>" in template and model_type == "llama":
        return [Signal("tokenizer", "llama2", "Llama 2 chat template (<<SYS>>)", 0.6)]
    chatml = "<|im_start|>" in template and eos in ("<|endoftext|>", "<|im_end|>") and not bos
    if chatml and model_type == "qwen2":
        return [Signal("tokenizer", "qwen", "Qwen tokens (ChatML, no BOS)", 0.5)]
    return []


def _readme_signals(text: str, repo_id: str) -> list[Signal]:
    out = []
    for m in _README_BASE.finditer(text):
        base = m.group("id").rstrip(".)")
        if base.lower() == repo_id.lower():
            continue
        if fam := name_family(base.rsplit("/", 1)[-1]):
            out.append(Signal("readme", fam, m.group(0)[:160], 0.85, base=base))
            break
    if not out and (built := _BUILT_WITH.search(text)):
        # "Built with Meta Llama 3" is Llama 3's attribution; "Built with Llama", 3.1's on.
        fam = "llama3" if built.group(2) and not built.group(3) else "llama3.1+"
        out.append(Signal("readme", fam, built.group(0), 0.6))
    return out


# --- from signals to a suspicion ------------------------------------------------------------


def line(family: str) -> list[str]:
    """The family and its ancestors, itself first."""
    out = []
    node: str | None = family
    while node is not None and node not in out:
        out.append(node)
        node = FAMILIES[node].parent if node in FAMILIES else None
    return out


@dataclass
class Suspicion:
    family: str
    confidence: float
    signals: list[Signal] = field(default_factory=list)
    base: str | None = None

    @property
    def license(self) -> str | None:
        return FAMILIES[self.family].license

    @property
    def label(self) -> str:
        return FAMILIES[self.family].label

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.base,
            "family": self.label,
            "family_key": self.family,
            "license": self.license,
            "signals": [f"{s.kind}: {s.detail}" for s in self.signals],
            "confidence": round(self.confidence, 2),
        }


def judge(found: list[Signal], name: str = "") -> Suspicion | None:
    """The most specific family the signals agree on, or None when there is no signal."""
    if not found:
        return None
    best: tuple[float, int, str] | None = None
    for family in {s.family for s in found}:
        ancestors = set(line(family))
        score = _combined(s for s in found if s.family in ancestors)
        against = max((s.weight for s in found if not _same_line(s.family, family)), default=0)
        score *= 1 - against / 2
        key = (round(score, 6), len(ancestors), family)
        if best is None or key > best:
            best = key
    assert best is not None
    family = best[2]
    ancestors = set(line(family))
    kept = [s for s in found if s.family in ancestors]
    base = next((s.base for s in kept if s.base), None) or _candidate(family, name)
    return Suspicion(family, best[0], kept, base)


def _combined(found: Iterable[Signal]) -> float:
    """1 - the chance every signal is wrong; the signals of one fact count once (the strongest)."""
    by_fact: dict[str, float] = {}
    miss = 1.0
    for s in found:
        if s.fact:
            by_fact[s.fact] = max(by_fact.get(s.fact, 0), s.weight)
        else:
            miss *= 1 - s.weight
    for w in by_fact.values():
        miss *= 1 - w
    return 1 - miss


def _same_line(a: str, b: str) -> bool:
    return a in line(b) or b in line(a)


def _candidate(family: str, name: str) -> str | None:
    sizes = CANDIDATES.get(family)
    if not sizes:
        return None
    text = name.lower()
    for m in _SIZE.finditer(text):
        size = (m.group(1) or "") + m.group(2) + "b"
        if size in sizes:
            return sizes[size]
    return sizes.get("")


def suspect(
    repo_id: str,
    *,
    declared: str | None,
    tags: Iterable[Any] = (),
    config: Any = None,
    readme: str = "",
    gguf: Any = None,
) -> list[dict[str, Any]]:
    """The suspected bases of a model that names none: [] when there is no signal, when the
    signals do not name a license, when the model is its family's own base (a publisher's repo),
    or when it already declares the license its family's base carries."""
    found = judge(signals(repo_id, tags, config, readme, gguf), repo_id.rsplit("/", 1)[-1])
    if found is None or found.license is None or found.confidence < EMIT_AT:
        return []
    author = repo_id.split("/", 1)[0].lower() if "/" in repo_id else ""
    if author in FAMILIES[found.family].publishers or found.license == declared:
        return []
    return [found.as_json()]
