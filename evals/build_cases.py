"""Build evals/cases.jsonl from the real data in ../shared/hub-snapshot (run once; commit the output).

Every case carries its input (tags, card, files or a lineage chain), the expected license key
and/or verdict, and the rationale for that expectation. Expectations come from human sources
(the Hacktoberfest suggestions, the research table licenses.tsv, the authors' own chains), never
from running the classifier. Categories:

- hacktoberfest-other / hacktoberfest-no-license: the 349 + 286 real models of the Hub's 2023
  challenge, with the human-suggested license_name/link as card metadata (or nothing, when no
  one suggested a name: the LICENSE file text was not captured, so the evidence decides nothing).
- card-variants: the 237 real cards of hub-rich.jsonl.gz with a license_name or license_link,
  labelled by the reviewed table VARIANTS below (one rationale per distinct name/link).
- reference-texts: each reference license text, re-wrapped and cut by 10%, as a repo's LICENSE
  under `license: other` (text matching tolerant to whitespace and edits).
- lineage-chains: the 1,463 base -> derivative chains of Stalnaker et al. (TOSEM 2025) with each
  node's declared licenses; the expected effective verdict of the last node is the most restrictive
  verdict (licenses.tsv) along the chain (prohibited < conditional < allowed; a node without a
  license of its own takes an ancestor's only when that is prohibited or conditional).
"""

from __future__ import annotations

import csv
import gzip
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = Path(sys.argv[1] if len(sys.argv) > 1 else HERE.parent.parent / "shared")
SNAP = SHARED / "hub-snapshot"
TEXTS = HERE.parent / "licenses" / "data" / "texts"

SUGGESTED = {
    "llama-2-community-license": ("llama2", "HF suggested llama-2-community-license (Llama 2 "
                                  "Community License: 700M MAU, AUP)"),
    "llama-license": ("llama-1", "HF suggested llama-license: the LLaMA 1 non-commercial research "
                      "license (decapoda/huggyllama copies)"),
}  # fmt: skip

# Reviewed labels for the license_name / license_link values of real cards (hub-rich).
# key: license_name, or "link:<substring>" for cards without a name. value: (key|None, why).
VARIANTS = {
    "llama3": ("llama3", "name llama3: Meta Llama 3 Community License"),
    "llama-3": ("llama3", "name llama-3: Meta Llama 3 Community License"),
    "meta-llama-3-community-license-agreement": ("llama3", "full name of the Llama 3 license"),
    "llama4": ("llama4", "name llama4 (Meta's own Llama Guard 4 cards)"),
    "exaone": ("exaone", "EXAONE AI Model License 1.1 - NC"),
    "tongyi-qianwen": ("tongyi-qianwen", "Tongyi Qianwen License (100M MAU)"),
    "tongyi-qianwen-license": ("tongyi-qianwen", "Tongyi Qianwen License (100M MAU)"),
    "tongyi-qianwen-license-agreement": ("tongyi-qianwen", "Tongyi Qianwen License (100M MAU)"),
    "tongyi-qianwen-research": ("tongyi-qianwen-research", "Tongyi Qianwen Research License"),
    "owkin-non-commercial": ("other-non-commercial", "the name says non-commercial"),
    "lunit-non-commercial": ("other-non-commercial", "the name says non-commercial"),
    "kaiko-non-commercial": ("other-non-commercial", "the name says non-commercial"),
    "non-commercial-license-dyna1": ("other-non-commercial", "the name says non-commercial"),
    "gemma-terms-of-use": ("gemma", "Gemma Terms of Use"),
    "deepseek-license": ("deepseek", "DeepSeek License Agreement"),
    "deepseek": ("deepseek", "DeepSeek model license; where the card says mit, MIT covers the code "
                 "and the weights are under the DeepSeek license (Janus-Pro, DeepSeek repos)"),
    "stabilityai-ai-community": ("stabilityai-ai-community", "Stability AI Community License"),
    "stable-video-diffusion-community": ("stabilityai-ai-community", "SVD community license: the "
                                         "Stability AI Community License (revenue 1M), not NC"),
    "nvidia-open-model-license": ("nvidia-open-model-license", "NVIDIA Open Model License"),
    "mnpl": ("mnpl", "Mistral Non-Production License"),
    "mrl": ("mrl", "Mistral Research License"),
    "m": (None, "a placeholder name: the link or the tag decides"),
    "microsoft-research-license": ("microsoft-research-license", "MSR license, research only"),
    "tencent-hunyuan-community": ("tencent-hunyuan-community", "Tencent Hunyuan Community License"),
    "falcon-mamba-7b-license": ("falcon-llm-license", "TII Falcon license (Falcon Mamba)"),
    "intel-research-use-license": ("intel-research", "Intel Research Use License: research only"),
    "cogvideox-license": ("cogvideox", "The CogVideoX License: registration, 1M visits/month"),
    "yi-license": (None, "stale name; the card's apache-2.0 decides (Yi models were relicensed "
                   "to Apache-2.0 in 2024)"),
    "link:mistral.ai/licenses/MRL": ("mrl", "the link is the Mistral Research License; a card "
                                     "saying apache-2.0 next to it is contradicted by its own link"),
    "link:CogVideoX-5b": ("cogvideox", "link to THUDM/CogVideoX-5b's LICENSE (CogVideoX License)"),
    "link:choosealicense.com/licenses/gemma": ("gemma", "link to the Gemma terms"),
    "link:ai.google.dev/gemma/terms": ("gemma", "link to the Gemma terms"),
}  # fmt: skip
UNKNOWN_NAMES = {"darjyo", "private", "1765456-0", "aardvark2024photography", "other", "helpingai",
                 "commercial-license-agi-gpt-5-model", "arsonai", "hollywood-francis100", "qsxt",
                 "plumbing", "idksmuttyigbro", "seallms", "faipl-1.0-sd", "jamba-open-model-license",
                 "llama3-taide-models-community-license-agreement",
                 "taide-l-models-community-license-agreement"}  # fmt: skip


