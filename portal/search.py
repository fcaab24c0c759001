"""Catalog search: full text, facets with counts, sorting. One form serves the page and the API.

Everything runs on the narrow search table (SearchEntry, kept by portal.searchindex); only the
page of results shown is read from the catalog table.
Text: the id's words (portal.searchwords) are matched with LIKE, through trigram GIN indexes on
PostgreSQL, and the card summary's words through a full-text GIN index there; SQLite uses LIKE.
Facet counts come from the entry's columns in one GROUPING SETS query over the matching
rows. When more than EXACT_LIMIT rows match (PostgreSQL only) they are estimated from a 1% block
sample of the table and the page says "about"; the unfiltered counts are cached for a minute.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db.models import (
    Case,
    Q,
    QuerySet,
    Value,
    When,
)

from catalog.models import HubModel
from licenses.models import License

from . import facets, searchsql
from .forms import SORTS, ModelSearchForm
from .models import SearchEntry
from .searchsql import OwnSQL, postgres
from .searchwords import EXACT, NAME, NAME_FLOOR, ORDER, STARTS, WHOLE, Term, in_order, join, parse

TOP = 12  # values shown for a facet with many (license, base, author, task, library)
EXACT_LIMIT = 5_000
SPREAD = 10  # table blocks a sample's matches must come from to stand for a broad match


def _in_words(term: Term, *, indexed: bool = True) -> Q:
    """A term is found in the id's words."""
    if not term.words:
        return Q(pk__in=[])
    if not indexed:
        # Checked on the rows the other terms' trigrams find: the trigrams of "r 1" or "7 b" are
        # in most ids, and reading them costs more than the whole match.
        return _checked(term.pattern)
    return Q(words__contains=term.pattern)


def _in_card(term: Term) -> Q:
    """A term is found in the card summary: its words by full text on PostgreSQL."""
    if not postgres():
        return Q(summary__icontains=term.text)
    # Only a card's words need the full-text index, which is partial: most models have no
    # summary, and a sampled or scanned row without one is never turned into a tsvector.
    query = "phraseto_tsquery" if term.phrase else "plainto_tsquery"
    sql = "({0} <> '' AND to_tsvector('simple'::regconfig, {0}::text) @@ %s('simple'::regconfig, %%s))"
    return Q(OwnSQL(sql % query, ["summary"], [term.text]))


HAS_CARD = ~Q(summary="")


def _selective(term: Term) -> bool:
    """A word of three characters or more: trigrams that few ids share."""
    return any(len(w) >= 3 for w in term.words.split())


def text_filter(qs: QuerySet[SearchEntry], q: str) -> QuerySet[SearchEntry]:
    """Every term of the query must be found (portal.searchwords says how): in the id's words or
    in the card summary.

    PostgreSQL gets it as "every term in the id's words, or a card and every term in its words
    or the id's": the same rows (a row without a card can only match in its id), but the first
    half is one trigram index condition in which PostgreSQL intersects the terms' trigrams,
    where one "(in the id or in the card)" per term let it look up a single term and filter
    thousands of rows on the others ("llama 2 7b chat gguf": 17,752 rows read for 137 matches).
    The second half is looked up among the rows with a card only (partial indexes: the words'
    trigrams of the rows with a card, the cards' full text)."""
    terms = parse(q)
    if not terms:
        return qs
    some_selective = any(_selective(t) for t in terms)
    in_id = [_in_words(t, indexed=_selective(t) or not some_selective) for t in terms]
    if not postgres():
        return qs.filter(_all([w | _in_card(t) for w, t in zip(in_id, terms, strict=True)]))
    in_card = [w | _in_card(t) for w, t in zip(in_id, terms, strict=True)]
    return qs.filter(_all(in_id) | (HAS_CARD & _all(in_card)))


def _all(lookups: list[Q]) -> Q:
    both = lookups[0]
    for one in lookups[1:]:
        both &= one
    return both


def _any(lookups: list[Q]) -> Q:
    either = lookups[0]
    for one in lookups[1:]:
        either |= one
    return either


