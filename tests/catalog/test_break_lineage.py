"""Break session s5: the one alias rule of catalog.lineage ("an edge naming an old id means the
current model") on the cases the crawler can produce."""

import pytest

from catalog import lineage
from catalog.models import HubModel, LineageEdge, RepoAlias

pytestmark = pytest.mark.django_db


def _edge(child: HubModel, parent: str, relation: str = "finetune") -> None:
    LineageEdge.objects.create(
        child=child, parent_repo_id=parent, relation=relation, relation_source="default",
        origin="card",
    )  # fmt: skip


def test_break_an_alias_equal_to_a_crawled_id_means_one_parent_in_every_walk():
    """Found by a break-tester: nothing stops a RepoAlias from naming an id that a crawled row also has
    (RepoAlias.alias is unique only among aliases; steps.fetch_details writes
    alias=model.repo_id and leaves that row in place). Then an edge naming that id means the row
    going up (lineage.models_named: a model before an alias; so licenses.ancestry and the license
    panel) but the alias's model in up_map (current_ids: the alias always; so base_parent and
    base_family) and in the license graph (licenses.assessment: aliases update name_to_id last),
    and the child is a child of both going down (names_of / names)."""
    legacy = HubModel.objects.create(repo_id="gpt2", author="")
    canonical = HubModel.objects.create(repo_id="openai-community/gpt2", author="openai-community")
    RepoAlias.objects.create(alias="gpt2", model=canonical)
    child = HubModel.objects.create(repo_id="someone/gpt2-ft", author="someone")
    _edge(child, "gpt2")

    up = lineage.ancestors(child)[0]["id"]
    family = lineage.up_map([child.repo_id])[child.repo_id][0][0]
    assert up == family, (up, family)
    down = [m.repo_id for m in (legacy, canonical) if lineage.descendants(m)]
    assert len(down) == 1, down  # one parent has the child below it, not both
    assert sum(sum(lineage.children_counts(m).values()) for m in (legacy, canonical)) == 1


def test_break_a_card_naming_the_models_own_old_id_is_not_a_child_of_itself():
    """Found by a break-tester: edges_for drops a parent equal to the model's id, but not one equal to an alias of
    it: a renamed repo whose card still names its old id (the usual case: the card was written
    before the rename) gets an edge to itself through the alias, and the walks down count and
    list the model as its own child (children_counts, groups), where ancestors() skips it."""
    m = HubModel.objects.create(repo_id="org/new-name", author="org", downloads=5)
    RepoAlias.objects.create(alias="org/old-name", model=m)
    _edge(m, "org/old-name")

    assert lineage.ancestors(m) == []  # going up, the self-edge is skipped
    assert lineage.children_counts(m) == {}, lineage.children_counts(m)
    assert lineage.children_counts_of([m.repo_id]) == {}
    groups = lineage.groups(m, size=20, fields=("repo_id", "downloads"))
    assert [c.repo_id for g in groups for c in g["children"]] == []


@pytest.mark.parametrize("relation", ["finetune", "quantized"])
def test_break_a_group_lists_the_children_it_counts(relation):
    """Found by a break-tester: lineage.children_page reads a one-name model's children of a relation other than
    merge from HubModel (base_parent, base_relation), where children_counts counts the edges. A
    child with two parents whose edges say another relation (a card's base_model_relation
    "finetune" or "quantized" over two base_models; typed tags) has base_relation "merge"
    (families._relation: two parents are a merge) and base_parent its first parent: the group
    says 1 and lists nobody, on the model page (CHILDREN_SHOWN), the lineage explorer and the
    family page. Before this session the model page listed the group from the edges."""
    from catalog import families

    # What the crawler writes for such a card (ingest.write_edges -> lineage.edges_for):
    card = {"base_model": ["org/a", "org/b"], "base_model_relation": relation}
    edges = lineage.edges_for(repo_id="someone/ab", tags=[], library="", files=[], card=card,
                              base_models=None)  # fmt: skip
    assert {(e.parent, e.relation) for e in edges} == {("org/a", relation), ("org/b", relation)}
    a = HubModel.objects.create(repo_id="org/a", author="org")
    b = HubModel.objects.create(repo_id="org/b", author="org")
    child = HubModel.objects.create(repo_id="someone/ab", author="someone", downloads=3)
    _edge(child, a.repo_id, relation)
    _edge(child, b.repo_id, relation)
    families.refresh([a.pk, b.pk, child.pk])

    for parent in (a, b):
        groups = lineage.groups(parent, size=20, fields=("id", "repo_id", "downloads"))
        shown = {g["relation"]: (g["n"], [c.repo_id for c in g["children"]]) for g in groups}
        assert shown == {relation: (1, ["someone/ab"])}, (parent.repo_id, shown)


def test_break_a_deep_chain_has_one_family_whichever_pass_derives_it():
    """Found by a break-tester (older than its session: families' MAX_DEPTH moved into lineage.up_map): up_map
    stops after MAX_DEPTH levels, whole_up_map (the bulk pass) does not, so a chain deeper than
    20 gets a different base_family from families.refresh (the crawl's pass) than from
    families.refresh_all: the leaf's family is the 21st ancestor in one, the root in the other."""
    from catalog import families

    chain = [HubModel.objects.create(repo_id=f"org/m{i}", author="org") for i in range(25)]
    for parent, child in zip(chain, chain[1:], strict=False):
        _edge(child, parent.repo_id)
    leaf = chain[-1]
    families.refresh([leaf.pk])
    by_refresh = HubModel.objects.get(pk=leaf.pk).base_family
    families.refresh_all()
    by_bulk = HubModel.objects.get(pk=leaf.pk).base_family
    assert by_refresh == by_bulk == "org/m0", (by_refresh, by_bulk)
