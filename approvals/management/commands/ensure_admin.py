import os
import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.urls import reverse


class Command(BaseCommand):
    help = "Create an `admin` superuser when none exists, and say how to log in."

    def add_arguments(self, parser):
        # `launch` passes the port it serves on; alone, the one `make run` would use.
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 8000))

    def handle(self, *args, port, **options):
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            return
        password = os.environ.get("CANOPY_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        user = User.objects.create_superuser("admin", "", password)
        user.groups.add(*Group.objects.filter(name="admin"))
        shown = (
            "from CANOPY_ADMIN_PASSWORD" if os.environ.get("CANOPY_ADMIN_PASSWORD") else password
        )
        login = f"http://127.0.0.1:{port}{reverse('approvals:login')}"
        self.stdout.write(
            self.style.SUCCESS(
                f"Log in at {login} as admin, password: {shown} (shown once; change it in /admin/)"
            )
        )
