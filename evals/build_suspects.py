"""Build evals/suspects.jsonl: real models whose base is declared, with the declaration hidden,
for measuring the suspected-base detector (licenses/suspects.py). Run once; commit the output.

The label is the declaration, never the detector: a model's declared `base_model` chain (the
2024 list's `base_model:` tags, hub-rich's card field) is followed up to its root, and only chains
that reach a publisher's own base repo are kept (meta-llama/Llama-2-*, google/gemma-*, ...: the
table ROOTS below), the family's license being what licenses.tsv says of that repo. A chain with
a merge (several bases) on it is left out: which base's terms a merge carries is not one answer.
Then the case holds what the detector may read and nothing that declares the base: the id, the
tags without `base_model:*`, and, for hub-rich records, the config (model type, architectures,
tokenizer) and the README body without its YAML header.

Two kinds of case:
- `derivative`: up to PER_FAMILY per family, the most downloaded first;
- `base`: models that really are bases (a publisher's root repos, and models others build on
  from labs that pretrain their own, by INDEPENDENT author), where a suspicion of another license
  is false. An independent lab's repo whose name carries a family's name (nvidia/Llama3-ChatQA,
  google/paligemma) is a derivative of that family by its own account, not a base: left out.
"""

from __future__ import annotations

import gzip
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from licenses.suspects import name_families  # noqa: E402  (a pure module: no Django)

SHARED = Path(sys.argv[1] if len(sys.argv) > 1 else HERE.parent.parent / "shared")
SNAP = SHARED / "hub-snapshot"
PER_FAMILY = 400
README_CHARS = 6000

# Publisher root repos and the family (licenses/suspects.FAMILIES key) and license of each,
# per licenses.tsv's rows for those repos.
ROOTS = [
    (r"^meta-llama/Llama-2-|^(meta-llama/CodeLlama-|codellama/)", "llama2", "llama2"),
    (r"^meta-llama/Meta-Llama-3-", "llama3", "llama3"),
    (r"^meta-llama/(Meta-)?Llama-3\.1-", "llama3.1", "llama3.1"),
    (r"^mistralai/Mistral-7B", "mistral", "apache-2.0"),
    (r"^mistralai/Mixtral-", "mixtral", "apache-2.0"),
    (r"^google/(code|recurrent)?gemma", "gemma", "gemma"),
    (r"^Qwen/Qwen1\.5-", "qwen1.5", "tongyi-qianwen"),
    (r"^Qwen/Qwen2-72B", "qwen2-72b", "tongyi-qianwen"),
    (r"^Qwen/Qwen2-", "qwen2", "apache-2.0"),
    (r"^Qwen/Qwen-(7B|14B|72B)", "qwen1", "tongyi-qianwen"),
    (r"^microsoft/[Pp]hi-", "phi", "mit"),
    (r"^deepseek-ai/", "deepseek", "deepseek"),
    (r"^tiiuae/falcon-(7b|40b)", "falcon", "apache-2.0"),
    (r"^tiiuae/falcon-180B", "falcon-180b", "falcon-180b"),
    (r"^bigscience/bloom", "bloom", "bigscience-bloom-rail-1.0"),
    (r"^stabilityai/stable-diffusion-xl-", "sdxl", "openrail++"),
    (r"^(runwayml/stable-diffusion-v1-5|CompVis/stable-diffusion-v1-)", "sd1", "creativeml-openrail-m"),
    (r"^stabilityai/stable-diffusion-2", "sd2", "openrail++"),
    (r"^stabilityai/stable-diffusion-3", "sd3", "stabilityai-ai-community"),
]  # fmt: skip
ROOT_RULES = [(re.compile(p), fam, lic) for p, fam, lic in ROOTS]
# Labs whose models are pretrained on their own (none of the families above), some of them in a
# family's shape (TinyLlama, OpenLLaMA and Yi are Llama-shaped; H2O Danube is Mistral-shaped).
INDEPENDENT = {
    "TinyLlama", "openlm-research", "01-ai", "mosaicml", "EleutherAI", "allenai", "internlm",
    "baichuan-inc", "THUDM", "h2oai", "Deci", "togethercomputer", "cerebras", "Salesforce",
    "bigcode", "HuggingFaceTB", "apple", "Snowflake", "openai", "openai-community", "google-bert",
    "google-t5", "FacebookAI", "distilbert", "facebook", "BAAI", "sentence-transformers",
    "stabilityai", "microsoft", "google", "upstage", "nvidia", "ibm", "databricks",
}  # fmt: skip


def root_of(rid: str) -> tuple[str, str] | None:
    for pattern, family, lic in ROOT_RULES:
        if pattern.search(rid):
            return family, lic
    return None


def _bases(tags: list) -> list[str]:
    return [t[11:] for t in tags if isinstance(t, str) and t.startswith("base_model:")
            and t.split(":")[1] not in ("quantized", "finetune", "adapter", "merge")]  # fmt: skip


