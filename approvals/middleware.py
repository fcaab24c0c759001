import logging
from urllib.parse import parse_qsl

import orjson
from csp.constants import HEADER as CSP_HEADER
from csp.constants import HEADER_REPORT_ONLY as CSP_REPORT_ONLY_HEADER
from csp.utils import build_policy
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.handlers.wsgi import get_script_name
from django.core.signals import setting_changed
from django.db import close_old_connections
from django.http.request import split_domain_port, validate_host
from django.urls import get_script_prefix, reverse, set_script_prefix

from config.inputs import REVISION_MAX, is_repo_id

from .auth import bearer
from .check import token_check
from .models import ApiToken, IntendedUse

OPEN_PREFIXES = ("/approvals/login/", "/static/", "/admin/", "/api/")
logger = logging.getLogger(__name__)


class LoginRequiredMiddleware:
    """With CANOPY_LOGIN_REQUIRED on, every page asks for a login (the API has its own auth)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            settings.CANOPY_LOGIN_REQUIRED
            and not request.user.is_authenticated
            and not request.path.startswith(OPEN_PREFIXES)
        ):
            return redirect_to_login(request.get_full_path())
        return self.get_response(request)


# The Django middleware the lean path was checked against (what each would do to a token check
# is mirrored or irrelevant: see CheckFastPath). tests/approvals/test_check_fastpath.py fails
# when settings.MIDDLEWARE differs, so a new middleware gets judged for the check too.
REVIEWED_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",  # headers below; SSL redirect declines
    "csp.middleware.CSPMiddleware",  # the policy's header below (a JSON answer takes no nonce)
    "whitenoise.middleware.WhiteNoiseMiddleware",  # static files only
    "config.errors.RejectBadInput",  # NUL bytes: _query declines them, so this answers 400
    "config.head.HeadAsGet",  # HEAD only, which the lean path (GET only) declines
    "django.contrib.sessions.middleware.SessionMiddleware",  # a token check reads no session
    "django.middleware.common.CommonMiddleware",  # Content-Length; its options decline
    "django.middleware.csrf.CsrfViewMiddleware",  # a GET; ninja checks CSRF for sessions only
    "django.contrib.auth.middleware.AuthenticationMiddleware",  # the token is the auth
    "django.contrib.messages.middleware.MessageMiddleware",  # no messages in JSON
    "django.middleware.clickjacking.XFrameOptionsMiddleware",  # header below
    "django_htmx.middleware.HtmxMiddleware",  # request attribute only
    "approvals.middleware.LoginRequiredMiddleware",  # /api/ is open to it
    "axes.middleware.AxesMiddleware",  # acts on a lockout of a login, which a check is not
]
USES = frozenset(IntendedUse.values)


class CheckFastPath:
    """WSGI middleware (config/wsgi.py) that answers `GET /api/v1/check` with a bearer token
    itself: one SQL statement (approvals.check.token_check), no URL resolution, Django
    middleware, ninja operation or HttpResponse. Everything else goes to Django.

    It serves only what it can answer exactly as the ninja endpoint (approvals.api.check)
    would, same JSON and headers (tests/approvals/test_check_fastpath.py compares them): a
    well-formed query (model, a known use, optional revision, no repeated keys), an allowed
    Host, and a live token with the `check` scope. Anything else, including an unknown,
    revoked or out-of-scope token (401/403), and any error, is handed to the full stack, which
    answers and logs as usual; so refusals cost a second lookup and successes cost one.
    Nothing is cached: a revoked token is refused from its next request on."""

    def __init__(self, app):
        self.app = app
        # PATH_INFO has no script prefix; reverse() adds this thread's. It loads the URLconf
        # too, when the worker starts rather than during its first request (which took 0.45 to
        # 0.75 s: every view module imported, then a full garbage collection).
        self.path = "/" + reverse("api-v1:check").removeprefix(get_script_prefix())

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") == "GET" and environ.get("PATH_INFO") == self.path:
            served = self.serve(environ)
            if served is not None:
                start_response("200 OK", served[0])
                return [served[1]]
        return self.app(environ, start_response)

    def serve(self, environ) -> tuple[list[tuple[str, str]], bytes] | None:
        """(headers, body) of the answer, or None: the full stack must answer."""
        secret = _bearer(environ)
        query = _query(environ.get("QUERY_STRING", ""))
        if (
            secret is None
            or query is None
            or not _host_allowed(environ)
            or _declines()
            or (settings.SECURE_SSL_REDIRECT and not _secure(environ))
        ):
            return None
        set_script_prefix(get_script_name(environ))  # the answer's approval URL
        # What Django's handler does on request_started / request_finished that concerns this
        # path: age out persistent connections and drop broken ones. (The other receivers
        # close caches, which it does not use, and clear the query log kept with DEBUG, which
        # is bounded.) Sending the signals instead cost 40 us of the check's 280 us of CPU.
        close_old_connections()
        try:
            _, answer = token_check(ApiToken.hash(secret), query[0], revision=query[1],
                                    use=query[2])  # fmt: skip
        except Exception:
            # Logged here; the full stack then answers (a 500 of its own if it fails too).
            logger.exception("lean check failed, handing the request to Django")
            return None
        finally:
            close_old_connections()
        if answer is None:
            return None  # unknown, revoked or out-of-scope token: ninja's 401 / 403
        body = orjson.dumps(answer)
        return _headers(environ, len(body)), body


def _bearer(environ) -> str | None:
    header = environ.get("HTTP_AUTHORIZATION")
    secret = bearer(header) if header else None
    return secret or None


def _query(qs: str) -> tuple[str, str, str] | None:
    """(model, revision, use) read as ninja would, or None when ninja should read it."""
    if not qs.isascii() or "%00" in qs or "\x00" in qs:
        return None  # config.errors.RejectBadInput answers a NUL byte
    got: dict[str, str] = {}
    for key, value in parse_qsl(qs, keep_blank_values=True):
        if key in got:
            return None
        got[key] = value
    if "profile" in got:
        return None  # a named profile is looked up, and refused if unknown, by ninja
    model, use, revision = got.get("model"), got.get("use"), got.get("revision", "")
    if not model or use not in USES or not is_repo_id(model) or len(revision) > REVISION_MAX:
        return None  # ninja answers 422, as approvals.api.check's parameters declare
    return model, revision, use


def _host_allowed(environ) -> bool:
    # request.get_host() of CommonMiddleware, for a Host header; the full stack answers a
    # request without one, or one it must reject with 400.
    host = environ.get("HTTP_HOST")
    if not host or not settings.ALLOWED_HOSTS:
        return False
    domain, _ = split_domain_port(host)
    return bool(domain) and validate_host(domain, settings.ALLOWED_HOSTS)


def _declines() -> bool:
    # Settings whose effect the lean path does not mirror: the full stack answers. (An
    # https request under SECURE_SSL_REDIRECT is served: the middleware only redirects http.)
    return bool(
        settings.PREPEND_WWW or settings.DISALLOWED_USER_AGENTS or settings.USE_X_FORWARDED_HOST
    )


def _secure(environ) -> bool:
    if settings.SECURE_PROXY_SSL_HEADER:
        header, value = settings.SECURE_PROXY_SSL_HEADER
        if environ.get(header) is not None:
            return environ[header].split(",", 1)[0].strip() == value
    return environ.get("wsgi.url_scheme") == "https"


def _headers(environ, length: int) -> list[tuple[str, str]]:
    """The headers the ninja endpoint's answer gets from HttpResponse and the middleware."""
    headers = [("Content-Type", "application/json; charset=utf-8")]
    if settings.X_FRAME_OPTIONS:
        headers.append(("X-Frame-Options", settings.X_FRAME_OPTIONS.upper()))
    headers.append(("Content-Length", str(length)))
    if settings.SECURE_HSTS_SECONDS and _secure(environ):
        sts = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            sts += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            sts += "; preload"
        headers.append(("Strict-Transport-Security", sts))
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append(("X-Content-Type-Options", "nosniff"))
    policy = settings.SECURE_REFERRER_POLICY
    if policy:
        parts = policy.split(",") if isinstance(policy, str) else policy
        headers.append(("Referrer-Policy", ",".join(v.strip() for v in parts)))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append(("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY))
    headers.extend(_csp_headers())
    return headers


_csp_cache: list[tuple[str, str]] | None = None


def _csp_headers() -> list[tuple[str, str]]:
    """CSPMiddleware's headers for an answer with no nonce and no per-view policy, as the
    check's is: built once (build_policy costs more than the rest of the headers together),
    again when a test changes the policy's settings."""
    global _csp_cache
    if _csp_cache is None:
        built = [
            (CSP_HEADER, build_policy()),
            (CSP_REPORT_ONLY_HEADER, build_policy(report_only=True)),
        ]
        _csp_cache = [(name, value) for name, value in built if value]
    return _csp_cache


def _forget_csp(*, setting: str, **kwargs) -> None:
    global _csp_cache
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _csp_cache = None


setting_changed.connect(_forget_csp, dispatch_uid="canopy-check-fastpath-csp")
