"""The network boundary: every Hub call goes through huggingface_hub, from this module only.

Listing pages are fetched one at a time (the client's own `http_backoff`, `hf_raise_for_status`
and `ModelInfo`, as `HfApi.list_models` does) because a crawl checkpoints the `Link` cursor
between pages, which `list_models`' generator does not expose. Every request, whichever client
call makes it, first takes a slot from the shared `Budget` (an httpx2 request hook installed
with `set_client_factory`), and every response's `RateLimit` headers (the quota the Hub
announces, what remains of it) are fed back to the budget, for every worker.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx2
import orjson
from django.conf import settings
from huggingface_hub import HfApi, set_client_factory
from huggingface_hub.errors import (
    EntryNotFoundError,
    GatedRepoError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.hf_api import ModelInfo
from huggingface_hub.utils import (
    build_hf_headers,
    hf_raise_for_status,
    http_backoff,
    parse_ratelimit_headers,
)
from huggingface_hub.utils._http import hf_request_event_hook

from . import ratelimit
from .budget import Budget

log = logging.getLogger(__name__)

# What the catalog stores of a listed model; the Hub answers only `_id`, `id` and these.
LIST_EXPAND = [
    "author", "sha", "lastModified", "createdAt", "private", "disabled", "gated", "downloads",
    "likes", "tags", "library_name", "pipeline_tag", "cardData", "siblings", "safetensors", "gguf",
]  # fmt: skip
DETAIL_EXPAND = [*LIST_EXPAND, "baseModels"]
TRANSIENT_STATUS = {408, 429, 500, 502, 503, 504}


class HubUnavailable(Exception):
    """A transient failure (429, 5xx, network) that outlasted our retries: try again later."""


class ModelNotFound(Exception):
    pass


class MalformedModelInfo(ValueError):
    """A model_info answer the client's ModelInfo refuses; `record` is the answer as sent."""

    def __init__(self, message: str, record: Any):
        super().__init__(message)
        self.record = record


@dataclass
class Page:
    items: list[dict[str, Any]]
    next_url: str | None


def _bucket(url: httpx2.URL) -> str | None:
    if "/resolve/" in url.path:
        return "resolvers"
    if url.path.startswith("/api/"):
        return "api"
    return None


# The budget of the Hub call in progress: set by `Hub` around its calls, so that other users
# of huggingface_hub in the same process (a shell, a test) are not rationed.
_budget: ContextVar[Budget | None] = ContextVar("canopy_hub_budget", default=None)
_installed = False
request_counts = {"api": 0, "resolvers": 0}


def _take_slot(request: httpx2.Request) -> None:
    budget, bucket = _budget.get(), _bucket(request.url)
    if budget is not None and bucket:
        budget.acquire(bucket)
        request_counts[bucket] += 1


def _read_limits(response: httpx2.Response) -> None:
    """Every Hub answer says its bucket's quota and what remains: the budget follows both."""
    budget = _budget.get()
    if budget is not None and _bucket(response.request.url):
        for announced in ratelimit.read(response.headers):
            budget.observe(announced)


def install_hooks() -> None:
    """Make huggingface_hub's shared client ask the budget before each request."""
    global _installed
    if _installed:
        return
    _installed = True

    def factory() -> httpx2.Client:
        return httpx2.Client(
            event_hooks={
                "request": [hf_request_event_hook, _take_slot],
                "response": [_read_limits],
            },
            follow_redirects=True,
            timeout=httpx2.Timeout(60.0, connect=10.0),
        )

    set_client_factory(factory)


