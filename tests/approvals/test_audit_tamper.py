"""The audit log holds against the people with the most access: the database refuses UPDATE / DELETE
/ TRUNCATE, the ORM paths that change rows raise, the actor survives the user, and a hash chain
makes any rewrite done anyway visible to `verify_audit`."""

from __future__ import annotations

import importlib
import threading

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.db.models import ProtectedError

from approvals import audit, review
from approvals.models import AuditEvent, IntendedUse
from catalog.models import HubModel

pytestmark = pytest.mark.django_db
TABLE = AuditEvent._meta.db_table
GUARD = "approvals.migrations.0005_auditevent_append_only_triggers"


@pytest.fixture
def logged(users):
    """Five entries by three people and a policy-less system writer."""
    model = HubModel.objects.create(repo_id="org/model", author="org", sha="a" * 40)
    req = review.submit(model=model, use=IntendedUse.RESEARCH, justification="x",
                        by=users["developer"])  # fmt: skip
    review.decide(req, by=users["approver"], status="rejected", reason="NC")
    audit.record(
        actor=users["admin"],
        action="policy.created",
        detail={
            "b": [1, 2.5],
            "a": "é",
            "n": [1e20, 1.0, 1e-7, -0.0, True, None],
            "k": {"z": 1, "y": {"x": ()}},
        },
    )
    audit.record(actor=None, label="crawl", action="request.needs_rereview", obj=req)
    audit.record(actor=users["legal"], action="determination.created", repo_id=model.repo_id)
    return list(AuditEvent.objects.order_by("id"))


def _sql(statement: str, params=()) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, params)


def _refused(statement: str) -> str:
    with pytest.raises(DatabaseError) as caught:
        _sql(statement)
    return str(caught.value)


def verify() -> tuple[int, str]:
    from io import StringIO

    out, err = StringIO(), StringIO()
    try:
        call_command("verify_audit", stdout=out, stderr=err)
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue() + err.getvalue()
    return 0, out.getvalue() + err.getvalue()


# -- escalation: "the append-only audit log is append-only only in Python" -----------------


def test_escalation_raw_sql_update_delete_and_truncate_fail(logged):
    # On whichever database the suite runs: CI runs it on PostgreSQL, `make test` on SQLite.
    assert "append-only" in _refused(f"UPDATE {TABLE} SET actor_label = 'nobody'")
    assert "append-only" in _refused(f"DELETE FROM {TABLE} WHERE id = {logged[0].pk}")
    if connection.vendor == "postgresql":  # SQLite has no TRUNCATE (it is a DELETE there)
        # The inserts above left foreign-key checks pending in the test's transaction, which
        # would refuse TRUNCATE on their own ("pending trigger events"): run them now.
        _sql("SET CONSTRAINTS ALL IMMEDIATE")
        assert "append-only" in _refused(f"TRUNCATE {TABLE}")
        assert "append-only" in _refused(f"TRUNCATE {TABLE} CASCADE")
    assert AuditEvent.objects.count() == len(logged)
    assert set(AuditEvent.objects.values_list("actor_label", flat=True)) != {"nobody"}


def test_escalation_orm_update_and_delete_raise(logged):
    qs = AuditEvent.objects.filter(pk=logged[0].pk)
    with pytest.raises(PermissionDenied):
        qs.update(actor_label="nobody")
    with pytest.raises(PermissionDenied):
        qs.delete()
    with pytest.raises(PermissionDenied):
        AuditEvent.objects.all().delete()
    event = logged[0]
    event.actor_label = "nobody"
    with pytest.raises(PermissionDenied):
        AuditEvent.objects.bulk_update([event], ["actor_label"])
    with pytest.raises(PermissionDenied):
        event.save()
    with pytest.raises(PermissionDenied):
        event.delete()
    assert AuditEvent.objects.get(pk=event.pk).actor_label != "nobody"


def test_escalation_deleting_a_user_keeps_their_entries_and_is_refused(logged, users):
    # legal's only trace is in the audit log: nothing but the log protects the account.
    approver = users["legal"]
    mine = [e.pk for e in logged if e.actor_label == "legal"]
    assert mine
    with pytest.raises(ProtectedError) as caught:
        approver.delete()
    assert "AuditEvent" in str(caught.value)
    assert User.objects.filter(pk=approver.pk).exists()
    for event in AuditEvent.objects.filter(pk__in=mine):
        assert (event.actor_id, event.actor_user_id, event.actor_label) == (
            approver.pk, approver.pk, "legal",
        )  # fmt: skip


