"""One count everywhere: the family page, the lineage explorer, the model page and the API give
the same number of children per relation for the same model (lineage.children_counts), and a
variant of a variant (a quantization of a fine-tune) is shown under the variant it derives from.

Over the crawled Llama-2 family (tests/fixtures/family.jsonl.gz) and over the bundled snapshot
(hubreplay/data/demo-*.jsonl.gz): Mistral-7B's whole tree, crawled as a descendants run."""

import re
from collections import Counter

import pytest
from django.db import transaction
from django.db.models import Count
from django.test import override_settings

from catalog import crawler, families, lineage, runs
from catalog.hub import Hub
from catalog.models import CrawlRun, HubModel, LineageEdge, RepoAlias
from licenses import assessment, panel
from tests.catalog.conftest import MERGE, MIDDLE, ROOT
from tests.conftest import DEMO

pytestmark = pytest.mark.django_db

MISTRAL = "mistralai/Mistral-7B-v0.1"


def from_the_edges(repo_id: str) -> dict[str, int]:
    """The oracle: distinct children per relation, read off the stored edges in Python (an edge
    naming the model by one of its aliases included)."""
    names = [
        repo_id,
        *RepoAlias.objects.filter(model__repo_id=repo_id).values_list("alias", flat=True),
    ]
    children: dict[str, set[int]] = {}
    for child, relation in LineageEdge.objects.filter(parent_repo_id__in=names).values_list(
        "child_id", "relation"
    ):
        children.setdefault(relation, set()).add(child)
    return {relation: len(ids) for relation, ids in children.items()}


def counts_everywhere(client, repo_id: str) -> dict[str, dict[str, int]]:
    family = client.get(f"/families/{repo_id}/")
    explorer = client.get(f"/lineage/{repo_id}/")
    page = client.get(f"/models/{repo_id}/")
    api = client.get(f"/api/v1/models/{repo_id}").json()
    down = client.get(f"/api/v1/models/{repo_id}/lineage?direction=down&depth=1&limit=5000")
    return {
        "api lineage": dict(Counter(n["relation"] for n in down.json()["nodes"])),
        "family page": {g["kind"]: g["n"] for g in family.context["groups"]},
        "explorer": {g["relation"]: g["n"] for g in explorer.context["groups"]},
        "model page": dict(page.context["children_counts"]),
        "api": api["children_count"],
    }


def assert_one_count(client, repo_id: str) -> dict[str, int]:
    expected = from_the_edges(repo_id)
    assert expected, f"{repo_id} has no children in this data"
    for where, counts in counts_everywhere(client, repo_id).items():
        assert counts == expected, f"{repo_id}: {where} says {counts}, the edges {expected}"
    return expected


@pytest.mark.parametrize("repo_id", [ROOT, MIDDLE, "TheBloke/Llama-2-7B-Chat-GGML"])
def test_every_page_counts_the_children_of_the_llama_family_alike(client, family, repo_id):
    assert_one_count(client, repo_id)


def test_a_merge_is_counted_under_each_of_its_bases(client, family):
    """MERGE merges ROOT with allenai/tulu-2-dpo-7b: its first parent (the family it is filed
    under) is tulu, yet it is one of ROOT's merges on the family page too."""
    assert HubModel.objects.get(repo_id=MERGE).base_family != ROOT
    counts = assert_one_count(client, ROOT)
    html = client.get(f"/families/{ROOT}/").content.decode()
    assert f"Merges ({counts['merge']})" in html and f'href="/models/{MERGE}/"' in html


@pytest.fixture(scope="module")
def mistral(django_db_setup, django_db_blocker, replay_index):
    """Mistral-7B-v0.1's tree from the bundled snapshot, crawled once for the module (the
    descendants run, and the ancestors run it queues for merges' other parents)."""
    from hubreplay import ReplayServer

    layers = [[str(DEMO / "demo-2024.jsonl.gz")], [str(DEMO / "demo-2025.jsonl.gz")]]
    server = ReplayServer(layers, index_dir=replay_index).start()
    with django_db_blocker.unblock(), transaction.atomic():
        try:
            with override_settings(CANOPY_HUB_API_BUDGET=10**6, CANOPY_HUB_RESOLVERS_BUDGET=10**6):
                run, _ = runs.start(CrawlRun.Kind.DESCENDANTS, target=MISTRAL,
                                       endpoint=server.url)  # fmt: skip
                run = crawler.run_sync(run, hub=Hub(endpoint=server.url, token=""))
        finally:
            server.stop()
        assert run.status == CrawlRun.Status.DONE
        yield run
        transaction.set_rollback(True)


