"""The pipeline check's lean WSGI path (approvals.middleware.CheckFastPath, in config/wsgi.py):
the same answers and headers as the ninja endpoint, one SQL statement, tokens refused at once
when revoked, scopes enforced, and everything it does not serve handed to Django intact."""

from __future__ import annotations

import io
import json
import logging
import sys
import time
from contextlib import contextmanager
from datetime import date, timedelta
from typing import get_args

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core import signals
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext

import approvals.middleware
from approvals import review
from approvals.api import CheckOut, Use
from approvals.auth import revoke
from approvals.middleware import REVIEWED_MIDDLEWARE, CheckFastPath
from approvals.models import ApiToken, IntendedUse, Status, Waiver
from catalog.models import HubModel
from config.wsgi import application
from tests.approvals.test_check_lean import OTHER, SHA, reference_check, states  # noqa: F401

pytestmark = pytest.mark.django_db


@contextmanager
def _test_transaction_kept():
    # As Django's test client does: close_old_connections would close the connection that
    # holds the test's transaction (its autocommit is off). The lean path calls it itself:
    # the fixture below stubs it, except in transactional tests.
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    try:
        yield
    finally:
        for signal in (signals.request_started, signals.request_finished):
            signal.connect(close_old_connections)


@pytest.fixture
def wsgi(monkeypatch, request):
    """wsgi(query, token=..., **environ) -> (status, headers, body (parsed if JSON), whether
    the lean path answered)."""
    assert isinstance(application, CheckFastPath)
    if "transactional_db" not in request.fixturenames:
        monkeypatch.setattr(approvals.middleware, "close_old_connections", lambda: None)
    handed = []
    django_app = application.app
    monkeypatch.setattr(application, "app", lambda e, sr: handed.append(1) or django_app(e, sr))

    def get(query: str, *, token: str | None = None, path: str = "/api/v1/check", **extra):
        environ = {
            "REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query,
            "SCRIPT_NAME": "", "SERVER_NAME": "testserver", "SERVER_PORT": "80",
            "HTTP_HOST": "testserver", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(),
            "wsgi.errors": sys.stderr, "SERVER_PROTOCOL": "HTTP/1.1",
        }  # fmt: skip
        if token is not None:
            environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        environ.update(extra)
        started = {}
        del handed[:]
        with _test_transaction_kept():
            result = application(environ, lambda s, h, e=None: started.update(s=s, h=h))
            body = b"".join(result)
            if hasattr(result, "close"):
                result.close()
        if "json" in dict(started["h"]).get("Content-Type", ""):
            body = json.loads(body)
        return started["s"], started["h"], body, not handed

    return get


@pytest.fixture
def token(users):
    return ApiToken.issue(users["viewer"], name="ci", scopes=["check"])


CASES = [
    ("org/base", "research", ""), ("org/quant", "research", ""), ("org/base", "internal_tool", ""),
    ("org/mixed", "internal_tool", ""), ("org/mixed", "hosted_service", ""),
    ("org/lapsed", "research", ""), ("org/lapsed", "internal_tool", ""),
    ("org/waived", "research", OTHER), ("org/pinned", "research", SHA),
    ("org/pinned", "hosted_service", OTHER), ("org/nothing", "research", ""),
]  # fmt: skip


def test_the_lean_path_answers_as_the_ninja_endpoint_did(states, token, wsgi, client):  # noqa: F811
    _, secret = token
    seen = set()
    for repo_id, use, revision in CASES:
        query = f"model={repo_id}&use={use}" + (f"&revision={revision}" if revision else "")
        status, headers, answer, lean = wsgi(query, token=secret)
        assert lean and status == "200 OK"
        # the schema's shape, and the reference implementation's answer
        expected = CheckOut.model_validate(reference_check(repo_id, revision=revision, use=use))
        assert answer == client.get(f"/api/v1/check?{query}", headers={
            "Authorization": f"Bearer {secret}"}).json()  # fmt: skip
        assert CheckOut.model_validate(answer) == expected
        seen.add(answer["status"])
    assert seen == {"approved", "approved_with_conditions", "waived", "needs_rereview",
                    "pending", "rejected", "expired", "not_requested"}  # fmt: skip


def test_the_lean_path_sends_the_headers_of_the_full_stack(states, token, wsgi, client):  # noqa: F811
    _, secret = token
    _, headers, _, lean = wsgi("model=org/base&use=research", token=secret)
    full = client.get("/api/v1/check?model=org/base&use=research",
                      headers={"Authorization": f"Bearer {secret}"})  # fmt: skip
    assert lean and dict(headers) == dict(full.items())


SECURITY_HEADERS = ["Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy",
                    "X-Frame-Options", "Cross-Origin-Opener-Policy"]  # fmt: skip
HTTPS = {"wsgi.url_scheme": "https", "SERVER_PORT": "443"}


