#!/usr/bin/env python3
"""Build Canopy's bundled demo snapshot and the small test fixtures.

Input: the shared `hub-snapshot/1` files (see ../shared/hub-snapshot/README.md).
Output:
  hubreplay/data/demo-2024.jsonl.gz   state of the chosen models as of 2024 (07-11 list / 2024-07 model_info)
  hubreplay/data/demo-2025.jsonl.gz   newer (2025-03/04) records of the same models, layered on top by `_id`
  hubreplay/data/DEMO.md              what the demo holds, where it comes from, how to rebuild
  tests/fixtures/rich-2024.jsonl.gz, rich-2025.jsonl.gz, family.jsonl.gz, FIXTURES.md

Nothing is invented: every line is a record of the shared files, unchanged except that a README larger than
--readme-max characters is removed (the whole `__files` key, plus its `__capture.files` provenance entry, with a
`__capture.demo_note` saying so).  Deterministic: fixed seed, lines sorted by id, gzip mtime=0.

Usage (from the repo root):
  .venv/bin/python scripts/build_demo_snapshot.py [--shared ../shared/hub-snapshot] [--no-fixtures]
"""

from __future__ import annotations

import argparse
import collections
import csv
import gzip
import io
import json
import random
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

QUANT_TAGS = {"gguf", "gptq", "awq", "exl2", "4-bit", "8-bit"}
QUANTIZERS = {"TheBloke", "bartowski", "mradermacher", "QuantFactory"}
RELATIONS = {"finetune", "adapter", "quantized", "merge"}

# family -> (2025 tree roots in hub-rich (`__capture.tree_root`), root ids, root id prefixes, extra hub-rich id prefixes)
FAMILIES = {
    "llama2": (
        ["Llama-2-7b-chat-hf", "Llama-2-7b"],
        ["meta-llama/Llama-2-7b-chat-hf", "meta-llama/Llama-2-7b", "meta-llama/Llama-2-7b-hf"],
        [],
        [],
    ),
    "qwen": ([], [], ["Qwen/"], ["Qwen/", "QuantFactory/"]),
    "mistral": (["Mistral-Small-24B-Base-2501"], [], ["mistralai/"], ["mistralai/"]),
    "gemma": (["gemma-7b"], ["google/gemma-7b", "google/gemma-7b-it"], [], []),
    "deepseek-r1": (["DeepSeek-R1"], ["deepseek-ai/DeepSeek-R1"], [], []),
    "sd-2-1": (
        ["stable-diffusion-2-1"],
        ["stabilityai/stable-diffusion-2-1", "stabilityai/stable-diffusion-2-1-base"],
        [],
        [],
    ),
    # not asked for by name, but it holds a rename (neuralmagic -> RedHatAI/phi-2-pruned50) and a license change
    "phi-2": (["phi-2"], ["microsoft/phi-2"], [], []),
}

# README §8 license-drift examples (child, parent), README §4 license changes
DRIFT_EXAMPLES = [
    "Arjs/Llama-2-7b-chatbot-finetune",
    "ChengsenWang/ChatTime-1-7B-Base",
    "CreitinGameplays/Llama-2-7b-chat-reasoning-test",
    "DongkiKim/Mol-Llama-2-7b-chat",
    "Ichate/yaoi-v1-instruct",
    "AGCobra/EXAONE-Deep-32B-mlx-4Bit",
    "BlackBeenie/EXAONE-Deep-32B-Q4_K_M-GGUF",
    "FriendliAI/Llama-2-7b-chat-hf-fp8",
]
LICENSE_CHANGES = ["prsdm/phi-2-medquad", "wadhma/Critique-L2-FT-DCR", "wadhma/Refine-L2-FT-DCR"]


# ----------------------------------------------------------------------------------------------------------- io
def read_jsonl(path: Path):
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def dumps(obj) -> str:
    # the shared files round-trip exactly with this (checked: 0 differences on hub-rich)
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def write_jsonl(path: Path, records) -> int:
    recs = sorted(records, key=lambda r: r["id"])
    ids = [r["id"] for r in recs]
    assert len(ids) == len(set(ids)), f"duplicate id in {path}"
    uids = [r["_id"] for r in recs if "_id" in r]
    assert len(uids) == len(set(uids)), f"duplicate _id in {path}"
    data = "".join(dumps(r) + "\n" for r in recs).encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(data)
    path.write_bytes(buf.getvalue())
    return path.stat().st_size


# ------------------------------------------------------------------------------------------------------ helpers
def base_targets(rec) -> list[tuple[str, str]]:
    """(relation or '', parent id) from `base_model:` tags."""
    out = []
    for t in rec.get("tags") or []:
        if not t.startswith("base_model:"):
            continue
        rest = t[len("base_model:") :]
        rel, _, tgt = rest.partition(":")
        if _ and rel in RELATIONS:
            out.append((rel, tgt))
        else:
            out.append(("", rest))
    return out


