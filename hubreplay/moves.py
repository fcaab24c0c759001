"""The Hub's canonical moves: legacy un-namespaced model ids and the organisation ids they became.

In 2024 the Hub moved its canonical models (the ids without an organisation, from before
organisations existed) into organisations: `gpt2` became `openai-community/gpt2`,
`bert-base-uncased` `google-bert/bert-base-uncased`. The Hub answers an old id with a 307 to
the new one (`/work/shared/docs/hub-api-examples/redirect_307.bert-base-uncased.json`), or for
some with a 200 that echoes the old id with the canonical repo's `_id` (`model_info.gpt2.json`).
Records made since still name the old ids: 16,547 `base_model:` tags of the 2024-07-11 list.

The table (`hubreplay/data/canonical-moves.tsv`) is derived from that real list: an
un-namespaced id that a `base_model:` tag names, whose name exists in the list under exactly
one of the organisations the canonical models moved into (MOVED_TO). 43 ids, covering 16,178 of
those tags; the other 195 un-namespaced ids no move explains, and the replay 404s them as the
Hub 404s an id it does not know. Rebuild it (deterministic, sorted by id):

    python -m hubreplay.moves /work/shared/hub-snapshot/hub-list-2024-07-11.jsonl.gz \\
        --out hubreplay/data/canonical-moves.tsv
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from .index import _iter_lines

MOVED_TO = (
    "openai-community", "google-bert", "google-t5", "FacebookAI", "distilbert", "albert",
    "almanach", "xlnet",
)  # fmt: skip
TABLE = Path(__file__).parent / "data" / "canonical-moves.tsv"
HEADER = "# old_id\tnew_id\tbase_model tags naming the old id (2024-07-11 list)"


def derive(paths: list[str]) -> list[tuple[str, str, int]]:
    """(old id, canonical id, tags naming the old id) from model snapshot files."""
    named: Counter[str] = Counter()
    by_name: dict[str, set[str]] = {}
    for path in paths:
        for line in _iter_lines(path):
            rec = json.loads(line)
            repo_id = rec.get("id")
            if isinstance(repo_id, str) and "/" in repo_id:
                org, name = repo_id.split("/", 1)
                if org in MOVED_TO:
                    by_name.setdefault(name, set()).add(repo_id)
            for tag in rec.get("tags") or []:
                if isinstance(tag, str) and tag.startswith("base_model:"):
                    target = tag.split(":")[-1]
                    if target and "/" not in target:
                        named[target] += 1
    return sorted(
        (old, next(iter(by_name[old])), n)
        for old, n in named.items()
        if len(by_name.get(old, ())) == 1
    )


def load(path: Path = TABLE) -> dict[str, str]:
    """old id -> canonical id."""
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            old, new = line.split("\t")[:2]
            out[old] = new
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--out", default=str(TABLE))
    args = parser.parse_args()
    rows = derive(args.files)
    text = "\n".join([HEADER, *(f"{o}\t{n}\t{c}" for o, n, c in rows)]) + "\n"
    Path(args.out).write_text(text, encoding="utf-8")
    print(f"{len(rows)} moves, {sum(c for *_, c in rows):,} tags, written to {args.out}")


if __name__ == "__main__":
    main()
