"""Chain the entries written before the chain existed, in id order, and record their actor's id
as the foreign key holds it now (entries whose user was deleted keep their actor_label only)."""

from django.db import migrations

from approvals.chain import canonical_detail, entry_hash


def chain_existing(apps, schema_editor):
    AuditEvent = apps.get_model("approvals", "AuditEvent")
    db = schema_editor.connection.alias
    prev_hash, batch = "", []
    for entry in AuditEvent.objects.using(db).order_by("id").iterator(chunk_size=2000):
        entry.actor_user_id = entry.actor_id
        entry.detail = canonical_detail(entry.detail)
        entry.prev_hash = prev_hash
        entry.hash = prev_hash = entry_hash(entry, prev_hash)
        batch.append(entry)
        if len(batch) >= 2000:
            AuditEvent.objects.using(db).bulk_update(batch, ["actor_user_id", "prev_hash", "hash"])
            batch = []
    if batch:
        AuditEvent.objects.using(db).bulk_update(batch, ["actor_user_id", "prev_hash", "hash"])


class Migration(migrations.Migration):
    dependencies = [("approvals", "0003_auditevent_chain")]

    # Backwards: 0003's columns go away with the hashes in them; nothing to undo here.
    operations = [migrations.RunPython(chain_existing, migrations.RunPython.noop)]
