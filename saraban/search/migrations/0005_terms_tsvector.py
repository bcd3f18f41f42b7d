"""Shorter term codes and day, week and month terms (``saraban.search.text``); on PostgreSQL
the terms column becomes the ``tsvector`` itself (no positions), replacing the text column
and its stored, positioned copy. Every letter is marked to be indexed again.
"""

from django.db import migrations

import saraban.search.models

POSTGRES_UP = [
    "DROP INDEX IF EXISTS search_terms_gin",
    "ALTER TABLE search_searchentry DROP COLUMN IF EXISTS tsv",
    "ALTER TABLE search_searchentry ALTER COLUMN terms TYPE tsvector USING ''::tsvector",
    "CREATE INDEX search_terms_gin ON search_searchentry USING gin (terms)"
    " WITH (fastupdate = off)",
]
POSTGRES_DOWN = [
    "DROP INDEX IF EXISTS search_terms_gin",
    "ALTER TABLE search_searchentry ALTER COLUMN terms TYPE text USING ''",
    "ALTER TABLE search_searchentry ADD COLUMN tsv tsvector"
    " GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, terms)) STORED",
    "CREATE INDEX search_terms_gin ON search_searchentry USING gin (tsv)",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for sql in statements:
                schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("search", "0004_mark_existing_letters")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(_run(POSTGRES_UP), _run(POSTGRES_DOWN))],
            state_operations=[
                migrations.AlterField(
                    model_name="searchentry", name="terms",
                    field=saraban.search.models.TermsField(),
                ),
            ],
        ),
        migrations.RunSQL(
            "INSERT INTO search_searchdirty (letter_id, marked_at)"
            " SELECT id, CURRENT_TIMESTAMP FROM letters_letter"
            " WHERE id NOT IN (SELECT letter_id FROM search_searchdirty)",
            migrations.RunSQL.noop,
        ),
    ]
