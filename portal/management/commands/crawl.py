"""`manage.py crawl`: a crawl of the catalog, and with --sync what the site then serves. Here,
on top of the layers, as it reports the search table and the license verdicts too."""

from django.core.management.base import BaseCommand, CommandError

from catalog import crawler, runs
from catalog.models import CrawlRun
from catalog.tasks import crawl
from portal.models import SearchEntry


class Command(BaseCommand):
    help = (
        "Crawl the Hub (HF_ENDPOINT): a full crawl by default, or an incremental or targeted one."
    )

    def add_arguments(self, parser):
        kind = parser.add_mutually_exclusive_group()
        kind.add_argument("--incremental", action="store_true", help="changes since the last crawl")
        kind.add_argument("--author", help="every model of one author")
        kind.add_argument("--search", help="models whose id contains this text")
        kind.add_argument(
            "--descendants", metavar="REPO_ID", help="a model and all its descendants"
        )
        kind.add_argument(
            "--ancestors", metavar="REPO_ID", help="a model and its missing ancestors"
        )
        parser.add_argument("--limit", type=int, help="list at most this many models (0: all)")
        parser.add_argument("--endpoint", help="Hub endpoint (default: HF_ENDPOINT)")
        parser.add_argument("--sync", action="store_true", help="run here, not through a worker")

    def handle(self, *args, **o):
        kind: str = CrawlRun.Kind.FULL
        target = ""
        for name in ("author", "search", "descendants", "ancestors"):
            if o[name]:
                kind, target = name, o[name]
        if o["incremental"]:
            kind = CrawlRun.Kind.INCREMENTAL
        run, created = runs.start(kind, target=target, limit=o["limit"], endpoint=o["endpoint"])
        if not created:
            self.stdout.write(f"Crawl #{run.pk} is already {run.status}: {run.get_absolute_url()}")
        if not o["sync"]:
            if created:
                crawl.delay(run.pk)
                self.stdout.write(f"Queued {kind} crawl #{run.pk} of {run.endpoint}")
            return
        driven = crawler.sync_runs(run)
        for r in driven:
            self.stdout.write(
                f"{r.kind.capitalize()} crawl #{r.pk} {r.status}: {r.listed} listed, {r.created} new, "
                f"{r.updated} updated, {r.unchanged} unchanged, {r.details_fetched} details, "
                f"{r.files_fetched} files, {r.error_count} errors"
            )
        entries = SearchEntry.objects.all()
        self.stdout.write(
            f"Catalog: {entries.count()} models searchable, "
            f"{entries.exclude(verdict='').count()} with a license verdict"
        )
        failed = [r for r in driven if r.status == CrawlRun.Status.FAILED]
        if failed:
            raise CommandError(
                "; ".join(f"crawl #{r.pk} failed: {r.errors[-1]['error'] if r.errors else '?'}"
                          for r in failed)
            )  # fmt: skip
        if driven[0].is_active:
            # Another process holds it (a worker, or another --sync): not done here.
            raise CommandError(f"Crawl #{run.pk} is held by another worker; not finished here")
