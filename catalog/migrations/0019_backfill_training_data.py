"""Links for the models stored before training data was read: ingest writes them only for new or
changed records, so an unchanged catalog would otherwise never get them (found by a break test).
The declared datasets are read as ingest reads them (catalog.datasets.declared, a pure function
of the stored tags and card); the next assessment pass gives each model its standing."""

from django.db import migrations

CHUNK = 5000


def backfill(apps, schema_editor):
    from catalog.datasets import declared

    HubModel = apps.get_model("catalog", "HubModel")
    TrainingData = apps.get_model("catalog", "TrainingData")
    last = 0
    while True:
        rows = list(
            HubModel.objects.filter(pk__gt=last).order_by("pk")
            .values_list("pk", "tags", "card_data")[:CHUNK]
        )  # fmt: skip
        if not rows:
            return
        last = rows[-1][0]
        links = [
            TrainingData(model_id=pk, dataset_repo_id=name, source=source)
            for pk, tags, card in rows
            for name, source in declared(tags, card)
        ]
        TrainingData.objects.bulk_create(links, batch_size=1000, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0018_training_data")]
    operations = [migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True)]
