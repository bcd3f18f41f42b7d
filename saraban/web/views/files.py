"""A letter's files and its receipt-stamped copy, streamed only after ``access_letter``."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponseBase

from saraban.core.errors import NotFound
from saraban.letters.access import access_letter
from saraban.letters.files import open_blob
from saraban.letters.models import LetterFile, RegisterEntry
from saraban.letters.stamping import stamped_copy

from .browse import not_found, person_of

NO_FILE = "ไม่พบไฟล์ หรือท่านไม่มีสิทธิ์เข้าถึง"


def _private(response: FileResponse) -> FileResponse:
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def letter_file(request: HttpRequest, letter_id: int, file_id: int) -> HttpResponseBase:
    """One file of a letter, shown inline (the browser previews PDFs and images)."""
    try:
        letter = access_letter(person_of(request), letter_id)
    except NotFound:
        return not_found(request, NO_FILE)
    found = LetterFile.objects.filter(letter=letter, pk=file_id).select_related("blob").first()
    if found is None:
        return not_found(request, NO_FILE)
    response = FileResponse(
        open_blob(found.blob),
        content_type=found.blob.content_type,
        as_attachment=False,
        filename=found.filename,
    )
    return _private(response)


@login_required
def letter_stamped(request: HttpRequest, letter_id: int, entry_id: int) -> HttpResponseBase:
    """The receipt-stamped copy of the letter's PDF for one register entry (made if missing)."""
    try:
        letter = access_letter(person_of(request), letter_id)
    except NotFound:
        return not_found(request, NO_FILE)
    entry = (
        RegisterEntry.objects.filter(letter=letter, pk=entry_id)
        .select_related("series__registry__tenant", "letter")
        .first()
    )
    if entry is None:
        return not_found(request, NO_FILE)
    derived = stamped_copy(entry)
    if derived is None:
        return not_found(request, "หนังสือนี้ไม่มีไฟล์ PDF สำหรับประทับตรารับ")
    response = FileResponse(
        open_blob(derived.blob),
        content_type="application/pdf",
        as_attachment=False,
        filename=f"stamped-{entry.year_be}-{entry.number}.pdf",
    )
    return _private(response)
