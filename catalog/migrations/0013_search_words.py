"""The search table gets the repo id cut into words (catalog.searchwords), which text search
matches instead of the raw id. PostgreSQL: canopy_words() is the same cut in SQL (a test holds the
two together), and the trigram index moves from UPPER(repo_id) to the words."""

from django.db import migrations, models

PG_FUNCTION = r"""
CREATE OR REPLACE FUNCTION canopy_words(text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT ' ' || array_to_string(ARRAY(
    SELECT m[1] FROM regexp_matches(lower(COALESCE($1, '')), '[0-9]+|[a-z]+|/', 'g') AS m
  ), ' ') || ' '
$$
"""
PG_FORWARD = [
    "CREATE INDEX IF NOT EXISTS search_words_trgm ON catalog_searchentry "
    "USING gin (words gin_trgm_ops)",
    "DROP INDEX IF EXISTS search_repo_trgm",
]
PG_BACKWARD = [
    "CREATE INDEX IF NOT EXISTS search_repo_trgm ON catalog_searchentry "
    "USING gin (UPPER(repo_id::text) gin_trgm_ops)",
    "DROP INDEX IF EXISTS search_words_trgm",
    "DROP FUNCTION IF EXISTS canopy_words(text)",
]


def _pg(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for sql in statements:
                schema_editor.execute(sql)

    return run


def fill(apps, schema_editor):
    # Before the index: one pass that writes every row once.
    schema_editor.execute("UPDATE catalog_searchentry SET words = canopy_words(repo_id)")


class Migration(migrations.Migration):
    dependencies = [("catalog", "0012_run_parent_not_found_progress")]

    operations = [
        migrations.AddField(
            model_name="searchentry",
            name="words",
            field=models.TextField(blank=True, default=""),
        ),
        migrations.RunPython(_pg([PG_FUNCTION]), migrations.RunPython.noop),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.RunPython(_pg(PG_FORWARD), _pg(PG_BACKWARD)),
    ]
