"""Break session s5: a tampered `cursor` on GET /api/datasets (and /api/models, the same code)
is a client's error, answered 400 "Invalid cursor" as an undecodable one is; these answer 500
with the Python exception in the body.

BUG (hubreplay/server.py `_list`): `last = (c["v"], int(c["r"]))` checks neither the type of
"v" (a list or object reaches sqlite3 as a parameter: ProgrammingError) nor the size of "r" or
"v" (an integer past 64 bits: OverflowError)."""

import urllib.error
import urllib.request

import pytest

from hubreplay.server import _b64e


@pytest.fixture(scope="module")
def srv(datasets_srv):
    return datasets_srv


def _status(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


@pytest.mark.parametrize("kind", ["datasets", "models"])
@pytest.mark.parametrize(
    "cursor",
    [{"v": [1], "r": 1}, {"v": {"a": 1}, "r": 1}, {"v": 1, "r": 10**30}, {"v": 10**30, "r": 1}],
    ids=["v-list", "v-object", "r-huge", "v-huge"],
)
def test_break_a_tampered_cursor_is_a_400_not_a_500(srv, kind, cursor):
    status, body = _status(f"{srv.url}/api/{kind}?cursor={_b64e(cursor)}")
    assert status == 400, body
