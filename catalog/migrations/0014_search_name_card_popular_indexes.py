"""Two indexes for search on PostgreSQL (catalog.search): the name of an id (its words after the
last "/") for the repos of 1,000 downloads or more (searchwords.NAME_FLOOR), which the "name
word for word" tier looks up instead of rechecking the trigrams of every copy of a popular name;
the words' trigrams of the rows with a card summary, so a term found in a card is looked for
among those rows only; and the words' trigrams of the repos of 100 downloads or more
(search.POPULAR), where a ranked page is looked for first (5% of the rows, which hold the first
page of nearly every search)."""

from django.db import migrations

# The expression and the predicate are catalog.search's NAME_SQL and NAME_FLOOR, as written there:
# the planner uses the index only for the same expression and a predicate that implies this one.
PG_FORWARD = [
    "CREATE INDEX IF NOT EXISTS search_name_idx ON catalog_searchentry "
    "((substring(words from '^.*/ (.*) $'))) WHERE downloads >= 1000",
    "CREATE INDEX IF NOT EXISTS search_card_words_trgm ON catalog_searchentry "
    "USING gin (words gin_trgm_ops) WHERE summary <> ''",
    "CREATE INDEX IF NOT EXISTS search_popular_words_trgm ON catalog_searchentry "
    "USING gin (words gin_trgm_ops) WHERE downloads >= 100",
]
PG_BACKWARD = [
    "DROP INDEX IF EXISTS search_name_idx",
    "DROP INDEX IF EXISTS search_card_words_trgm",
    "DROP INDEX IF EXISTS search_popular_words_trgm",
]


def _pg(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for sql in statements:
                schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("catalog", "0013_search_words")]

    operations = [migrations.RunPython(_pg(PG_FORWARD), _pg(PG_BACKWARD))]
