"""A model_info answer cut short (its JSON unterminated) is a transient fault, retried; only a
complete JSON answer that ModelInfo refuses is a malformed record, quarantined."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx2
import pytest

from catalog import crawler, runs
from catalog import hub as hub_module
from catalog.hub import HubUnavailable
from catalog.models import CrawlRun, HubModel, QuarantinedRecord

pytestmark = pytest.mark.django_db


class Cutter:
    """A proxy in front of a hubreplay that cuts the body of the first `cuts` model_info
    answers in half (a complete HTTP answer of invalid JSON, as a connection dropped by a
    proxy would leave it) and passes everything else through unchanged."""

    def __init__(self, upstream: str, cuts: int):
        self.upstream, self.cuts, self.cut = upstream, cuts, 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                self._forward("GET")

            def do_HEAD(self):  # noqa: N802
                self._forward("HEAD")

            def _forward(self, method):
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                answer = httpx2.request(method, proxy.upstream + self.path, headers=headers)
                body = answer.content
                if self.path.startswith("/api/models/") and proxy.cut < proxy.cuts:
                    proxy.cut += 1
                    body = body[: len(body) // 2]
                self.send_response(answer.status_code)
                for name, value in answer.headers.items():
                    if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if method == "GET":
                    self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def cutter(replay):
    proxies = []

    def start(cuts):
        proxies.append(Cutter(replay(["family.jsonl.gz"]).url, cuts))
        return proxies[-1]

    yield start
    for proxy in proxies:
        proxy.close()


@pytest.fixture(autouse=True)
def _fast_retries(settings):
    settings.CANOPY_HUB_RETRIES = 0
    settings.CANOPY_CRAWL_BACKOFF_SECONDS = 0.05
    settings.CANOPY_CRAWL_RETRIES = 4
    settings.CANOPY_DETAILS_PER_RUN = 5
    settings.CANOPY_HUB_BACKOFF_SECONDS = 0.05  # a cut answer asked again 50 ms on, not 1 s


def test_a_cut_model_info_answer_is_transient(cutter, hub_for):
    # Asked again at once; cut every time, it is HubUnavailable (the step retries), never a
    # malformed record.
    proxy = cutter(cuts=1)
    hub = hub_for(proxy)
    assert hub.model_info("meta-llama/Llama-2-7b-chat-hf")["id"] == "meta-llama/Llama-2-7b-chat-hf"
    assert proxy.cut == 1
    proxy = cutter(cuts=hub_module.GARBLED_ATTEMPTS)
    with pytest.raises(HubUnavailable, match="undecodable answer"):
        hub_for(proxy).model_info("meta-llama/Llama-2-7b-chat-hf")


def test_a_crawl_whose_model_info_answers_are_cut_retries_and_quarantines_nothing(cutter, hub_for):
    proxy = cutter(cuts=2)
    run, _ = runs.start(CrawlRun.Kind.FULL, endpoint=proxy.url, limit=0)
    run = crawler.run_sync(run, hub=hub_for(proxy))
    assert run.status == "done" and proxy.cut == 2
    assert not QuarantinedRecord.objects.exists()
    assert run.details_fetched == 5
    assert HubModel.objects.exclude(details_key="").count() >= 5