def tiers(q: str) -> list[tuple[int, Q]]:
    """(tier, what puts a match in it), highest first (portal.searchwords names them)."""
    terms = [t for t in parse(q) if t.words]
    # Hub ids are case-insensitive (huggingface.co/Google/Gemma-7B is google/gemma-7b): the id in
    # any case, through search_repo_upper_idx (an OR with the exact case read the whole table).
    rules = [(EXACT, Q(repo_id__iexact=q.strip()))]
    if terms:
        every = q_words(q)
        if " " in every:
            rules.append((NAME, name_rule(every)))
        if len(terms) > 1:
            # Like the name, only in a used repo: the words typed in a run are as often a
            # 9-download repo's name (sparse_llama_7b) as the model meant (Llama-2-7b).
            runs = _any([_checked(run) for run in in_order(terms)])
            rules.append((ORDER, runs & Q(downloads__gte=NAME_FLOOR)))
        rules.append((WHOLE, _all([_checked(t.whole) for t in terms])))
        rules.append((STARTS, _all([_checked(t.start) for t in terms])))
    return rules


def _checked(words: str) -> Q:
    """The id's words hold these, checked on the rows the text filter finds (PostgreSQL): a tier
    rule is always asked with the filter, and its word boundaries are the trigrams of most ids
    (" 2 ", " b "): looked up, one run of "llama 2 13b chat" read 1,379 index pages."""
    if not postgres():
        return Q(words__contains=words)
    return Q(OwnSQL("({0} || '') LIKE %s", ["words"], [f"%{words}%"]))


# The id's name (its words after the last "/") on PostgreSQL, as search_name_idx indexes it for
# the repos of NAME_FLOOR downloads or more (migration 0014): the trigrams of "/ vit base patch 16
# 224" at the end of the words are those of a thousand copies of the name.
NAME_SQL = r"substring({0} from '^.*/ (.*) $')"


def _name_is(every: str, *, null_safe: bool = False) -> Q:
    """The id's words end with "/ " and these words (null_safe: false, not NULL, where the words
    have no name, so NOT of it holds; the index serves only the plain comparison)."""
    if postgres() and "/" not in every.split():
        sql = f"COALESCE({NAME_SQL} = %s, false)" if null_safe else f"{NAME_SQL} = %s"
        return Q(OwnSQL(sql, ["words"], [every]))
    return Q(words__endswith=f"/ {every} ")


def name_rule(every: str, *, null_safe: bool = False) -> Q:
    return _name_is(every, null_safe=null_safe) & Q(downloads__gte=NAME_FLOOR)


def q_words(q: str) -> str:
    """The words of every term, in the order typed: what the name must be."""
    return " ".join(t.words for t in parse(q) if t.words)


def tier(q: str) -> Case:
    return Case(*[When(rule, then=Value(n)) for n, rule in tiers(q)], default=Value(0))


def apply(qs: QuerySet[SearchEntry], data: dict[str, Any]) -> QuerySet[SearchEntry]:
    """Filter search entries by cleaned SearchForm data."""
    qs = text_filter(qs, data.get("q") or "")
    for facet in facets.FACETS:
        if data.get(facet.name) not in ("", None):
            qs = qs.filter(facet.filter(data[facet.name], data))
    if data.get("memory"):
        qs = qs.filter(memory_gb__lte=data["memory"])
    return qs


def filter_models(qs: QuerySet[HubModel], data: dict[str, Any]) -> QuerySet[HubModel]:
    """The same filters on catalog rows (a family's members, an export)."""
    if not any(v not in ("", None) for k, v in data.items() if k != "sort"):
        return qs
    return qs.filter(pk__in=apply(SearchEntry.objects.all(), data).values("model_id"))


def models_for(ids: list[int]) -> list[HubModel]:
    """The catalog rows of a page of results, in the page's order, with their license state."""
    rows = HubModel.objects.filter(pk__in=ids).select_related("license_state")
    by_id = {m.pk: m for m in rows.defer(*HubModel.HEAVY)}
    return [by_id[i] for i in ids if i in by_id]


