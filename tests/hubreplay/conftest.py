"""The replayed datasets and models that several hubreplay test modules read."""

from pathlib import Path

import pytest

from hubreplay import ReplayServer

FIX = Path(__file__).parent / "fixtures"
DATASETS = str(FIX / "datasets_2024.jsonl.gz")
MODELS = str(FIX / "rich_2025.jsonl.gz")


@pytest.fixture(scope="module")
def datasets_srv(tmp_path_factory):
    """Real 2025 models and 2024 datasets, five to a page (so every listing pages)."""
    s = ReplayServer([MODELS], datasets=[DATASETS], port=0, page_size_cap=5,
                     index_dir=tmp_path_factory.mktemp("idx"))  # fmt: skip
    yield s.start()
    s.stop()