def test_the_lean_path_sends_the_security_headers_of_every_page(token, wsgi, client):
    _, secret = token
    _, headers, _, lean = wsgi("model=org/x&use=research", token=secret)
    page = client.get("/models/")
    assert lean and page.status_code == 200
    assert {h: dict(headers).get(h) for h in SECURITY_HEADERS} == {
        h: page.headers.get(h) for h in SECURITY_HEADERS}  # fmt: skip
    assert "script-src 'self'" in dict(headers)["Content-Security-Policy"]


def test_under_https_settings_the_lean_path_serves_https_with_the_same_headers(
    states,  # noqa: F811
    token,
    wsgi,
    client,
    settings,  # noqa: F811
):
    # What DJANGO_HTTPS=1 sets. The redirect once made every production check take the full
    # stack; now only plain http does, which the middleware redirects.
    _, secret = token
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    status, headers, _, lean = wsgi("model=org/base&use=research", token=secret, **HTTPS)
    full = client.get("/api/v1/check?model=org/base&use=research", secure=True,
                      headers={"Authorization": f"Bearer {secret}"})  # fmt: skip
    assert lean and status == "200 OK" and full.status_code == 200
    assert dict(headers) == dict(full.items())
    assert dict(headers)["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    # Behind a TLS proxy, by its header; a plain http request goes to Django's redirect.
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    *_, lean = wsgi("model=org/base&use=research", token=secret, HTTP_X_FORWARDED_PROTO="https")
    assert lean
    *_, lean = wsgi("model=org/base&use=research", token=secret)
    assert not lean  # (the loaded middleware chain keeps the settings it started with)


def test_hsts_is_sent_on_https_only_as_the_security_middleware_does(token, wsgi, settings):
    _, secret = token
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    _, headers, _, lean = wsgi("model=org/x&use=research", token=secret)
    assert lean and "Strict-Transport-Security" not in dict(headers)
    _, headers, _, lean = wsgi("model=org/x&use=research", token=secret,
                               **{"wsgi.url_scheme": "https", "SERVER_PORT": "443"})  # fmt: skip
    assert lean and dict(headers)["Strict-Transport-Security"] == "max-age=3600; includeSubDomains"


def test_one_statement_per_check(states, token, wsgi, django_assert_num_queries):  # noqa: F811
    _, secret = token
    for repo_id, use, revision in CASES:
        with django_assert_num_queries(1):
            *_, lean = wsgi(f"model={repo_id}&use={use}&revision={revision}", token=secret)
        assert lean


def test_the_ninja_endpoint_stays_bounded_too(states, token, client):  # noqa: F811
    # Sessions and the refusals go through ninja: the token, then the check.
    _, secret = token
    with CaptureQueriesContext(connection) as queries:
        r = client.get("/api/v1/check?model=org/mixed&use=internal_tool",
                       headers={"Authorization": f"Bearer {secret}"})  # fmt: skip
    assert r.status_code == 200 and len(queries) <= 2


def test_a_revoked_token_is_refused_from_its_next_request(token, wsgi):
    ref, secret = token
    status, *_, lean = wsgi("model=org/x&use=research", token=secret)
    assert status == "200 OK" and lean
    revoke(ref)
    status, _, answer, lean = wsgi("model=org/x&use=research", token=secret)
    assert status == "401 Unauthorized" and not lean
    assert answer["detail"].startswith("Authentication required") and answer["errors"] == []


def test_tokens_of_inactive_users_and_unknown_tokens_are_refused(token, users, wsgi):
    _, secret = token
    User.objects.filter(pk=users["viewer"].pk).update(is_active=False)
    assert wsgi("model=org/x&use=research", token=secret)[0] == "401 Unauthorized"
    assert wsgi("model=org/x&use=research", token="cnp_guess")[0] == "401 Unauthorized"
    assert wsgi("model=org/x&use=research", token="")[0] == "401 Unauthorized"
    assert wsgi("model=org/x&use=research")[0] == "401 Unauthorized"


def test_a_token_without_the_check_scope_is_refused(users, wsgi):
    _, secret = ApiToken.issue(users["admin"], name="reader", scopes=["read", "write"])
    status, _, answer, lean = wsgi("model=org/x&use=research", token=secret)
    assert status == "403 Forbidden" and "check" in answer["detail"] and not lean


def test_only_the_hash_is_looked_up(token, wsgi):
    ref, secret = token
    with CaptureQueriesContext(connection) as queries:
        wsgi("model=org/x&use=research", token=secret)
    logged = " ".join(str(q["sql"]) for q in queries)
    assert secret not in logged
    assert ApiToken.objects.filter(digest=secret).count() == 0


def test_a_decision_or_waiver_shows_at_the_next_check(users, token, wsgi):
    _, secret = token
    model = HubModel.objects.create(repo_id="org/new", author="org", sha=SHA)
    query = "model=org/new&use=commercial_product"
    assert wsgi(query, token=secret)[2]["status"] == "not_requested"
    req = review.submit(model=model, use="commercial_product", justification="x",
                        by=users["developer"])  # fmt: skip
    assert wsgi(query, token=secret)[2]["status"] == "pending"
    review.decide(req, by=users["approver"], status=Status.REJECTED, reason="NC")
    assert wsgi(query, token=secret)[2]["reasons"] == ["rejected: NC"]
    waiver = Waiver.objects.create(model=model, reason="license_acquired",
                                   evidence_link="https://example.com/c",
                                   expires_at=date.today() + timedelta(days=9),
                                   granted_by=users["approver"])  # fmt: skip
    assert wsgi(query, token=secret)[2]["status"] == "waived"
    Waiver.objects.filter(pk=waiver.pk).update(revoked=True)
    assert wsgi(query, token=secret)[2]["status"] == "rejected"


@pytest.mark.parametrize(
    "query, status",
    [
        ("model=org/x&use=bogus", "422 Unprocessable Entity"),
        ("use=research", "422 Unprocessable Entity"),
        ("model=org/x", "422 Unprocessable Entity"),
        ("model=org/x&use=research&use=research", "200 OK"),
        ("model=&use=research", "422 Unprocessable Entity"),
        ("model=not%20a%20repo&use=research", "422 Unprocessable Entity"),
        ("model=org/x&use=research&revision=" + "a" * 41, "422 Unprocessable Entity"),
        ("model=org/x%00&use=research", "400 Bad Request"),
        ("model=org/x&use=research&revision=%00", "400 Bad Request"),
        ("model=org/x&use=research&x%00=1", "400 Bad Request"),
    ],
)
def test_queries_it_does_not_read_go_to_ninja(token, wsgi, query, status):
    _, secret = token
    got, _, _, lean = wsgi(query, token=secret)
    assert got == status and not lean


def test_hosts_outside_allowed_hosts_are_refused(token, wsgi):
    _, secret = token
    status, _, _, lean = wsgi("model=org/x&use=research", token=secret, HTTP_HOST="evil.example")
    assert status == "400 Bad Request" and not lean


def test_a_session_still_works_through_django(users, wsgi, client):
    client.force_login(users["viewer"])
    r = client.get("/api/v1/check?model=org/x&use=research")
    assert r.status_code == 200 and r.json()["status"] == "not_requested"


def test_other_paths_and_methods_go_to_django(token, wsgi):
    _, secret = token
    *_, lean = wsgi("", token=secret, path="/api/v1/models")
    assert not lean
    status, *_, lean = wsgi("model=org/x&use=research", token=secret, REQUEST_METHOD="POST")
    assert status == "405 Method Not Allowed" and not lean


def test_an_error_in_the_lean_path_is_logged_and_django_answers(token, wsgi, monkeypatch, caplog):
    _, secret = token

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(approvals.middleware, "token_check", broken)
    with caplog.at_level(logging.ERROR, logger="approvals.middleware"):
        status, _, answer, lean = wsgi("model=org/x&use=research", token=secret)
    assert status == "200 OK" and answer["status"] == "not_requested" and not lean
    assert "lean check failed" in caplog.text


def test_settings_it_does_not_mirror_send_the_check_to_django(token, wsgi, settings):
    _, secret = token
    for name in ("SECURE_SSL_REDIRECT", "PREPEND_WWW", "USE_X_FORWARDED_HOST"):
        setattr(settings, name, True)
        *_, lean = wsgi("model=org/x&use=research", token=secret)
        assert not lean  # (the loaded middleware chain keeps the settings it started with)
        setattr(settings, name, False)


def test_the_script_prefix_is_in_the_approval_url(states, token, wsgi, client):  # noqa: F811
    _, secret = token
    *_, answer, lean = wsgi("model=org/base&use=research", token=secret, SCRIPT_NAME="/canopy")
    assert lean and answer["approval"]["url"].startswith("/canopy/approvals/")
    *_, answer, lean = wsgi("model=org/base&use=research", token=secret)
    assert answer["approval"]["url"].startswith("/approvals/")


def test_connections_past_their_age_are_closed_and_reopened(transactional_db, wsgi, users):
    _, secret = ApiToken.issue(users["viewer"], name="ci", scopes=["check"])
    connection.ensure_connection()
    old = connection.connection
    connection.close_at = time.monotonic() - 1  # CONN_MAX_AGE has passed
    status, *_, lean = wsgi("model=org/x&use=research", token=secret)
    assert status == "200 OK" and lean
    assert connection.connection is not old


def test_the_middleware_it_bypasses_is_the_reviewed_list():
    # A middleware added to settings.MIDDLEWARE does not run for the lean path: judge what it
    # would do to a token's check, mirror it in CheckFastPath if needed, then list it there.
    assert settings.MIDDLEWARE == REVIEWED_MIDDLEWARE


def test_the_endpoint_stays_documented_in_the_schema(client):
    schema = client.get("/api/v1/openapi.json").json()
    op = schema["paths"]["/api/v1/check"]["get"]
    assert {p["name"] for p in op["parameters"]} == {"model", "use", "revision", "profile"}
    ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/CheckOut")
    assert set(get_args(Use)) == set(IntendedUse.values)


@pytest.mark.postgres
def test_the_statement_is_prepared_on_postgresql(token, wsgi):
    _, secret = token
    for _ in range(7):
        wsgi("model=org/x&use=research", token=secret)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
                       ["%WITH tok AS%"])  # fmt: skip
        assert cursor.fetchone()[0] == 1