def kind_of(rec, edge_rel: str | None = None) -> str:
    tags = set(rec.get("tags") or [])
    rels = {r for r, _ in base_targets(rec) if r}
    if (
        rec.get("library_name") == "peft"
        or "peft" in tags
        or "lora" in tags
        or "adapter" in rels
        or edge_rel == "adapter"
    ):
        return "adapter"
    if "merge" in tags or "mergekit" in tags or "merge" in rels or edge_rel == "merge":
        return "merge"
    author = rec["id"].split("/")[0]
    if tags & QUANT_TAGS or "quantized" in rels or edge_rel == "quantized" or author in QUANTIZERS:
        return "quantized"
    if base_targets(rec):
        return "finetune"
    return "base/other"


def capture_year(rec) -> int:
    cap = rec["__capture"]["captured"]
    end = cap.split("/")[-1]  # 'a/b' interval -> b ; '../b' -> b
    return int(end[:4])


def license_tags(rec) -> list[str]:
    return [t[8:] for t in rec.get("tags") or [] if t.startswith("license:")]


def readme_len(rec) -> int:
    return len((rec.get("__files") or {}).get("README.md", ""))


def trim_readme(rec, limit: int, stats: collections.Counter):
    """Drop the whole `__files` entry if a README exceeds `limit` characters (record kept)."""
    files = rec.get("__files")
    if not files or max(len(v) for v in files.values()) <= limit:
        return rec
    rec = dict(rec)
    cap = dict(rec["__capture"])
    sizes = {k: len(v) for k, v in files.items()}
    del rec["__files"]
    if isinstance(cap.get("files"), dict):
        cap["files"] = {k: v for k, v in cap["files"].items() if k not in files}
        if not cap["files"]:
            del cap["files"]
    cap["demo_note"] = (
        "__files dropped for size: "
        + ", ".join(f"{k} {n} chars" for k, n in sizes.items())
        + f" > {limit}"
    )
    rec["__capture"] = cap
    stats["readme_dropped"] += 1
    return rec


def hacktoberfest_ids(shared: Path) -> list[str]:
    out = []
    with open(
        shared / "hub-docs" / "hacktoberfest_model_license_other.csv", newline="", encoding="utf-8"
    ) as fh:
        for row in csv.DictReader(fh):
            m = re.match(r"\[([^\]]+)\]", row["model_id"])
            if m:
                out.append(m.group(1))
    return out


# ---------------------------------------------------------------------------------------------------- the data
class Snapshot:
    def __init__(self, shared: Path):
        self.shared = shared
        self.rich = list(read_jsonl(shared / "hub-rich.jsonl.gz"))
        self.rich_by_id = {r["id"]: r for r in self.rich}
        self.rich_by_uid = {r["_id"]: r for r in self.rich if "_id" in r}
        self.old = list(read_jsonl(shared / "hub-rich-2024-vs-2025.jsonl.gz"))
        self.old_by_uid = {r["_id"]: r for r in self.old}
        self.list_by_id: dict[str, dict] = {}
        self.list_by_uid: dict[str, str] = {}
        self.list_children = collections.defaultdict(
            list
        )  # untyped base_model target -> [child ids]
        for r in read_jsonl(shared / "hub-list-2024-07-11.jsonl.gz"):
            self.list_by_id[r["id"]] = r
            self.list_by_uid[r["_id"]] = r["id"]
            for _, tgt in base_targets(r):
                self.list_children[tgt].append(r["id"])
        self.edges = []  # (child, relation, parent, captured_at)
        with gzip.open(shared / "hub-edges-2025.tsv.gz", "rt", encoding="utf-8") as fh:
            next(fh)
            for line in fh:
                c, rel, p, at, _src = line.rstrip("\n").split("\t")
                self.edges.append((c, rel, p, at))
        self.edge_rel = {(c, p): rel for c, rel, p, _ in self.edges}
        self.rich_children = collections.defaultdict(list)
        for r in self.rich:
            for _, tgt in base_targets(r):
                self.rich_children[tgt].append(r["id"])
        self.stats = (
            json.loads((shared / "build-stats.json").read_text())
            if (shared / "build-stats.json").exists()
            else {}
        )

    # an "entity" is one repo, keyed by `_id` (renames keep it) or by "id:<id>" for records without `_id`
    def key_of_id(self, mid: str) -> str | None:
        r = self.rich_by_id.get(mid)
        if r is not None:
            return r.get("_id") or "id:" + mid
        li = self.list_by_id.get(mid)
        if li is not None:
            return li["_id"]
        return None

    def states(self, key: str) -> tuple[dict | None, dict | None]:
        """(2024 record, 2025 record) of an entity."""
        r = self.rich_by_id[key[3:]] if key.startswith("id:") else self.rich_by_uid.get(key)
        if r is not None:
            if capture_year(r) >= 2025:
                older = self.old_by_uid.get(key)
                if older is None and key in self.list_by_uid:
                    older = self.list_by_id[self.list_by_uid[key]]
                return older, r
            return r, None
        return self.list_by_id[self.list_by_uid[key]], None

    def current(self, key: str) -> dict:
        r24, r25 = self.states(key)
        return r25 or r24


# ------------------------------------------------------------------------------------------------------- demo
def family_of_id(mid: str):
    for fam, (_trees, roots, prefixes, _extra) in FAMILIES.items():
        if mid in roots or any(mid.startswith(p) for p in prefixes):
            return fam
    return None