def tsv_verdicts() -> dict[str, str]:
    kb = json.loads((HERE.parent / "licenses" / "data" / "licenses.json").read_text())
    return {lic["key"]: lic["verdict"] for lic in kb["licenses"]}


def model_id(cell: str) -> str:
    return re.match(r"\[([^\]]+)\]", cell).group(1)


def hacktoberfest(verdicts):
    for name, cat in (("other", "hacktoberfest-other"), ("no_license", "hacktoberfest-no-license")):
        path = (
            SNAP
            / "hub-docs"
            / f"hacktoberfest_model_{'license_' if name == 'other' else ''}{name}.csv"
        )
        for row in csv.DictReader(path.open(encoding="utf-8")):
            card = {"license": "other"} if name == "other" else {}
            tags = ["license:other"] if name == "other" else []
            suggestion = row["suggested_license_name"]
            if suggestion:
                card.update(license_name=suggestion, license_link=row["suggested_license_link"])
                key, why = SUGGESTED[suggestion]
            else:
                key, why = None, ("no suggestion from the reviewers and the LICENSE file text was "
                                  "not captured: nothing identifies the license")  # fmt: skip
            yield {"category": cat, "id": model_id(row["model_id"]), "tags": tags, "card": card,
                   "expected_key": key, "expected_verdict": verdicts.get(key, "unknown"),
                   "decidable": key is not None, "rationale": why}  # fmt: skip


