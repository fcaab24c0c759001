"""Production settings: no start without a secret key of its own, HTTPS settings that turn on
HSTS, the SSL redirect and Secure cookies, and `check --deploy` clean with them. Each runs
settings in a fresh interpreter, since they are read once at import."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
STRONG = secrets.token_urlsafe(50)
PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": STRONG,
    "DJANGO_ALLOWED_HOSTS": "canopy.example",
    "DJANGO_HTTPS": "1",
}


def run(code: str, **env: str) -> subprocess.CompletedProcess:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CANOPY_"))}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**keep, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
    )  # fmt: skip


def settings_of(**env: str) -> subprocess.CompletedProcess:
    return run("import django; from django.conf import settings; django.setup(); "
               "print(settings.SECRET_KEY[:8])", **env)  # fmt: skip


def deploy_check(**env: str) -> subprocess.CompletedProcess:
    return run("import django; django.setup(); from django.core.management import call_command; "
               "call_command('check', deploy=True, fail_level='WARNING')", **env)  # fmt: skip


@pytest.mark.parametrize(
    "key, problem",
    [
        (None, "is not set"),
        ("", "is not set"),
        ("insecure-compose-placeholder-change-me", "placeholder"),  # compose's old fallback
        ("canopy-insecure-development-key", "placeholder"),  # the debug key
        ("django-insecure-" + "x1y2z3" * 10, "placeholder"),  # startproject's
        ("s3cr3t-but-short", "too weak"),
        ("ab" * 40, "too weak"),  # long, 2 distinct characters
    ],
)
def test_production_refuses_to_start_without_a_secret_key_of_its_own(key, problem):
    env = {"DJANGO_DEBUG": "0"} | ({} if key is None else {"DJANGO_SECRET_KEY": key})
    result = settings_of(**env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and problem in result.stderr, result.stderr


def test_a_strong_key_starts_and_debug_may_use_the_development_key():
    assert settings_of(DJANGO_DEBUG="0", DJANGO_SECRET_KEY=STRONG).stdout.strip() == STRONG[:8]
    assert settings_of(DJANGO_DEBUG="1").stdout.strip() == "canopy-i"


def test_compose_demands_a_secret_key_instead_of_falling_back_to_one():
    compose = (ROOT / "docker-compose.yml").read_text()
    assert "insecure-compose-placeholder" not in compose
    env = yaml.safe_load(compose)["x-app"]["environment"]
    assert re.fullmatch(r"\$\{DJANGO_SECRET_KEY:\?.+\}", env["DJANGO_SECRET_KEY"])


def test_check_deploy_is_clean_with_production_settings():
    result = deploy_check(**PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout + result.stderr


def test_without_https_check_deploy_warns_as_the_issue_saw():
    result = deploy_check(**(PRODUCTION | {"DJANGO_HTTPS": "0"}))
    assert result.returncode != 0
    for warning in ("W004", "W008", "W012", "W016"):
        assert f"security.{warning}" in result.stderr, result.stderr


def test_https_turns_on_hsts_the_redirect_and_secure_cookies():
    names = ["SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE",
             "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD",
             "SECURE_PROXY_SSL_HEADER"]  # fmt: skip
    code = ("import django; from django.conf import settings; django.setup(); "
            f"print([getattr(settings, n) for n in {names!r}])")  # fmt: skip
    on = run(code, **PRODUCTION, DJANGO_SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto")
    assert on.stdout.strip() == str(
        [True, True, True, 31_536_000, True, False, ("HTTP_X_FORWARDED_PROTO", "https")]
    ), on.stderr
    off = run(code, DJANGO_DEBUG="1")
    assert off.stdout.strip() == str([False, False, False, 0, True, False, None]), off.stderr
    bad = run(code, DJANGO_SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto: https")
    assert "ImproperlyConfigured" in bad.stderr


@pytest.mark.parametrize("value", ["-1", "nan", "inf", "abc"])
@pytest.mark.parametrize("name", ["CANOPY_HUB_BACKOFF_SECONDS", "CANOPY_CRAWL_BACKOFF_SECONDS"])
def test_a_wait_that_is_not_a_finite_number_of_seconds_is_refused_at_start(name, value):
    """A negative or NaN wait passed the start and failed the first retry instead
    (time.sleep raises ValueError, which the client took for a garbled answer)."""
    result = settings_of(DJANGO_DEBUG="1", **{name: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and name in result.stderr, result.stderr


def test_a_wait_of_zero_or_a_fraction_is_taken():
    code = ("import django; from django.conf import settings; django.setup(); "
            "print(settings.CANOPY_HUB_BACKOFF_SECONDS, settings.CANOPY_CRAWL_BACKOFF_SECONDS)")  # fmt: skip
    got = run(
        code, DJANGO_DEBUG="1", CANOPY_HUB_BACKOFF_SECONDS="0", CANOPY_CRAWL_BACKOFF_SECONDS="0.5"
    )
    assert got.stdout.split() == ["0.0", "0.5"], got.stderr