def build_demo(snap: Snapshot, args) -> dict:
    rng = random.Random(args.seed)
    chosen: dict[str, tuple[str, str]] = {}  # key -> (group, reason), first reason wins

    def add(key, group, reason):
        if key is not None and key not in chosen:
            chosen[key] = (group, reason)
            return True
        return False

    def add_id(mid, group, reason):
        return add(snap.key_of_id(mid), group, reason)

    tree_fam = {t: fam for fam, (trees, *_r) in FAMILIES.items() for t in trees}
    # 1. families from hub-rich: 2025 trees, namespaces, base models, rich derivatives
    for r in snap.rich:
        tr = r["__capture"].get("tree_root")
        key = r.get("_id") or "id:" + r["id"]
        if tr in tree_fam:
            add(key, tree_fam[tr], "rich tree " + tr)
    for fam, (_trees, roots, _prefixes, extra) in FAMILIES.items():
        for r in snap.rich:
            if any(r["id"].startswith(p) for p in extra):
                add(r.get("_id") or "id:" + r["id"], fam, "rich namespace")
        for root in roots:  # base models: hub-rich first, else 2024 list item (key_of_id does that)
            add_id(root, fam, "family root")
        for r in snap.rich:
            if any(family_of_id(t) == fam for _, t in base_targets(r)):
                add(r.get("_id") or "id:" + r["id"], fam, "rich derivative")
    # list roots for prefix families (mistralai/* has 10 in the 2024 list, 2 in hub-rich)
    for mid in snap.list_by_id:
        fam = family_of_id(mid)
        if fam and fam in ("qwen", "mistral"):
            add_id(mid, fam, "family root")

    # 2. 2024 list derivatives of the family roots (plain base_model tags + typed 2025 edges), capped per kind
    per_kind = collections.defaultdict(list)
    seen = set()
    for tgt, kids in snap.list_children.items():
        fam = family_of_id(tgt)
        if not fam:
            continue
        for c in kids:
            if (fam, c) not in seen:
                seen.add((fam, c))
                li = snap.list_by_id[c]
                per_kind[(fam, kind_of(li))].append(c)
    for c, rel, p, _ in snap.edges:
        fam = family_of_id(p)
        if fam and c in snap.list_by_id and (fam, c) not in seen:
            seen.add((fam, c))
            per_kind[(fam, kind_of(snap.list_by_id[c], rel))].append(c)
    caps = {
        "quantized": args.cap_quantized,
        "adapter": args.cap_adapter,
        "merge": args.cap_merge,
        "finetune": args.cap_finetune,
        "base/other": args.cap_finetune,
    }
    for (fam, kind), kids in sorted(per_kind.items()):
        kids.sort(key=lambda c: (-snap.list_by_id[c]["downloads"], c))
        n = 0
        for c in kids:
            if n >= caps[kind]:
                break
            if add_id(c, fam, "2024 list derivative"):
                n += 1
    # quantizer accounts: also make sure each of them shows up with its top family quantizations
    for (fam, kind), kids in sorted(per_kind.items()):
        if kind != "quantized":
            continue
        for q in sorted(QUANTIZERS):
            for c in [c for c in kids if c.startswith(q + "/")][: args.cap_per_quantizer]:
                add_id(c, fam, "2024 list derivative")

    # 3. required examples (renames, license changes, drift, name re-use, Hacktoberfest license: other)
    for o in snap.old:
        if o["__capture"].get("renamed_to"):
            add(o["_id"], "examples", "rename (README §4)")
    for mid in LICENSE_CHANGES:
        add_id(mid, "examples", "license change (README §4)")
    for mid in DRIFT_EXAMPLES:
        add_id(mid, "examples", "license drift / mislabel (README §8)")
    add_id("OpenLLM-Ro/RoGemma-7b-Instruct", "examples", "id re-used by a new repo (README §4)")
    hack = hacktoberfest_ids(snap.shared)
    hack_rich = [m for m in hack if m in snap.rich_by_id]
    for mid in hack_rich:
        add_id(mid, "examples", "Hacktoberfest license: other")

    # 4. random samples (seeded), drawn from what is not chosen yet
    pool = sorted(r.get("_id") or "id:" + r["id"] for r in snap.rich if "__files" in r)
    pool = [k for k in pool if k not in chosen]
    for k in rng.sample(pool, min(args.rich_sample, len(pool))):
        add(k, "sample", "random hub-rich with README")
    # the README pool is small (most READMEs are already in the family trees): also sample full 2024
    # model_info records (sha, cardData, siblings, config) without README
    pool = sorted(
        r["_id"]
        for r in snap.rich
        if r["__capture"]["kind"] == "api-model-info" and "__files" not in r
    )
    pool = [k for k in pool if k not in chosen]
    for k in rng.sample(pool, min(args.rich_full_sample, len(pool))):
        add(k, "sample", "random hub-rich 2024 model_info")
    pool = sorted(k for k in snap.list_by_uid if k not in chosen)
    for k in rng.sample(pool, args.list_sample):
        add(k, "sample", "random 2024 list item")

    # 5. parents, one or two levels up
    missing = collections.Counter()  # parent id -> references
    missing_legacy = collections.Counter()
    frontier = list(chosen)
    parents_added = collections.Counter()
    for level in (1, 2):
        nxt = []
        for key in frontier:
            r24, r25 = snap.states(key)
            for rec in (r24, r25):
                if rec is None:
                    continue
                for _, tgt in base_targets(rec):
                    pk = snap.key_of_id(tgt)
                    if pk is None:  # counted at both levels (references from 2024 and 2025 states)
                        (missing if "/" in tgt else missing_legacy)[tgt] += 1
                        continue
                    if add(
                        pk,
                        chosen[key][0] if chosen[key][0] not in ("sample",) else "parents",
                        f"parent (level {level})",
                    ):
                        parents_added[level] += 1
                        nxt.append(pk)
        frontier = nxt

    # 6. split into the two states
    rstats = collections.Counter()
    out24, out25 = [], []
    summary = collections.defaultdict(collections.Counter)  # group -> kind counts
    reasons = collections.Counter()
    only2025 = 0
    for key, (group, reason) in chosen.items():
        r24, r25 = snap.states(key)
        cur = r25 or r24
        summary[group][kind_of(cur)] += 1
        reasons[(group, reason)] += 1
        if r24 is not None:
            out24.append(trim_readme(r24, args.readme_max, rstats))
        else:
            only2025 += 1
        if r25 is not None:
            out25.append(trim_readme(r25, args.readme_max, rstats))
    out_dir = args.out
    s24 = write_jsonl(out_dir / "demo-2024.jsonl.gz", out24)
    s25 = write_jsonl(out_dir / "demo-2025.jsonl.gz", out25)

    # checks on the examples
    ids24 = {r["id"] for r in out24}
    ids25 = {r["id"] for r in out25}
    renames = [
        (o["id"], o["__capture"]["renamed_to"])
        for o in snap.old
        if o["__capture"].get("renamed_to")
    ]
    renames_in = [(a, b) for a, b in renames if a in ids24 and b in ids25]
    lic_in = []
    for mid in LICENSE_CHANGES:
        a = next((r for r in out24 if r["id"] == mid), None)
        b = next((r for r in out25 if r["id"] == mid), None)
        if a and b:
            lic_in.append((mid, license_tags(a) or ["(none)"], license_tags(b) or ["(none)"]))
    drift_in = [m for m in DRIFT_EXAMPLES if m in ids24 | ids25]
    # lineage completeness in the demo (current state = 2025 over 2024)
    cur_ids = {}
    for r in out24 + out25:
        cur_ids[r["id"]] = r
    n_refs = n_refs_ok = 0
    for rec in cur_ids.values():
        for _, tgt in base_targets(rec):
            n_refs += 1
            n_refs_ok += tgt in cur_ids
    # license drift pairs present
    drift_pairs = 0
    for rec in cur_ids.values():
        for _, tgt in base_targets(rec):
            p = cur_ids.get(tgt)
            if p is not None and sorted(license_tags(p)) != sorted(license_tags(rec)):
                drift_pairs += 1
                break

    info = {
        "n_entities": len(chosen),
        "n24": len(out24),
        "n25": len(out25),
        "only2025": only2025,
        "s24": s24,
        "s25": s25,
        "summary": summary,
        "reasons": reasons,
        "parents_added": parents_added,
        "missing": missing,
        "missing_legacy": missing_legacy,
        "readme_dropped": rstats["readme_dropped"],
        "renames_in": renames_in,
        "lic_in": lic_in,
        "drift_in": drift_in,
        "hack_rich": hack_rich,
        "n_refs": n_refs,
        "n_refs_ok": n_refs_ok,
        "drift_pairs": drift_pairs,
        "with_files": sum("__files" in r for r in cur_ids.values()),
        "gated": collections.Counter(
            json.dumps(r["gated"]) if "gated" in r else "<absent>" for r in cur_ids.values()
        ),
        "kinds24": collections.Counter(r["__capture"]["kind"] for r in out24),
        "kinds25": collections.Counter(r["__capture"]["kind"] for r in out25),
    }
    return info