def test_mistral_7b_has_one_count_everywhere(client, mistral):
    # The case: merges filed under another family (their first parent is another
    # base) were missing from the family page, which counted its members, not the children.
    elsewhere = HubModel.objects.filter(
        parent_edges__parent_repo_id=MISTRAL, base_relation="merge"
    ).exclude(base_family=MISTRAL)
    assert elsewhere.exists()
    counts = assert_one_count(client, MISTRAL)
    assert counts["merge"] >= 7 and set(counts) == {"quantized", "adapter", "finetune", "merge"}
    html = client.get(f"/families/{MISTRAL}/").content.decode()
    for relation, label in [("quantized", "Quantizations"), ("adapter", "Adapters"),
                            ("finetune", "Fine-tunes"), ("merge", "Merges")]:  # fmt: skip
        if relation in counts:
            assert f"{label} ({counts[relation]:,})" in html


def test_mistral_7b_variants_have_one_count_everywhere(client, mistral):
    """Several more models of the tree: its most prolific children."""
    busiest = (
        LineageEdge.objects.filter(child__base_family=MISTRAL).exclude(parent_repo_id=MISTRAL)
        .values("parent_repo_id").annotate(n=Count("child")).order_by("-n", "parent_repo_id")
    )  # fmt: skip
    parents = [row["parent_repo_id"] for row in busiest[:4]]
    assert len(parents) >= 3
    for repo_id in parents:
        assert_one_count(client, repo_id)


def test_a_quantization_of_a_fine_tune_is_shown_under_that_fine_tune(client, mistral):
    nested = HubModel.objects.filter(base_family=MISTRAL, base_relation="quantized").exclude(
        base_parent=MISTRAL
    )
    assert nested.exists()
    html = client.get(f"/families/{MISTRAL}/").content.decode()
    own = html.split('id="kind-quantized"', 1)[1].split("</table>", 1)[0]
    further = html.split('id="further"', 1)[1]
    assert "a quantization of a fine-tune is listed under that fine-tune" in html
    for model in nested.order_by("-downloads")[:5]:
        link = f'href="/models/{model.repo_id}/"'
        assert link not in own, f"{model.repo_id} is listed among the base's own"
        row = re.search(rf"{re.escape(link)}.*?</td>", further, re.S)
        assert row and f'of <a href="/models/{model.base_parent}/">' in row.group(0)


# --- A parent named by an alias ----------------------------------------------------------
# One alias rule for every walk (catalog.lineage): an edge naming its parent by an id that a
# RepoAlias maps to a model names that model. The families' walk up did not follow aliases
# (base_family was the old id) and the explorer's node counts and the API's walk down did not
# either, while the pages' own counts did.
RENAMED = "constructed/renamed-fine-tune-old-id"  # an alias constructed for this test