@dataclass
class Result:
    entries: QuerySet[SearchEntry]  # matching, ordered
    count: int
    estimated: bool
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    suggestions: list[Suggestion] = field(default_factory=list)
    facets_without_words: bool = False  # an empty result's facets count the filters alone

    q: str = ""

    def page(self, start: int, stop: int) -> list[SearchEntry]:
        """One page of entries: what the catalog list shows, without the catalog table."""
        # A ranked page is read a tier at a time (page_of): one ORDER BY tier reads every
        # match, 3,410 rows for "mistral 7b instruct" where its tiers read a few hundred.
        return page_of(self.entries, start, stop, self.q, broad=self.estimated)

    def models(self, start: int, stop: int) -> list[HubModel]:
        return models_for([e.model_id for e in self.page(start, stop)])


WINDOW = 20_000


def page_of(
    entries: QuerySet[SearchEntry], start: int, stop: int, q: str = "", *, broad: bool = False
) -> list[SearchEntry]:
    """One page of ordered, filtered entries.

    On PostgreSQL a filtered page is first looked for among the WINDOW entries that come first
    in the sort order, read straight off the sort's index: if they hold enough matches, those
    are the page (any match outside the window sorts after all of them). A text match of 9,000
    ids takes 5 ms this way against 45 ms through the trigram bitmap; a rarer match falls back
    to the planner's own plan."""
    if stop <= start:
        return []
    order = entries.query.order_by
    if order and order[0] == "-tier" and q and postgres() and stop <= WINDOW:
        return _by_tier(entries, start, stop, q, broad=broad)
    found = searchsql.in_window(entries, start, stop, size=WINDOW)
    return found if found is not None else list(entries[start:stop])


POPULAR = 100  # downloads: search_popular_words_trgm (migration 0014) indexes these rows' words
TIER_WINDOW = 2_000  # a tier's rows looked for first among the most downloaded: its window
NAMED = 1000  # ids of the exact id or name looked up alone first; more is left to the planner


def _by_tier(
    entries: QuerySet[SearchEntry], start: int, stop: int, q: str, *, broad: bool = False
) -> list[SearchEntry]:
    """A ranked page (PostgreSQL): the same page as the one ORDER BY tier over every match, from
    as few rows as the page needs.

    The exact id and the name come first, found through their own indexes alone (the id's unique
    index, search_name_idx) and then checked against the filters: planned together, PostgreSQL
    also reads the text filter's trigrams (10,785 rows for "distilbert base uncased"). The next
    tier (a tier is its rule and none of the higher ones) is looked for among the repos of
    POPULAR downloads or more, through the trigrams of those rows only (5% of them): if they
    fill the page, that is the page, as every other row of the tier has fewer downloads and every
    lower tier comes after it. The words in order are only looked for in repos of NAME_FLOOR
    downloads, so the popular rows hold all of them: the next tier follows ("llama 7b": 29 in
    order, then whole words, where one ORDER BY tier over its 15,000 matches took 230 ms).
    A broad match (more than EXACT_LIMIT, estimated) is looked for among the TIER_WINDOW most
    downloaded rows first: they hold a page of "llama" or "gguf", whose popular matches are
    thousands, and reading them costs little where they do not. Otherwise one ORDER BY tier over
    the matches of the lower tiers: one read of the matches, where a tier at a time read them
    once a tier."""
    by_downloads = entries.order_by("-downloads", "model_id")
    found: list[SearchEntry] = []
    above: list[Q] = []
    for n, rule in tiers(q):
        need = stop - len(found)
        if need <= 0:
            return found[start:stop]
        rest = by_downloads.exclude(_any(above)) if above else by_downloads
        if n not in (EXACT, NAME):
            # The words in order ask NAME_FLOOR downloads: all found among the popular rows.
            whole = n == ORDER and NAME_FLOOR >= POPULAR
            page: list[SearchEntry] = []
            if broad and not whole:
                page = searchsql.in_window(rest.filter(rule), 0, need, size=TIER_WINDOW) or []
            if len(page) < need:
                page = list(rest.filter(rule, downloads__gte=POPULAR)[:need])
            if len(page) == need:
                return (found + page)[start:stop]
            if not whole:
                break
            found += page
            above.append(rule)
            continue
        ids = list(SearchEntry.objects.filter(rule).values_list("pk", flat=True)[: NAMED + 1])
        found += list((rest.filter(pk__in=ids) if len(ids) <= NAMED else rest.filter(rule))[:need])
        above.append(rule if n != NAME else name_rule(q_words(q), null_safe=True))
    rest = entries.exclude(_any(above)) if above else entries
    found += list(rest[: stop - len(found)])
    return found[start:stop]


