import time

from django.core.management.base import BaseCommand, CommandError

from usage import evaluate
from usage.models import UsageProfile


class Command(BaseCommand):
    help = "Evaluate usage profiles over the whole catalog; writes only verdicts that changed."

    def add_arguments(self, parser):
        parser.add_argument("slugs", nargs="*", help="only these profiles")

    def handle(self, *args, **options):
        profiles = UsageProfile.objects.all()
        if options["slugs"]:
            profiles = profiles.filter(slug__in=options["slugs"])
            if missing := set(options["slugs"]) - {p.slug for p in profiles}:
                raise CommandError(f"no such profile: {', '.join(sorted(missing))}")
        for profile in profiles:
            start = time.perf_counter()
            c = evaluate.evaluate(profile)
            self.stdout.write(
                f"{profile.slug}: {c.models} models, {c.inserted} new and {c.updated} changed "
                f"verdicts, {c.distinct_inputs} distinct inputs, {time.perf_counter() - start:.1f} s"
            )
