"""Tokens can expire; the admin role loses auth.change_group (the roles are fixed by migration:
only a superuser redefines them) and gains catalog.add_crawlrun (starting crawls, which staff
status alone no longer allows). approvals.roles.ROLES states the result."""

from django.contrib.auth.management import create_permissions
from django.db import migrations, models

ADMIN_ADDS = [("catalog", "add_crawlrun")]
ADMIN_DROPS = [("auth", "change_group")]


def _perm(apps, app_label, codename):
    return apps.get_model("auth", "Permission").objects.get(
        content_type__app_label=app_label, codename=codename
    )


def _move(apps, adds, drops):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    group = apps.get_model("auth", "Group").objects.filter(name="admin").first()
    if group is None:
        return
    group.permissions.add(*(_perm(apps, *p) for p in adds))
    group.permissions.remove(*(_perm(apps, *p) for p in drops))


def forwards(apps, schema_editor):
    _move(apps, ADMIN_ADDS, ADMIN_DROPS)


def backwards(apps, schema_editor):
    _move(apps, ADMIN_DROPS, ADMIN_ADDS)


class Migration(migrations.Migration):
    dependencies = [
        ("approvals", "0005_auditevent_append_only_triggers"),
        ("catalog", "0009_quarantine"),
    ]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(
                blank=True, null=True,
                help_text="refused from then on; once set, it only moves earlier",
            ),  # fmt: skip
        ),
        migrations.AlterField(
            model_name="apitoken",
            name="revoked_at",
            field=models.DateTimeField(
                blank=True, null=True,
                help_text="set it to revoke (now); a revoked token stays revoked",
            ),  # fmt: skip
        ),
        migrations.RunPython(forwards, backwards),
    ]
