"""The typed shapes of the API: what clients send and what they get back.

Inputs name things by id (``registry_id``, ``sender_agency_id``); outputs are built by the
``serialize`` helpers in :mod:`saraban.api.render` from model rows.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from ninja import Schema
from pydantic import BeforeValidator, ConfigDict, Field


class ErrorOut(Schema):
    """Every error: a stable ``code`` and a Thai ``message``."""

    code: str
    message: str
    field: str | None = None
    details: Any = None


def _iso_date(value: object) -> object:
    """Only ``YYYY-MM-DD`` for a date (pydantic alone also takes ``0`` as 1 January 1970)."""
    if isinstance(value, str | int | float) and not (
        isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)
    ):
        raise ValueError("a date is written YYYY-MM-DD")
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]

# An id a client sends: a row id, so positive and within bigint (a larger number cannot even
# be given to the database as a parameter).
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]

# Pages count from 1. A page past this would start beyond any register, and a number past
# bigint cannot even be given to the database as an offset.
MAX_PAGE = 100_000
PageNumber = Annotated[int, Field(ge=1, le=MAX_PAGE, description="Page number, from 1")]


class TokenIn(Schema):
    username: str = Field(max_length=150)
    password: str = Field(max_length=4096)
    otp: str = Field(default="", max_length=16, description="The TOTP code, for people with 2FA.")
    name: str = Field(default="", max_length=100, description="A label to recognise the token.")


class TokenOut(Schema):
    token: str
    expires_at: dt.datetime | None = None


class _In(Schema):
    model_config = ConfigDict(extra="forbid")


class LetterIn(_In):
    """The ``data`` part of a registration: a letter's details by ids."""

    registry_id: Id
    kind: str
    subkind: str = ""
    urgency: int = 0
    secrecy: int = 0
    number: str = Field("", max_length=128)
    letter_date: IsoDate | None = None
    sender_agency_id: Id | None = None
    sender_text: str = Field("", max_length=255)
    recipient_agency_id: Id | None = None
    recipient_text: str = Field("", max_length=255)
    subject: str
    salutation: str = Field("", max_length=255)
    body: str = ""
    references: list[Id | str] = Field(
        default_factory=list, description="ids of letters in Saraban, or free text"
    )
    enclosures: list[str] = Field(default_factory=list)
    secret_reader_ids: list[Id] = Field(default_factory=list)
    is_paper: bool = False
    remarks: str = Field("", max_length=500)
    position_id: Id | None = Field(
        None, description="the position acted in; the person's first position when omitted"
    )


class RecipientIn(_In):
    agency_id: Id | None = None
    text: str = Field("", max_length=255)
    channel: str
    address: str = Field("", max_length=255)
    code: str = Field(
        "", max_length=64,
        description="exchange code of an agency on another Saraban node (channel saraban)",
    )


class OutgoingIn(LetterIn):
    series: str = Field(
        "outgoing", description='"outgoing", "circular", "order" or "announcement"'
    )
    recipients: list[RecipientIn] = Field(default_factory=list)


class EntryOut(Schema):
    id: int
    registry_id: int
    registry_name: str
    series: str
    year: int
    number: int
    formatted: str
    display: str
    registered_at: dt.datetime
    registered_by: str
    remarks: str
    cancelled: bool
    cancelled_at: dt.datetime | None
    cancel_reason: str


class FileOut(Schema):
    id: int
    role: str
    filename: str
    sha256: str
    size: int
    content_type: str
    url: str


class ReplacedFileOut(FileOut):
    """A file a correction replaced: kept, with when, by which file and why."""

    replaced_at: dt.datetime
    replaced_by_id: int | None
    correction_reason: str


class DispatchOut(Schema):
    id: int
    recipient_agency_id: int | None
    recipient: str
    channel: str
    address: str
    created_at: dt.datetime


class ReferenceOut(Schema):
    letter_id: int | None
    text: str


class LetterSummaryOut(Schema):
    id: int
    direction: str
    kind: str
    subkind: str
    urgency: int
    secrecy: int
    number: str
    letter_date: dt.date | None
    sender_agency_id: int | None
    sender: str
    recipient_agency_id: int | None
    recipient: str
    subject: str


class LetterOut(LetterSummaryOut):
    salutation: str
    body: str
    unit_id: int
    is_circular: bool
    is_paper: bool
    received_via: str = Field(
        "", description='How an incoming letter arrived: "saraban", "ecms", "email", or "" '
                        "(handed in or scanned at the desk)")
    created_at: dt.datetime
    entries: list[EntryOut]
    files: list[FileOut]
    replaced_files: list[ReplacedFileOut] = []
    dispatches: list[DispatchOut]
    references: list[ReferenceOut]
    enclosures: list[str]


class RegisteredOut(Schema):
    """A registration's answer: the letter and the register entry just made."""

    letter: LetterOut
    entry: EntryOut


class RegistryOut(Schema):
    id: int
    name: str
    unit_id: int
    unit_name: str
    is_central: bool
    number_prefix: str
    series: list[str]
    can_register: bool


class RegistriesOut(Schema):
    items: list[RegistryOut]


class RegisterLineOut(Schema):
    entry: EntryOut
    letter: LetterSummaryOut


class RegisterPageOut(Schema):
    registry_id: int
    series: str
    year: int
    page: int
    page_size: int
    total: int
    items: list[RegisterLineOut]
