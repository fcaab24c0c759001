"""Login throttling (django-axes): repeated failures lock out one username from one address,
the right password included, on the site's login and the admin's; others are not locked;
every failure and lockout is in the audit log; the page says until when."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from approvals.models import AuditEvent

pytestmark = pytest.mark.django_db

LOGIN = "/approvals/login/"
ADMIN_LOGIN = "/admin/login/"
HERE, ELSEWHERE = "203.0.113.7", "198.51.100.9"


@pytest.fixture
def alice(db):
    return User.objects.create_user("alice", "alice@example.com", "right-password", is_staff=True)


def login(client, username, password, *, ip=HERE, path=LOGIN, **extra):
    return client.post(path, {"username": username, "password": password},
                       REMOTE_ADDR=ip, **extra)  # fmt: skip


def fail(client, times, username="alice", **kwargs):
    for _ in range(times):
        response = login(client, username, "wrong", **kwargs)
    return response


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_below_the_limit_a_wrong_password_is_just_refused(client, alice, settings):
    response = fail(client, settings.AXES_FAILURE_LIMIT - 1)
    assert response.status_code == 200 and b"Please enter a correct username" in response.content
    assert login(client, "alice", "right-password").status_code == 302 and logged_in(client)


def test_the_limit_locks_out_even_the_right_password(client, alice, settings):
    response = fail(client, settings.AXES_FAILURE_LIMIT)
    assert response.status_code == 429
    response = login(client, "alice", "right-password")
    assert response.status_code == 429 and not logged_in(client)
    # A readable page: the login page, saying for how long and until when.
    text = response.content.decode()
    assert 'id="locked-out"' in text and "<form" in text and "Log in" in text
    until = timezone.now() + settings.AXES_COOLOFF_TIME
    assert f"locked for {settings.AXES_COOLOFF_TIME.seconds // 60} minutes" in text
    assert until.strftime("%Y-%m-%d") in text
    assert (
        until.strftime("%H:%M") in text or (until - timedelta(minutes=1)).strftime("%H:%M") in text
    )


def test_the_lockout_ends_after_the_cool_off(client, alice, settings):
    fail(client, settings.AXES_FAILURE_LIMIT)
    settings.AXES_COOLOFF_TIME = timedelta(seconds=0)  # as if it had passed
    assert login(client, "alice", "right-password").status_code == 302 and logged_in(client)


def test_another_user_and_another_address_are_not_locked(client, alice, settings):
    User.objects.create_user("bob", "bob@example.com", "bobs-password")
    fail(client, settings.AXES_FAILURE_LIMIT)
    assert login(client, "bob", "bobs-password").status_code == 302  # same address, other user
    client.logout()
    assert login(client, "alice", "right-password", ip=ELSEWHERE).status_code == 302
    assert login(client, "alice", "right-password").status_code == 429  # still, from here


def test_the_admin_login_is_throttled_too(client, alice, settings):
    fail(client, settings.AXES_FAILURE_LIMIT - 1, path=ADMIN_LOGIN)
    assert fail(client, 1).status_code == 429  # one count, whichever page
    response = login(client, "alice", "right-password", path=ADMIN_LOGIN)
    assert response.status_code == 429 and b'id="locked-out"' in response.content
    assert not logged_in(client)


def test_failures_and_lockouts_are_audited(client, alice, settings):
    limit = settings.AXES_FAILURE_LIMIT
    fail(client, limit)
    login(client, "alice", "right-password")  # refused while locked
    failed = AuditEvent.objects.filter(action="login.failed").order_by("id")
    locked = AuditEvent.objects.filter(action="login.locked_out").order_by("id")
    assert failed.count() == limit + 1
    assert {(e.actor_id, e.actor_label) for e in failed} == {(None, "anonymous")}
    assert {(e.detail["username"], e.detail["ip"], e.detail["path"]) for e in failed} == {
        ("alice", HERE, LOGIN)}  # fmt: skip
    # at the failure that reached the limit, and at the attempt refused during the lockout
    assert [(e.detail["username"], e.detail["ip"], e.detail["failures"]) for e in locked] == [
        ("alice", HERE, limit), ("alice", HERE, limit + 1)]  # fmt: skip
    assert "password" not in str([e.detail for e in failed])


def test_an_overlong_username_is_audited_bounded(client, db, settings):
    login(client, "x" * 10_000, "wrong")
    event = AuditEvent.objects.get(action="login.failed")
    assert event.detail["username"] == "x" * 150


def test_behind_proxies_the_forwarded_client_address_is_counted(client, alice, settings):
    settings.PROXY_COUNT = 1
    proxy = "10.0.0.2"
    fail(client, settings.AXES_FAILURE_LIMIT, ip=proxy, HTTP_X_FORWARDED_FOR=f"1.1.1.1, {HERE}")
    # The address the proxy saw is locked; the client's own claim to the left is not trusted,
    # and another client behind the same proxy is not locked.
    assert login(client, "alice", "right-password", ip=proxy,
                 HTTP_X_FORWARDED_FOR=f"9.9.9.9, {HERE}").status_code == 429  # fmt: skip
    assert login(client, "alice", "right-password", ip=proxy,
                 HTTP_X_FORWARDED_FOR=ELSEWHERE).status_code == 302  # fmt: skip
    assert set(AuditEvent.objects.filter(action="login.failed").values_list(
        "detail__ip", flat=True)) == {HERE}  # fmt: skip