def facet_counts(qs: QuerySet[SearchEntry]) -> tuple[dict, int, bool]:
    """({facet: [(value, count)]}, total, estimated).

    PostgreSQL counts a 1% block sample first (a hundred pages of the narrow table, the same
    ones each time, so the figures hold still between requests and the pages stay cached): a
    match of more than EXACT_LIMIT rows, found in SPREAD blocks or more, keeps the sample's
    figures, shown as "about"; any other is counted exactly, up to EXACT_LIMIT + 1 rows. The planner's own estimate cannot decide: it takes a trigram
    LIKE matching 9,000 ids for 76."""
    scale = 1.0
    estimate = False
    if postgres():
        sampled = searchsql.grouping_sets(qs, sample=True)
        estimated = int(sampled.total * 100 / searchsql.SAMPLE_PERCENT)
        # The sample reads whole blocks, and a crawl writes an author's models side by side: a
        # match seen in a few blocks only may be 300 rows that fill one of them.
        estimate = estimated > EXACT_LIMIT and sampled.blocks >= SPREAD
        if estimate:
            scale, raw = 100 / searchsql.SAMPLE_PERCENT, sampled.values
            total = estimated
        else:
            exact = searchsql.grouping_sets(qs, sample=False, limit=EXACT_LIMIT + 1)
            raw, total = exact.values, exact.total
            if total > EXACT_LIMIT:
                # More than the sample could tell: the first EXACT_LIMIT + 1 rows' figures
                # (at least that many), never the sample's, which may have seen none of them.
                estimate = True
                total = max(estimated, EXACT_LIMIT + 1)
    else:
        counted = searchsql.per_facet(qs)
        raw, total = counted.values, counted.total
    out: dict[str, list[tuple[str, int]]] = {}
    for name, values in raw.items():
        merged: dict[str, int] = {}
        for value, n in values.items():
            key = facets.BY_NAME[name].shown(value)
            merged[key] = merged.get(key, 0) + int(round(n * scale))
        items = [(k, v) for k, v in merged.items() if k != "" and v]
        if order := facets.BY_NAME[name].order:
            items.sort(key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order))
        else:
            items.sort(key=lambda kv: (-kv[1], kv[0]))
        out[name] = items[:TOP]
    out["condition"] = _conditions(raw["license"], scale)
    return out, total, estimate


def _conditions(licenses: dict, scale: float) -> list[tuple[str, int]]:
    by_key = License.codes_by_key()
    counts: dict[str, int] = {}
    for key, n in licenses.items():
        for code in by_key.get(key, []):
            counts[code] = counts.get(code, 0) + int(round(n * scale))
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]


def ordered(entries: QuerySet[SearchEntry], data: dict[str, Any]) -> QuerySet[SearchEntry]:
    name = data.get("sort") or "relevance"
    q = data.get("q") or ""
    if name == "relevance":
        if any(t.words for t in parse(q)):
            entries = entries.annotate(tier=tier(q))
        else:  # nothing to rank on but downloads
            name = "downloads"
    sort = SORTS.get(name, SORTS["downloads"])
    return entries.order_by(*({"id": "model_id"}.get(o, o) for o in sort))  # keyed by model


def search(form: ModelSearchForm, *, with_facets: bool = True) -> Result:
    data = form.cleaned_data if form.is_valid() else {}
    models = apply(SearchEntry.objects.all(), data)
    ordered_entries = ordered(models, data)
    q = data.get("q") or ""
    if not with_facets:
        return Result(ordered_entries, models.count(), False, q=q)
    words = bool((data.get("q") or "").strip())
    unfiltered = not form.filters() and not words
    if unfiltered:
        cached = cache.get("catalog:facets:all")
        if cached:
            facets, total, estimated = cached
            return Result(ordered_entries, total, estimated, facets, q=q)
    facets, total, estimated = facet_counts(models)
    if data.get("dataset"):  # a filter only (portal.facets): its one value counts the matches
        facets = {**facets, "dataset": [(data["dataset"], total)]}
    if unfiltered:
        total = catalog_size()  # the table's own figure beats a sample's
        cache.set("catalog:facets:all", (facets, total, estimated), 60)
    if total or unfiltered:
        return Result(ordered_entries, total, estimated, facets, q=q)
    # Nothing matches: the nearest searches that do, and facets to go on from.
    without_words = words and bool(form.filters())
    if without_words:
        facets = facet_counts(apply(SearchEntry.objects.all(), {**data, "q": ""}))[0]
    elif words:
        facets = search(ModelSearchForm({})).facets
    return Result(ordered_entries, 0, False, facets, suggestions(data), words, q)


