"""Cut the small real-data fixtures used by the hubreplay tests from /work/shared/hub-snapshot.

Run: .venv/bin/python tests/hubreplay/make_fixtures.py  (deterministic; output in fixtures/)
"""

import gzip
import json
from pathlib import Path

SNAP = Path("/work/shared/hub-snapshot")
OUT = Path(__file__).parent / "fixtures"

RICH_2025 = [
    "meta-llama/Llama-2-7b-chat-hf",  # gated manual, README, llama2
    "meta-llama/Llama-2-7b",
    "stabilityai/stable-diffusion-3-medium",  # gated auto
    "RedHatAI/phi-2-pruned50",  # renamed from neuralmagic/phi-2-pruned50
    "microsoft/phi-2",
    "prsdm/phi-2-medquad",  # license (none) -> mit between 2024 and 2025
    "Arjs/Llama-2-7b-chatbot-finetune",  # finetune of Llama-2-7b-chat-hf
    "AjayMukundS/Llama2_7B_fine_tuned",
    "ALIN-LLM/finetune-llama-2-7b-chat-gsm8k",
    "AeNyoung/lora-llama-2-7b-nsmc",
]
RICH_2024 = ["neuralmagic/phi-2-pruned50", "prsdm/phi-2-medquad"]
# Real dataset records (hub-datasets-2024-07): legacy ids without author, three authors with
# several datasets each, and the licenses a test filters on.
DATASET_IDS = [
    "glue", "squad", "imdb", "wikitext",
    "tatsu-lab/alpaca", "Open-Orca/OpenOrca", "HuggingFaceH4/ultrachat_200k",
    "0-hero/Matter-0.1", "0-hero/Matter-0.1-Slim-A", "0-hero/Matter-0.1-Slim-B",
    "allenai", "jondurbin", "lmqg",
]  # fmt: skip
LIST_IDS = {
    "TheBloke/Llama-2-7B-Chat-GGUF",
    "TheBloke/Llama-2-7B-GGUF",
    "google-bert/bert-base-uncased",
    "openai-community/gpt2",
}


def read(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)


def write(name, recs):
    with gzip.open(OUT / name, "wt", encoding="utf-8") as f:
        for r in recs:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(name, len(recs))


def datasets_slice():
    """The named datasets, and the first 3 of each named author (sorted by id, as the file)."""
    named = {i for i in DATASET_IDS if "/" in i or i in ("glue", "squad", "imdb", "wikitext")}
    per_author: dict = {}
    out = []
    for r in read(SNAP / "hub-datasets-2024-07.jsonl.gz"):
        a = r.get("author")
        if r["id"] in named or (a in DATASET_IDS and per_author.get(a, 0) < 3):
            per_author[a] = per_author.get(a, 0) + (r["id"] not in named)
            out.append(r)
    return out


def main():
    OUT.mkdir(exist_ok=True)
    rich = {r["id"]: r for r in read(SNAP / "hub-rich.jsonl.gz") if r["id"] in RICH_2025}
    write("rich_2025.jsonl.gz", [rich[i] for i in sorted(RICH_2025)])
    old = [r for r in read(SNAP / "hub-rich-2024-vs-2025.jsonl.gz") if r["id"] in RICH_2024]
    write("rich_2024.jsonl.gz", old)
    # 2024 list slice: 20 most downloaded, named ones, 6 mit-licensed, 6 children of
    # meta-llama/Llama-2-7b-chat-hf (plain base_model tags), 4 gguf
    picked, mit, kids, gguf = [], 0, 0, 0
    for r in read(SNAP / "hub-list-2024-07-11.jsonl.gz"):
        pos = r["__capture"].get("position", 10**9)
        tags = r.get("tags", [])
        take = False
        if r["id"] in LIST_IDS or pos < 20:
            take = True
        elif "license:mit" in tags and mit < 6 and r.get("downloads", 0) > 1000:
            mit += 1
            take = True
        elif "base_model:meta-llama/Llama-2-7b-chat-hf" in tags and kids < 6:
            kids += 1
            take = True
        elif "gguf" in tags and gguf < 4 and r.get("downloads", 0) > 100:
            gguf += 1
            take = True
        if take:
            picked.append(r)
    write("list_2024.jsonl.gz", picked)
    write("datasets_2024.jsonl.gz", datasets_slice())


if __name__ == "__main__":
    main()
