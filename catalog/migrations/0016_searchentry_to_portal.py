"""The search table belongs to the read side (portal) now: catalog forgets the model, and the
table stays as it is, with its data and the PostgreSQL indexes of 0007 to 0015 (portal 0001
takes it over under the same name)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0015_search_repo_upper_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="SearchEntry")],
            database_operations=[],
        ),
    ]
