"""What people can do with a model from its page, offered by the apps above the catalog.

The catalog sits below approvals and does not import it (it still imports licenses in places:
docs/architecture.md lists them); an app that acts on models
(approvals: request, NOTICE, the check API) registers a provider in its AppConfig.ready(), and
the model page lists what the providers give for the model and the request in hand."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.http import HttpRequest

from .models import HubModel


@dataclass(frozen=True)
class Action:
    label: str
    url: str = ""  # a link, or
    command: str = ""  # a command line to copy (the check API's curl)
    note: str = ""


Provider = Callable[[HttpRequest, HubModel], Iterable[Action]]
_providers: list[Provider] = []


def provide(provider: Provider) -> Provider:
    """Register a provider of model actions (once: a second registration is ignored)."""
    if provider not in _providers:
        _providers.append(provider)
    return provider


def for_model(request: HttpRequest, model: HubModel) -> list[Action]:
    return [action for provider in _providers for action in provider(request, model)]
