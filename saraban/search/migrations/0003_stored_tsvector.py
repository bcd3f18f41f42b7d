"""PostgreSQL: keep the tsvector in a stored generated column and index that.

Matching through an expression index makes PostgreSQL compute ``to_tsvector(terms)`` again for
every row it rechecks, and for every row of an ordered scan; a stored column is computed once
when the row is written.
"""

from django.db import migrations

POSTGRES_UP = [
    "DROP INDEX IF EXISTS search_terms_gin",
    "ALTER TABLE search_searchentry ADD COLUMN tsv tsvector"
    " GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, terms)) STORED",
    "CREATE INDEX search_terms_gin ON search_searchentry USING gin (tsv)",
]
POSTGRES_DOWN = [
    "DROP INDEX IF EXISTS search_terms_gin",
    "ALTER TABLE search_searchentry DROP COLUMN IF EXISTS tsv",
    "CREATE INDEX search_terms_gin ON search_searchentry"
    " USING gin (to_tsvector('simple'::regconfig, terms))",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for sql in statements:
                schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("search", "0002_fulltext")]

    operations = [migrations.RunPython(_run(POSTGRES_UP), _run(POSTGRES_DOWN))]
