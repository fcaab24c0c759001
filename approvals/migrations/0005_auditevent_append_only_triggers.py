"""The audit log is append-only in the database too: UPDATE, DELETE (and on PostgreSQL
TRUNCATE) on its table fail, whoever sends them. Only its owner could drop the triggers: run
the application as a role that does not own the table to close that too; the hash chain shows
what was rewritten anyway.

SQLite remakes a table to alter it, and the remade table has no triggers: a later migration
that alters AuditEvent on SQLite must create them again (tests/approvals/test_audit_tamper.py
fails if it does not)."""

from django.db import migrations, models

TABLE = "approvals_auditevent"

PG_CREATE = [
    f"""CREATE OR REPLACE FUNCTION {TABLE}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'the audit log is append-only: % on {TABLE} refused', TG_OP
            USING ERRCODE = 'restrict_violation';
    END $$""",
    # Per statement: refused even when no row matches, and TRUNCATE has no rows to fire on.
    f"""CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_append_only()""",
]
PG_DROP = [
    f"DROP TRIGGER IF EXISTS {TABLE}_append_only ON {TABLE}",
    f"DROP FUNCTION IF EXISTS {TABLE}_append_only()",
]
SQLITE_CREATE = [
    f"""CREATE TRIGGER {TABLE}_no_{op.lower()} BEFORE {op} ON {TABLE}
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: {op} on {TABLE} refused'); END"""
    for op in ("UPDATE", "DELETE")
]
SQLITE_DROP = [f"DROP TRIGGER IF EXISTS {TABLE}_no_{op}" for op in ("update", "delete")]
SQL = {"postgresql": (PG_CREATE, PG_DROP), "sqlite": (SQLITE_CREATE, SQLITE_DROP)}


def _run(schema_editor, which: int) -> None:
    statements = SQL.get(schema_editor.connection.vendor)
    if statements is None:
        raise RuntimeError(f"no append-only triggers for {schema_editor.connection.vendor}")
    for statement in statements[which]:
        schema_editor.execute(statement, params=None)


def create(apps, schema_editor):
    _run(schema_editor, 0)


def drop(apps, schema_editor):
    _run(schema_editor, 1)


class Migration(migrations.Migration):
    dependencies = [("approvals", "0004_auditevent_chain_existing")]

    operations = [
        migrations.AddConstraint(
            model_name="auditevent",
            constraint=models.UniqueConstraint(fields=("prev_hash",), name="audit_chain_linear"),
        ),
        migrations.RunPython(create, drop),
    ]
