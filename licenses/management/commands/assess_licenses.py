from django.core.management import call_command
from django.core.management.base import BaseCommand

from licenses import assessment


class Command(BaseCommand):
    help = "Assess every model's license (whole-graph propagation); writes only changed results."

    def add_arguments(self, parser):
        parser.add_argument("repo_ids", nargs="*", help="only these models (and not descendants)")

    def handle(self, *args, **options):
        from catalog.models import HubModel

        if options["repo_ids"]:
            ids = HubModel.objects.filter(repo_id__in=options["repo_ids"]).values_list(
                "pk", flat=True
            )
            report = assessment.assess(ids)
        else:
            report = assessment.assess_all()
        self.stdout.write(
            f"{report.assessed} assessed, {len(report.changed)} changed, "
            f"{len(report.missing)} ancestors not crawled"
        )
        if not options["repo_ids"]:
            # Below usage in the layers, this command cannot evaluate profiles itself.
            call_command("evaluate_profiles", stdout=self.stdout)
