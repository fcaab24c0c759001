from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from approvals import audit
from approvals.models import ApiToken


class Command(BaseCommand):
    help = "Issue an API token acting as USERNAME; prints the secret once (only its hash is kept)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="cli")
        parser.add_argument(
            "--scope", action="append", choices=ApiToken.SCOPES,
            help="check, read, write (repeatable; default: all three)",
        )  # fmt: skip

    def handle(self, *args, username, name, scope, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user {username!r}")
        token, secret = ApiToken.issue(user, name=name, scopes=scope or list(ApiToken.SCOPES))
        audit.record(actor=None, label="manage.py", action="token.created", obj=token,
                     detail={"user": username, "scopes": token.scopes})  # fmt: skip
        self.stdout.write(secret)
