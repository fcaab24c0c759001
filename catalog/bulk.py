"""Bulk inserts of new rows: PostgreSQL's COPY where available, bulk_create elsewhere.

A first crawl inserts hundreds of thousands of rows; Django's bulk_create spends most of its time
in Python building and quoting parameters, COPY streams rows to the server as they are.

One bad row must not cost its batch: a statement that fails on what a row holds is retried on
halves of the batch, each in a savepoint, down to single rows (`isolate`), so only the rows that
fail are set aside, with their errors, and each good row is written once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

import orjson
from django.db import DataError, IntegrityError, connection, models, transaction

T = TypeVar("T")
# What a row's content can make a write fail with (not: connection lost, a bug in our SQL).
ROW_ERRORS = (DataError, IntegrityError, ValueError, TypeError, OverflowError)


def isolate(items: Sequence[T], write: Callable[[Sequence[T]], None]) -> list[tuple[T, Exception]]:
    """write(items) in a savepoint; if it fails on a row's content, bisect down to the rows
    that fail. Returns those rows with their errors (the others are written)."""
    if not items:
        return []
    try:
        with transaction.atomic():
            write(items)
        return []
    except ROW_ERRORS as exc:
        if len(items) == 1:
            return [(items[0], exc)]
        half = len(items) // 2
        return isolate(items[:half], write) + isolate(items[half:], write)


def insert_rows(
    model: type[models.Model], rows: list[dict[str, Any]]
) -> list[tuple[dict[str, Any], Exception]]:
    """Insert new rows given as {field name: value}; missing fields take their defaults.

    Each row written gets its new primary key as row["id"]; the rows that could not be written
    are returned with their errors (and have no "id").
    """
    write = _copy if connection.vendor == "postgresql" else _bulk_create
    rejected = isolate(rows, lambda batch: write(model, batch))
    for row, _ in rejected:
        row.pop("id", None)
    return rejected


def _bulk_create(model: type[models.Model], rows: Sequence[dict[str, Any]]) -> None:
    objs = model._default_manager.bulk_create([model(**row) for row in rows], batch_size=1000)
    for row, obj in zip(rows, objs, strict=True):
        row["id"] = obj.pk


def _copy(model: type[models.Model], rows: Sequence[dict[str, Any]]) -> None:
    table = model._meta.db_table
    with connection.cursor() as cursor:
        # Ids drawn up front from the table's sequence: COPY cannot return them.
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [table, len(rows)],
        )
        for row, (pk,) in zip(rows, cursor.fetchall(), strict=True):
            row["id"] = pk
    fields = list(model._meta.concrete_fields)
    defaults = {f.attname: f.get_default() for f in fields}
    json_fields = {f.attname for f in fields if isinstance(f, models.JSONField)}
    # A concrete field is one with a column (Field.concrete is `column is not None`).
    columns = ", ".join(connection.ops.quote_name(cast(str, f.column)) for f in fields)
    names = [f.attname for f in fields]
    sql = f"COPY {connection.ops.quote_name(table)} ({columns}) FROM STDIN"
    # The raw psycopg cursor: its errors are turned into Django's (DataError...) by hand.
    with (
        connection.wrap_database_errors,
        connection.cursor() as cursor,
        cursor.cursor.copy(sql) as copy,
    ):
        for row in rows:
            values = []
            for name in names:
                value = row[name] if name in row else defaults[name]
                if name in json_fields and value is not None:
                    value = orjson.dumps(value).decode()
                values.append(value)
            copy.write_row(values)


def find(
    model: type[models.Model], field: str, values: list[Any], columns: list[str]
) -> list[tuple]:
    """Rows whose `field` is one of `values`, as tuples of `columns`.

    On PostgreSQL one array parameter (= ANY) instead of an IN list of a thousand placeholders,
    which the driver would otherwise parse and quote one by one.
    """
    if not values:
        return []
    if connection.vendor != "postgresql":
        return list(model._default_manager.filter(**{f"{field}__in": values}).values_list(*columns))
    quote = connection.ops.quote_name
    sql = (
        f"SELECT {', '.join(map(quote, columns))} FROM {quote(model._meta.db_table)} "
        f"WHERE {quote(field)} = ANY(%s)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [values])
        return cursor.fetchall()


def analyze(*tables: type[models.Model]) -> None:
    """Fresh planner statistics after a bulk write (PostgreSQL). Autovacuum gets there minutes
    later; until then the planner takes a table that just received 760k rows for nearly empty
    and picks hash joins and sorts where an ordered index scan would read twenty rows."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in tables:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
