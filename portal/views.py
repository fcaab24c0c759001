"""The pages that combine the catalog, its licenses and approvals: the search, a model, its
family and lineage, and the dashboard."""

from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from approvals import profiles
from catalog import actions, cards, families, hardware, hublink, lineage
from catalog.models import (
    CrawlRun,
    HubDataset,
    HubModel,
    ModelFile,
    Relation,
    RepoAlias,
    TrainingData,
)
from config import errors
from config.errors import BadInput, from_form_errors
from config.fragments import fragment, swaps_fragment, vary_on_htmx
from config.inputs import page_number
from licenses import training
from licenses.classify import VERDICTS
from licenses.templatetags.verdicts import badge
from usage.evaluate import by_profile
from usage.models import UsageProfile

from . import dashboard, explorer, neighbourhood, search
from .facets import BY_NAME, ON_PAGE
from .forms import ModelSearchForm

CHILDREN_SHOWN = 25
CHILD_FIELDS = ("id", "repo_id", "downloads")
FAMILY_SHOWN = 20
DATASET_MODELS_SHOWN = 50
VERDICT_KEYS = [*((v, v) for v in VERDICTS), ("unassessed", None)]  # a count's key: no result


def _get_model_or_redirect(
    request: HttpRequest, repo_id: str, defer: tuple[str, ...] = ()
) -> HubModel | HttpResponse:
    """The model, a redirect to the same page under its id (from an old id, or the id in
    another case), or a 404 page that offers a search for it."""
    model = HubModel.objects.filter(repo_id=repo_id).defer(*defer).first()
    if model:
        return model
    alias = RepoAlias.objects.select_related("model").filter(alias=repo_id).first()
    if alias:
        return _same_page(request, alias.model.repo_id)
    # The Hub's ids are case-insensitive: a card naming "mistralai/mistral-7b-v0.1" means
    # mistralai/Mistral-7B-v0.1. Only on a miss (no index serves iexact), and only when the
    # case alone picks one model.
    same = list(
        HubModel.objects.filter(repo_id__iexact=repo_id).values_list("repo_id", flat=True)[:2]
    )
    if len(same) == 1:
        return _same_page(request, same[0])
    return errors.missing_model(request, repo_id)


def _same_page(request: HttpRequest, repo_id: str) -> HttpResponse:
    """This page (model, family or lineage), with its query, for another id."""
    match = request.resolver_match
    url = reverse(match.view_name if match else "portal:model_detail", args=[repo_id])
    query = request.META.get("QUERY_STRING", "")
    return redirect(f"{url}?{query}" if query else url, permanent=False)


def _valid(form: ModelSearchForm) -> dict:
    """The cleaned search, or a 400 page that says which parameter is wrong."""
    if not form.is_valid():
        raise BadInput(from_form_errors(form.errors), "This search cannot be run")
    return form.cleaned_data


@vary_on_htmx
def model_list(request: HttpRequest) -> HttpResponse:
    form = ModelSearchForm(request.GET)
    if swaps_fragment(request) and not form.is_valid():
        # htmx 2 swaps no 4xx answer, so the form would seem to do nothing: the fragment it
        # swaps into #results says what is wrong instead. A full page stays a 400.
        problems = {"problems": from_form_errors(form.errors)}
        return render(request, "portal/model_list.html#search_error", problems)
    _valid(form)
    result = search.search(form)
    paginator = Paginator(result.entries, 50)
    paginator.count = result.count  # known from the facet query: no second COUNT(*)
    page = paginator.get_page(request.GET.get("page"))
    page.object_list = result.page(max(page.start_index() - 1, 0), page.end_index())
    running = CrawlRun.objects.filter(
        status__in=[CrawlRun.Status.QUEUED, CrawlRun.Status.RUNNING]
    ).first()
    context = {
        "form": form, "page": page, "running": running, "result": result,
        "facets": _facet_links(request, form, result.facets),
        "total": search.catalog_size(),
        "suggestions": [(f"?{urlencode(s.params)}", s) for s in result.suggestions],
    }  # fmt: skip
    return render(request, fragment(request, "portal/model_list.html", "results"), context)


FACET_ITEM = (
    '<li><a href="?{0}" hx-get="?{0}" data-facet="{1}"{2}>{3}{4}</a> <small>{5}</small></li>'
)
CHOSEN = mark_safe(' class="on" aria-current="true"')


def _facet_links(request: HttpRequest, form: ModelSearchForm, facets: dict) -> list[dict]:
    """Each facet value as a link that toggles it in the current query. The list items are
    built here: 150 links through the template language cost more than the whole search."""
    out = []
    base = request.GET.copy()
    base.pop("page", None)
    for facet in ON_PAGE:
        name = facet.name
        if name in ("profile", "usable"):  # one block for both: each link sets the two
            if name == "usable" and (profiles := _profile_links(base, form)):
                out.append(profiles)
            continue
        chosen = str(form.cleaned_data.get(name) or "") if form.is_valid() else ""
        items = []
        values = facets.get(name, [])
        if chosen and chosen not in {str(v) for v, _ in values}:
            values = [(chosen, 0), *values]  # a chosen filter stays removable when nothing matches
        for value, n in values:
            on = chosen == str(value)
            query = base.copy()
            if on:
                query.pop(name, None)
            else:
                query[name] = value
            shown = badge(value) if facet.badge else facet.label_of(value)
            items.append((query.urlencode(), name, CHOSEN if on else "", "✕ " if on else "",
                          shown, f"{n:,}"))  # fmt: skip
        if items:
            html = format_html_join("", FACET_ITEM, items)
            out.append({"name": name, "label": facet.label, "items": html, "chosen": chosen,
                        "hidden": [(name, chosen)] if chosen else []})  # fmt: skip
    return out