class Hub:
    def __init__(self, endpoint: str | None = None, token: str | None = None):
        self.endpoint = (endpoint or settings.HF_ENDPOINT).rstrip("/")
        self.token = token if token is not None else settings.HF_TOKEN
        self.api = HfApi(endpoint=self.endpoint, token=self.token or False)
        self.budget = Budget()
        install_hooks()

    @contextmanager
    def _budgeted(self) -> Iterator[None]:
        reset = _budget.set(self.budget)
        try:
            yield
        finally:
            _budget.reset(reset)

    def _headers(self) -> dict[str, str]:
        return build_hf_headers(token=self.token or False)

    def _get(self, url: str, params: dict[str, Any] | None = None) -> httpx2.Response:
        """GET with the client's backoff (429 waits out RateLimit/Retry-After, 5xx backs off)."""
        try:
            with self._budgeted():
                response = http_backoff(
                    "GET", url, params=params, headers=self._headers(),
                    max_retries=settings.CANOPY_HUB_RETRIES,
                )  # fmt: skip
            hf_raise_for_status(response)
        except (RepositoryNotFoundError, EntryNotFoundError):
            raise
        except HfHubHTTPError as exc:
            status = exc.response.status_code if exc.response is not None else None
            if status in TRANSIENT_STATUS:
                raise HubUnavailable(f"{status} from {url}: {exc}") from exc
            raise
        except (httpx2.TransportError, httpx2.RemoteProtocolError) as exc:
            raise HubUnavailable(f"{type(exc).__name__} on {url}: {exc}") from exc
        return response

    def list_params(
        self,
        *,
        sort: str = "downloads",
        author: str = "",
        search: str = "",
        filters: list[str] | None = None,
        page_size: int | None = None,
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"sort": sort, "limit": page_size or settings.CANOPY_HUB_PAGE_SIZE}
        if author:
            params["author"] = author
        if search:
            params["search"] = search
        if filters:
            params["filter"] = filters
        params["expand"] = LIST_EXPAND
        return params

    def list_page(self, *, url: str | None = None, params: dict[str, Any] | None = None) -> Page:
        """One page of GET /api/models: the first from `params`, a later one from its `url`.

        Items stay the Hub's JSON objects: catalog.records reads them directly, which costs a
        third of building a `ModelInfo` per item on a 760,000-model crawl.
        """
        response = self._get(url or f"{self.endpoint}/api/models", None if url else params)
        try:
            items = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            # orjson refuses lone surrogate escapes ("\ud800"), which are valid JSON: the
            # standard parser reads them, and catalog.records cleans them out.
            items = json.loads(response.content)
        if not isinstance(items, list):
            raise HubUnavailable(f"GET /api/models answered {type(items).__name__}, not a list")
        return Page(items=items, next_url=response.links.get("next", {}).get("url"))

    def model_info(self, repo_id: str) -> dict[str, Any]:
        """The full record of one model: `HfApi.model_info`'s request plus our retries.

        The answer is checked with the client's `ModelInfo`, as model_info would, but kept raw.
        """
        url = f"{self.endpoint}/api/models/{repo_id}"
        try:
            response = self._get(url, {"expand": DETAIL_EXPAND})
        except RepositoryNotFoundError as exc:
            raise ModelNotFound(repo_id) from exc
        try:
            item = json.loads(response.content)  # lone surrogate escapes read, as listings
        except ValueError as exc:
            # Cut short (a dropped connection, a proxy): the next try gets it whole. Only a
            # complete answer that ModelInfo refuses is the record's own fault.
            raise HubUnavailable(
                f"model_info {repo_id}: the answer is not complete JSON: {exc}"
            ) from exc
        try:
            ModelInfo(**item)
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            raise MalformedModelInfo(
                f"ModelInfo refused it: {type(exc).__name__}: {exc}", item
            ) from exc
        return item

    def read_file(self, repo_id: str, path: str, *, revision: str | None = None) -> tuple[str, str]:
        """Text and etag of one small repo file (README, LICENSE...), via hf_hub_download."""
        cache = Path(settings.DATA_DIR) / "hf-cache"
        for attempt in range(4):
            try:
                with self._budgeted():
                    local = self.api.hf_hub_download(
                        repo_id, path, revision=revision or None, cache_dir=cache
                    )
                break
            except (GatedRepoError, EntryNotFoundError, RepositoryNotFoundError):
                raise
            except RevisionNotFoundError:
                raise  # the record names a commit the repo does not have: not transient
            except HfHubHTTPError as exc:
                status = exc.response.status_code if exc.response is not None else None
                if status not in TRANSIENT_STATUS or attempt == 3:
                    raise HubUnavailable(f"{status} downloading {repo_id}/{path}") from exc
                info = parse_ratelimit_headers(exc.response.headers) if exc.response else None
                time.sleep(
                    (info.reset_in_seconds + 1) if info and info.remaining == 0 else 2**attempt
                )
        text = Path(local).read_bytes().decode("utf-8", errors="replace")
        etag = Path(local).resolve().name
        return text, etag

    def file_url(self, repo_id: str, path: str, revision: str = "main") -> str:
        return f"{self.endpoint}/{repo_id}/resolve/{quote(revision, safe='')}/{quote(path)}"
