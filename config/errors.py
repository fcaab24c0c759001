"""Error answers: one JSON shape for the API, a readable page for the site.

Every error of /api/, whatever raised it (a value that does not validate, a missing object,
no or the wrong credentials, a conflict, a NUL byte, a wrong method, a server error), is

    {"detail": "one sentence saying what was wrong", "errors": [{"field": "page", "message": "..."}]}

with `errors` naming each bad field (empty when no single field is to blame). Request values
that do not validate are 422, malformed requests (NUL bytes, a body that is not JSON) 400.
Pages answer 400/403/404/500.html, which extend base.html. The OpenAPI schema declares Error
as the answer of every operation's error codes (ErrorsApi)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

from django.core.exceptions import BadRequest, PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.utils.html import format_html
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError

from .inputs import NUL_MESSAGE, has_nul

logger = logging.getLogger(__name__)
Problems = Iterable[tuple[str, str]]  # (field, message)


class FieldError(Schema):
    field: str
    message: str


class Error(Schema):
    """What went wrong: a sentence, and each field to blame."""

    detail: str
    errors: list[FieldError]


class BadInput(BadRequest):
    """Request values that do not validate, with the fields to blame: 422 from the API, a 400
    page on the site."""

    def __init__(self, problems: Problems, summary: str = "Invalid request"):
        self.problems = list(problems)
        self.summary = summary  # a page lists the problems under it
        text = "; ".join(f"{f}: {m}" if f else m for f, m in self.problems)
        super().__init__(f"{summary}: {text}" if text else summary)


def from_form_errors(form_errors: Mapping[str, Iterable[Any]]) -> list[tuple[str, str]]:
    return [
        (field if field != "__all__" else "", str(m))
        for field, ms in form_errors.items()
        for m in ms
    ]


def is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


def json_error(status: int, detail: str, problems: Problems = ()) -> JsonResponse:
    errors = [{"field": f, "message": m} for f, m in problems]
    return JsonResponse({"detail": detail, "errors": errors}, status=status)


def page(
    request: HttpRequest, status: int, detail: str, problems: Problems = (),
    extra: Mapping[str, Any] | None = None,
) -> HttpResponse:  # fmt: skip
    """The error page: 400.html for every 4xx without a template of its own. A view that knows
    more (the model id nobody has: `extra={"search": ...}`) answers it itself, so the page is
    the site's with DEBUG on too, not Django's debug page."""
    name = f"{status}.html" if status in (403, 404, 500) else "400.html"
    context = {"status": status, "title": HTTPStatus(status).phrase, "detail": detail,
               "problems": list(problems), "path": request.path, **(extra or {})}  # fmt: skip
    body: str
    try:
        body = loader.render_to_string(name, context, request=request if status != 500 else None)
    except Exception:  # the page must not fail as the error it reports
        logger.exception("error page %s failed to render", name)
        body = f"<!doctype html><title>{status}</title><h1>{status} {context['title']}</h1>"
    return HttpResponse(body, status=status, content_type="text/html; charset=utf-8")


def missing_model(request: HttpRequest, repo_id: str) -> HttpResponse:
    """The 404 page of a model id the catalog does not hold, offering a search for it (the id,
    and its name alone in case the author is the wrong part)."""
    detail = format_html("<code>{}</code> is not in the catalog", repo_id)
    name = repo_id.rsplit("/", 1)[-1]
    return page(request, 404, detail, extra={"search": repo_id, "search_name": name})


def answer(request: HttpRequest, status: int, detail: str, problems: Problems = ()) -> HttpResponse:
    if is_api(request):
        return json_error(status, detail, problems)
    return page(request, status, detail, problems)


# --- Django's error views (config/urls.py) ------------------------------------------------


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if isinstance(exception, BadInput):
        if is_api(request):
            return json_error(422, str(exception), exception.problems)
        return page(request, 400, exception.summary, exception.problems)
    # Other 400s (a disallowed Host, a suspicious operation) keep their reason in the log.
    return answer(request, 400, "Bad request: this request cannot be served")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    detail = str(exception) if isinstance(exception, PermissionDenied) and str(exception) else ""
    return answer(request, 403, detail or "You may not do this")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return answer(request, 404, f"Not found: nothing is at {request.path}")


def server_error(request: HttpRequest) -> HttpResponse:
    return answer(request, 500, "Internal server error: it is logged, and it is our fault")


# --- The API (portal.api's NinjaAPI) -------------------------------------------------------


def _field(loc: Iterable[Any]) -> str:
    # ninja's loc is (source, [param name,] field...): ("query", "page"), ("body", "body", "use")
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body" and len(parts) > 2:
        parts = parts[1:]
    return ".".join(parts[1:]) or (parts[0] if parts else "")


def _validation_error(request: HttpRequest, exc: Any) -> HttpResponse:
    problems = [(_field(e.get("loc", ())), str(e.get("msg", "invalid"))) for e in exc.errors]
    return json_error(422, str(BadInput(problems)), problems)


def _http_error(request: HttpRequest, exc: Any) -> HttpResponse:
    if isinstance(exc, AuthenticationError):
        return json_error(401, "Authentication required: a bearer token (Authorization: "
                          "Bearer cnp_...) or a logged-in session")  # fmt: skip
    return json_error(exc.status_code, str(exc))


def _not_found(request: HttpRequest, exc: Any) -> HttpResponse:
    return json_error(404, str(exc) or "Not found")


def _bad_input(request: HttpRequest, exc: Any) -> HttpResponse:
    return json_error(422, str(exc), exc.problems)


# The error codes every operation declares, and those of some operations.
ALWAYS = (400, 422)
SECURED = (401, 403)


class ErrorsApi(NinjaAPI):
    """A NinjaAPI that answers every error as Error and declares it in its schema."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_exception_handler(ValidationError, _validation_error)
        self.add_exception_handler(HttpError, _http_error)
        self.add_exception_handler(Http404, _not_found)
        self.add_exception_handler(BadInput, _bad_input)

    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        ref = "#/components/schemas/{model}"
        for name, sub in Error.model_json_schema(ref_template=ref).pop("$defs", {}).items():
            components[name] = sub
        components["Error"] = Error.model_json_schema(ref_template=ref)
        components["Error"].pop("$defs", None)
        for ops in schema["paths"].values():
            for op in ops.values():
                codes = [*ALWAYS]
                if op.get("security"):
                    codes += SECURED
                if any(p.get("in") == "path" for p in op.get("parameters", [])):
                    codes.append(404)
                responses = {str(c): r for c, r in op["responses"].items()}
                codes += [int(c) for c in responses if c.startswith(("4", "5"))]
                for code in sorted(set(codes)):
                    responses[str(code)] = {
                        "description": HTTPStatus(code).phrase,
                        "content": {"application/json": {"schema": {"$ref": ref.format(model="Error")}}},
                    }  # fmt: skip
                op["responses"] = dict(sorted(responses.items()))
        return schema


# --- The central refusal of bad input ---------------------------------------------------------


def nul_problems(request: HttpRequest) -> list[tuple[str, str]]:
    problems = [("path", NUL_MESSAGE)] if has_nul(request.path_info) else []
    for key, values in request.GET.lists():
        if has_nul(key) or any(has_nul(v) for v in values):
            problems.append((key.replace("\x00", "\\x00"), NUL_MESSAGE))
    return problems


class RejectBadInput:
    """Refuses a NUL byte in the path or query with 400 before any view reads it (PostgreSQL
    cannot hold one; the views need not each check), and gives every non-JSON error answer of
    /api/ (Django's 405, a CSRF refusal) the API's error shape. JSON bodies are checked by the
    API's schemas (config.inputs), form posts by Django's form fields."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        problems = nul_problems(request)
        if problems:
            return answer(request, 400, f"Bad request: {NUL_MESSAGE} in a request", problems)
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and is_api(request)
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            shaped = json_error(response.status_code, HTTPStatus(response.status_code).phrase)
            for header in ("Allow", "WWW-Authenticate", "Retry-After"):
                if header in response:
                    shaped[header] = response[header]
            return shaped
        return response
