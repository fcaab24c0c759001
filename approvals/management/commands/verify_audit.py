from django.core.management.base import BaseCommand

from approvals import audit


class Command(BaseCommand):
    help = (
        "Walk the audit log's hash chain in id order; report the first broken link and exit 1, "
        "or the number of entries and the head hash (note it: a later run that does not reach "
        "it shows that entries were cut off the end)."
    )

    def handle(self, *args, **options):
        verdict = audit.verify()
        if not verdict.intact:
            self.stderr.write(str(verdict))
            raise SystemExit(1)
        self.stdout.write(str(verdict))
