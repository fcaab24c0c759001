"""Where a model lives on the Hugging Face Hub, and whether this catalog was read from it.

The one place that decides a link to the Hub. The catalog may have been crawled from a replay
(hubreplay on loopback, offline) or a mirror: those serve the Hub's API, not its pages, so a
link built from the crawl endpoint 404s. A link therefore always goes to the real Hub's page
for an id the Hub can have (checked with huggingface_hub's own rule: hostile records hold
anything), and a page says when the catalog came from somewhere else, because what the Hub
shows today may differ from the recorded snapshot, or be gone."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from huggingface_hub.errors import HFValidationError
from huggingface_hub.utils import validate_repo_id

HUB = "https://huggingface.co"
HUB_HOSTS = {"huggingface.co", "www.huggingface.co", "hf.co"}


def url(repo_id: str, *, kind: str = "") -> str:
    """The repo's page on the real Hub (a model's; kind="datasets": a dataset's), or "" for an
    id the Hub cannot have."""
    if not isinstance(repo_id, str) or repo_id.count("/") > 1:
        return ""
    try:
        validate_repo_id(repo_id)
    except HFValidationError:
        return ""
    return f"{HUB}/{kind}/{repo_id}" if kind else f"{HUB}/{repo_id}"


def is_replay(endpoint: str) -> bool:
    """Whether an endpoint is anything but the Hub itself: a replay, loopback, a mirror."""
    return (urlsplit(endpoint).hostname or "").lower() not in HUB_HOSTS


@dataclass(frozen=True)
class Source:
    endpoint: str  # where the catalog was crawled from
    replay: bool


def source(latest: str | None) -> Source:
    """Where the catalog came from: `latest`, the endpoint of the latest crawl
    (CrawlRun.latest_endpoint), or the settings' before any."""
    endpoint = (latest or settings.HF_ENDPOINT).rstrip("/")
    return Source(endpoint, is_replay(endpoint))
