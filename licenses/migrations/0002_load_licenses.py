"""Load the reviewed knowledge base (licenses/data/licenses.json) into the License table."""

from django.db import migrations


def load(apps, schema_editor):
    from licenses.loading import load_licenses

    load_licenses(apps.get_model("licenses", "License"))


class Migration(migrations.Migration):
    dependencies = [("licenses", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
