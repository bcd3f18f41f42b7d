"""Letters registered before the search index existed are marked, so the worker indexes them."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("search", "0003_stored_tsvector"), ("letters", "0003_letterfile_corrections")]

    operations = [
        migrations.RunSQL(
            "INSERT INTO search_searchdirty (letter_id, marked_at)"
            " SELECT id, CURRENT_TIMESTAMP FROM letters_letter",
            migrations.RunSQL.noop,
        ),
    ]
