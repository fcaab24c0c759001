"""Honest facts: a guessed quantization, size or parameter count reads as a guess everywhere
(headline included); a repo's file list says which quantizations it ships; the card's absence
is explained. Over the crawled Llama-2 family (tests/fixtures/family.jsonl.gz) and the real
rich-2024 records."""

import re

import pytest

from catalog import crawler, runs
from catalog.models import CrawlRun, HubModel

pytestmark = pytest.mark.django_db

LISTED_ONLY_GGUF = "TheBloke/Llama-2-7B-Chat-GGUF"  # a 2024 list item: no file list
SAILOR = "QuantFactory/visocial-Sailor-1.8B-Instruct-GGUF"  # lists 14 GGUF files, Q2_K..Q8_0
SAILOR_QUANTS = ["Q2_K", "Q3_K_S", "Q3_K_M", "Q3_K_L", "Q4_0", "Q4_K_S", "Q4_K_M", "Q4_1",
                 "Q5_0", "Q5_K_S", "Q5_K_M", "Q5_1", "Q6_K", "Q8_0"]  # fmt: skip


def headline(html: str) -> str:
    return re.search(r'<p class="oneline" id="what">(.*?)</p>', html, re.S).group(1)


def test_a_guessed_quantization_is_a_guess_in_the_headline_too(client, family):
    html = client.get(f"/models/{LISTED_ONLY_GGUF}/").content.decode()
    line = headline(html)
    assert "a Q4_K_M GGUF quantization" not in line
    assert "Q4_K_M is assumed" in line and "quantization of meta-llama/Llama-2-7b-chat-hf" in line
    # The memory line says why, and the file table says the file list is not known.
    memory = re.search(r'<dd[^>]* id="memory"[^>]*>(.*?)</dd>', html, re.S).group(1)
    assert memory.startswith('<span class="guess"') and "Q4_K_M assumed" in memory
    assert 'id="files-unknown"' in html


def test_the_api_marks_the_same_guesses(client, family):
    body = client.get(f"/api/v1/models/{LISTED_ONLY_GGUF}").json()
    est = body["estimate"]
    assert est["quant"] == "Q4_K_M" and est["quant_guess"] and est["memory_guess"]
    assert est["params_guess"] and est["files"] is None
    items = client.get("/api/v1/models", {"base": "meta-llama/Llama-2-7b-chat-hf",
                                          "format": "gguf"}).json()["items"]  # fmt: skip
    assert {i["id"]: i["memory_guess"] for i in items}[LISTED_ONLY_GGUF] is True


def test_every_memory_figure_in_the_lists_marks_its_guess(client, family):
    """The catalog list and the family page read the same decision as the model page."""
    listing = client.get("/models/", {"format": "gguf"}).content.decode()
    row = re.search(rf'href="/models/{LISTED_ONLY_GGUF}/".*?</tr>', listing, re.S).group(0)
    assert 'class="guess"' in row and "~" in row
    family_page = client.get("/families/meta-llama/Llama-2-7b-chat-hf/").content.decode()
    row = re.search(rf'href="/models/{LISTED_ONLY_GGUF}/".*?</tr>', family_page, re.S).group(0)
    assert "Q4_K_M (assumed)" in row and 'class="guess"' in row


def test_not_fetched_yet_only_when_the_files_were_never_read(client, family):
    # Models whose files were read and that have no README (list items: the Hub 404s it).
    read = HubModel.objects.exclude(files_key="").exclude(files__path="README.md")
    assert read.exists()
    for model in read[:5]:
        html = client.get(model.get_absolute_url()).content.decode()
        assert "Not fetched yet" not in html, model.repo_id
        assert re.search(r'<p id="no-card">[^<]*README\.md', html), model.repo_id
    never = HubModel.objects.filter(files_key="").first()
    if never is not None:
        assert "Not fetched yet" in client.get(never.get_absolute_url()).content.decode()