SUGGESTED = 5
SUGGESTION_CAP = 1000  # a suggestion's count stops here ("1,000+"): it only has to be non-zero


@dataclass
class Suggestion:
    params: dict[str, str]  # the search's query string, as the form reads it
    dropped: str  # what it leaves out: a word, or "format: gguf"
    count: int

    @property
    def query(self) -> str:
        return self.params.get("q", "")

    @property
    def filters(self) -> dict[str, str]:
        return {k: v for k, v in self.params.items() if k not in ("q", "sort")}

    @property
    def capped(self) -> bool:
        return self.count >= SUGGESTION_CAP


def _params(data: dict[str, Any]) -> dict[str, str]:
    """A search's non-empty fields as query parameters, in the form's order."""
    out = {}
    for name in ModelSearchForm.base_fields:
        value = data.get(name)
        if value not in ("", None) and (name, value) != ("sort", "relevance"):
            out[name] = f"{value:g}" if isinstance(value, float) else str(value)
    return out


def suggestions(data: dict[str, Any]) -> list[Suggestion]:
    """For a search that matches nothing: the same search with one word dropped, or one filter
    removed, or (words and filters both given) the words alone; those that match, most first."""
    terms = parse(data.get("q") or "")
    active = [k for k, v in _params(data).items() if k not in ("q", "sort")]
    candidates: list[tuple[dict[str, Any], str]] = []
    if len(terms) > 1:
        for i, term in enumerate(terms):
            rest = terms[:i] + terms[i + 1 :]
            candidates.append(({**data, "q": join(rest)}, f"“{term.text}”"))

        # Words that find nothing even alone go, then words from the end (the last typed are
        # the refinements) until the rest finds something: the nearest search by more than one.
        def finds(some: list[Term]) -> bool:
            return apply(SearchEntry.objects.all(), {**data, "q": join(some)}).exists()

        rest = [t for t in terms if finds([t])]
        while rest and not finds(rest):
            rest = rest[:-1]
        if rest and len(terms) - len(rest) > 1:
            dropped = " ".join(f"“{t.text}”" for t in terms if t not in rest)
            candidates.append(({**data, "q": join(rest)}, dropped))
    for name in active:
        if name == "usable":
            continue  # dropped with its profile: `usable` alone names no profile
        drop = {name: None, "usable": None} if name == "profile" else {name: None}
        said = f"{name}: {_params(data)[name]}" + (
            f", usable: {_params(data)['usable']}" if name == "profile" and "usable" in active
            else "")  # fmt: skip
        candidates.append(({**data, **drop}, said))
    if terms and len(active) > 1:
        candidates.append(({k: v for k, v in data.items() if k in ("q", "sort")}, "the filters"))
    found = []
    for candidate, dropped in candidates:
        n = apply(SearchEntry.objects.all(), candidate)[:SUGGESTION_CAP].count()
        if n:
            found.append(Suggestion(_params(candidate), dropped, n))
    found.sort(key=lambda s: -s.count)
    return found[:SUGGESTED]


def catalog_size() -> int:
    """Rows in the catalog; PostgreSQL's estimate above a hundred thousand."""
    estimate = searchsql.estimated_rows(HubModel._meta.db_table)
    return estimate if estimate and estimate > 100_000 else HubModel.objects.count()


def repo_suggestions(text: str, n: int) -> list[str]:
    """The ids this search finds for what was typed, best first (the most downloaded for
    nothing typed): the suggestions of approvals' model picker."""
    data = {"q": text}
    return list(
        ordered(apply(SearchEntry.objects.all(), data), data).values_list("repo_id", flat=True)[:n]
    )
