"""PostgreSQL with the RUM extension (Debian: postgresql-15-rum): an index that also keeps
each entry's ``sort_at``, so "newest first" reads the matching entries in order from the index
instead of sorting every match or scanning the whole table. Without RUM the GIN index of 0003
serves alone.
"""

from django.db import migrations

RUM_INDEX = (
    "CREATE INDEX IF NOT EXISTS search_rum ON search_searchentry"
    " USING rum (tsv rum_tsvector_addon_ops, sort_at) WITH (attach = 'sort_at', to = 'tsv')"
)


def forward(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'rum'")
        if cursor.fetchone() is None:
            return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS rum")
    schema_editor.execute(RUM_INDEX)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS search_rum")


class Migration(migrations.Migration):
    dependencies = [("search", "0004_mark_existing_letters")]

    operations = [migrations.RunPython(forward, backward)]
