"""The search table's SQL of our own: where PostgreSQL and SQLite differ, and what Django's ORM
cannot say (a window of an index's first rows, a block sample, GROUPING SETS).

A statement here is composed from pieces Django compiles (a queryset's WHERE, a column's name
from SearchEntry._meta), never by editing the SQL Django compiled for a whole query.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import connection
from django.db.models import BooleanField, F, Func, QuerySet

from . import facets
from .models import SearchEntry

# facet name -> its column, for the facets counted by the facet query (portal.facets)
FACETS = {f.name: f.column for f in facets.COUNTED}
TABLE = SearchEntry._meta.db_table
SAMPLE_PERCENT = 1
INDEXED_SORTS = {"-downloads", "-likes", "-last_modified"}  # SearchEntry has (key, model) indexes


def postgres() -> bool:
    """The trigram and full-text indexes, windows and samples are there (SQLite: LIKE alone)."""
    return connection.vendor == "postgresql"


class OwnSQL(Func):
    """A condition in SQL of our own over search-table columns, written with {0}, {1}... for
    them: each is compiled as the query names it, the table or its alias in a subquery
    (filter_models: U0), so it holds in a join (the CSV's) and in a subquery alike. A column
    compiles to no parameters, so one may stand in the template twice."""

    output_field = BooleanField()

    def __init__(self, template: str, columns: list[str], params: list[Any]):
        super().__init__(*[F(c) for c in columns])
        self.sql_template, self.sql_params = template, params

    def as_sql(self, compiler, connection, **extra):  # type: ignore[override]
        parts, params = [], []
        for column in self.get_source_expressions():
            sql, column_params = compiler.compile(column)
            parts.append(sql)
            params += column_params
        return self.sql_template.format(*parts), [*params, *self.sql_params]


def _quoted(name: str) -> str:
    return connection.ops.quote_name(name)


COLUMNS = {
    **{f.name: f.column for f in SearchEntry._meta.concrete_fields},
    **{f.attname: f.column for f in SearchEntry._meta.concrete_fields},
}


def _column(name: str) -> str:
    """A SearchEntry field as the table's column, named the way a compiled WHERE names it."""
    return f"{_quoted(TABLE)}.{_quoted(str(COLUMNS[name]))}"


def _where(qs: QuerySet[SearchEntry]) -> tuple[str, list[Any]]:
    """The queryset's filters as Django compiles them, for a statement over the table alone.

    Raises EmptyResultSet for filters no row can match (a condition no license has)."""
    query = qs.query
    # A join Django trimmed stays in alias_map, unreferenced (pk__in on the one-to-one key).
    if any(query.alias_refcount[a] for a in query.alias_map if a != TABLE):
        raise ValueError("a search filter joins another table")
    try:
        sql, params = query.get_compiler(connection=connection).compile(query.where)
    except FullResultSet:
        return "", []
    return f" WHERE {sql}", list(params)


def _order(order: tuple[str, ...] | list[str]) -> str:
    return ", ".join(
        f"{_column(o.lstrip('-'))} {'DESC' if o.startswith('-') else 'ASC'}" for o in order
    )


def in_window(
    entries: QuerySet[SearchEntry], start: int, stop: int, *, size: int
) -> list[SearchEntry] | None:
    """The page as found among the `size` first entries of an indexed sort order, or None where
    they do not hold it (or the order has no index, or the backend no window)."""
    order = [str(o) for o in entries.query.order_by]
    if not (postgres() and entries.query.where and order and order[0] in INDEXED_SORTS):
        return None
    if stop <= start or stop > size:
        return None
    try:
        where, params = _where(entries)
    except EmptyResultSet:
        return []
    keys, table = _order(order), _quoted(TABLE)
    # The window keeps the table's name, so the compiled WHERE's columns name its rows.
    sql = (
        f"SELECT * FROM (SELECT * FROM {table} ORDER BY {keys} LIMIT {int(size)}) AS {table}"
        f"{where} ORDER BY {keys} LIMIT {int(stop - start)} OFFSET {int(start)}"
    )
    found = list(SearchEntry.objects.raw(sql, params))
    return found if len(found) == stop - start else None


def _facet_rows(
    qs: QuerySet[SearchEntry], *, sample: bool = False, limit: int | None = None
) -> tuple[str, list[Any]]:
    """SQL of the matching rows' facet columns, named c0, c1, ... (sample: of a block sample of
    SAMPLE_PERCENT of the table, the same blocks each time, with each row's block as blk)."""
    where, params = _where(qs)
    columns = ", ".join(f"{_column(c)} AS c{i}" for i, c in enumerate(FACETS.values()))
    source = _quoted(TABLE)
    if sample:
        columns += f", ({source}.ctid::text::point)[0] AS blk"
        source += f" TABLESAMPLE SYSTEM ({SAMPLE_PERCENT}) REPEATABLE (0)"
    bound = f" LIMIT {int(limit)}" if limit else ""
    return f"SELECT {columns} FROM {source}{where}{bound}", params


def _empty() -> dict[str, dict]:
    return {name: {} for name in FACETS}


@dataclass
class Counted:
    values: dict[str, dict]  # facet -> {stored value: rows}
    total: int
    blocks: int = 0  # of a sample: the table blocks its matches were found in


def grouping_sets(qs: QuerySet[SearchEntry], *, sample: bool, limit: int | None = None) -> Counted:
    """Counts per facet value, and the total, in one GROUPING SETS query (PostgreSQL)."""
    n = len(FACETS)
    try:
        sql, params = _facet_rows(qs, sample=sample, limit=None if sample else limit)
    except EmptyResultSet:
        return Counted(_empty(), 0)
    aliases = [f"c{i}" for i in range(n)]
    sets = ", ".join(f"({a})" for a in aliases)
    blocks = "COUNT(DISTINCT blk)" if sample else "0"
    outer = (
        f"SELECT {', '.join(aliases)}, GROUPING({', '.join(aliases)}) AS g, COUNT(*), {blocks} "
        f"FROM ({sql}) AS s GROUP BY GROUPING SETS ({sets}, ())"
    )
    found = Counted(_empty(), 0)
    with connection.cursor() as cursor:
        cursor.execute(outer, params)
        for row in cursor.fetchall():
            values, g, c = row[:n], row[n], row[n + 1]
            if g == (1 << n) - 1:
                found.total, found.blocks = c, row[n + 2]
                continue
            # GROUPING() has a 0 bit for the one column grouped here (leftmost = highest bit).
            i = next(i for i in range(n) if not g >> (n - 1 - i) & 1)
            found.values[list(FACETS)[i]][values[i]] = c
    return found


def per_facet(qs: QuerySet[SearchEntry]) -> Counted:
    """Every facet's GROUP BY in one UNION ALL query (SQLite has no GROUPING SETS)."""
    try:
        sql, params = _facet_rows(qs)
    except EmptyResultSet:
        return Counted(_empty(), 0)
    parts = [
        f"SELECT {i} AS f, c{i} AS v, COUNT(*) AS n FROM ({sql}) AS s{i} GROUP BY c{i}"
        for i in range(len(FACETS))
    ]
    counts, names = _empty(), list(FACETS)
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params * len(parts))
        for f, v, n in cursor.fetchall():
            counts[names[f]][v] = n
    return Counted(counts, sum(counts["relation"].values()))


def estimated_rows(table: str) -> int | None:
    """PostgreSQL's estimate of a table's rows (None elsewhere, or before its first ANALYZE)."""
    if not postgres():
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [table])
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] >= 0 else None
