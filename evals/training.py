"""The training-data figure (issue 14, item 5): over the 2024-07-11 list, how many models whose
own verdict is `allowed` declare a dataset whose verdict is `prohibited`, and how many declare a
dataset Canopy cannot classify; beside it, the study's figure from its own table, and Canopy's
reading of that same table, so the difference can be told apart (evals/training.jsonl.gz, built
by evals/build_training.py).

The study (Stalnaker et al., TOSEM 2025) counts a model "permissive" by its license name (apache,
mit, bsd, cc-by, cc0, gpl-style...) and a dataset "non-commercial" by an `nc` in its license;
Canopy reads both with its knowledge base: its `allowed` and `prohibited` are verdicts on
commercial use (gpl-3.0 and cc-by-sa are allowed; openrail is conditional, so not counted;
research-only terms are prohibited without an `nc`), and a dataset whose record the table lacks,
or whose license is `other` or `unknown`, cannot be classified.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
STUDY = (2695, 38112)  # the figure from the study's table
# The study's permissive licenses (its families; cc-by without nc, gpl-style included).
PERMISSIVE = ("apache", "mit", "bsd", "cc-by", "cc0", "gpl", "lgpl", "agpl", "afl", "artistic",
              "bsl", "ecl", "mpl", "ms-pl", "osl", "postgresql", "unlicense", "wtfpl", "zlib",
              "ncsa", "odc-by", "odbl", "pddl", "openrail++", "etalab", "isc", "eupl")  # fmt: skip


@dataclass
class _Record:  # what licenses.training.terms reads of a stored dataset (catalog.HubDataset)
    repo_id: str
    tags: list[str]
    card_data: None = None
    found: bool = True


@dataclass
class Figure:
    declaring: int = 0  # models declaring a dataset
    allowed: int = 0  # of them, own verdict allowed
    prohibited: int = 0  # of those, a dataset whose verdict is prohibited
    unclassified: int = 0  # of those, a dataset Canopy cannot classify
    known_allowed: int = 0  # allowed models whose every dataset is classified
    known_prohibited: int = 0
    reasons: Counter[str] = field(default_factory=Counter)  # why datasets are unclassified


def _load() -> tuple[list[dict], dict[str, list[str]], list[list]]:
    models, datasets, table = [], {}, []
    with gzip.open(HERE / "training.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            item = json.loads(line)
            if "model" in item:
                models.append(item)
            elif "dataset" in item:
                datasets[item["dataset"]] = item["tags"]
            else:
                table.append(item["table"])
    return models, datasets, table


def _verdict(key: str | None) -> str:
    from licenses.classify import classify
    from licenses.resolve import resolve

    return classify(resolve(tags=[f"license:{key}"] if key else []).key)[0]


def crawled(models: list[dict], datasets: dict[str, list[str]]) -> Figure:
    """Canopy's figure over the list: its own reading of each model and each declared dataset."""
    from catalog.datasets import declared
    from licenses.classify import classify
    from licenses.resolve import resolve
    from licenses.training import terms

    verdicts = {d: terms(_Record(d, tags)).verdict for d, tags in datasets.items()}
    fig = Figure()
    for m in models:
        names = [d for d, _ in declared(m["tags"], None)]
        if not names:
            continue
        fig.declaring += 1
        if classify(resolve(repo_id=m["model"], tags=m["tags"]).key)[0] != "allowed":
            continue
        fig.allowed += 1
        seen = [verdicts.get(d, "unknown") for d in names]
        for d, v in zip(names, seen, strict=True):
            if v == "unknown":
                fig.reasons[
                    "not in the table" if d not in verdicts else "license other/unknown"
                ] += 1
        fig.prohibited += "prohibited" in seen
        fig.unclassified += "unknown" in seen
        if "unknown" not in seen:
            fig.known_allowed += 1
            fig.known_prohibited += "prohibited" in seen
    return fig


def table_figures(table: list[list]) -> tuple[tuple[int, int], tuple[int, int]]:
    """(the study's rule, Canopy's verdicts) over the study's own table: (with nc, permissive)."""
    study = [0, 0]
    ours = [0, 0]
    for model_license, dataset_licenses in table:
        lic = (model_license or "").lower()
        if lic.startswith(PERMISSIVE) and "-nc" not in lic:
            study[1] += 1
            study[0] += any("-nc" in (d or "").lower() for d in dataset_licenses)
        if _verdict(model_license) == "allowed":
            ours[1] += 1
            ours[0] += any(_verdict(d) == "prohibited" for d in dataset_licenses)
    return (study[0], study[1]), (ours[0], ours[1])


def _pct(a: int, b: int) -> str:
    return f"{a:,} of {b:,} ({100 * a / b:.1f}%)" if b else f"{a} of 0"


def report() -> None:
    models, datasets, table = _load()
    fig = crawled(models, datasets)
    study, ours = table_figures(table)
    print(f"\ntraining data over the 2024-07-11 list ({fig.declaring:,} models declare datasets)")
    print(f"  own verdict allowed, a dataset prohibited:     {_pct(fig.prohibited, fig.allowed)}")
    print(
        f"  own verdict allowed, a dataset unclassified:   {_pct(fig.unclassified, fig.allowed)}"
        f"  ({', '.join(f'{k} {v:,}' for k, v in fig.reasons.most_common())} dataset links)"
    )
    print(
        f"  every dataset classified, a dataset prohibited: "
        f"{_pct(fig.known_prohibited, fig.known_allowed)}"
    )
    print(f"  the study's table, its rule (issue: {_pct(*STUDY)}): {_pct(*study)}")
    print(f"  the study's table, Canopy's verdicts:           {_pct(*ours)}")