def demo_markdown(info, args, snap: Snapshot) -> str:
    L = []
    w = L.append
    w("# Canopy demo snapshot\n")
    w(
        "Two `hub-snapshot/1` files (gzip JSON Lines, one Hub model record per line, sorted by `id`) served by the replay"
    )
    w(
        "server: load `demo-2024.jsonl.gz` first, then layer `demo-2025.jsonl.gz` on top (a later record replaces an"
    )
    w(
        "earlier one **by `_id`**; records without `_id` by `id`). Renamed repos keep their `_id` and get a new `id`"
    )
    w(
        "(the old id should 307 to the new one). Top-level `__*` keys are provenance and are stripped when serving.\n"
    )
    w("Generated by `scripts/build_demo_snapshot.py`; do not edit by hand.\n")
    w("## Files\n")
    w("| file | records | size | content |\n|---|---:|---:|---|")
    w(
        f"| `demo-2024.jsonl.gz` | {info['n24']:,} | {info['s24'] / 1e6:.2f} MB | 2024 state of every chosen model "
        f"({', '.join(f'{k} {v:,}' for k, v in sorted(info['kinds24'].items()))}) |"
    )
    w(
        f"| `demo-2025.jsonl.gz` | {info['n25']:,} | {info['s25'] / 1e6:.2f} MB | newer 2025 captures of chosen models "
        f"({', '.join(f'{k} {v:,}' for k, v in sorted(info['kinds25'].items()))}) |"
    )
    w(
        f"\nTotal {(info['s24'] + info['s25']) / 1e6:.2f} MB; {info['n_entities']:,} repos, of which {info['only2025']:,} exist only "
        "in the 2025 state (created after 2024-07-11, absent from `demo-2024`).\n"
    )
    w("## Sources (all real captures, from `../shared/hub-snapshot`, see its README)\n")
    w(
        "- `hub-list-2024-07-11.jsonl.gz`: `GET /api/models` list items captured **2024-07-11** (Stalnaker et al. replication"
    )
    w(
        "  package, TStalnaker44/hugging_face_analysis_replication @ 17e0481). List-shaped: no sha/cardData/siblings."
    )
    w(
        "- `hub-rich.jsonl.gz`: full `GET /api/models/{id}` records: 2024-07-09..11 model_info subset (ids 0-9/q: Qwen/*,"
    )
    w(
        "  QuantFactory/* ...), 2025 model-tree crawls **2025-03-25..2025-04-26** (hamidahoderinwale/model_metadata_analyses,"
    )
    w(
        "  `__capture.tree_root`, READMEs in `__files`), asgaardlab READMEs (on or before 2025-07-23) and hn5318 card texts"
    )
    w("  (on or before 2024-09-17) attached to 2024 list items.")
    w(
        "- `hub-rich-2024-vs-2025.jsonl.gz`: the 2024 state (mostly 2024-07-11 list items) of models crawled again in 2025."
    )
    w(
        "- `hub-edges-2025.tsv.gz`: typed model-tree edges (2025) used to pick adapter/quantized/merge children from the list."
    )
    w(
        "- `hub-docs/hacktoberfest_model_license_other.csv`: ids of Hacktoberfest 2023 `license: other` cases.\n"
    )
    w(
        "State rules. `demo-2024`: for each chosen repo the hub-rich-2024-vs-2025 older record if present, else the"
    )
    w(
        "hub-rich record when its capture is 2024 (interval end), else the 2024 list item (matched by `_id`). `demo-2025`:"
    )
    w(
        "only hub-rich records captured in 2025 (2025 crawls; asgaardlab `readme-only` records dated `../2025-07-23`).\n"
    )
    w("## Selection (fixed seed " + str(args.seed) + ")\n")
    w(
        "Families (2025 trees from hub-rich by `__capture.tree_root`, namespaces, the base models themselves, hub-rich"
    )
    w(
        "records with `base_model:` tags into the family, and 2024 list items whose `base_model:` tags — or typed 2025"
    )
    w(
        f"edges — point at the family roots, capped per kind by downloads: quantized {args.cap_quantized}, adapter "
        f"{args.cap_adapter}, merge {args.cap_merge}, finetune {args.cap_finetune}, plus up to {args.cap_per_quantizer} per"
    )
    w("quantizer account TheBloke/bartowski/mradermacher/QuantFactory):\n")
    for fam, (trees, roots, prefixes, extra) in FAMILIES.items():
        w(
            f"- **{fam}**: trees {', '.join(trees) or '-'}; roots {', '.join(roots + [p + '*' for p in prefixes]) or '-'}"
            + (f"; hub-rich namespaces {', '.join(p + '*' for p in extra)}" if extra else "")
        )
    w(
        f"\nSamples (seeded, drawn from repos not chosen above): {args.list_sample:,} random 2024 list items; up to "
        f"{args.rich_sample} hub-rich records with a README (only {info['reasons'][('sample', 'random hub-rich with README')]} were "
        f"left once the families were in: the demo holds nearly every README of hub-rich); {args.rich_full_sample} hub-rich "
        "2024 `api-model-info` records (full records with sha/cardData/siblings, no README). Examples: all 8 renamed repos, "
        "the 3 license changes and the drift/mislabel examples of the shared README (§4, §8), the re-used id "
        "`OpenLLM-Ro/RoGemma-7b-Instruct`, the Hacktoberfest `license: other` ids present in hub-rich. Parents of all of "
        "these are added afterwards (group = the child's group, or `parents` for samples)."
    )
    w(
        "\nCounts per group and kind (kind read from tags/library/typed relations of the newest state):\n"
    )
    kinds = ["base/other", "finetune", "adapter", "quantized", "merge"]
    w("| group | " + " | ".join(kinds) + " | total |\n|---|" + "---:|" * (len(kinds) + 1))
    for g in sorted(info["summary"]):
        c = info["summary"][g]
        w(f"| {g} | " + " | ".join(f"{c[k]:,}" for k in kinds) + f" | {sum(c.values()):,} |")
    w("\nBy selection reason (first reason that picked the repo):\n")
    w("| group | reason | repos |\n|---|---|---:|")
    for (g, r), n in sorted(info["reasons"].items()):
        w(f"| {g} | {r} | {n:,} |")
    w("\n## Lineage, licenses, examples\n")
    w(
        f"- Parents followed one/two levels up via `base_model:` tags: added {info['parents_added'][1]:,} (level 1) + "
        f"{info['parents_added'][2]:,} (level 2)."
    )
    w(
        f"- Parents with no record anywhere: {len(info['missing']):,} namespaced ids ({sum(info['missing'].values()):,} references) "
        f"and {len(info['missing_legacy']):,} legacy un-namespaced ids ({sum(info['missing_legacy'].values()):,} references, e.g. "
        f"{', '.join(k for k, _ in info['missing_legacy'].most_common(5))}; the Hub redirects those to the canonical repo)."
    )
    w(
        f"- `base_model` references resolvable inside the demo (current state): {info['n_refs_ok']:,} of {info['n_refs']:,}."
    )
    w(f"- Children whose license tags differ from a parent in the demo: {info['drift_pairs']:,}.")
    w(
        f"- READMEs: {info['with_files']:,} repos keep `__files` (README.md); {info['readme_dropped']} record(s) had a README over "
        f"{args.readme_max:,} characters and lost its `__files` (record kept, `__capture.demo_note` says so)."
    )
    w(
        f"- `gated` (current state): {', '.join(f'{k} {v:,}' for k, v in sorted(info['gated'].items()))}."
    )
    w(
        "- Renamed repos (old id in demo-2024, new id in demo-2025, same `_id`): "
        + "; ".join(f"`{a}` → `{b}`" for a, b in info["renames_in"])
        + "."
    )
    w(
        "  `OpenLLM-Ro/RoGemma-7b-Instruct` in demo-2025 is a *different* repo (new `_id`) re-using the old name."
    )
    w(
        "- License changes 2024 → 2025: "
        + "; ".join(f"`{m}` {','.join(a)} → {','.join(b)}" for m, a, b in info["lic_in"])
        + "."
    )
    w(
        "- License drift examples (README §8): "
        + ", ".join(f"`{m}`" for m in info["drift_in"])
        + "."
    )
    w(
        "- Hacktoberfest `license: other` cases present in hub-rich: "
        + ", ".join(f"`{m}`" for m in info["hack_rich"])
        + "."
    )
    w("\n## Rebuild\n")
    w(
        "```sh\ncd <repo root>\n.venv/bin/python scripts/build_demo_snapshot.py --shared ../shared/hub-snapshot\n```\n"
    )
    w(
        "Output is byte-identical for the same inputs (sorted lines, fixed seed, gzip mtime 0). Input sizes: "
        + ", ".join(f"`{p.name}` {p.stat().st_size:,} B" for p in sorted(snap.shared.glob("*.gz")))
        + "."
    )
    return "\n".join(L) + "\n"


