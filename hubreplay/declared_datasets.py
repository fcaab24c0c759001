"""The datasets that model records declare, and a dataset file cut down to them.

`make run` replays the bundled models; the bundled dataset file holds the real dataset records
(`hub-datasets-2024-07.jsonl.gz`) of the datasets those models declare, so that what the demo's
models link to is there to be read. Rebuild it (deterministic: the source's lines, in its order,
unchanged, gzip mtime 0):

    python -m hubreplay.declared_datasets hubreplay/data/demo-*.jsonl.gz \\
        --from /work/shared/hub-snapshot/hub-datasets-2024-07.jsonl.gz \\
        --out hubreplay/data/datasets-2024.jsonl.gz
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import sys
from collections.abc import Iterable

from .index import _iter_lines

DEFAULT_OUT = "hubreplay/data/datasets-2024.jsonl.gz"


def declared_ids(rec: dict) -> list[str]:
    """Dataset ids a model record declares: its `dataset:<id>` tags (the Hub's, from the card)
    and its cardData `datasets` (a string or a list), in that order, each once."""
    tags = rec.get("tags")
    out = [
        t[len("dataset:") :]
        for t in (tags if isinstance(tags, list) else [])
        if isinstance(t, str) and t.startswith("dataset:") and len(t) > len("dataset:")
    ]
    card = rec.get("cardData")
    listed = card.get("datasets") if isinstance(card, dict) else None
    if isinstance(listed, str):
        listed = [listed]
    if isinstance(listed, list):
        out += [d.strip() for d in listed if isinstance(d, str) and d.strip()]
    return list(dict.fromkeys(out))


def declared_in(model_files: Iterable[str]) -> set[str]:
    ids: set[str] = set()
    for path in model_files:
        for line in _iter_lines(path):
            rec = json.loads(line)
            if isinstance(rec, dict):
                ids.update(declared_ids(rec))
    return ids


def cut(model_files: Iterable[str], dataset_file: str, out: str) -> tuple[int, int]:
    """Write the lines of `dataset_file` whose id the models declare; (ids declared, written)."""
    wanted = declared_in(model_files)
    kept = [line for line in _iter_lines(dataset_file) if json.loads(line).get("id") in wanted]
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, filename="") as gz:
        gz.write("".join(line + "\n" for line in kept).encode("utf-8"))
    with open(out, "wb") as fh:
        fh.write(buf.getvalue())
    return len(wanted), len(kept)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m hubreplay.declared_datasets", description=__doc__)
    p.add_argument("models", nargs="+", help="model snapshot files")
    p.add_argument("--from", dest="source", required=True, help="dataset snapshot file")
    p.add_argument("--out", default=DEFAULT_OUT)
    a = p.parse_args(argv)
    declared, written = cut(a.models, a.source, a.out)
    print(f"{a.out}: {written} datasets of the {declared} the models declare", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
