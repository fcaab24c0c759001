"""What a request may carry: the bounds and patterns the API schema declares, and that the
schemas, forms, URL converters and the lean check path (approvals.middleware) all enforce.

Text never holds NUL (PostgreSQL cannot store it; config.errors.RejectBadInput refuses it in
paths and queries, these types in JSON bodies); every string has a stated maximum; every
number a range. Hub repo ids are `name` or `owner/name` of ASCII letters, digits, `_`, `.`, `-`
(all 760,000 ids of the 2024 list match; the longest has 122 characters)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Annotated, Any, TypeVar, cast

from django.core.exceptions import ValidationError
from django.db import models
from pydantic import AfterValidator, Field

NO_NUL = "^[^\\x00]*$"  # ECMA and Python regex alike: the schema's pattern for NUL-free text
NUL_MESSAGE = "NUL characters are not allowed"
REPO_ID_MAX = 200  # HubModel.repo_id
REPO_ID_PATTERN = r"^[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)?$"
REPO_ID = re.compile(REPO_ID_PATTERN)
REVISION_MAX = 40  # a commit sha
ID_MAX = 2**63 - 1  # database ids are 64-bit
PAGE_MAX = 100_000


def page_number(value: str | None) -> int:
    """A page number from a query string, within [1, PAGE_MAX]; 1 for anything not ASCII
    digits (str.isdigit() also takes "²" and "①", which int() refuses). Past the end is an
    empty page, not an overflow."""
    if not value or len(value) > 12 or not (value.isascii() and value.isdigit()):
        return 1
    return min(max(int(value), 1), PAGE_MAX)


def has_nul(value: str) -> bool:
    return "\x00" in value


def is_repo_id(value: str) -> bool:
    return len(value) <= REPO_ID_MAX and REPO_ID.match(value) is not None


SURROGATE_MESSAGE = "lone surrogates (\\ud800-\\udfff) are not text"


def has_surrogate(value: str) -> bool:
    """A lone surrogate (JSON's "\\ud800" decodes to one): no database encoding stores it."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _no_nul(value: str) -> str:
    if has_nul(value):
        raise ValueError(NUL_MESSAGE)
    if has_surrogate(value):
        raise ValueError(SURROGATE_MESSAGE)
    return value


# NUL-free text; give it a length: Annotated[Text, Field(max_length=80)]
Text = Annotated[str, Field(json_schema_extra={"pattern": NO_NUL}), AfterValidator(_no_nul)]


RepoId = Annotated[
    str,
    Field(min_length=1, max_length=REPO_ID_MAX, pattern=REPO_ID_PATTERN,
          description="a Hub repo id: `name` or `owner/name`",
          examples=["meta-llama/Llama-2-7b-chat-hf"]),
]  # fmt: skip
DbId = Annotated[int, Field(ge=1, le=ID_MAX)]


def form_param(field: Any, default: Any = "") -> Any:
    """A query parameter validated by a Django form field, declared in the schema as that
    field validates it: the choices of a ChoiceField (read when the schema is made: they may
    come from the database), the bounds of a CharField or a number."""
    from django import forms

    def declare(schema: dict[str, Any]) -> None:
        if isinstance(field, forms.ChoiceField):
            schema["enum"] = [str(value) for value, _ in cast(Iterable, field.choices)]
        elif isinstance(field, forms.CharField):
            schema.update(maxLength=field.max_length, pattern=NO_NUL)
        elif isinstance(field, forms.FloatField | forms.IntegerField):
            schema.pop("anyOf", None)  # a query parameter is a number or absent, never null
            schema["type"] = "number" if isinstance(field, forms.FloatField) else "integer"
            bounds = {"minimum": field.min_value, "maximum": field.max_value}
            schema.update({k: v for k, v in bounds.items() if v is not None})
        if field.label:
            schema.setdefault("description", str(field.label))

    return Field(default, json_schema_extra=declare)


# --- what a write may store ------------------------------------------------------------------

# The ranges of integer columns on PostgreSQL (Django's own table; SQLite would take more).
INTEGER_RANGES = {
    "SmallIntegerField": (-(2**15), 2**15 - 1), "PositiveSmallIntegerField": (0, 2**15 - 1),
    "IntegerField": (-(2**31), 2**31 - 1), "PositiveIntegerField": (0, 2**31 - 1),
    "BigIntegerField": (-(2**63), ID_MAX), "PositiveBigIntegerField": (0, ID_MAX),
}  # fmt: skip


def _any_text(value: Any, test) -> bool:
    """test(s) for any string inside value (a JSON value's keys and items too)."""
    if isinstance(value, str):
        return test(value)
    if isinstance(value, dict):
        return any(_any_text(k, test) or _any_text(v, test) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_any_text(v, test) for v in value)
    return False


def _problem(field: Any, value: Any) -> str | None:
    if _any_text(value, has_nul):
        return NUL_MESSAGE  # in a JSON value too: jsonb refuses \u0000
    if _any_text(value, has_surrogate):
        return SURROGATE_MESSAGE
    limit = getattr(field, "max_length", None)
    if isinstance(value, str) and limit and len(value) > limit:
        return f"at most {limit} characters (it has {len(value)})"
    bounds = INTEGER_RANGES.get(field.get_internal_type())
    if bounds and isinstance(value, int) and not bounds[0] <= value <= bounds[1]:
        return f"a number from {bounds[0]} to {bounds[1]} (it is {value})"
    return None


def check_writable(obj: Any) -> None:
    """Refuse, naming each field, what the database would refuse with an error page (NUL
    characters, text past its column, numbers out of the column's range), whatever code
    writes `obj`: the API and forms check requests, this checks rows."""
    problems = {}
    for field in obj._meta.concrete_fields:
        problem = _problem(field, getattr(obj, field.attname))
        if problem:
            problems[field.name] = problem
    if problems:
        raise ValidationError(problems)


class CheckedWrites:
    """A model mixin: every save() is checked by check_writable first."""

    def save(self, *args: Any, **kwargs: Any) -> None:
        check_writable(self)
        super().save(*args, **kwargs)  # type: ignore[misc]


_M = TypeVar("_M", bound=models.Model)


class CheckedQuerySet(models.QuerySet[_M]):
    """Bulk writes are checked as save() is: bulk_create cleans every row, update() asks the
    model's `problems` about the values it sets (the subclass names that function)."""

    @staticmethod
    def problems(fields: dict[str, Any]) -> dict[str, str]:
        raise NotImplementedError("a CheckedQuerySet names its model's field checks")

    def bulk_create(self, objs, *args, **kwargs):  # type: ignore[no-untyped-def,override]
        objs = list(objs)
        for obj in objs:
            obj.clean()
        return super().bulk_create(objs, *args, **kwargs)

    def update(self, **kwargs: Any) -> int:
        if problems := type(self).problems(kwargs):
            raise ValidationError(problems)
        return super().update(**kwargs)