# --------------------------------------------------------------------------------------------------- fixtures
def build_fixtures(snap: Snapshot, args) -> dict:
    rng = random.Random(args.seed + 1)
    out = args.fixtures
    stats = collections.Counter()

    def small(r):
        return len(dumps(r)) <= args.fixture_record_max

    # --- rich-2024 / rich-2025: models that change between the states
    pairs = []  # (old, new)
    for o in snap.old:
        pairs.append((o, snap.rich_by_uid[o["_id"]]))
    req = []
    renames = [p for p in pairs if p[0]["__capture"].get("renamed_to")]
    # one rename whose 2024 state is a list item and the one whose 2024 state is a full model_info
    req.append(
        next(p for p in renames if p[0]["id"] == "Ali-C137/Llama-2-7b-chat-hf-tuned-medical-chat")
    )
    req.append(next(p for p in renames if p[0]["__capture"]["kind"] == "api-model-info"))
    for mid in LICENSE_CHANGES:
        req.append(next(p for p in pairs if p[1]["id"] == mid))
    # their parents (pairs too where both states exist)
    for _o, n in list(req):
        for _, tgt in base_targets(n):
            pp = next((p for p in pairs if p[1]["id"] == tgt), None)
            if pp and pp not in req:
                req.append(pp)

    # changed plain base_model tags / pipeline / library / sha
    def changed(p):
        o, n = p

        def plain(r):
            return sorted(t for rel, t in base_targets(r) if not rel)

        return (
            plain(o) != plain(n)
            or o.get("pipeline_tag") != n.get("pipeline_tag")
            or o.get("library_name") != n.get("library_name")
            or ("sha" in o and o.get("sha") != n.get("sha"))
        )

    interesting = sorted(
        (p for p in pairs if changed(p) and p not in req and small(p[1])), key=lambda p: p[1]["id"]
    )
    for p in interesting[:12]:
        req.append(p)
    rest = sorted((p for p in pairs if p not in req and small(p[1])), key=lambda p: p[1]["id"])
    need = max(0, args.fixture_pairs - len(req))
    chosen_pairs = req + rng.sample(rest, need)
    old_recs = [trim_readme(o, args.readme_max, stats) for o, _ in chosen_pairs]
    new_recs = [trim_readme(n, args.readme_max, stats) for _, n in chosen_pairs]
    # identical in both states: 2024 full records without any newer capture (only in rich-2024)
    used = {r["id"] for r in old_recs + new_recs}
    same_pool = sorted(
        (
            r
            for r in snap.rich
            if r["__capture"]["kind"] == "api-model-info"
            and "older_capture" not in r
            and r["id"] not in used
            and small(r)
            and r.get("_id") not in snap.old_by_uid
        ),
        key=lambda r: r["id"],
    )
    same = rng.sample(same_pool, args.fixture_same)
    s_r24 = write_jsonl(out / "rich-2024.jsonl.gz", old_recs + same)
    s_r25 = write_jsonl(out / "rich-2025.jsonl.gz", new_recs)

    # --- family.jsonl.gz: Llama-2-7b-chat-hf tree
    root_id = "meta-llama/Llama-2-7b-chat-hf"
    tree = [r for r in snap.rich if r["__capture"].get("tree_root") == "Llama-2-7b-chat-hf"]
    by_id = {r["id"]: r for r in tree}
    fam = {root_id: by_id[root_id]}

    def take(r):
        # also take its ancestors inside the tree
        while r is not None and r["id"] not in fam:
            fam[r["id"]] = r
            ps = [t for _, t in base_targets(r) if t in by_id]
            r = by_id[ps[0]] if ps else None

    for r in tree:
        k = kind_of(r)
        if k in ("quantized", "adapter", "merge"):
            take(r)
    for mid in [
        "wadhma/Critique-L2-FT-DCR",
        "alielfilali01/Llama-2-7b-chat-hf-tuned-medical-chat",
        "Arjs/Llama-2-7b-chatbot-finetune",
        "CreitinGameplays/Llama-2-7b-chat-reasoning-test",
        "DongkiKim/Mol-Llama-2-7b-chat",
        "TheBloke/Llama-2-7B-Chat-GGML",
        "FriendliAI/Llama-2-7b-chat-hf-fp8",
    ]:
        if mid in by_id:
            take(by_id[mid])
    deep = sorted(
        (r for r in tree if r["__capture"].get("depth", 0) >= 2 and small(r)), key=lambda r: r["id"]
    )
    for r in deep[:10]:
        take(r)
    # fill with the most downloaded small records (ties by id)
    for r in sorted(tree, key=lambda r: (-r.get("downloads", 0), r["id"])):
        if len(fam) >= args.family_rich:
            break
        if small(r):
            take(r)
    fam_recs = [trim_readme(r, args.readme_max, stats) for r in fam.values()]
    # 20 list items with untyped base_model tags into the family (not already present), mix of kinds
    kids = [
        c
        for c in snap.list_children.get(root_id, [])
        if c not in fam
        and snap.list_by_uid.get(snap.list_by_id[c]["_id"]) == c
        and snap.list_by_id[c]["_id"] not in snap.rich_by_uid
    ]
    by_kind = collections.defaultdict(list)
    for c in kids:
        by_kind[kind_of(snap.list_by_id[c])].append(c)
    picks = []
    for k in ("quantized", "adapter", "merge", "finetune"):
        lst = sorted(by_kind[k], key=lambda c: (-snap.list_by_id[c]["downloads"], c))
        picks += lst[: {"quantized": 6, "adapter": 6, "merge": 3, "finetune": 5}[k]]
    picks = picks[: args.family_list]
    for c in sorted(by_kind["finetune"], key=lambda c: (-snap.list_by_id[c]["downloads"], c)):
        if len(picks) >= args.family_list:
            break
        if c not in picks:
            picks.append(c)
    list_recs = [snap.list_by_id[c] for c in picks]
    s_fam = write_jsonl(out / "family.jsonl.gz", fam_recs + list_recs)

    info = {
        "pairs": chosen_pairs,
        "same": same,
        "s_r24": s_r24,
        "s_r25": s_r25,
        "s_fam": s_fam,
        "fam_recs": fam_recs,
        "list_recs": list_recs,
        "fam_kinds": collections.Counter(kind_of(r) for r in fam_recs),
        "list_kinds": collections.Counter(kind_of(r) for r in list_recs),
        "readme_dropped": stats["readme_dropped"],
    }
    (out / "FIXTURES.md").write_text(fixtures_markdown(info, args), encoding="utf-8")
    return info