def _profile_links(base, form: ModelSearchForm) -> dict | None:
    """The usage profiles, each as "usable" and "not usable" links (profile= and usable=
    together); not counted: a count per profile would be a join per profile."""
    data = form.cleaned_data if form.is_valid() else {}
    chosen = (data.get("profile") or "", data.get("usable") or "")
    items = []
    for slug, name in UsageProfile.objects.values_list("slug", "name"):
        for value, word in (("true", "usable"), ("false", "not usable")):
            on = chosen == (slug, value)
            query = base.copy()
            for key in ("profile", "usable"):
                query.pop(key, None)
            if not on:
                query["profile"], query["usable"] = slug, value
            items.append((query.urlencode(), "usable", CHOSEN if on else "", "✕ " if on else "",
                          f"{word} for {name}", ""))  # fmt: skip
    if not items:
        return None
    hidden = [("profile", chosen[0]), ("usable", chosen[1])] if all(chosen) else []
    return {"name": "usable", "label": BY_NAME["usable"].label, "chosen": chosen[1],
            "items": format_html_join("", FACET_ITEM, items), "hidden": hidden}  # fmt: skip


def model_detail(request: HttpRequest, repo_id: str) -> HttpResponse:
    model = _get_model_or_redirect(request, repo_id)
    if isinstance(model, HttpResponse):
        return model
    # The most downloaded children of each relation; the full lists live in the lineage API.
    groups = lineage.groups(model, size=CHILDREN_SHOWN, fields=CHILD_FIELDS)
    parents = lineage.parents(model)
    readme = ModelFile.objects.filter(model=model, path="README.md").only("text").first()
    runs = CrawlRun.objects.filter(target__in=[model.repo_id, model.author]).only(
        "kind", "status", "target", "created_at", "finished_at"
    )[:10]
    context = {
        "model": model,
        "aliases": list(model.aliases.values_list("alias", flat=True)),
        "parents": parents,
        "description": families.describe(model, parents),
        "base_notes": lineage.base_notes(model, bool(parents)),
        "facts": hardware.facts(model),
        "variants": hardware.variants(model),
        "card": cards.render(readme.text) if readme else None,
        "no_card": "" if readme else cards.absence(model),
        "budget": _budget(request),
        "gate": _gate(model),
        "hub": hublink.source(CrawlRun.latest_endpoint()),
        "actions": actions.for_model(request, model),
        "runs": runs,
        "children_counts": {g["relation"]: g["n"] for g in groups},
        "children_groups": groups,
        "children_shown": CHILDREN_SHOWN,
        "files": model.files.order_by("path").only(
            "path", "revision", "fetched_at", "original_chars"
        ),
        "profiles": profiles.results_for(model),
    }
    return render(request, "portal/model_detail.html", context)


def dataset_detail(request: HttpRequest, repo_id: str) -> HttpResponse:
    """A dataset models declare as training data: its license as Canopy reads it, and the
    models that declare it, counted by their weights' verdict."""
    record = HubDataset.objects.filter(repo_id=repo_id).first()
    links = TrainingData.objects.filter(dataset_repo_id=repo_id)
    if record is None and not links.exists():
        # Hub ids are case-insensitive: the same page under the id as stored, when one has it.
        same = list(
            HubDataset.objects.filter(repo_id__iexact=repo_id).values_list("repo_id", flat=True)[:2]
        )
        if len(same) == 1:
            return _same_page(request, same[0])
        detail = format_html("<code>{}</code> is not a dataset any crawled model declares", repo_id)
        return errors.page(request, 404, detail)
    counts = dict(
        links.values_list("model__license_state__effective").annotate(n=Count("id")).order_by()
    )
    page = Paginator(
        links.select_related("model", "model__license_state")
        .only("source", "model__repo_id", "model__downloads", "model__license_state__effective",
              "model__license_state__data_conflict")
        .order_by("-model__downloads", "model_id"),
        DATASET_MODELS_SHOWN,
    ).get_page(page_number(request.GET.get("page")))  # fmt: skip
    context = {
        "repo_id": repo_id,
        "record": record,
        "terms": training.terms(record),
        "hub_url": hublink.url(repo_id, kind="datasets"),
        "counts": [(v, counts[k]) for v, k in VERDICT_KEYS if counts.get(k)],
        "total": sum(counts.values()),
        "page": page,
    }
    return render(request, "portal/dataset_detail.html", context)


