"""hubreplay's injected faults, each met by the unmodified huggingface_hub client (and httpx2)."""

import contextlib
import json
import os
import time
import urllib.request
from pathlib import Path

os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import httpx2  # noqa: E402
import pytest  # noqa: E402
from huggingface_hub import HfApi  # noqa: E402
from huggingface_hub.errors import HfHubHTTPError  # noqa: E402
from huggingface_hub.utils import parse_ratelimit_headers  # noqa: E402

from hubreplay import ReplayServer  # noqa: E402
from hubreplay.server import FAULT_KINDS  # noqa: E402

FIX = Path(__file__).parent / "fixtures"
LIST = str(FIX / "list_2024.jsonl.gz")
NEW = str(FIX / "rich_2025.jsonl.gz")
PHI = "microsoft/phi-2"  # not gated, with a README in the fixture


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = ReplayServer([[LIST, NEW]], port=0, index_dir=tmp_path_factory.mktemp("idx"))
    s.start()
    yield s
    s.stop()


@pytest.fixture(autouse=True)
def _no_faults(srv):
    yield
    srv.set_faults(every=None)
    srv.set_budget(api=None, resolvers=None, window=300)


def _info(srv):
    return httpx2.get(f"{srv.url}/api/models/{PHI}", timeout=5)


@pytest.mark.parametrize("kind", ["500", "502", "503"])
def test_server_errors(srv, kind):
    srv.set_faults(every=1, kinds=[kind])
    with pytest.raises(HfHubHTTPError) as ei:
        HfApi(endpoint=srv.url, token=False).model_info(PHI)
    assert ei.value.response.status_code == int(kind)
    assert srv.stats["faults"] == {kind: 1}


def test_429_says_the_bucket_is_spent_until_its_reset(srv):
    srv.set_budget(api=50, window=60)
    srv.set_faults(every=1, kinds=["429"], retry_after=7)
    with pytest.raises(HfHubHTTPError) as ei:
        HfApi(endpoint=srv.url, token=False).model_info(PHI)
    response = ei.value.response
    assert response.status_code == 429 and response.headers["Retry-After"] == "7"
    info = parse_ratelimit_headers(response.headers)
    assert info.resource_type == "api" and info.remaining == 0 and info.reset_in_seconds == 7
    assert info.limit == 50 and info.window_seconds == 60  # from RateLimit-Policy


def test_slow_answers_outlast_the_client_timeout(srv):
    srv.set_faults(every=1, kinds=["slow"], slow_seconds=1.5)
    t0 = time.monotonic()
    with pytest.raises(httpx2.ReadTimeout):
        httpx2.get(f"{srv.url}/api/models/{PHI}", timeout=0.5)
    assert time.monotonic() - t0 < 1.5
    srv.set_faults(every=None)
    assert _info(srv).status_code == 200  # the server is not stuck on the late answer


def test_a_reset_connection_answers_nothing(srv):
    srv.set_faults(every=1, kinds=["reset"])
    with pytest.raises((httpx2.ReadError, httpx2.RemoteProtocolError)):
        _info(srv)
    assert list(srv.request_log)[-1][2] == 0  # logged as "no answer"


def test_truncated_json_is_cut_with_its_own_length_or_the_whole_bodys(srv):
    srv.set_faults(every=1, kinds=["truncate"])
    seen = set()
    for limit in range(1, 13):  # different requests: the variant is drawn per request
        url = f"{srv.url}/api/models?limit={limit}"
        try:
            r = httpx2.get(url, timeout=5)
        except httpx2.RemoteProtocolError:
            seen.add("whole length, then closed")
            continue
        assert r.status_code == 200 and int(r.headers["Content-Length"]) == len(r.content)
        with pytest.raises(json.JSONDecodeError):
            json.loads(r.content)
        seen.add("own length")
    assert seen == {"whole length, then closed", "own length"}
    assert srv.stats["faults"] == {"truncate": 12}


def test_truncated_downloads_fail_the_clients_size_check(srv, tmp_path):
    srv.set_faults(every=1, kinds=["truncate_file"])
    api = HfApi(endpoint=srv.url, token=False)
    # Both variants (whichever this path draws): a short file with its own length fails the
    # size check against the HEAD; a cut body is resumed by the client and cut again, then fails.
    with pytest.raises((OSError, httpx2.RemoteProtocolError)):
        api.hf_hub_download(PHI, "README.md", cache_dir=tmp_path)
    assert set(srv.stats["faults"]) == {"truncate_file"}
    assert not list(tmp_path.rglob("snapshots/*/README.md"))  # nothing half-written is cached
    srv.set_faults(every=None)
    text = Path(api.hf_hub_download(PHI, "README.md", cache_dir=tmp_path)).read_text()
    assert text.startswith("---")


def test_the_same_seed_faults_the_same_requests(srv):
    def pattern(seed):
        srv.set_faults(rate=0.3, seed=seed, kinds=["500", "503"])
        return [_info(srv).status_code for _ in range(30)]

    first = pattern(1)
    assert 200 in first and {500, 503} & set(first)
    assert pattern(1) == first
    assert pattern(2) != first


def test_every_kind_fits_some_request(srv, tmp_path):
    srv.set_faults(rate=0.5, seed=3, kinds=FAULT_KINDS, slow_seconds=0.2)
    api = HfApi(endpoint=srv.url, token=False)
    for _ in range(80):
        with contextlib.suppress(Exception):  # a fault the client did not outlast
            api.model_info(PHI)
        with contextlib.suppress(Exception):
            api.hf_hub_download(PHI, "README.md", force_download=True, cache_dir=tmp_path)
    assert set(srv.stats["faults"]) == set(FAULT_KINDS)
    with pytest.raises(ValueError):
        srv.set_faults(rate=0.1, kinds=["teapot"])


def test_requests_are_counted_per_window(srv):
    srv.set_budget(api=3, window=1)
    for _ in range(5):
        _info(srv)  # 3 answered, 2 refused: every request that arrived counts
    stats = srv.stats["buckets"]["api"]
    assert stats["max_per_window"] == 5 and stats["quota"] == 3 and stats["window"] == 1
    time.sleep(1.1)
    assert _info(srv).status_code == 200
    with urllib.request.urlopen(f"{srv.url}/_replay/stats") as r:
        over_http = json.loads(r.read())
    assert over_http["buckets"]["api"]["max_per_window"] == 5
    assert over_http["buckets"]["api"]["this_window"] == 1
