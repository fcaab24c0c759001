from django.core.management.base import BaseCommand

from licenses.loading import load_licenses


class Command(BaseCommand):
    help = "Load licenses/data/licenses.json into the License table (idempotent)."

    def handle(self, *args, **options):
        count, removed = load_licenses()
        self.stdout.write(f"{count} licenses loaded, {removed} removed")