def card_variants(verdicts):
    with gzip.open(SNAP / "hub-rich.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            card = rec.get("cardData") or {}
            if "license_name" not in card and "license_link" not in card:
                continue
            name, link = card.get("license_name"), card.get("license_link") or ""
            lic = card.get("license")
            label = None
            if name in VARIANTS and VARIANTS[name][0]:
                label = VARIANTS[name]
            else:
                label = next((v for k, v in VARIANTS.items()
                              if k.startswith("link:") and k[5:] in link), None)  # fmt: skip
            if label is None and name in UNKNOWN_NAMES:
                if isinstance(lic, str) and lic not in ("other", "unknown"):
                    label = (lic, f"custom name {name!r} we do not know; the card's {lic} decides")
                else:
                    label = (None, f"custom license {name!r}: not in the knowledge base and its "
                                   "text was not captured")  # fmt: skip
            if label is None and isinstance(lic, str) and lic not in ("other", "unknown"):
                label = (lic, f"the card's license {lic}; the link ({link}) agrees or is neutral")
            if label is None:
                raise SystemExit(f"unlabelled variant: {rec['id']} {lic!r} {name!r} {link!r}")
            key, why = label
            tags = [t for t in rec.get("tags", []) if t.startswith("license:")]
            yield {"category": "card-variants", "id": rec["id"], "tags": tags,
                   "card": {k: card[k] for k in ("license", "license_name", "license_link")
                            if k in card},
                   "expected_key": key, "expected_verdict": verdicts.get(key, "unknown"),
                   "decidable": key is not None, "rationale": why}  # fmt: skip


def reference_texts(verdicts):
    for path in sorted(TEXTS.glob("*__*")):
        key = json.loads((HERE.parent / "licenses" / "data" / "licenses.json").read_text())
        owner = next(lic["key"] for lic in key["licenses"] if path.name in lic["texts"])
        words = path.read_text(encoding="utf-8").split()
        edited = "\n".join(" ".join(words[i : i + 9]) for i in range(0, len(words), 9))
        edited = edited[: len(edited) * 9 // 10]
        yield {"category": "reference-texts", "id": f"LICENSE~{path.name}", "tags": ["license:other"],
               "card": {"license": "other", "license_link": "LICENSE"}, "files": {"LICENSE": edited},
               "expected_key": owner, "expected_verdict": verdicts[owner], "decidable": True,
               "rationale": f"{path.name} (a real license text) re-wrapped at 9 words a line and "
                            "cut by 10%: the text decides"}  # fmt: skip


def chains(verdicts):
    rank = {"prohibited": 0, "conditional": 1, "allowed": 2}
    with gzip.open(SNAP / "raw" / "stalnaker-2024-07" / "licensing_changes_chains.json.gz") as f:
        data = json.load(f)
    seen = set()
    for item in data:
        nodes = [(n["model"], [v.lower() for v in n["license"] if v and v.upper() != "UNKNOWN"])
                 for n in item["chain"]]  # fmt: skip
        sig = json.dumps(nodes)
        if sig in seen:
            continue
        seen.add(sig)

        def verdict(lics):
            vs = [verdicts.get(v, "unknown") for v in lics]
            known = [v for v in vs if v in rank]
            return min(known, key=rank.get) if known else "unknown"

        own = verdict(nodes[-1][1])
        ancestors = [verdict(lics) for _, lics in nodes[:-1]]
        strict = min((v for v in ancestors if v in rank), key=rank.get, default=None)
        if own == "unknown":
            eff = strict if strict in ("prohibited", "conditional") else "unknown"
        else:
            eff = own if strict is None else min(own, strict, key=rank.get)
        conflict = own in rank and rank[own] > rank[eff]
        path = " -> ".join(f"{m} ({'/'.join(lics) or 'none'})" for m, lics in nodes)
        yield {"category": "lineage-chains", "id": nodes[-1][0], "chain": nodes,
               "expected_verdict": eff, "expected_conflict": conflict, "decidable": eff != "unknown",
               "labels": item["tags"],
               "rationale": f"{path}: own {own}, most restrictive ancestor {strict or 'none'} "
                            f"(licenses.tsv) -> effective {eff}"
                            + ("; declared more permissive: conflict" if conflict else "")}  # fmt: skip


def main() -> None:
    verdicts = tsv_verdicts()
    cases = [*hacktoberfest(verdicts), *card_variants(verdicts), *reference_texts(verdicts),
             *chains(verdicts)]  # fmt: skip
    out = HERE / "cases.jsonl"
    with out.open("w", encoding="utf-8") as f:
        for case in cases:
            f.write(json.dumps(case, ensure_ascii=False) + "\n")
    counts: dict[str, int] = {}
    for c in cases:
        counts[c["category"]] = counts.get(c["category"], 0) + 1
    print(out, counts)


if __name__ == "__main__":
    main()
