from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from approvals.models import ApiToken
from approvals.roles import allowed_scopes
from usage.models import UsageProfile


class Command(BaseCommand):
    help = (
        "Issue an API token acting as USERNAME; prints the secret once (only its hash is kept). "
        "Its scopes never exceed what the user's role allows."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="cli")
        parser.add_argument(
            "--scope", action="append", choices=ApiToken.SCOPES,
            help="check, read, write (repeatable; default: all the user's role allows)",
        )  # fmt: skip
        parser.add_argument("--days", type=int, help="expires after this many days")
        parser.add_argument("--profile", help="a usage profile's slug: its checks answer for it")

    def handle(self, *args, username, name, scope, days, profile=None, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user {username!r}")
        scopes = scope or [s for s in ApiToken.SCOPES if s in allowed_scopes(user)]
        if not scopes:
            raise CommandError(f"{username} may hold no token (inactive account)")
        expires = timezone.now() + timedelta(days=days) if days else None
        chosen = UsageProfile.objects.filter(slug=profile).first() if profile else None
        if profile and chosen is None:
            raise CommandError(f"no usage profile {profile!r}")
        try:
            _, secret = ApiToken.issue(user, name=name, scopes=scopes, expires_at=expires,
                                       label="manage.py", profile=chosen)  # fmt: skip
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(secret)
