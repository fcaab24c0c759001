"""The five roles as groups with their permissions."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLES = {
    "viewer": ["approvals.view_approvalrequest", "approvals.view_policy", "approvals.view_waiver"],
    "developer": ["approvals.add_approvalrequest"],
    "legal": ["licenses.add_determination", "approvals.view_all_requests",
              "approvals.view_audit_log"],
    "approver": ["approvals.decide_request", "approvals.view_all_requests",
                 "approvals.add_waiver", "approvals.view_audit_log"],
    "admin": ["approvals.add_policy", "approvals.change_policy", "approvals.delete_policy",
              "approvals.view_all_requests", "approvals.view_audit_log",
              "approvals.view_auditevent", "approvals.view_apitoken",
              "approvals.change_apitoken", "auth.add_user", "auth.change_user",
              "auth.view_user", "auth.view_group", "auth.change_group"],
}  # fmt: skip
# Every role can do what the viewer can.
BASE = "viewer"


def create_roles(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, perms in ROLES.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = set(perms) | set(ROLES[BASE])
        for name in wanted:
            app_label, codename = name.split(".")
            perm = Permission.objects.get(content_type__app_label=app_label, codename=codename)
            group.permissions.add(perm)


def drop_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("approvals", "0001_initial"),
        ("licenses", "0002_load_licenses"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_roles, drop_roles)]
