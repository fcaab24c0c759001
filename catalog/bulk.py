"""Bulk inserts of new rows: PostgreSQL's COPY where available, bulk_create elsewhere.

A first crawl inserts hundreds of thousands of rows; Django's bulk_create spends most of its time
in Python building and quoting parameters, COPY streams rows to the server as they are.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import connection, models


def insert_rows(model: type[models.Model], rows: list[dict[str, Any]]) -> None:
    """Insert new rows given as {field name: value}; missing fields take their defaults."""
    if not rows:
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create([model(**row) for row in rows], batch_size=1000)
        return
    defaults = {f.attname: f.get_default() for f in fields}
    json_fields = {f.attname for f in fields if isinstance(f, models.JSONField)}
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    names = [f.attname for f in fields]
    sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            values = []
            for name in names:
                value = row[name] if name in row else defaults[name]
                if name in json_fields and value is not None:
                    value = json.dumps(value)
                values.append(value)
            copy.write_row(values)