def test_the_admin_refuses_to_delete_a_user_with_entries_and_says_deactivate(client, logged):
    root = User.objects.create_superuser("root", "root@example.com", "x")
    client.force_login(root)
    legal = User.objects.get(username="legal")
    url = f"/admin/auth/user/{legal.pk}/delete/"
    page = client.post(url, {"post": "yes"})
    assert page.status_code == 200
    assert b"Deactivate" in page.content and b"audit" in page.content
    assert User.objects.filter(pk=legal.pk).exists()
    bulk = client.post("/admin/auth/user/", {"action": "delete_selected", "post": "yes",
                                             "_selected_action": [legal.pk]})  # fmt: skip
    assert bulk.status_code == 200 and b"Deactivate" in bulk.content
    assert User.objects.filter(pk=legal.pk).exists()


# -- the hash chain -------------------------------------------------------------------------


def test_each_entry_chains_onto_the_one_before(logged):
    assert logged[0].prev_hash == ""
    for before, after in zip(logged, logged[1:], strict=False):
        assert after.prev_hash == before.hash and len(after.hash) == 64
    assert len({e.hash for e in logged}) == len(logged)
    for event in logged:
        assert event.hash == audit.entry_hash(event, event.prev_hash)
    code, out = verify()
    assert code == 0 and f"{len(logged)} entries, chain intact" in out


def test_a_direct_create_is_chained_too(logged):
    made = AuditEvent.objects.create(actor_label="system", action="waiver.granted")
    assert made.prev_hash == logged[-1].hash and made.hash == audit.entry_hash(made, made.prev_hash)


def test_bulk_create_is_refused_because_it_would_skip_the_chain(logged):
    with pytest.raises(PermissionDenied):
        AuditEvent.objects.bulk_create([AuditEvent(actor_label="x", action="y")])


@pytest.fixture
def unguarded():
    """The triggers lifted, as the table's owner could; the test's transaction puts them back
    (SQLite: dropped; PostgreSQL: disabled)."""
    guard = importlib.import_module(GUARD)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Deferred foreign-key checks of the test's inserts would refuse the ALTER.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER {TABLE}_append_only")
        else:
            for statement in guard.SQLITE_DROP:
                cursor.execute(statement)


def test_verify_audit_reports_a_rewritten_entry(logged, unguarded):
    target = logged[2]
    _sql(f"UPDATE {TABLE} SET detail = %s WHERE id = %s", ['{"a": "e", "b": [1, 2.5]}', target.pk])
    code, out = verify()
    assert code != 0
    assert f"#{target.pk}" in out and "content" in out
    assert f"#{logged[1].pk}" not in out  # the first broken link, not the ones before


def test_verify_audit_reports_a_rewritten_actor_and_a_forged_hash(logged, unguarded):
    target = logged[1]
    _sql(f"UPDATE {TABLE} SET actor_label = 'intern' WHERE id = %s", [target.pk])
    code, out = verify()
    assert code != 0 and f"#{target.pk}" in out
    # Recomputing the row's own hash to match does not help: the next entry points at the old.
    forged = AuditEvent.objects.get(pk=target.pk)
    _sql(f"UPDATE {TABLE} SET hash = %s WHERE id = %s",
         [audit.entry_hash(forged, forged.prev_hash), target.pk])  # fmt: skip
    code, out = verify()
    assert code != 0 and f"#{logged[2].pk}" in out and "previous" in out


def test_verify_audit_reports_a_deleted_entry(logged, unguarded):
    _sql(f"DELETE FROM {TABLE} WHERE id = %s", [logged[2].pk])
    code, out = verify()
    assert code != 0 and f"#{logged[3].pk}" in out and "previous" in out


def test_the_audit_page_shows_the_chain_status(client, users, logged):
    client.force_login(users["legal"])
    assert b"Verify the hash chain" in client.get("/approvals/audit/").content
    page = client.get("/approvals/audit/", {"verify": "1"})
    assert f"chain verified: {len(logged)} entries intact".encode() in page.content


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_never_fork_the_chain(users):
    """Writers in parallel transactions each append; none may chain onto an entry another
    already chained onto (the unique prev_hash would refuse it, so a missing lock fails here)."""
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def write(n: int) -> None:
        try:
            start.wait()
            for i in range(15):
                with transaction.atomic():
                    audit.record(actor=None, label=f"w{n}", action="policy.changed",
                                 detail={"i": i})  # fmt: skip
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert AuditEvent.objects.filter(action="policy.changed").count() == 60
    code, out = verify()
    assert code == 0, out
