"""JSON API v1 over the crawled family fixture (crawled once per module, as in test_views)."""

import re

import pytest

from catalog.models import HubModel, LineageEdge, RepoAlias

pytestmark = pytest.mark.django_db

from tests.catalog.conftest import LEAF, MERGE, MIDDLE, ROOT  # noqa: E402

# --- /models -----------------------------------------------------------------------------


def test_the_model_list_is_a_page_of_items_with_a_count_and_a_next_link(client, family):
    body = client.get("/api/v1/models").json()
    assert set(body) == {"items", "count", "estimated", "next", "facets", "suggestions"}
    assert body["count"] == 150 and len(body["items"]) == 50
    assert body["next"] == "http://testserver/api/v1/models?page=2"
    first = body["items"][0]
    assert set(first) == {
        "id", "author", "downloads", "likes", "gated", "library_name", "pipeline_tag",
        "last_modified", "url", "base_relation", "base_family", "format", "memory_gb", "memory_guess",
        "verdict",
        "effective", "conflict", "lineage_status", "suspected_base", "duties_unmet",
        "data_commercial", "data_conflict",
    }  # fmt: skip
    assert first["id"] == ROOT and first["author"] == "meta-llama"
    assert first["url"] == f"/models/{ROOT}/"
    downloads = [i["downloads"] for i in body["items"]]
    assert downloads == sorted(downloads, reverse=True)


def test_following_next_walks_every_model_once(client, family):
    seen, url, pages = [], "/api/v1/models?page_size=40&sort=name", 0
    while url:
        body = client.get(url).json()
        seen += [i["id"] for i in body["items"]]
        url, pages = body["next"], pages + 1
        if url:
            assert url.startswith("http://testserver/api/v1/models?")
            assert "page_size=40" in url and "sort=name" in url
    assert pages == 4 and len(seen) == len(set(seen)) == 150
    assert seen == sorted(seen)


def test_the_last_page_has_no_next(client, family):
    body = client.get("/api/v1/models", {"page": 3}).json()
    assert len(body["items"]) == 50 and body["next"] is None
    assert client.get("/api/v1/models", {"page": 4}).json()["items"] == []


def test_q_filters_by_repo_id(client, family):
    body = client.get("/api/v1/models", {"q": "gguf", "page_size": 200}).json()
    expected = set(
        HubModel.objects.filter(repo_id__icontains="gguf").values_list("repo_id", flat=True)
    )
    assert body["count"] == len(expected) > 0 and body["next"] is None
    assert {i["id"] for i in body["items"]} == expected


def test_author_filters_by_author_and_combines_with_q(client, family):
    body = client.get("/api/v1/models", {"author": "TheBloke"}).json()
    assert body["count"] == HubModel.objects.filter(author="TheBloke").count() > 1
    assert {i["author"] for i in body["items"]} == {"TheBloke"}
    both = client.get("/api/v1/models", {"author": "TheBloke", "q": "gguf"}).json()
    assert [i["id"] for i in both["items"]] == ["TheBloke/Llama-2-7B-Chat-GGUF"]


def test_an_invalid_sort_is_rejected(client, family):
    assert client.get("/api/v1/models", {"sort": "random"}).status_code == 422


def test_page_size_is_bounded_as_the_schema_says(client, family):
    body = client.get("/api/v1/models", {"page_size": 200}).json()
    assert len(body["items"]) == 150 and body["next"] is None
    refused = client.get("/api/v1/models", {"page_size": 10_000})
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["page_size"]


# --- /models/<repo_id> -------------------------------------------------------------------


def test_a_model_has_its_metadata_parents_and_children_counts(client, family):
    root = HubModel.objects.get(repo_id=ROOT)
    response = client.get(f"/api/v1/models/{ROOT}")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == ROOT and body["author"] == "meta-llama"
    assert body["sha"] == root.sha and len(body["sha"]) == 40
    assert body["gated"] == "manual"
    assert body["downloads"] == 1_186_755 and body["likes"] == 4380
    assert "license:llama2" in body["tags"]
    assert body["aliases"] == []
    counts = {}
    for relation in LineageEdge.objects.filter(parent_repo_id=ROOT).values_list(
        "relation", flat=True
    ):
        counts[relation] = counts.get(relation, 0) + 1
    assert body["children_count"] == counts
    assert set(counts) == {"adapter", "finetune", "merge", "quantized"}
    assert sum(counts.values()) == 128


def test_a_models_parents_carry_their_relation(client, family):
    body = client.get(f"/api/v1/models/{LEAF}").json()
    assert [(p["id"], p["relation"], p["known"]) for p in body["parents"]] == [
        (MIDDLE, "finetune", True)
    ]
    assert body["children_count"] == {}
    middle = client.get(f"/api/v1/models/{MIDDLE}").json()
    assert middle["children_count"] == {"finetune": 17}


