"""Two example profiles, named as examples (UsageProfile.example): an admin edits or deletes
them; the README and the browser tests show how their answers differ."""

from django.db import migrations

EXAMPLES = [
    {
        "slug": "demo-startup-eu",
        "name": "Example: EU startup, hosted service",
        "description": "Example profile. A startup based in the EU, under USD 1M annual revenue "
        "and far under 700M monthly active users, offering a hosted service in the EU; it does "
        "not train other models on outputs and publishes no derivatives.",
        "mau": 50_000,
        "revenue_usd": 400_000,
        "deployments": ["hosted"],
        "based_in": ["EU"],
        "offered_in": ["EU"],
        "trains_on_outputs": False,
        "fine_tunes": True,
        "publishes_derivatives": False,
    },
    {
        "slug": "demo-platform",
        "name": "Example: global platform",
        "description": "Example profile. A global platform over 700M monthly active users and "
        "USD 1M revenue, shipping models in its products and on devices and training other "
        "models on their outputs.",
        "mau": 900_000_000,
        "revenue_usd": 50_000_000_000,
        "deployments": ["hosted", "shipped"],
        "based_in": ["US"],
        "offered_in": ["WORLD"],
        "trains_on_outputs": True,
        "fine_tunes": True,
        "publishes_derivatives": True,
    },
]


def create(apps, schema_editor):
    Profile = apps.get_model("usage", "UsageProfile")
    for fields in EXAMPLES:
        Profile.objects.update_or_create(slug=fields["slug"], defaults={**fields, "example": True})


def drop(apps, schema_editor):
    apps.get_model("usage", "UsageProfile").objects.filter(
        slug__in=[e["slug"] for e in EXAMPLES], example=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("usage", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