def fixtures_markdown(info, args) -> str:
    L = []
    w = L.append
    pairs = info["pairs"]
    w("# Test fixtures (real Hub records, `hub-snapshot/1` format)\n")
    w(
        "Cut from `../shared/hub-snapshot` by `scripts/build_demo_snapshot.py` (same run as the demo; rebuild with"
    )
    w(
        "`.venv/bin/python scripts/build_demo_snapshot.py`). gzip JSON Lines sorted by `id`; top-level `__*` keys are"
    )
    w(
        "provenance (strip before serving). Nothing is synthetic or edited"
        + (
            f" (except {info['readme_dropped']} README(s) > {args.readme_max} chars dropped)"
            if info["readme_dropped"]
            else ""
        )
        + ".\n"
    )
    w("## `rich-2024.jsonl.gz` / `rich-2025.jsonl.gz` — incremental sync\n")
    w(
        f"- `rich-2024.jsonl.gz` ({info['s_r24']:,} B): {len(pairs)} older states from `hub-rich-2024-vs-2025.jsonl.gz` "
        "(2024-07-11 list items, or 2024-07-09..11 model_info) **plus** "
        f"{len(info['same'])} models that do not change (2024-07 `api-model-info` records of hub-rich with no newer capture);"
    )
    w(
        f"- `rich-2025.jsonl.gz` ({info['s_r25']:,} B): the {len(pairs)} newer states from `hub-rich.jsonl.gz` (2025-03/04"
    )
    w(
        "  model-tree crawls). Layer it on rich-2024 by `_id`: the unchanged models stay as they are.\n"
    )
    w("Notable pairs:\n")
    for o, n in pairs:
        notes = []
        if o["__capture"].get("renamed_to"):
            notes.append(f"renamed `{o['id']}` → `{n['id']}` (same `_id` {n['_id']})")
        if sorted(license_tags(o)) != sorted(license_tags(n)):
            notes.append(
                f"license {','.join(license_tags(o)) or '(none)'} → {','.join(license_tags(n)) or '(none)'}"
            )

        def pl(r):
            return sorted(t for rel, t in base_targets(r) if not rel)

        if pl(o) != pl(n):
            notes.append(f"plain base_model {pl(o)} → {pl(n)}")
        if o.get("pipeline_tag") != n.get("pipeline_tag"):
            notes.append(f"pipeline_tag {o.get('pipeline_tag')} → {n.get('pipeline_tag')}")
        if o.get("library_name") != n.get("library_name"):
            notes.append(f"library_name {o.get('library_name')} → {n.get('library_name')}")
        if "sha" in o and o.get("sha") != n.get("sha"):
            notes.append("sha changed")
        if notes:
            w(f"- `{n['id']}`: " + "; ".join(notes))
    w(
        f"\nAll {len(pairs)} pairs gain typed `base_model:finetune:` tags in 2025 where they have a parent; downloads change.\n"
    )
    w(
        "Unchanged models (rich-2024 only): "
        + ", ".join(f"`{r['id']}`" for r in sorted(info["same"], key=lambda r: r["id"]))
        + ".\n"
    )
    w(f"## `family.jsonl.gz` — one family with lineage ({info['s_fam']:,} B)\n")
    w(
        f"- {len(info['fam_recs'])} records of the 2025 crawl of the `meta-llama/Llama-2-7b-chat-hf` model tree (hub-rich,"
    )
    w(
        "  `__capture.tree_root = Llama-2-7b-chat-hf`, captured 2025-04-22): the gated (`manual`) root with its README in"
    )
    w(
        "  `__files` (license llama2, LLAMA 2 agreement in `extra_gated_prompt`), finetunes at depth 1 and 2 (with their"
    )
    w(
        "  in-tree parents), and every tree member with adapter/quantized/merge tags. Kinds: "
        + ", ".join(f"{k} {v}" for k, v in sorted(info["fam_kinds"].items()))
        + "."
    )
    w(
        f"- {len(info['list_recs'])} 2024-07-11 list items (no sha/cardData) whose untyped `base_model:meta-llama/Llama-2-7b-chat-hf`"
    )
    w(
        "  tag puts them in the family: "
        + ", ".join(f"{k} {v}" for k, v in sorted(info["list_kinds"].items()))
        + "."
    )
    w("  The two states are mixed on purpose (list items are what a 2024 list crawl sees).\n")
    w("Ids by kind:\n")
    for k in ("quantized", "adapter", "merge"):
        ids = sorted(r["id"] for r in info["fam_recs"] + info["list_recs"] if kind_of(r) == k)
        w(f"- {k}: " + ", ".join(f"`{i}`" for i in ids))
    return "\n".join(L) + "\n"


