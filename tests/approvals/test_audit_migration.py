"""Migration 0004 chains the entries that existed before the chain, in id order, and keeps
their actor's id; 0005's triggers are in place afterwards."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from approvals import audit
from approvals.models import AuditEvent

pytestmark = pytest.mark.django_db(transaction=True)
BEFORE = [("approvals", "0002_roles")]


def _migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor


def test_entries_written_before_the_chain_are_chained_in_id_order():
    latest = [key for key in MigrationExecutor(connection).loader.graph.leaf_nodes()
              if key[0] == "approvals"]  # fmt: skip
    executor = _migrate(BEFORE)
    try:
        old = executor.loader.project_state(BEFORE).apps
        user = old.get_model("auth", "User").objects.create(username="early")
        Event = old.get_model("approvals", "AuditEvent")
        for i in range(5):
            # The old table let anyone rewrite rows: the migration chains what it finds.
            Event.objects.create(actor=user if i % 2 else None, actor_label="early" if i % 2
                                 else "system", action="policy.changed",
                                 detail={"i": i, "z": [1, 2.5], "a": "é"})  # fmt: skip
    finally:
        _migrate(latest)

    verdict = audit.verify()
    assert verdict.intact and verdict.checked == 5, str(verdict)
    rows = list(AuditEvent.objects.order_by("id"))
    assert rows[0].prev_hash == "" and all(r.hash for r in rows)
    assert [r.actor_user_id for r in rows] == [None, user.pk, None, user.pk, None]
    new = audit.record(actor=None, label="after", action="policy.changed")
    assert new.prev_hash == rows[-1].hash
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {AuditEvent._meta.db_table} SET actor_label = 'x'")
