"""Keeping the search index in step with the letters.

A change to a letter (or to what is indexed with it: its files, endorsements, register entries,
assignments) marks the letter dirty in the same transaction (``signals.py``); the worker takes
the marks after commit and indexes those letters again (``index_dirty``). ``reindex`` rebuilds
every entry (``saraban search reindex``).
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Callable, Iterable
from typing import Final

from django.db import transaction
from django.utils import timezone

from saraban.core.thai import be_year
from saraban.letters.files import PDF, blob_path
from saraban.letters.models import Blob, Letter

from .models import BlobText, LetterStatus, SearchDirty, SearchEntry
from .numbers import number_terms
from .text import code, day_terms, index_terms

log = logging.getLogger(__name__)

_PDF_TEXT_LIMIT: Final = 200_000  # characters of a PDF's text that are indexed


def letter_texts(letter: Letter) -> list[str]:
    """Everything searchable about a letter, as text."""
    texts = [
        letter.number, letter.subject, letter.salutation, letter.body,
        letter.sender_text, letter.recipient_text,
    ]
    for agency in (letter.sender_agency, letter.recipient_agency):
        if agency is not None:
            texts += [agency.name_th, agency.short_name_th]
    texts += [ref.text for ref in letter.references.all()]
    texts += [e.description for e in letter.enclosures.all()]
    texts += [d.recipient_text for d in letter.dispatches.all()]
    texts += [f"{e.formatted} {e.remarks}" for e in letter.entries.all()]
    from saraban.routing.models import Endorsement

    texts += [e.text for e in Endorsement.objects.filter(letter=letter)]
    for item in letter.files.filter(replaced_at__isnull=True).select_related("blob"):
        texts.append(blob_text(item.blob))
    texts.append(_ocr_text(letter))
    return [t for t in texts if t]


def _ocr_text(letter: Letter) -> str:
    from saraban.intake.services import ocr_text_for_letter

    return ocr_text_for_letter(letter)


def blob_text(blob: Blob) -> str:
    """The text of an electronic PDF (cached by its digest); "" for images and others."""
    if blob.content_type != PDF:
        return ""
    cached = BlobText.objects.filter(sha256=blob.sha256).first()
    if cached is not None:
        return cached.text
    text = _pdf_text(blob)
    BlobText.objects.get_or_create(sha256=blob.sha256,
                                   defaults={"text": text, "source": "pdf" if text else "none"})
    return text


def _pdf_text(blob: Blob) -> str:
    try:
        done = subprocess.run(  # noqa: S603  (fixed program, our own file path)
            ["pdftotext", "-enc", "UTF-8", str(blob_path(blob.sha256)), "-"],  # noqa: S607
            capture_output=True, timeout=60, check=False,
        )
        if done.returncode == 0:
            return done.stdout.decode("utf-8", "replace")[:_PDF_TEXT_LIMIT]
    except (OSError, subprocess.TimeoutExpired):
        pass
    try:  # without poppler: pypdf
        from pypdf import PdfReader

        reader = PdfReader(str(blob_path(blob.sha256)))
        return "\n".join(page.extract_text() or "" for page in reader.pages)[:_PDF_TEXT_LIMIT]
    except Exception:  # a PDF we cannot read has no text to index
        log.info("no text from PDF %s", blob.sha256, exc_info=True)
        return ""


def _status(letter: Letter) -> str:
    from saraban.routing.models import OPEN_STATES, Assignment

    entries = list(letter.entries.all())
    if entries and all(e.cancelled_at is not None for e in entries):
        return LetterStatus.CANCELLED
    states = set(Assignment.objects.filter(letter=letter).values_list("state", flat=True))
    if states & set(OPEN_STATES):
        return LetterStatus.PENDING
    if states:
        return LetterStatus.DONE
    return LetterStatus.ACTIVE


def entry_for(letter: Letter) -> SearchEntry:
    """The index entry of ``letter`` (not saved)."""
    terms = {code(t) for t in index_terms(letter_texts(letter))}
    for number in [letter.number, *(e.formatted for e in letter.entries.all())]:
        terms.update(code(t) for t in number_terms(number))
    terms.update(code(t) for t in day_terms(timezone.localdate(letter.created_at)))
    day = letter.letter_date or timezone.localdate(letter.created_at)
    return SearchEntry(
        letter=letter, tenant_id=letter.tenant_id, unit_id=letter.unit_id,
        direction=letter.direction, kind=letter.kind, urgency=letter.urgency,
        secrecy=letter.secrecy, year_be=be_year(day), letter_date=letter.letter_date,
        sort_at=letter.created_at, status=_status(letter), terms=" ".join(sorted(terms)),
        indexed_at=timezone.now(),
    )


def index_letters(letter_ids: Iterable[int]) -> int:
    """Index these letters again (those that no longer exist lose their entry)."""
    ids = list(letter_ids)
    letters = (
        Letter.objects.filter(pk__in=ids)
        .select_related("sender_agency", "recipient_agency")
        .prefetch_related("references", "enclosures", "dispatches", "entries")
    )
    found = {letter.pk: letter for letter in letters}
    with transaction.atomic():
        SearchEntry.objects.filter(letter_id__in=set(ids) - set(found)).delete()
        for letter in found.values():
            entry = entry_for(letter)
            # Delete + insert (not update): the FTS5 triggers then see one clean change.
            SearchEntry.objects.filter(letter_id=letter.pk).delete()
            entry.save(force_insert=True)
    return len(found)


def mark_dirty(letter_ids: Iterable[int]) -> None:
    """Ask for these letters to be indexed again after the current transaction commits."""
    now = timezone.now()
    SearchDirty.objects.bulk_create(
        [SearchDirty(letter_id=letter_id, marked_at=now) for letter_id in set(letter_ids)],
        update_conflicts=True, unique_fields=["letter_id"], update_fields=["marked_at"],
    )


def index_dirty(*, batch: int = 200) -> int:
    """Index the letters marked dirty; returns how many were indexed."""
    done = 0
    while True:
        marks = list(SearchDirty.objects.order_by("marked_at")[:batch])
        if not marks:
            return done
        ids = [m.letter_id for m in marks]
        index_letters(ids)
        # A letter marked again while it was being indexed keeps its newer mark.
        for mark in marks:
            SearchDirty.objects.filter(letter_id=mark.letter_id,
                                       marked_at=mark.marked_at).delete()
        done += len(ids)


def reindex(*, batch: int = 500, progress: Callable[[int, int], None] | None = None) -> int:
    """Rebuild every entry, ``batch`` letters at a time; ``progress(done, total)``."""
    ids = list(Letter.objects.order_by("pk").values_list("pk", flat=True))
    total = len(ids)
    SearchEntry.objects.exclude(letter_id__in=Letter.objects.values("pk")).delete()
    for start in range(0, total, batch):
        index_letters(ids[start:start + batch])
        if progress is not None:
            progress(min(start + batch, total), total)
    SearchDirty.objects.filter(letter_id__in=ids).delete()
    return total