# ------------------------------------------------------------------------------------------------------- main
def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "hub-snapshot")
    ap.add_argument("--out", type=Path, default=REPO / "hubreplay" / "data")
    ap.add_argument("--fixtures", type=Path, default=REPO / "tests" / "fixtures")
    ap.add_argument("--no-fixtures", action="store_true")
    ap.add_argument("--seed", type=int, default=20240711)
    ap.add_argument("--list-sample", type=int, default=1500)
    ap.add_argument("--rich-sample", type=int, default=300)
    ap.add_argument("--rich-full-sample", type=int, default=300)
    ap.add_argument("--cap-quantized", type=int, default=150)
    ap.add_argument("--cap-adapter", type=int, default=150)
    ap.add_argument("--cap-merge", type=int, default=100)
    ap.add_argument("--cap-finetune", type=int, default=150)
    ap.add_argument("--cap-per-quantizer", type=int, default=25)
    ap.add_argument("--readme-max", type=int, default=60_000)
    ap.add_argument("--max-bytes", type=int, default=5_000_000)
    ap.add_argument("--fixture-pairs", type=int, default=60)
    ap.add_argument("--fixture-same", type=int, default=40)
    ap.add_argument(
        "--fixture-record-max",
        type=int,
        default=12_000,
        help="max JSON size of optional fixture records",
    )
    ap.add_argument("--family-rich", type=int, default=130)
    ap.add_argument("--family-list", type=int, default=20)
    args = ap.parse_args(argv)
    args.shared = args.shared.resolve()

    snap = Snapshot(args.shared)
    info = build_demo(snap, args)
    md = demo_markdown(info, args, snap)
    (args.out / "DEMO.md").write_text(md, encoding="utf-8")
    print(md)
    total = info["s24"] + info["s25"]
    if not args.no_fixtures:
        f = build_fixtures(snap, args)
        print(
            f"fixtures: rich-2024 {len(f['pairs']) + len(f['same'])} records {f['s_r24']:,} B; rich-2025 {len(f['pairs'])} "
            f"records {f['s_r25']:,} B; family {len(f['fam_recs'])}+{len(f['list_recs'])} records {f['s_fam']:,} B"
        )
    if total > args.max_bytes:
        print(f"ERROR: demo is {total:,} B > {args.max_bytes:,} B", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
