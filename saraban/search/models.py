"""The search index: one row per letter with its terms, kept in step by the worker.

The terms (``saraban.search.text``) are matched by the database's own full-text index: an
FTS5 table kept by triggers on SQLite (migration 0002), and on PostgreSQL the column itself is
a ``tsvector`` (no positions) under a GIN index (migration 0005). The filterable facts of the
letter are copied here so a search needs no join for them; who may see a result is still
decided by the access rule.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper

from saraban.agencies.models import Agency
from saraban.letters.models import Letter


class LetterStatus(models.TextChoices):
    ACTIVE = "active", "ใช้งาน"
    PENDING = "pending", "อยู่ระหว่างดำเนินการ"
    DONE = "done", "ดำเนินการเสร็จแล้ว"
    CANCELLED = "cancelled", "ยกเลิกเลขแล้ว"


class TermsField(models.TextField):  # type: ignore[type-arg]
    """Space-separated term codes: text on SQLite (the FTS5 table's content), a ``tsvector``
    on PostgreSQL, which parses the same text into its lexemes without positions."""

    def db_type(self, connection: BaseDatabaseWrapper) -> str | None:
        if connection.vendor == "postgresql":
            return "tsvector"
        return super().db_type(connection)

    def get_placeholder_sql(self, value: Any, compiler: Any,
                            connection: BaseDatabaseWrapper) -> tuple[str, list[Any]]:
        if connection.vendor == "postgresql":
            return "%s::tsvector", [value]
        return "%s", [value]


class SearchEntry(models.Model):
    letter = models.OneToOneField(
        Letter, primary_key=True, on_delete=models.CASCADE, related_name="search_entry"
    )
    tenant = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+")
    unit = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="+")
    direction = models.CharField(max_length=16)
    kind = models.CharField(max_length=32)
    urgency = models.SmallIntegerField()
    secrecy = models.SmallIntegerField()
    year_be = models.PositiveSmallIntegerField()
    letter_date = models.DateField(null=True)
    sort_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=LetterStatus.choices)
    terms = TermsField()
    indexed_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "-sort_at", "-letter"], name="search_tenant_recent"),
        ]


class SearchDirty(models.Model):
    """A letter to index again: written in the transaction that changed it, taken by the
    worker after commit. No foreign key: a deleted letter's mark removes its entry."""

    letter_id = models.BigIntegerField(primary_key=True)
    marked_at = models.DateTimeField()


class BlobText(models.Model):
    """The text read out of a stored file (an electronic PDF), kept so a reindex is cheap."""

    sha256 = models.CharField(max_length=64, primary_key=True)
    text = models.TextField()
    source = models.CharField(max_length=16)  # "pdf" or "none"
