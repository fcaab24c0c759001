"""The network boundary: every Hub call goes through huggingface_hub, from this module only.

Listing pages are fetched one at a time (the client's own `http_backoff`, `hf_raise_for_status`
and `ModelInfo`, as `HfApi.list_models` does) because a crawl checkpoints the `Link` cursor
between pages, which `list_models`' generator does not expose. Every request, whichever client
call makes it, first takes a slot from the shared `Budget` (an httpx2 request hook installed
with `set_client_factory`), and every response's `RateLimit` headers (the quota the Hub
announces, what remains of it) are fed back to the budget, for every worker.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import orjson
from django.conf import settings
from huggingface_hub import HfApi, set_client_factory
from huggingface_hub.errors import (
    EntryNotFoundError,
    GatedRepoError,
    HfHubHTTPError,
    LocalEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.hf_api import DatasetInfo, ModelInfo
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
    "config",  # a PEFT adapter's base (config.peft), the architecture and tokenizer
]  # fmt: skip
DETAIL_EXPAND = [*LIST_EXPAND, "baseModels"]
# What the catalog stores of a dataset (catalog.datasets): its license is in its tags and card.
DATASET_EXPAND = [
    "author", "sha", "lastModified", "private", "disabled", "gated", "downloads", "tags",
    "cardData",
]  # fmt: skip
# OSErrors of a file name the Hub chose (a 1,000-character commit): the record's, not the network's.
UNWRITABLE_NAME = {errno.ENAMETOOLONG, errno.EILSEQ, errno.EINVAL}
TRANSIENT_STATUS = {408, 429, 500, 502, 503, 504}
# Answers cut short or garbled on the way (a dropped connection, a proxy): asked again this many
# times, CANOPY_HUB_BACKOFF_SECONDS apart and more, before the caller is told the Hub is unavailable.
GARBLED_ATTEMPTS = 3


class HubUnavailable(Exception):
    """A transient failure (429, 5xx, network) that outlasted our retries: try again later."""


class ModelNotFound(Exception):
    pass


class ModelRefused(Exception):
    """A non-transient 4xx answer about one model (400, 403, ...): that model's, not the run's."""


# Statuses of one model's answer that say nothing of the Hub or our credentials (401 does).
GONE_STATUS = {404, 410}


# Key of a record stood in for by its id because its JSON could not be parsed (ingest and
# model_info quarantine it with this error).
UNPARSED = "__canopy_unparsed__"
_ID = re.compile(r'"id"\s*:\s*"((?:[^"\\]|\\.){1,200})"')


def _loads(content: bytes) -> Any:
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        pass
    try:
        # orjson refuses lone surrogate escapes ("\ud800"), which are valid JSON: the standard
        # parser reads them (catalog.records cleans them out); a cut body fails both.
        return json.loads(content)
    except json.JSONDecodeError:
        raise
    except (ValueError, RecursionError):
        # Valid JSON past Python's limits (an integer over 4,300 digits, nesting past the
        # recursion limit). Lifting those limits is process-wide and deep nesting can still
        # exhaust the C stack, so the body is split into its records instead: each parsed
        # alone, one that still fails stood in for by its id and the error (quarantined).
        return _split(content.decode("utf-8", "surrogatepass"))


def _split(text: str) -> Any:
    """The top-level array or object `text`, its unparseable records as UNPARSED stand-ins;
    ValueError when the text is not complete (a body cut short is garbled, as before)."""
    body = text.strip()
    if body.startswith("{"):
        return _one(body)
    if not body.startswith("[") or not body.endswith("]"):
        raise ValueError("not a complete JSON array or object")
    items, depth, start, in_str, esc = [], 0, 1, False, False
    for i, ch in enumerate(body):  # linear: one pass, strings and escapes skipped
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
            if depth == 0 and i == len(body) - 1 and body[start:i].strip():
                items.append(_one(body[start:i]))
        elif ch == "," and depth == 1:
            items.append(_one(body[start:i]))
            start = i + 1
    if depth != 0 or in_str:
        raise ValueError("unbalanced JSON")
    return items


def _one(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except (ValueError, RecursionError) as exc:
        found = _ID.search(text)  # the Hub writes `_id` and `id` first
        repo_id = json.loads(f'"{found.group(1)}"') if found else ""
        return {"id": repo_id, UNPARSED: f"{type(exc).__name__}: {str(exc)[:200]}"}


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


def _take_slot(request: httpx2.Request) -> None:
    budget, bucket = _budget.get(), _bucket(request.url)
    if budget is not None and bucket:
        budget.acquire(bucket)


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
        seconds = settings.CANOPY_HUB_TIMEOUT_SECONDS
        return httpx2.Client(
            event_hooks={
                "request": [hf_request_event_hook, _take_slot],
                "response": [_read_limits],
            },
            follow_redirects=True,
            timeout=httpx2.Timeout(seconds, connect=min(10.0, seconds)),
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
        """GET with the client's backoff (429 waits out RateLimit/Retry-After, 5xx and network
        errors back off); what is still failing after that is HubUnavailable."""
        try:
            with self._budgeted():
                response = http_backoff(
                    "GET", url, params=params, headers=self._headers(),
                    max_retries=settings.CANOPY_HUB_RETRIES,
                    base_wait_time=settings.CANOPY_HUB_BACKOFF_SECONDS,
                )  # fmt: skip
            hf_raise_for_status(response)
        except (RepositoryNotFoundError, EntryNotFoundError):
            raise
        except HfHubHTTPError as exc:
            status = exc.response.status_code if exc.response is not None else None
            if status in TRANSIENT_STATUS:
                raise HubUnavailable(f"{status} from {url}: {exc}") from exc
            raise
        except httpx2.HTTPError as exc:
            # Timeouts, resets, a body cut short (RemoteProtocolError): the network, not the record.
            raise HubUnavailable(f"{type(exc).__name__} on {url}: {exc}") from exc
        return response

    def _get_json(
        self, url: str, params: dict[str, Any] | None = None
    ) -> tuple[Any, httpx2.Response]:
        """_get and the answer's JSON. A body cut short or that does not parse (the Hub sends
        JSON) was garbled on the way: asked again, never stored, at last HubUnavailable.
        (http_backoff already retries statuses, timeouts and resets, but not these.)"""
        for attempt in range(GARBLED_ATTEMPTS):
            try:
                response = self._get(url, params)
                return _loads(response.content), response
            except ValueError as exc:
                error = f"undecodable answer from {url}: {exc}"
            except HubUnavailable as exc:
                if not isinstance(exc.__cause__, httpx2.RemoteProtocolError):
                    raise
                error = str(exc)
            if attempt < GARBLED_ATTEMPTS - 1:
                time.sleep(_backoff(attempt))
        raise HubUnavailable(error)

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
        items, response = self._get_json(
            url or f"{self.endpoint}/api/models", None if url else params
        )
        if not isinstance(items, list):
            raise HubUnavailable(f"GET /api/models answered {type(items).__name__}, not a list")
        return Page(items=items, next_url=response.links.get("next", {}).get("url"))

    def datasets_url(self) -> str:
        """The first page of the whole dataset listing (a run keeps the next page's URL)."""
        params = {"limit": settings.CANOPY_HUB_PAGE_SIZE, "expand": DATASET_EXPAND}
        return str(httpx2.URL(f"{self.endpoint}/api/datasets", params=params))

    def dataset_page(self, url: str) -> Page:
        """One page of GET /api/datasets, as list_datasets reads it (raw items, as list_page)."""
        items, response = self._get_json(url)
        if not isinstance(items, list):
            raise HubUnavailable(f"GET /api/datasets answered {type(items).__name__}, not a list")
        return Page(items=items, next_url=response.links.get("next", {}).get("url"))

    def dataset_info(self, repo_id: str) -> dict[str, Any]:
        """One dataset's record: `HfApi.dataset_info`'s request, checked with the client's
        DatasetInfo, kept raw. ModelNotFound when the Hub has none (the name says "repo")."""
        return self._info("datasets", repo_id, DATASET_EXPAND, DatasetInfo)

    def model_info(self, repo_id: str) -> dict[str, Any]:
        """The full record of one model: `HfApi.model_info`'s request plus our retries.

        The answer is checked with the client's `ModelInfo`, as model_info would, but kept raw.
        """
        return self._info("models", repo_id, DETAIL_EXPAND, ModelInfo)

    def _info(self, kind: str, repo_id: str, expand: list[str], check: type) -> dict[str, Any]:
        """GET /api/{kind}/{repo_id}: one repo's record, refused by the client's `check` class
        (ModelInfo, DatasetInfo) or not; whatever concerns this id only is said per id."""
        call = f"{kind[:-1]}_info of {repo_id}"
        if any(part in ("", ".", "..") for part in repo_id.split("/")):
            # The URL would resolve the dot segment ("org/.." asks for /api/models/, the
            # listing) or the empty one: no answer could be this repo's.
            raise ModelRefused(f"{repo_id!r} cannot be asked for by URL")
        url = f"{self.endpoint}/api/{kind}/{repo_id}"
        try:
            item, _ = self._get_json(url, {"expand": expand})
        except RepositoryNotFoundError as exc:
            raise ModelNotFound(repo_id) from exc
        except HfHubHTTPError as exc:
            # A plain 404 (no RepoNotFound code: an id the Hub's router reads otherwise, as
            # "a/b/c") or another 4xx concerns this id only: the run goes on without it.
            status = exc.response.status_code if exc.response is not None else None
            if status in GONE_STATUS:
                raise ModelNotFound(repo_id) from exc
            if status is not None and 400 <= status < 500 and status != 401:
                raise ModelRefused(f"{status} from {call}: {exc}") from exc
            raise
        if isinstance(item, dict) and UNPARSED in item:
            raise MalformedModelInfo(f"{call}: {item[UNPARSED]}", item)
        if not isinstance(item, dict):
            raise MalformedModelInfo(f"{call} answered {type(item).__name__}, not an object", item)
        try:
            check(**item)
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            raise MalformedModelInfo(
                f"{check.__name__} refused it: {type(exc).__name__}: {exc}", item
            ) from exc
        return item

    def read_file(self, repo_id: str, path: str, *, revision: str | None = None) -> tuple[str, str]:
        """Text and etag of one small repo file (README, LICENSE...), via hf_hub_download.

        A download that fails on the way (5xx, 429, a timeout or reset, a body cut short, a file
        whose bytes do not hash to its etag) is tried again; still failing, HubUnavailable.
        """
        cache = Path(settings.DATA_DIR) / "hf-cache"
        for attempt in range(4):
            try:
                with self._budgeted():
                    local = self.api.hf_hub_download(
                        repo_id, path, revision=revision or None, cache_dir=cache
                    )
                data, etag = _verified(Path(local))
                return data.decode("utf-8", errors="replace"), etag
            except LocalEntryNotFoundError as exc:
                # The HEAD failed (5xx, 429, timeout) and nothing is cached: not a missing file.
                cause: BaseException = exc.__cause__ or exc
                error = f"{type(cause).__name__} looking up {repo_id}/{path}: {cause}"
                wait = _wait_for(cause, attempt)
            except (GatedRepoError, EntryNotFoundError, RepositoryNotFoundError):
                raise
            except RevisionNotFoundError:
                raise  # the record names a commit the repo does not have: not transient
            except HfHubHTTPError as exc:
                status = exc.response.status_code if exc.response is not None else None
                if status not in TRANSIENT_STATUS:
                    raise HubUnavailable(f"{status} downloading {repo_id}/{path}") from exc
                error, wait = f"{status} downloading {repo_id}/{path}", _wait_for(exc, attempt)
            except OSError as exc:
                if exc.errno in UNWRITABLE_NAME:
                    raise  # the client names cache files after the commit: a hostile one can't be
                # hf_hub_download's size check ("Consistency check failed"), or ours.
                error, wait = (
                    f"{type(exc).__name__} downloading {repo_id}/{path}: {exc}",
                    _backoff(attempt),
                )
            except httpx2.HTTPError as exc:
                error, wait = (
                    f"{type(exc).__name__} downloading {repo_id}/{path}: {exc}",
                    _backoff(attempt),
                )
            if attempt == 3:
                raise HubUnavailable(error)
            time.sleep(wait)
        raise AssertionError("unreachable")


def _backoff(attempt: int) -> float:
    return settings.CANOPY_HUB_BACKOFF_SECONDS * 2**attempt


def _wait_for(exc: BaseException, attempt: int) -> float:
    """A spent bucket's reset (RateLimit r=0), else exponential backoff."""
    response = getattr(exc, "response", None)
    info = parse_ratelimit_headers(response.headers) if response is not None else None
    return (info.reset_in_seconds + 1) if info and info.remaining == 0 else _backoff(attempt)


def _verified(local: Path) -> tuple[bytes, str]:
    """The cached file's bytes and etag, if they hash to it (a git blob sha1, or an LFS sha256).

    hf_hub_download checks the size; bytes that are the right size but not the file, or a
    cache written by an older client, are dropped here so the next attempt downloads again.
    """
    blob = local.resolve()
    data, etag = blob.read_bytes(), blob.name
    if len(etag) == 40:
        digest = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
    elif len(etag) == 64:
        digest = hashlib.sha256(data).hexdigest()
    else:
        return data, etag  # not a content hash: nothing to check against
    if digest != etag:
        local.unlink(missing_ok=True)
        blob.unlink(missing_ok=True)
        raise OSError(f"{local.name}: content does not match its etag {etag}")
    return data, etag