def test_parents_that_are_not_crawled_are_listed_as_unknown(client, family):
    parents = client.get(f"/api/v1/models/{MERGE}").json()["parents"]
    assert {(p["id"], p["relation"], p["known"]) for p in parents} == {
        (ROOT, "merge", True),
        ("allenai/tulu-2-dpo-7b", "merge", False),
    }


def test_an_old_id_answers_with_the_renamed_model(client, family):
    RepoAlias.objects.create(alias="tsavage68/old-name", model=HubModel.objects.get(repo_id=MIDDLE))
    body = client.get("/api/v1/models/tsavage68/old-name").json()
    assert body["id"] == MIDDLE and body["aliases"] == ["tsavage68/old-name"]
    lineage = client.get("/api/v1/models/tsavage68/old-name/lineage").json()
    assert lineage["id"] == MIDDLE


def test_an_unknown_model_is_404(client, family):
    assert client.get("/api/v1/models/nobody/nothing").status_code == 404
    assert client.get("/api/v1/models/nobody/nothing/lineage").status_code == 404


# --- /models/<repo_id>/lineage -----------------------------------------------------------


def test_lineage_up_walks_to_the_root(client, family):
    body = client.get(f"/api/v1/models/{LEAF}/lineage", {"direction": "up", "depth": 5}).json()
    assert body["id"] == LEAF and body["direction"] == "up" and body["depth"] == 5
    assert body["truncated"] is False
    nodes = [(n["id"], n["depth"], n["via"], n["known"]) for n in body["nodes"]]
    assert nodes[:2] == [(MIDDLE, 1, LEAF, True), (ROOT, 2, MIDDLE, True)]


def test_lineage_up_is_cut_at_the_depth_asked(client, family):
    body = client.get(f"/api/v1/models/{LEAF}/lineage", {"depth": 1}).json()
    assert body["direction"] == "up"  # the default
    assert [n["id"] for n in body["nodes"]] == [MIDDLE]


def test_lineage_down_lists_children_then_grandchildren(client, family):
    one = client.get(f"/api/v1/models/{ROOT}/lineage", {"direction": "down", "depth": 1}).json()
    assert len(one["nodes"]) == 128 and {n["depth"] for n in one["nodes"]} == {1}
    assert {n["via"] for n in one["nodes"]} == {ROOT}

    two = client.get(f"/api/v1/models/{ROOT}/lineage", {"direction": "down", "depth": 2}).json()
    deeper = [n for n in two["nodes"] if n["depth"] == 2]
    assert {"id": LEAF, "relation": "finetune", "depth": 2, "via": MIDDLE, "known": True} in deeper
    assert len(two["nodes"]) == len({n["id"] for n in two["nodes"]}) > 128


def test_lineage_down_says_when_it_is_truncated(client, family):
    body = client.get(f"/api/v1/models/{ROOT}/lineage", {"direction": "down", "limit": 10}).json()
    assert len(body["nodes"]) == 10 and body["truncated"] is True


@pytest.mark.parametrize(
    ("params", "status"),
    [({"depth": 0}, 422), ({"depth": 21}, 422), ({"direction": "sideways"}, 422)],
)
def test_lineage_rejects_bad_parameters(client, family, params, status):
    assert client.get(f"/api/v1/models/{ROOT}/lineage", params).status_code == status


# --- OpenAPI -----------------------------------------------------------------------------


def test_the_openapi_schema_is_openapi_3_and_lists_the_endpoints(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
    schema = response.json()
    assert re.fullmatch(r"3\.\d+\.\d+", schema["openapi"])
    assert schema["info"]["title"] == "Canopy API" and schema["info"]["version"] == "1"
    paths = schema["paths"]
    assert {
        "/api/v1/models",
        "/api/v1/models/{repo_id}",
        "/api/v1/models/{repo_id}/lineage",
    } <= set(paths)
    for path, operations in paths.items():
        for method, op in operations.items():
            assert method in {"get", "post", "put", "patch", "delete"}
            assert op["responses"] and op["operationId"], (path, method)
            for name in re.findall(r"{(\w+)}", path):
                assert any(
                    p["name"] == name and p["in"] == "path" and p["required"]
                    for p in op["parameters"]
                ), (path, name)
    # Every $ref points at a schema the document defines.
    defined = set(schema["components"]["schemas"])
    refs = set(re.findall(r'"#/components/schemas/([^"]+)"', response.content.decode()))
    assert refs and refs <= defined
    assert {"ModelPage", "ModelOut", "LineageOut"} <= defined


def test_the_api_docs_page_is_served(client):
    assert client.get("/api/v1/docs").status_code == 200
