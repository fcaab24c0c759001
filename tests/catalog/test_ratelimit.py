"""The Hub's RateLimit headers, read in linear time whatever they hold."""

import httpx2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalog.ratelimit import MAX_QUOTA, Announced, read
from tests.adversarial import GROWTH_BOUND, MB, growth

HUB = {"ratelimit": '"api";r=0;t=55', "ratelimit-policy": '"fixed window";"api";q=500;w=300'}


def test_the_hubs_documented_headers():
    assert read(HUB) == [Announced("api", remaining=0, reset=55, quota=500, window=300)]


def test_hubreplay_announces_every_answer(replay):
    server = replay(["family.jsonl.gz"], api_budget=20, window=2)
    for path in ("/api/models?limit=1", "/api/models/no/such-model"):
        (announced,) = read(httpx2.get(server.url + path).headers)
        assert announced.bucket == "api" and announced.quota == 20 and announced.window == 2
        assert announced.remaining is not None and 0 < announced.reset <= 2
    unlimited = replay(["family.jsonl.gz"])
    assert read(httpx2.get(f"{unlimited.url}/api/models?limit=1").headers)[0].quota == MAX_QUOTA


def test_several_buckets_each_with_its_own_policy():
    headers = {
        "RateLimit": '"resolvers";r=10;t=3, "api";r=7;t=4, "pages";r=1;t=1',
        "RateLimit-Policy": '"fixed window";"api";q=500;w=300, "fixed window";"resolvers";q=3000;w=300',
    }
    assert sorted(read(headers), key=lambda a: a.bucket) == [
        Announced("api", 7, 4, 500, 300),
        Announced("resolvers", 10, 3, 3000, 300),
    ]  # "pages" (HTML pages) is not a bucket of ours


def test_a_policy_without_a_usable_quota_or_window_is_not_taken():
    for policy in ("q=500", '"api";w=300', '"api";q=0;w=300', '"api";q=500;w=0', '"api";q=-5;w=3',
                   '"api";q=500;w=999999999', '"api";q=5e2;w=300', '"api";q=١٢;w=300'):  # fmt: skip
        (announced,) = read({"ratelimit": '"api";r=3;t=2', "ratelimit-policy": policy})
        assert announced.quota is None and announced.window is None and announced.remaining == 3


def test_huge_numbers_are_bounded():
    (a,) = read(
        {"ratelimit": '"api";r=99999999999;t=99999', "ratelimit-policy": '"api";q=99999999999;w=60'}
    )
    assert a.quota == a.remaining == MAX_QUOTA and a.reset == 60


def test_no_headers_no_announcement():
    assert read({}) == [] and read({"RateLimit": "garbage"}) == []


@given(st.text(), st.text())
def test_any_text_is_read_without_error(limit, policy):
    for a in read({"ratelimit": limit, "ratelimit-policy": policy}):
        assert a.bucket in ("api", "resolvers")
        assert a.quota is None or 0 < a.quota <= MAX_QUOTA


# huggingface_hub's policy regex `q=(\d+).*?w=(\d+)` is quadratic on many `q=` without `w=`.
@pytest.mark.parametrize("head, unit", [('"api";', "q=1"), ("", '"api'), ("", ";"), ("", ",")])
def test_an_adversarial_header_costs_in_proportion_to_its_length(head, unit):
    def header(n):
        return {"ratelimit": '"api";r=1;t=1', "ratelimit-policy": head + unit * (n // len(unit))}

    assert growth(read, header, MB)[1] < GROWTH_BOUND
