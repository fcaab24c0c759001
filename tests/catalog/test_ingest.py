"""One hostile record costs only itself: bugs once found, each named by its test, through the real
client.

Each test writes a small snapshot of real records (tests/fixtures/family.jsonl.gz) in which ONE
value is constructed, as named in the test, and crawls it through hubreplay.
"""

import gzip
import hashlib
import json

import pytest

from catalog import crawler, runs
from catalog.models import CrawlRun, HubModel, ModelFile
from tests.conftest import FIXTURES

pytestmark = pytest.mark.django_db

LICENSED = "wadhma/Critique-L2-FT-DCR"  # cardData.license mit, README.md served, not gated


def family_with(tmp_path, change):
    """family.jsonl.gz with `change(record)` applied to the record of LICENSED."""
    lines = []
    with gzip.open(FIXTURES / "family.jsonl.gz", "rt") as f:
        for line in f:
            rec = json.loads(line)
            if rec["id"] == LICENSED:
                change(rec)
            lines.append(json.dumps(rec))
    path = tmp_path / "family-hostile.jsonl.gz"
    with gzip.open(path, "wt") as f:
        f.write("\n".join(lines) + "\n")
    return str(path), len(lines)


def crawl(server, hub_for):
    run, _ = runs.start(CrawlRun.Kind.FULL, endpoint=server.url, limit=0)
    return crawler.run_sync(run, hub=hub_for(server))


def test_a_nul_in_one_card_license_costs_nothing_else_of_the_page(tmp_path, replay, hub_for):
    # Constructed: cardData.license "mit" -> "mit\u0000" (on PostgreSQL, COPY failed with
    # UntranslatableCharacter and the crawl stored 0 models).
    path, n = family_with(tmp_path, lambda r: r["cardData"].update(license="mit\u0000"))
    run = crawl(replay([path]), hub_for)

    assert run.status == CrawlRun.Status.DONE
    assert HubModel.objects.count() == n
    model = HubModel.objects.get(repo_id=LICENSED)
    assert model.card_data["license"] == "mit"
    assert "\x00" not in json.dumps(model.raw)


def test_a_nul_in_a_readme_is_cleaned_and_stored(tmp_path, replay, hub_for):
    # Constructed: a NUL put into the middle of a real README (on PostgreSQL the details step
    # failed with DataError, which its except clause did not catch, and the run stayed running).
    def nul_readme(rec):
        text = rec["__files"]["README.md"]
        rec["__files"]["README.md"] = text[:200] + "\x00" + text[200:]
        # A changed file is a new commit (and a revision the client's file cache has not seen).
        rec["sha"] = hashlib.sha1(rec["__files"]["README.md"].encode()).hexdigest()

    path, n = family_with(tmp_path, nul_readme)
    run = crawl(replay([path]), hub_for)

    assert run.status == CrawlRun.Status.DONE
    readme = ModelFile.objects.get(model__repo_id=LICENSED, path="README.md")
    assert "\x00" not in readme.text and len(readme.text) > 200
    assert ModelFile.objects.filter(path="README.md").count() > 50