@pytest.fixture
def rich(replay, hub_for):
    """The rich-2024 slice crawled (100 real records, 41 with file lists)."""
    server = replay(["rich-2024.jsonl.gz"])
    run, _ = runs.start(CrawlRun.Kind.FULL, endpoint=server.url, limit=0)
    run = crawler.run_sync(run, hub=hub_for(server))
    assert run.status == CrawlRun.Status.DONE
    return run


def test_a_listed_gguf_repo_says_which_quantizations_it_ships(client, rich):
    model = HubModel.objects.get(repo_id=SAILOR)
    assert model.quant == "Q2_K–Q8_0" and model.bits == 2.63  # its smallest file, not Q4_K_M?
    html = client.get(f"/models/{SAILOR}/").content.decode()
    assert "Q4_K_M?" not in html and "Q4_K_M (assumed)" not in html
    table = re.search(r'<section id="files".*?</section>', html, re.S).group(0)
    rows = re.findall(
        r"<tr[^>]*>\s*<td><code>([^<]+)</code>.*?</td>\s*<td>([^<]+)</td>", table, re.S
    )
    assert [q for _, q in rows] == SAILOR_QUANTS  # one per file, fewest bits first
    assert all(path == f"visocial-Sailor-1.8B-Instruct.{q}.gguf" for path, q in rows)
    # 1.8B from its name: each file's memory is a guess, and grows with its bits.
    memories = [float(m) for m in re.findall(r'<td class="num">~([\d.]+) GB', table)]
    assert len(memories) == 14 and memories == sorted(memories) and memories[0] < memories[-1]
    assert "not given" in table  # the Hub gave no file sizes in these records


def test_the_files_that_fit_a_budget_are_marked(client, rich):
    html = client.get(f"/models/{SAILOR}/", {"memory": "2"}).content.decode()
    table = re.search(r'<section id="files".*?</section>', html, re.S).group(0)
    fitting = re.findall(r'<tr class="fits">\s*<td><code>([^<]+)</code>', table)
    assert fitting and len(fitting) < 14 and all("Q2_K" in f or "Q3" in f for f in fitting[:2])
    assert client.get(f"/models/{SAILOR}/", {"memory": "lots"}).status_code == 400


def test_the_api_lists_the_files_too(client, rich):
    est = client.get(f"/api/v1/models/{SAILOR}").json()["estimate"]
    assert est["quant"] == "Q2_K–Q8_0" and not est["quant_guess"]
    assert [f["quant"] for f in est["files"]] == SAILOR_QUANTS
    assert all(f["memory_guess"] and f["size"] is None for f in est["files"])


def test_a_guess_in_the_search_list_says_what_it_rests_on(client, family):
    """Found by QA: the search list's row has no quantization column (SearchEntry), so the
    title of an assumed quantization's memory read "a guess from  assumed (...)": no name."""
    listing = client.get("/models/", {"format": "gguf"}).content.decode()
    row = re.search(rf'href="/models/{LISTED_ONLY_GGUF}/".*?</tr>', listing, re.S).group(0)
    title = re.search(r'<span class="guess" title="([^"]*)">~', row).group(1)
    assert "from  " not in title and not re.search(r"\bfrom assumed\b", title), title
    assert "assumed quantization" in title or "Q4_K_M assumed" in title, title


def test_the_csv_export_marks_the_same_guesses(client, family):
    """Found by QA: /models/export.csv gives TheBloke/Llama-2-7B-Chat-GGUF as quant
    "Q4_K_M?" (the stored marker of an assumed quantization), params_estimate 7000000000 and
    memory_gb 5.1 with nothing saying they are guesses from the name."""
    import csv
    import io

    response = client.get("/models/export.csv", {"format": "gguf"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    row = next(r for r in rows if r["repo_id"] == LISTED_ONLY_GGUF)
    assert not row["quant"].endswith("?"), row["quant"]
    assert row.get("quant_guess") == "yes" and row.get("memory_guess") == "yes", row
    assert row.get("params_guess") == "yes", row