def _card_bases(card: object) -> list[str]:
    base = card.get("base_model") if isinstance(card, dict) else None
    return [base] if isinstance(base, str) else [b for b in base or [] if isinstance(b, str)]


def _hidden(tags: list) -> list[str]:
    return [t for t in tags if isinstance(t, str) and not t.startswith("base_model:")]


def _config(cfg: object) -> dict | None:
    if not isinstance(cfg, dict):
        return None
    out = {k: cfg[k] for k in ("model_type", "architectures") if k in cfg}
    tok = cfg.get("tokenizer_config")
    if isinstance(tok, dict):
        keep = {k: tok[k] for k in ("bos_token", "eos_token") if k in tok}
        template = tok.get("chat_template")
        if isinstance(template, str):
            keep["chat_template"] = template[:3000]
        out["tokenizer_config"] = keep
    if isinstance(cfg.get("diffusers"), dict):
        out["diffusers"] = {"_class_name": cfg["diffusers"].get("_class_name")}
    return out or None


def _readme(rec: dict) -> str:
    files = rec.get("__files") if isinstance(rec.get("__files"), dict) else {}
    text = files.get("README.md") or rec.get("__card_text") or ""
    if text.startswith("---"):
        end = text.find("\n---", 3)
        text = text[end + 4 :] if end > 0 else ""
    return text[:README_CHARS]


def load() -> tuple[dict[str, dict], dict[str, dict]]:
    listed: dict[str, dict] = {}
    with gzip.open(SNAP / "hub-list-2024-07-11.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            listed[r["id"]] = {"tags": r.get("tags") or [], "downloads": r.get("downloads") or 0}
    rich: dict[str, dict] = {}
    with gzip.open(SNAP / "hub-rich.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            rich[r["id"]] = r
    return listed, rich


def main() -> None:
    listed, rich = load()
    parents: dict[str, list[str]] = {}
    for rid, r in listed.items():
        parents[rid] = _bases(r["tags"])
    for rid, r in rich.items():
        parents[rid] = list(
            dict.fromkeys(_bases(r.get("tags") or []) + _card_bases(r.get("cardData")))
        )

    def chain_root(rid: str) -> str | None:
        seen = set()
        while parents.get(rid):
            if len(set(parents[rid])) > 1 or rid in seen:
                return None
            seen.add(rid)
            rid = parents[rid][0]
        return rid if seen else None

    def case(rid: str, kind: str, family: str | None, lic: str | None, why: str) -> dict:
        rec = rich.get(rid)
        tags = (rec or {}).get("tags") or listed.get(rid, {}).get("tags") or []
        out = {"category": "suspected-bases", "kind": kind, "id": rid, "tags": _hidden(tags),
               "expected_family": family, "expected_license": lic, "rationale": why}  # fmt: skip
        if rec is not None:
            if cfg := _config(rec.get("config")):
                out["config"] = cfg
            if text := _readme(rec):
                out["readme"] = text
            if isinstance(rec.get("gguf"), dict):
                out["gguf"] = {"architecture": rec["gguf"].get("architecture")}
        return out

    downloads = {rid: r["downloads"] for rid, r in listed.items()}
    downloads.update({rid: r.get("downloads") or 0 for rid, r in rich.items()})
    by_family: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    children: dict[str, int] = defaultdict(int)
    for rid in parents:
        root = chain_root(rid)
        if root is None:
            continue
        children[root] += 1
        if found := root_of(root):
            by_family[found[0]].append((rid, root, found[1]))
    cases = []
    for family, rows in sorted(by_family.items()):
        rows.sort(key=lambda r: (-downloads.get(r[0], 0), r[0]))
        for rid, root, lic in rows[:PER_FAMILY]:
            cases.append(case(rid, "derivative", family, lic,
                              f"declares a base chain to {root} ({lic} per licenses.tsv); "
                              "the declaration is hidden"))  # fmt: skip
    for root, n in sorted(children.items()):
        author = root.split("/", 1)[0]
        found = root_of(root)
        if n < 3 or parents.get(root) or (found is None and author not in INDEPENDENT):
            continue
        if found is None and name_families(root.rsplit("/", 1)[-1]):
            continue
        family, lic = found if found else (None, None)
        cases.append(case(root, "base", family, lic,
                          f"a base {n} models declare; " + (f"{family}'s own repo ({lic})" if found
                          else f"pretrained by {author}, of none of the families")))  # fmt: skip
    out = HERE / "suspects.jsonl"
    with out.open("w", encoding="utf-8") as f:
        for c in cases:
            f.write(json.dumps(c, ensure_ascii=False) + "\n")
    kinds: dict[str, int] = defaultdict(int)
    for c in cases:
        kinds[c["kind"]] += 1
    print(out, dict(kinds), {f: min(len(r), PER_FAMILY) for f, r in sorted(by_family.items())})


if __name__ == "__main__":
    main()
