"""A letter's files and its receipt-stamped copy, streamed only after ``access_letter``.

Both only read: the stamped copy is made by the worker (``saraban.letters.stamping``); until
it is ready the page says so (status 202) and nothing is queued or written here.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_GET

from saraban.core.errors import NotFound
from saraban.letters.access import access_letter
from saraban.letters.files import MAIN_TYPES, open_blob
from saraban.letters.models import LetterFile, RegisterEntry
from saraban.letters.stamping import StampState, stamped_copy_state

from .browse import not_found, person_of

NO_FILE = "ไม่พบไฟล์ หรือท่านไม่มีสิทธิ์เข้าถึง"


def _private(response: FileResponse) -> FileResponse:
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def letter_file(request: HttpRequest, letter_id: int, file_id: int) -> HttpResponseBase:
    """One file of a letter: PDFs and images inline (the browser previews them), anything
    else (Office files, an arrived e-mail's .eml) only as a download."""
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
        as_attachment=found.blob.content_type not in MAIN_TYPES,
        filename=found.filename,
    )
    return _private(response)


@login_required
@require_GET
def letter_stamped(request: HttpRequest, letter_id: int, entry_id: int) -> HttpResponseBase:
    """The receipt-stamped copy of the letter's PDF for one register entry, once the worker
    has made it; until then a page that says it is being made (and refreshes itself)."""
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
    copy = stamped_copy_state(entry)
    if copy.state == StampState.NONE:
        return not_found(request, "หนังสือนี้ไม่มีไฟล์ PDF สำหรับประทับตรารับ")
    if copy.state == StampState.FAILED:
        return render(request, "web/letters/stamp_pending.html",
                      {"letter": letter, "entry": entry, "failed": True}, status=422)
    if copy.derived is None:
        return render(request, "web/letters/stamp_pending.html",
                      {"letter": letter, "entry": entry}, status=202)
    response = FileResponse(
        open_blob(copy.derived.blob),
        content_type="application/pdf",
        as_attachment=False,
        filename=f"stamped-{entry.year_be}-{entry.number}.pdf",
    )
    return _private(response)
