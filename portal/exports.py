"""CSV of the catalog view: the rows of a search, with the same GET parameters as /models/.

The catalog has about 760k models, so the export streams: one `values_list` query over the
columns the file needs (the search entry, a few catalog columns joined), read in chunks through a server-side cursor on
PostgreSQL, each row written as it comes. No model instance is ever built.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date
from urllib.parse import quote

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.urls import reverse

from catalog import hardware, hublink
from licenses.models import License

from . import search
from .forms import ModelSearchForm
from .models import SearchEntry

HEADER = [
    "repo_id", "author", "base_relation", "base_parent", "base_family", "declared_license",
    "own_verdict", "effective_verdict", "conflict", "lineage_status", "condition_codes", "weights_format", "quant",
    "quant_guess", "params_estimate", "params_guess", "memory_gb", "memory_guess", "downloads",
    "likes", "gated", "last_modified", "hub_url", "canopy_url",
]  # fmt: skip
# The columns read, in the order rows() unpacks them (condition codes and URL are derived).
FIELDS = (
    "repo_id", "author", "base_relation", "model__base_parent", "base_family", "declared",
    "verdict", "effective", "conflict", "lineage_status", "weights_format", "model__quant",
    "model__params_estimate", "model__params_source", "memory_gb", "downloads", "likes", "gated",
    "last_modified",
)  # fmt: skip
CHUNK = 2000


class _Echo:
    """A file-like whose write() hands the formatted line back, for csv.writer to stream."""

    def write(self, value: str) -> str:
        return value


def rows(data: dict, site: str = "") -> Iterator[list]:
    """The header, then one list per matching model in the page's order. Its URLs are the real
    Hub's page (catalog.hublink: never the endpoint crawled, a replay serves no page) and the
    model's page on this site, `site` being its scheme and host."""
    qs = search.ordered(search.apply(SearchEntry.objects.all(), data), data).values_list(*FIELDS)
    # The license table is a few hundred rows: its condition codes are joined here, not in SQL.
    codes = {
        key: "; ".join(c["code"] for c in conditions)
        for key, conditions in License.objects.values_list("key", "conditions")
    }
    # One reverse() for all rows: 760k of them would cost seconds.
    page = site + reverse("portal:model_detail", args=["x/y"]).replace("x/y", "{}", 1)
    yield HEADER
    for (
        repo_id, author, relation, parent, family, declared, verdict, effective, conflict,
        lineage_status, weights, quant, params, source, memory, downloads, likes, gated, modified,
    ) in qs.iterator(chunk_size=CHUNK):  # fmt: skip
        # Fact or guess as on the pages (catalog.hardware.facts), from the model's own columns.
        fact = hardware.facts({"quant": quant, "params_source": source,
                               "params_estimate": params, "memory_gb": memory})  # fmt: skip
        yield [
            repo_id, author, relation, parent, family, declared or "", verdict or "",
            effective or "", "" if conflict is None else ("yes" if conflict else "no"),
            lineage_status, codes.get(declared or "", ""), weights, fact.quant, _guess(fact.quant, fact.quant_guess),
            _blank(params), _guess(params, fact.params_guess), _blank(memory),
            _guess(memory, fact.memory_guess),
            downloads, likes, gated, modified.isoformat() if modified else "",
            hublink.url(repo_id), page.format(quote(repo_id, safe="/")),
        ]  # fmt: skip


def _guess(value: object, guess: bool) -> str:
    """yes / no beside a figure; blank where there is no figure to doubt."""
    if value in (None, ""):
        return ""
    return "yes" if guess else "no"


def _blank(value) -> object:
    return "" if value is None else value


def models_csv(request: HttpRequest) -> HttpResponseBase:
    """Every model the catalog view shows for this query, as CSV (no pagination)."""
    form = ModelSearchForm(request.GET)
    if not form.is_valid():
        # The page falls back to the whole catalog on a bad parameter; a download of 760k rows
        # nobody asked for is worse than saying what was wrong.
        return HttpResponse(
            f"Invalid query: {form.errors.as_text()}", status=400, content_type="text/plain"
        )
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (
            writer.writerow(row)
            for row in rows(form.cleaned_data, request.build_absolute_uri("/")[:-1])
        ),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="canopy-models-{date.today():%Y-%m-%d}.csv"'
    )
    return response
