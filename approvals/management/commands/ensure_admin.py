import os
import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create an `admin` superuser when none exists, and say how to log in."

    def handle(self, *args, **options):
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            return
        password = os.environ.get("CANOPY_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        user = User.objects.create_superuser("admin", "", password)
        user.groups.add(*Group.objects.filter(name="admin"))
        shown = (
            "from CANOPY_ADMIN_PASSWORD" if os.environ.get("CANOPY_ADMIN_PASSWORD") else password
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Log in at http://127.0.0.1:8000/approvals/login/ as admin, password: {shown} "
                "(shown once; change it in /admin/)"
            )
        )
