"""A SQLite file named by DATABASE_URL is shared by web, worker and beat like the embedded
default, so it gets the same options (found by testing: /crawls/ answered 500 "database is
locked" beside a crawl when the URL form dropped the lock timeout, WAL and IMMEDIATE)."""

from __future__ import annotations

import json

from tests.config.test_production_settings import run


def options_of(**env: str) -> dict:
    done = run("import django, json; from django.conf import settings; django.setup(); "
               "print(json.dumps(settings.DATABASES['default']['OPTIONS']))", **env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_sqlite_url_gets_the_embedded_defaults_options(tmp_path):
    embedded = options_of(DATABASE_URL="")
    named = options_of(DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite3'}")
    assert named == embedded
    assert named["transaction_mode"] == "IMMEDIATE" and named["timeout"] >= 30
    assert "journal_mode=WAL" in named["init_command"]
