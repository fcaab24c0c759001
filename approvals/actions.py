"""The model page's approval actions (registered with catalog.actions in apps.py): request an
approval with the form prefilled, the NOTICE bundle, and the check API's curl line."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode

from django.http import HttpRequest
from django.urls import reverse

from catalog.actions import Action
from catalog.models import HubModel

from . import review
from .models import IntendedUse

TOKEN = "cnp_YOUR_TOKEN"  # a placeholder: tokens are issued in the admin or through the API


def for_model(request: HttpRequest, model: HubModel) -> Iterator[Action]:
    query = urlencode({"model": model.repo_id}, safe="/")
    if request.user.is_authenticated and not review.can_request(request.user):
        yield Action("Request approval", note="your role may not request approvals")
    else:  # signed out, the link leads through the login
        yield Action("Request approval", url=f"{reverse('approvals:request_new')}?{query}",
                     note="the request form, with this model filled in")  # fmt: skip
    yield Action("NOTICE", url=reverse("approvals:notice", args=[model.repo_id]),
                 note="attribution lines, obligations and license texts of its lineage")  # fmt: skip
    check = request.build_absolute_uri(reverse("api-v1:check"))
    query = urlencode({"model": model.repo_id, "use": IntendedUse.INTERNAL_TOOL}, safe="/")
    yield Action("Check from a pipeline", command=(
        f"curl -H 'Authorization: Bearer {TOKEN}' '{check}?{query}'"),
        note="may this model be used now? (a token with the check scope)")  # fmt: skip
