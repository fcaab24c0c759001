"""Recompute the derived search columns (relation, family, format, memory) of every model."""

from django.core.management.base import BaseCommand

from catalog import families


class Command(BaseCommand):
    help = "Recompute the derived search columns of the whole catalog (catalog.families)."

    def handle(self, *args, **options):
        n = families.refresh_all()
        self.stdout.write(f"{n} models refreshed")
