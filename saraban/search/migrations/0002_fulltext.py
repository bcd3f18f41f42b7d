"""The full-text index over ``SearchEntry.terms``, in each database's own way.

SQLite: an FTS5 table whose content is ``search_searchentry`` (rowid = letter id), kept in
step by triggers. PostgreSQL: a GIN index over ``to_tsvector('simple', terms)``.
"""

from django.db import migrations

SQLITE_UP = [
    "CREATE VIRTUAL TABLE search_fts USING fts5("
    " terms, content='search_searchentry', content_rowid='letter_id')",
    "CREATE TRIGGER search_fts_insert AFTER INSERT ON search_searchentry BEGIN"
    " INSERT INTO search_fts(rowid, terms) VALUES (new.letter_id, new.terms); END",
    "CREATE TRIGGER search_fts_delete AFTER DELETE ON search_searchentry BEGIN"
    " INSERT INTO search_fts(search_fts, rowid, terms) VALUES ('delete', old.letter_id,"
    " old.terms); END",
    "CREATE TRIGGER search_fts_update AFTER UPDATE ON search_searchentry BEGIN"
    " INSERT INTO search_fts(search_fts, rowid, terms) VALUES ('delete', old.letter_id,"
    " old.terms);"
    " INSERT INTO search_fts(rowid, terms) VALUES (new.letter_id, new.terms); END",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS search_fts_update",
    "DROP TRIGGER IF EXISTS search_fts_delete",
    "DROP TRIGGER IF EXISTS search_fts_insert",
    "DROP TABLE IF EXISTS search_fts",
]
POSTGRES_UP = [
    "CREATE INDEX search_terms_gin ON search_searchentry"
    " USING gin (to_tsvector('simple'::regconfig, terms))",
]
POSTGRES_DOWN = ["DROP INDEX IF EXISTS search_terms_gin"]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for sql in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("search", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_UP, "postgresql": POSTGRES_UP}),
            _run({"sqlite": SQLITE_DOWN, "postgresql": POSTGRES_DOWN}),
        ),
    ]
