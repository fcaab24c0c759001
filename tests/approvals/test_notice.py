"""The NOTICE bundle writes each license's own required texts (the real crawled Llama-2 family).

A bug once found: the Llama 2 bundle said "Attribution: Built with Llama", a Llama 3.1+ duty taken
from a family-wide table; the Llama 2 license requires only its Notice line (§1.b.iii)."""

from __future__ import annotations

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.django_db
CHILD = "TheBloke/Llama-2-7B-Chat-GGUF"  # a quantization of ROOT
LLAMA2_NOTICE = (
    "Llama 2 is licensed under the LLAMA 2 Community License, Copyright (c) Meta Platforms, Inc. "
    "All Rights Reserved."
)


@pytest.mark.parametrize("repo_id", [ROOT, CHILD])
def test_the_llama2_notice_has_its_notice_line_and_no_built_with(family, users, client, repo_id):
    client.force_login(users["viewer"])
    notice = client.get(f"/approvals/notice/{repo_id}/").content.decode()
    assert LLAMA2_NOTICE in notice
    assert "Built with" not in notice  # Llama 3 and 3.1+ only
    assert "name prefix" not in notice.lower() and "Naming" not in notice


def test_the_notice_names_the_ancestors_it_cannot_read_instead_of_dropping_them(
    family, users, client
):
    """A merge of the Llama-2 root and allenai/tulu-2-dpo-7b, which the catalog does not hold:
    the NOTICE must say that tulu's license and obligations are not in it, not read as if the
    model had only the ancestors listed."""
    client.force_login(users["viewer"])
    notice = client.get("/approvals/notice/antoandgar/SVD_Franken_merge1/").content.decode()
    head = notice.split("=" * 78)[0]
    assert LLAMA2_NOTICE in head
    assert "allenai/tulu-2-dpo-7b: not in the catalog" in head, head


def test_the_check_api_says_when_its_obligations_miss_an_ancestor(family, users, client):
    from approvals.models import ApiToken

    _, token = ApiToken.issue(users["viewer"], name="ci", scopes=["check"])
    answer = client.get("/api/v1/check", {"model": "antoandgar/SVD_Franken_merge1",
                                          "use": "internal_tool"},
                        headers={"Authorization": f"Bearer {token}"}).json()  # fmt: skip
    rows = {(o["license"], o["code"]): o["text"] for o in answer["obligations"]}
    assert rows[("llama2", "notice_file")] == LLAMA2_NOTICE  # the ancestor it holds is read
    assert answer.get("obligations_complete") is False