def _budget(request: HttpRequest) -> float | None:
    """The memory a family page's "fits in" asked for, to mark the files that fit (400 when
    it is not a number the search would take)."""
    if not request.GET.get("memory"):
        return None
    return _valid(ModelSearchForm({"memory": request.GET["memory"]}))["memory"]


def _gate(model: HubModel) -> dict | None:
    """What a gated model asks for (the card's extra_gated_* fields)."""
    if model.gated not in ("auto", "manual"):
        return None
    card = model.card_data or {}
    fields = card.get("extra_gated_fields")
    return {
        "prompt": card.get("extra_gated_prompt") or "",
        "heading": card.get("extra_gated_heading") or "",
        "button": card.get("extra_gated_button_content") or "",
        "fields": list(fields) if isinstance(fields, dict) else [],
    }


def _family_ids(root: HubModel):
    # A subquery: an OR across the join to the verdicts read all of them (1.1 s at 760,000
    # models x 3 profiles); the family's ids come from the base_family index and the primary key.
    return HubModel.objects.filter(Q(base_family=root.repo_id) | Q(pk=root.pk)).values("pk")


@vary_on_htmx
def family_detail(request: HttpRequest, repo_id: str) -> HttpResponse:
    """A base model's variants grouped by kind, with the "find a variant" filter."""
    root = _get_model_or_redirect(request, repo_id)
    if isinstance(root, HttpResponse):
        return root
    form = ModelSearchForm(request.GET)
    data = _valid(form)
    everyone = HubModel.objects.defer(*HubModel.HEAVY)
    within = search.filter_models(everyone, data)
    known = lineage.names(root)
    # The root's own variants, counted as on every other page (lineage.children_counts).
    counts = lineage.children_counts(root, known, within=None if within is everyone else within)
    groups = [
        {"kind": kind, "label": label, "n": counts[kind],
         "models": list(families.direct(root, known, kind, within)
                        .select_related("license_state")[:FAMILY_SHOWN])}
        for kind, label in families.KINDS if counts.get(kind)
    ]  # fmt: skip
    # Variants of those variants, under the variant each derives from.
    deeper = families.further(root, known, within)
    deeper_counts = families.kind_counts(deeper)
    deeper_groups = [
        {"kind": kind, "label": label, "n": deeper_counts[kind],
         "models": list(deeper.filter(base_relation=kind).select_related("license_state")
                        .order_by("-downloads", "id")[:FAMILY_SHOWN])}
        for kind, label in families.KINDS if deeper_counts.get(kind)
    ]  # fmt: skip
    shown: list[Any] = [m for g in groups for m in g["models"]]  # type: ignore[attr-defined]
    below = lineage.children_counts_of(m.repo_id for m in shown)
    for m in shown:  # what hangs below each variant shown: its row links there
        m.below = sorted(below.get(m.repo_id, {}).items())
    context = {
        "root": root, "form": form, "groups": groups, "deeper_groups": deeper_groups,
        "direct_total": sum(counts.values()), "deeper_total": sum(deeper_counts.values()),
        "quant_groups": families.quant_groups(
            families.direct(root, known, Relation.QUANTIZED, within)
        ),
        "shown": FAMILY_SHOWN, "facts": hardware.facts(root),
        "profiles": by_profile(Q(model_id__in=_family_ids(root))),
        "family_query": urlencode({"base": root.repo_id}) + "&",
    }  # fmt: skip
    return render(request, fragment(request, "portal/family_detail.html", "variants"), context)


@vary_on_htmx
def model_lineage(request: HttpRequest, repo_id: str) -> HttpResponse:
    """The lineage explorer. htmx asks for one node's children (part=children) or one more
    page of a relation (relation=...&page=N); without JS every node links to its own page."""
    model = _get_model_or_redirect(request, repo_id, defer=HubModel.HEAVY)
    if isinstance(model, HttpResponse):
        return model
    template = "portal/model_lineage.html"
    relation = request.GET.get("relation", "")
    number = page_number(request.GET.get("page"))
    if swaps_fragment(request):
        if relation:
            group = explorer.children_page(model, relation, number)
            return render(request, f"{template}#group", {"model": model, "group": group})
        if request.GET.get("part") == "children":
            groups = explorer.groups(model)
            return render(request, f"{template}#children", {"model": model, "groups": groups})
    return render(
        request, template, _lineage_context(model, {relation: number} if relation else None)
    )


def _lineage_context(model: HubModel, pages: dict[str, int] | None = None) -> dict:
    chain = explorer.ancestors(model)
    groups = explorer.groups(model, pages)
    return {"model": model, "chain": chain, "groups": groups,
            "graph": neighbourhood.graph(model, chain, groups)}  # fmt: skip


def home(request: HttpRequest) -> HttpResponse:
    figures = dashboard.figures()
    charts = [
        ("Effective verdict", figures["effective"], "effective"),
        ("Relation to base", figures["relations"], "relation"),
        ("Declared licenses", figures["licenses"], "license"),
        ("Largest families", figures["families"], "base"),
    ]
    return render(request, "portal/dashboard.html", {**figures, "charts": charts})