def test_a_child_naming_its_parent_by_an_alias_is_counted_alike_everywhere(client, mistral):
    # A fine-tune of Mistral-7B that has children, listed on the first pages of the explorer
    # and the family page; one of its children is made to name it by an old id.
    nodes = [n for g in client.get(f"/lineage/{MISTRAL}/").context["groups"] for n in g["nodes"]]
    parent = HubModel.objects.get(pk=max((n for n in nodes if n["children"]),
                                         key=lambda n: int(n["children"].replace(",", "")))["pk"])  # fmt: skip
    before = assert_one_count(client, parent.repo_id)
    RepoAlias.objects.create(alias=RENAMED, model=parent)
    edge = LineageEdge.objects.filter(parent_repo_id=parent.repo_id).order_by("child_id").first()
    assert edge is not None
    edge.parent_repo_id = RENAMED
    edge.save()
    child = edge.child
    families.refresh([child.pk])
    assessment.assess([child.pk])

    # Down: the same counts as before, on every page and endpoint, the aliased child included.
    assert assert_one_count(client, parent.repo_id) == before
    nodes = [n for g in client.get(f"/lineage/{MISTRAL}/").context["groups"] for n in g["nodes"]]
    below = {n["repo_id"]: n["children"] for n in nodes}
    assert below[parent.repo_id] == f"{sum(before.values()):,}"
    family = client.get(f"/families/{MISTRAL}/").context
    rows = {m.repo_id: dict(m.below) for g in family["groups"] for m in g["models"]}
    if parent.repo_id in rows:
        assert rows[parent.repo_id] == before
    deep = client.get(f"/api/v1/models/{MISTRAL}/lineage?direction=down&depth=2&limit=5000").json()
    reached = {n["id"]: n for n in deep["nodes"]}
    assert child.repo_id in reached
    assert reached[child.repo_id]["via"] in (parent.repo_id, MISTRAL)

    # Up: the API's walk, the license panel's ancestor list and the family column agree.
    up = client.get(f"/api/v1/models/{child.repo_id}/lineage?direction=up&depth=10").json()["nodes"]
    chain = [(n["id"], n["relation"], n["depth"]) for n in up]
    assert (parent.repo_id, edge.relation, 1) in chain and any(n["id"] == MISTRAL for n in up)
    shown = panel.panel_context(child)["path"]
    assert [(a["id"], a["relation"], a["depth"]) for a in shown] == chain
    explorer = client.get(f"/lineage/{child.repo_id}/").context["chain"]
    assert [(a["id"], a["relation"], a["depth"]) for a in explorer] == chain
    child.refresh_from_db()
    assert child.base_family == MISTRAL
    assert child.base_family in [a["id"] for a in lineage.ancestors(child)]


# --- Ids that differ only by case (found by QA over the bundled snapshot) -----------------
# The Hub's repo ids are case-insensitive: jondurbin/bagel-dpo-7b-v0.4's card and tags name
# "mistralai/mistral-7b-v0.1", which is mistralai/Mistral-7B-v0.1 on the Hub.
BAGEL = "jondurbin/bagel-dpo-7b-v0.4"
LOWER = "mistralai/mistral-7b-v0.1"


@pytest.fixture
def bagel(replay, hub_for):
    server = replay([str(DEMO / "demo-2024.jsonl.gz")], [str(DEMO / "demo-2025.jsonl.gz")])
    for target in ("Mistral-7B-v0.1", "bagel-dpo-7b-v0.4"):
        run, _ = runs.start(CrawlRun.Kind.SEARCH, target=target, endpoint=server.url)
        assert crawler.run_sync(run, hub=hub_for(server)).status == CrawlRun.Status.DONE
    assert HubModel.objects.filter(repo_id=MISTRAL).exists()
    assert LineageEdge.objects.filter(child__repo_id=BAGEL, parent_repo_id=LOWER).exists()
    return server


def test_a_parent_named_in_another_case_is_not_a_dead_link(client, bagel):
    """The child's page links its family as the card spells it; that page answered 404."""
    html = client.get(f"/models/{BAGEL}/").content.decode()
    assert f'href="/families/{LOWER}/"' in html or f'href="/families/{MISTRAL}/"' in html
    for page in ("models", "families", "lineage"):
        response = client.get(f"/{page}/{LOWER}/")
        assert response.status_code == 302, (page, response.status_code)
        assert response["Location"] == f"/{page}/{MISTRAL}/"


@pytest.mark.xfail(
    strict=True,
    reason="lineage.models_named and the child counts match ids exactly; "
    "a case-insensitive match needs an index on the lowered id (760k models)",
)
def test_a_parent_named_in_another_case_is_that_parent(client, bagel):
    """bagel's page says "lineage incomplete: mistralai/mistral-7b-v0.1 not crawled yet" though
    it is, and Mistral-7B-v0.1's pages do not count bagel among its fine-tunes."""
    html = client.get(f"/models/{BAGEL}/").content.decode()
    assert "not crawled yet" not in html
    counts = counts_everywhere(client, MISTRAL)
    assert all(c.get("finetune", 0) >= 1 for c in counts.values()), counts
