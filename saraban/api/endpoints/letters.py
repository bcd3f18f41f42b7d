"""Letters: register incoming and outgoing letters, read one, fetch its files.

Registrations are multipart: a JSON field ``data`` (``LetterIn`` / ``OutgoingIn``), an optional
main ``file`` and any number of ``attachments``. Each endpoint parses, calls the action and
renders; the rules are in :mod:`saraban.letters.services` and :mod:`saraban.letters.access`.
"""

from __future__ import annotations

import pydantic
from django.db.models import prefetch_related_objects
from django.http import FileResponse, HttpRequest
from ninja import File, Form, Router, Status, UploadedFile

from saraban.agencies.actors import resolve_actor
from saraban.api import inputs
from saraban.api.auth import current_person
from saraban.api.errors import invalid_request
from saraban.api.render import LETTER_PREFETCH, entry_out, letter_out
from saraban.api.schemas import ErrorOut, LetterIn, LetterOut, OutgoingIn, RegisteredOut
from saraban.core.errors import NotFound
from saraban.letters.access import access_letter
from saraban.letters.files import open_blob
from saraban.letters.models import RegisterEntry
from saraban.letters.services import letter_register_incoming, letter_register_outgoing

router = Router(tags=["letters"])

ERRORS: dict[int, type[ErrorOut]] = {
    400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 413: ErrorOut, 422: ErrorOut,
}

def _parse[S: pydantic.BaseModel](schema: type[S], data: str) -> S:
    try:
        return schema.model_validate_json(data)
    except pydantic.ValidationError as exc:
        raise invalid_request(exc, loc="data") from exc


def _multipart_doc(schema: type[pydantic.BaseModel]) -> dict[str, object]:
    """Describe the ``data`` field as JSON of ``schema`` (added to the components by the API)."""
    return {
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "properties": {
                            "data": {
                                "contentMediaType": "application/json",
                                "contentSchema": {
                                    "$ref": f"#/components/schemas/{schema.__name__}"
                                },
                            }
                        }
                    },
                    "encoding": {"data": {"contentType": "application/json"}},
                }
            }
        }
    }


DOCUMENTED_INPUTS: tuple[type[pydantic.BaseModel], ...] = (LetterIn, OutgoingIn)


def _registered(entry: RegisterEntry) -> RegisteredOut:
    letter = entry.letter
    prefetch_related_objects([letter], *LETTER_PREFETCH)
    return RegisteredOut(letter=letter_out(letter), entry=entry_out(entry))


@router.post(
    "/incoming",
    response={201: RegisteredOut, **ERRORS},
    url_name="letter_register_incoming",
    openapi_extra=_multipart_doc(LetterIn),
    summary="Register an incoming letter",
)
def register_incoming(
    request: HttpRequest,
    data: Form[str],
    file: File[UploadedFile | None] = None,
    attachments: File[list[UploadedFile] | None] = None,
) -> Status[RegisteredOut]:
    """Register a received letter and answer its receipt number (``data`` is ``LetterIn``)."""
    person = current_person(request)
    payload = _parse(LetterIn, data)
    registry = inputs.registry_by_id(payload.registry_id)
    details = inputs.letter_details(person, payload)
    entry = letter_register_incoming(
        actor=resolve_actor(person, payload.position_id),
        registry=registry,
        details=details,
        main_file=inputs.upload(file),
        attachments=inputs.uploads(attachments),
    )
    return Status(201, _registered(entry))


@router.post(
    "/outgoing",
    response={201: RegisteredOut, **ERRORS},
    url_name="letter_register_outgoing",
    openapi_extra=_multipart_doc(OutgoingIn),
    summary="Register an outgoing letter (issues its number)",
)
def register_outgoing(
    request: HttpRequest,
    data: Form[str],
    file: File[UploadedFile | None] = None,
    attachments: File[list[UploadedFile] | None] = None,
) -> Status[RegisteredOut]:
    """Issue an outgoing letter its number from ``series`` (``data`` is ``OutgoingIn``)."""
    person = current_person(request)
    payload = _parse(OutgoingIn, data)
    registry = inputs.registry_by_id(payload.registry_id)
    details = inputs.letter_details(person, payload)
    recipients = inputs.recipients(payload.recipients)
    entry = letter_register_outgoing(
        actor=resolve_actor(person, payload.position_id),
        registry=registry,
        details=details,
        series_kind=payload.series,
        recipients=recipients,
        main_file=inputs.upload(file),
        attachments=inputs.uploads(attachments),
    )
    return Status(201, _registered(entry))


@router.get(
    "/{letter_id}", response={200: LetterOut, **ERRORS}, url_name="letter", summary="A letter"
)
def letter_get(request: HttpRequest, letter_id: int) -> LetterOut:
    """The letter with its register entries, files, dispatches, references and enclosures."""
    letter = access_letter(current_person(request), letter_id)
    prefetch_related_objects([letter], *LETTER_PREFETCH)
    return letter_out(letter)


_FILE_TYPES = (
    "application/pdf", "image/png", "image/jpeg", "image/tiff",
    "application/vnd.openxmlformats-officedocument", "application/vnd.oasis.opendocument",
)


@router.get(
    "/{letter_id}/files/{file_id}",
    response={401: ErrorOut, 404: ErrorOut},
    url_name="letter_file",
    summary="A file of a letter",
    openapi_extra={"responses": {"200": {
        "description": "The file, byte for byte, with its type as judged by its content",
        "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in _FILE_TYPES},
    }}},
)
def letter_file(request: HttpRequest, letter_id: int, file_id: int) -> FileResponse:
    """The stored file as it was received, byte for byte."""
    letter = access_letter(current_person(request), letter_id)
    item = letter.files.select_related("blob").filter(pk=file_id).first()
    if item is None:
        raise NotFound("ไม่พบไฟล์ของหนังสือนี้", code="file_not_found")
    response = FileResponse(
        open_blob(item.blob), content_type=item.blob.content_type, filename=item.filename
    )
    response["ETag"] = f'"{item.blob.sha256}"'
    return response
