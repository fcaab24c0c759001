"""HEAD on the API is its GET without the body (config.head)."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url", ["/api/v1/models", "/api/v1/openapi.json"])
def test_head_answers_as_get_without_a_body(client, url):
    get, head = client.get(url), client.head(url)
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    assert head["Content-Length"] == str(len(get.content))
    assert head["Content-Type"] == get["Content-Type"]


def test_head_does_not_put_head_in_the_schema(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert not any("head" in ops for ops in paths.values())
