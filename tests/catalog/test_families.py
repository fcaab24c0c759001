# ruff: noqa: F811  (the module-scoped `family` fixture is imported from test_views)
"""Families of variants, the one-line description of a variant, and the lineage explorer."""

import pytest

from catalog import families
from catalog.models import HubModel
from tests.catalog.conftest import MERGE, MIDDLE, ROOT
from tests.catalog.test_views import HTMX

pytestmark = pytest.mark.django_db
GGUF = "TheBloke/Llama-2-7B-Chat-GGUF"


def test_derived_columns_are_filled_at_ingest(family):
    root = HubModel.objects.get(repo_id=ROOT)
    assert root.base_relation == "base" and root.base_family == ROOT
    gguf = HubModel.objects.get(repo_id=GGUF)
    assert gguf.base_relation == "quantized" and gguf.weights_format == "gguf"
    assert gguf.base_family == ROOT and gguf.memory_gb
    # A grandchild belongs to the family of the root, not of its parent.
    leaf = HubModel.objects.filter(parent_edges__parent_repo_id=MIDDLE).first()
    assert leaf.base_family == ROOT


def test_a_variant_says_what_it_is_in_one_line(client, family):
    html = client.get(f"/models/{GGUF}/").content.decode()
    # A 2024 list item without a file list: its quantization is a guess, and says so.
    assert (f"This is a GGUF quantization of {ROOT} by TheBloke (which quantization is not "
            "known: Q4_K_M is assumed).") in html  # fmt: skip
    assert f'Upstream: <a href="/models/{ROOT}/">' in html
    assert 'id="memory"' in html and "a guess" in html  # its size comes from its name


def test_the_family_page_groups_variants_by_kind(client, family):
    response = client.get(f"/families/{ROOT}/")
    html = response.content.decode()
    assert response.status_code == 200
    for label in ("Quantizations", "Adapters", "Fine-tunes", "Merges"):
        assert label in html
    assert "Its quantizations by format and bit width" in html
    # The root's own variants (as every page counts them), then those further down the tree.
    own = HubModel.objects.filter(parent_edges__parent_repo_id=ROOT).distinct()
    further = HubModel.objects.filter(base_family=ROOT).exclude(repo_id=ROOT).exclude(pk__in=own)
    assert f"{own.count()} variants of {ROOT} itself, and {further.count()} further down" in html
    assert own.count() + further.count() >= 140


def test_find_a_variant_filters_the_family(client, family):
    response = client.get(f"/families/{ROOT}/", {"format": "gguf", "memory": "8"}, headers=HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="variants"') and "<html" not in html
    n = HubModel.objects.filter(base_family=ROOT, weights_format="gguf", memory_gb__lte=8).count()
    assert f"{n} variant" in html and GGUF in html


def test_the_lineage_explorer_shows_ancestors_descendants_and_a_graph(client, family):
    html = client.get(f"/lineage/{MIDDLE}/").content.decode()
    assert 'id="ancestors"' in html and f'href="/lineage/{ROOT}/"' in html
    assert "<svg" in html and 'id="descendants"' in html


def test_a_lineage_node_expands_through_htmx(client, family):
    html = client.get(f"/lineage/{ROOT}/").content.decode()
    assert '?part=children" hx-target="#sub-' in html
    fragment = client.get(f"/lineage/{MIDDLE}/", {"part": "children"}, headers=HTMX)
    text = fragment.content.decode()
    assert "<html" not in text and 'class="groups"' in text and "finetune" in text


def test_a_large_group_is_paged(client, family):
    html = client.get(f"/lineage/{ROOT}/").content.decode()
    assert "more finetune" in html
    page2 = client.get(f"/lineage/{ROOT}/", {"relation": "finetune", "page": "2"}, headers=HTMX)
    assert page2.content.decode().lstrip().startswith("<li")


def test_the_lineage_explorer_makes_a_bounded_number_of_queries(
    client, family, django_assert_max_num_queries
):
    with django_assert_max_num_queries(20):
        client.get(f"/lineage/{ROOT}/")
    with django_assert_max_num_queries(20):
        client.get(f"/lineage/{MERGE}/")


@pytest.mark.parametrize(
    "phrase, expected",
    [("adapter", "an"), ("LoRA ", "a"), ("AWQ", "an"), ("GGUF", "a"), ("Q4_K_M GGUF", "a"),
     ("8-bit", "an"), ("4-bit", "a"), ("MLX", "an"), ("GPTQ", "a"), ("quantization", "a"),
     ("EXL2", "an"), ("HQQ", "an")],
)  # fmt: skip
def test_the_one_line_description_takes_the_right_article(phrase, expected):
    # Found on the model page: "This is a adapter of meta-llama/Llama-2-7b-chat-hf".
    assert families.article(phrase) == expected


@pytest.mark.django_db
def test_a_renamed_root_takes_its_family_with_it():
    """The legacy-id bug's twin (found beside it after the chaos crawl): a root renamed on the
    Hub (same _id, a new id) left its descendants' base_family at its old id. CONSTRUCTED."""
    from catalog import ingest

    ingest.ingest([{"_id": "65aaaaaaaaaaaaaaaaaaaaaa", "id": "constructed/old-name", "tags": []},
                   {"_id": "65bbbbbbbbbbbbbbbbbbbbbb", "id": "constructed/child",
                    "tags": ["base_model:constructed/old-name"]}])  # fmt: skip
    families.refresh(list(HubModel.objects.values_list("pk", flat=True)))
    assert HubModel.objects.get(repo_id="constructed/child").base_family == "constructed/old-name"
    counts = ingest.ingest([{"_id": "65aaaaaaaaaaaaaaaaaaaaaa", "id": "constructed/new-name",
                             "tags": []}])  # fmt: skip
    families.refresh(counts.touched)
    assert HubModel.objects.get(repo_id="constructed/child").base_family == "constructed/new-name"
