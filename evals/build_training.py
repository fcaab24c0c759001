"""Build evals/training.jsonl.gz, the inputs of the training-data figure (evals/training.py), from
../shared/hub-snapshot (deterministic; the run needs only this repo):

    .venv/bin/python evals/build_training.py [path/to/hub-snapshot]

Three kinds of line, each real data cut to what the figure reads:
- {"model": id, "tags": [...]}: every model of the 2024-07-11 list that declares a dataset, with
  its `license:` and `dataset:` tags only (list items carry no card);
- {"dataset": id, "tags": [...]}: every record of hub-datasets-2024-07 (its `license:` tag);
- {"table": [model license, [dataset licenses]]}: each row of Stalnaker et al.'s table
  (raw/stalnaker-2024-07/dataset_license_analysis.json.gz), the study's own figure's input.
"""

from __future__ import annotations

import gzip
import io
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "training.jsonl.gz"


def lines(snapshot: Path):
    with gzip.open(snapshot / "hub-list-2024-07-11.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            tags = rec.get("tags") or []
            if any(isinstance(t, str) and t.startswith("dataset:") for t in tags):
                kept = [
                    t for t in tags if isinstance(t, str) and t.startswith(("license:", "dataset:"))
                ]
                yield {"model": rec["id"], "tags": kept}
    with gzip.open(snapshot / "hub-datasets-2024-07.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            yield {"dataset": rec["id"], "tags": rec.get("tags") or []}
    table = snapshot / "raw" / "stalnaker-2024-07" / "dataset_license_analysis.json.gz"
    with gzip.open(table, "rt", encoding="utf-8") as f:
        rows = json.load(f)
    for row in rows:
        yield {"table": [row.get("model_license"), row.get("dataset_licenses") or []]}


def main() -> None:
    snapshot = Path(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/hub-snapshot")
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, filename="") as gz:
        for item in lines(snapshot):
            gz.write((json.dumps(item, separators=(",", ":")) + "\n").encode("utf-8"))
    OUT.write_bytes(buf.getvalue())
    print(f"{len(buf.getvalue()):,} bytes written to {OUT}")


if __name__ == "__main__":
    main()
