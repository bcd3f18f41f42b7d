"""The electronic signatures of a letter's files: the same verdicts as the letter page's badge.

``GET /letters/{id}/signatures`` lists each current file with its verdict (``status``:
unsigned, valid, untrusted, modified, invalid, unreadable, not_pdf), the Thai label, and each
signature's signer, issuer, times, level and problem. Access is the letter's own rule.
"""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Router, Schema

from saraban.api.auth import current_person
from saraban.api.schemas import ErrorOut
from saraban.letters.access import access_letter
from saraban.signatures.services import letter_checks

letters_router = Router(tags=["signatures"])


class SignatureOut(Schema):
    field_name: str
    signer_name: str
    signer_subject: str
    issuer: str
    serial: str
    signing_time: dt.datetime | None
    timestamp_time: dt.datetime | None
    intact: bool
    trusted: bool
    covers_whole_file: bool
    modified_after: bool
    level: str
    problem: str


class FileSignaturesOut(Schema):
    file_id: int
    filename: str
    role: str
    sha256: str
    status: str
    label_th: str
    checked_at: dt.datetime
    signatures: list[SignatureOut]


class LetterSignaturesOut(Schema):
    letter_id: int
    files: list[FileSignaturesOut]


@letters_router.get(
    "/{letter_id}/signatures",
    response={200: LetterSignaturesOut, 401: ErrorOut, 404: ErrorOut},
    url_name="letter_signatures",
    summary="The signature verdict of each file of a letter",
)
def letter_signatures(request: HttpRequest, letter_id: int) -> LetterSignaturesOut:
    """Each current file's verdict, as verified when it arrived (checked now if never)."""
    letter = access_letter(current_person(request), letter_id)
    checks = letter_checks(letter)
    files = []
    for f in letter.files.filter(replaced_at__isnull=True).order_by("role", "pk"):
        check = checks[f.blob_id]
        files.append(
            FileSignaturesOut(
                file_id=f.pk,
                filename=f.filename,
                role=f.role,
                sha256=f.blob_id,
                status=check.status,
                label_th=check.label_th,
                checked_at=check.checked_at,
                signatures=[SignatureOut.model_validate(s) for s in check.signatures],
            )
        )
    return LetterSignaturesOut(letter_id=letter.pk, files=files)
