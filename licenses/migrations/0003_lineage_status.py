"""A lineage status instead of a boolean (issue 13, item 4)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0017_edge_source_peft_config"),
        ("licenses", "0002_load_licenses"),
    ]

    operations = [
        migrations.AddField(
            model_name="assessment",
            name="lineage_gaps",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text="{missing, unknown_terms, baseless}: ancestor ids",
            ),
        ),
        migrations.AddField(
            model_name="assessment",
            name="lineage_status",
            field=models.CharField(
                choices=[
                    ("complete", "complete"),
                    ("missing_ancestors", "ancestors not crawled"),
                    ("unknown_ancestor_terms", "an ancestor's license is unknown"),
                    ("no_base_for_derivative", "a derivative that names no base"),
                ],
                default="complete",
                max_length=24,
            ),
        ),
        migrations.AddField(
            model_name="modellicense",
            name="lineage_gaps",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text="{missing, unknown_terms, baseless}: ancestor ids",
            ),
        ),
        migrations.AddField(
            model_name="modellicense",
            name="lineage_status",
            field=models.CharField(
                choices=[
                    ("complete", "complete"),
                    ("missing_ancestors", "ancestors not crawled"),
                    ("unknown_ancestor_terms", "an ancestor's license is unknown"),
                    ("no_base_for_derivative", "a derivative that names no base"),
                ],
                default="complete",
                max_length=24,
            ),
        ),
        migrations.AddIndex(
            model_name="modellicense",
            index=models.Index(fields=["lineage_status"], name="modellicense_lineage_idx"),
        ),
        # Until the next assessment names the gaps: an incomplete lineage reads as ancestors
        # not crawled, which it was before derivatives without a base were told apart.
        migrations.RunSQL(
            "UPDATE licenses_modellicense SET lineage_status = 'missing_ancestors'"
            " WHERE NOT lineage_complete",
            migrations.RunSQL.noop,
        ),
        migrations.RunSQL(
            "UPDATE licenses_assessment SET lineage_status = 'missing_ancestors'"
            " WHERE NOT lineage_complete",
            migrations.RunSQL.noop,
        ),
        migrations.RemoveField(
            model_name="modellicense",
            name="lineage_complete",
        ),
    ]
