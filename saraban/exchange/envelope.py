"""The wire format of node-to-node messages.

A message is a JSON object ``{"envelope": {...}, "signature": "...", "files": {...}}``:

* ``envelope`` is what is signed (canonical JSON): ``v`` (1), ``type`` ("letter", "receipt"
  or "report"), ``id`` (a UUID, unique per sender), ``from`` and ``to`` (exchange codes),
  ``sent_at`` (UTC, ISO 8601; renewed at each attempt), and for a letter ``letter`` (its
  registration details) and ``files`` (name, role, sha256, size, content type of each file),
  for a receipt ``receipt`` (``for``: the letter message id, ``status``: registered, rejected
  or returned, ``number``, ``at``, ``reason``), for a report ``report`` (an agency's monthly
  indicator figures for its overseer: ``month``, the ISO first day; ``generated_at``;
  ``sent`` with ``total``, ``electronic``, ``letters``, ``by_channel``; ``received`` with
  ``total``, ``electronic``, ``by_channel``; ``signed`` with ``total``, ``signed``);
* ``signature`` is ECDSA P-256/SHA-256 over the envelope by the sending agency's key,
  base64;
* ``files`` maps each sha256 to the file's content in base64 (not signed: the signed
  digests cover it).

The receiver answers a transport receipt ``{"receipt": {...}, "signature": "..."}`` signed by
the receiving agency: the message id, both codes, ``received_at``, the envelope's digest and
the digests of the files it stored.

A report is read more strictly than the rest of the envelope: a field it does not know, a
negative count, a part larger than its total, channel counts that do not add up, or a month
that has not begun yet is refused (``bad_report``), since what is accepted is added to the
overseer's indicators as it is.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import math
import uuid
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Self

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from saraban.core.text import first_unstorable, too_deep
from saraban.core.thai import BANGKOK, BE_OFFSET
from saraban.letters.models import (
    ELECTRONIC_CHANNELS,
    SUBKINDS_OF,
    Channel,
    LetterKind,
    Secrecy,
    Urgency,
)

from .errors import ExchangeRefused

VERSION = 1
# A message is four levels deep (message → envelope → letter → references); deeper nesting
# is refused before it is parsed, so a hostile body cannot exhaust the parser's recursion.
MAX_DEPTH = 16
LETTER_FIELDS = (
    "kind", "subkind", "urgency", "secrecy", "number", "letter_date", "subject", "salutation",
    "body", "sender_name", "recipient_name", "references", "enclosures", "is_circular",
)


def utc_now_iso() -> str:
    return dt.datetime.now(tz=dt.UTC).isoformat(timespec="microseconds")


def parse_time(value: object, field: str) -> dt.datetime:
    if not isinstance(value, str):
        raise ExchangeRefused(f"{field} ไม่ถูกต้อง", code="malformed_envelope")
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise ExchangeRefused(f"{field} ไม่ถูกต้อง", code="malformed_envelope") from exc
    if moment.tzinfo is None:
        raise ExchangeRefused(f"{field} ต้องระบุเขตเวลา", code="malformed_envelope")
    return moment


def content_of(envelope: dict[str, Any]) -> dict[str, Any]:
    """The envelope without its per-attempt ``sent_at``: what must not change between tries."""
    return {k: v for k, v in envelope.items() if k != "sent_at"}


@dataclass(frozen=True, slots=True)
class Incoming:
    """A message read off the wire, shape-checked but not yet verified."""

    envelope: dict[str, Any]
    signature: str
    files: dict[str, bytes]

    @property
    def type(self) -> str:
        return str(self.envelope["type"])

    @property
    def message_id(self) -> uuid.UUID:
        return uuid.UUID(str(self.envelope["id"]))

    @property
    def sender(self) -> str:
        return str(self.envelope["from"])

    @property
    def recipient(self) -> str:
        return str(self.envelope["to"])


def _malformed(what: str) -> ExchangeRefused:
    return ExchangeRefused(f"ซองหนังสือไม่ถูกต้อง: {what}", code="malformed_envelope",
                           field=what)


# ---- decoding the body ----------------------------------------------------------------------


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise ValueError("duplicate key")
    return obj


def decode(body: bytes) -> object:
    """The JSON value of a message body, or ``ExchangeRefused`` (``malformed_envelope``).

    Stricter than ``json.loads``: nesting deeper than ``MAX_DEPTH``, ``NaN`` and
    ``Infinity`` (and numbers that overflow to them), duplicate keys, NUL characters and lone
    surrogates are all refused, so what is accepted can be stored and signed canonically.
    """
    if too_deep(body, MAX_DEPTH):
        raise _malformed(f"nested more than {MAX_DEPTH} levels")
    try:
        data = json.loads(
            body, parse_constant=_no_constant, parse_float=_finite,
            object_pairs_hook=_unique_keys,
        )
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise ExchangeRefused("ซองหนังสือไม่ใช่ JSON ที่ถูกต้อง",
                              code="malformed_envelope") from exc
    if first_unstorable(data) is not None:
        raise _malformed("text with a NUL character or a lone surrogate")
    return data


# ---- the shape of a message ---------------------------------------------------------------


class _Strict(BaseModel):
    """Exact JSON types (no "1" for 1, no true for 1); fields a receiver does not know are
    ignored, as the protocol says."""

    model_config = ConfigDict(strict=True, extra="ignore", populate_by_name=True)


Line = Annotated[str, Field(max_length=500)]


def _iso_time(value: str) -> str:
    parse_time(value, "time")
    return value


class LetterV1(_Strict):
    """``envelope.letter``: the sender's register data, in what the receiver can register."""

    kind: str = LetterKind.EXTERNAL.value
    subkind: str = ""
    urgency: int = Urgency.NORMAL.value
    secrecy: int = Secrecy.NORMAL.value
    number: str = Field("", max_length=128)
    letter_date: str | None = None
    subject: str = Field(min_length=1, max_length=500)
    salutation: str = Field("", max_length=255)
    body: str = ""
    sender_name: str = Field("", max_length=255)
    recipient_name: str = Field("", max_length=255)
    references: list[Line] = Field(default_factory=list, max_length=500)
    enclosures: list[Line] = Field(default_factory=list, max_length=500)
    is_circular: bool = False

    @pydantic.model_validator(mode="after")
    def _registrable(self) -> Self:
        if self.kind not in LetterKind.values:
            raise ValueError("unknown kind")
        allowed = SUBKINDS_OF[self.kind]
        if (self.subkind and self.subkind not in allowed) or (allowed and not self.subkind):
            raise ValueError("subkind does not fit the kind")
        if self.urgency not in Urgency.values or self.secrecy not in Secrecy.values:
            raise ValueError("urgency or secrecy out of range")
        if not self.subject.strip():
            raise ValueError("empty subject")
        if self.letter_date is not None:
            dt.date.fromisoformat(self.letter_date)
        return self


class FileV1(_Strict):
    name: str = Field(max_length=255)
    role: Literal["main", "attachment"]
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)
    content_type: str = Field("", max_length=100)


class ReceiptV1(_Strict):
    """``envelope.receipt``: a business receipt for a letter this node sent."""

    for_: uuid.UUID = Field(alias="for", strict=False)
    status: Literal["registered", "rejected", "returned"]
    number: str = Field("", max_length=128)
    at: Annotated[str, pydantic.AfterValidator(_iso_time)] | None = None
    reason: str = Field("", max_length=500)

    @pydantic.field_validator("for_", mode="before")
    @classmethod
    def _uuid_text(cls, value: object) -> object:
        if not isinstance(value, str):
            raise ValueError("a UUID in a string")
        return value


class _Exact(BaseModel):
    """Exact JSON types, and a field the receiver does not know is refused: for the figures
    of a report, which are added up as they are."""

    model_config = ConfigDict(strict=True, extra="forbid")


Count = Annotated[int, Field(ge=0, le=1_000_000_000)]
#: The channels a report counts by: those of the dispatches (and "unrecorded": a sent letter
#: with no recipient channel), and those letters arrive by ("paper": registered at the desk).
REPORT_SENT_CHANNELS = frozenset({*Channel.values, "unrecorded"})
REPORT_RECEIVED_CHANNELS = frozenset({Channel.SARABAN, Channel.ECMS, Channel.EMAIL, "paper"})
#: The earliest month a report may name (พ.ศ. 2400), as the indicators' periods.
FIRST_REPORT_MONTH = dt.date(2400 - BE_OFFSET, 1, 1)


def _by_channel(by_channel: dict[str, int], allowed: frozenset[str], total: int,
                electronic: int) -> None:
    unknown = sorted(set(by_channel) - allowed)
    if unknown:
        raise ValueError(f"unknown channel {unknown[0]}")
    if sum(by_channel.values()) != total:
        raise ValueError("the channels do not add up to the total")
    if sum(n for c, n in by_channel.items() if c in ELECTRONIC_CHANNELS) != electronic:
        raise ValueError("the electronic channels do not add up to electronic")


class ReportSentV1(_Exact):
    total: Count
    electronic: Count
    letters: Count
    by_channel: dict[str, Count]

    @pydantic.model_validator(mode="after")
    def _adds_up(self) -> Self:
        if self.electronic > self.total or self.letters > self.total:
            raise ValueError("a part larger than the total")
        _by_channel(self.by_channel, REPORT_SENT_CHANNELS, self.total, self.electronic)
        return self


class ReportReceivedV1(_Exact):
    total: Count
    electronic: Count
    by_channel: dict[str, Count]

    @pydantic.model_validator(mode="after")
    def _adds_up(self) -> Self:
        if self.electronic > self.total:
            raise ValueError("a part larger than the total")
        _by_channel(self.by_channel, REPORT_RECEIVED_CHANNELS, self.total, self.electronic)
        return self


class ReportSignedV1(_Exact):
    total: Count
    signed: Count

    @pydantic.model_validator(mode="after")
    def _adds_up(self) -> Self:
        if self.signed > self.total:
            raise ValueError("a part larger than the total")
        return self


def report_month(value: str) -> dt.date:
    """The month a report names: an ISO first day, not before พ.ศ. 2400, and not after the
    month it is now in Bangkok (five minutes ahead, as for ``sent_at``)."""
    day = dt.date.fromisoformat(value)
    if day.day != 1 or len(value) != 10:
        raise ValueError("not the first day of a month")
    now = dt.datetime.now(tz=BANGKOK) + dt.timedelta(minutes=5)
    if not FIRST_REPORT_MONTH <= day <= now.date().replace(day=1):
        raise ValueError("a month that has not begun, or out of range")
    return day


def _month(value: str) -> str:
    report_month(value)
    return value


def _generated(value: str) -> str:
    """When a report was made: with its zone, and not ahead of now (five minutes' grace), so
    a sender's wrong clock cannot keep a report current against every later one."""
    moment = dt.datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("a time without its zone")
    if moment > dt.datetime.now(tz=dt.UTC) + dt.timedelta(minutes=5):
        raise ValueError("made in the future")
    return value


class ReportV1(_Exact):
    """``envelope.report``: an agency's own figures for one month, for its overseer."""

    month: Annotated[str, pydantic.AfterValidator(_month)]
    generated_at: Annotated[str, pydantic.AfterValidator(_generated)]
    sent: ReportSentV1
    received: ReportReceivedV1
    signed: ReportSignedV1


Code = Annotated[str, Field(min_length=1, max_length=64)]


class EnvelopeV1(_Strict):
    v: int
    type: Literal["letter", "receipt", "report"]
    id: Code
    from_: Code = Field(alias="from")
    to: Code
    sent_at: Annotated[str, pydantic.AfterValidator(_iso_time)]
    letter: LetterV1 | None = None
    files: list[FileV1] = Field(default_factory=list, max_length=1000)
    receipt: ReceiptV1 | None = None
    report: ReportV1 | None = None

    @pydantic.field_validator("id")
    @classmethod
    def _uuid(cls, value: str) -> str:
        uuid.UUID(value)
        return value

    @pydantic.model_validator(mode="after")
    def _body_of_its_type(self) -> Self:
        if self.type == "letter" and self.letter is None:
            raise ValueError("a letter needs its letter")
        if self.type == "receipt" and self.receipt is None:
            raise ValueError("a receipt needs its receipt")
        if self.type == "report" and (self.report is None or self.files):
            raise ValueError("a report needs its report, and carries no files")
        return self


def _first_error(exc: pydantic.ValidationError) -> str:
    errors = exc.errors(include_url=False, include_context=False, include_input=False)
    loc = [str(p) for p in errors[0]["loc"]] if errors else []
    return ".".join(p.rstrip("_") for p in loc) or "envelope"


def parse(data: object) -> Incoming:
    """Check the shape of a decoded message; raises ``ExchangeRefused`` (malformed…).

    Every field of the signed envelope is checked for its JSON type and allowed values
    (``EnvelopeV1``) before anything is verified or stored, so an accepted letter can always
    be registered.
    """
    if not isinstance(data, dict):
        raise _malformed("not an object")
    envelope = data.get("envelope")
    signature = data.get("signature")
    raw_files = data.get("files", {})
    if not isinstance(envelope, dict):
        raise _malformed("envelope")
    if not (isinstance(signature, str) and 0 < len(signature) < 512):
        raise _malformed("signature")
    if not isinstance(raw_files, dict):
        raise _malformed("files")
    version = envelope.get("v")
    if type(version) is not int or version != VERSION:
        raise ExchangeRefused("ไม่รองรับรุ่นของซองหนังสือนี้", code="unsupported_version")
    try:
        EnvelopeV1.model_validate(envelope)
    except pydantic.ValidationError as exc:
        where = _first_error(exc)
        if envelope.get("type") == "report" and where.split(".")[0] == "report":
            raise ExchangeRefused(f"รายงานตัวชี้วัดไม่ถูกต้อง: {where}", code="bad_report",
                                  field=where) from exc
        raise _malformed(where) from exc
    except ValueError as exc:  # a validator's own parse (a date, a UUID)
        raise _malformed("envelope") from exc
    files: dict[str, bytes] = {}
    if envelope["type"] == "letter":
        for sha, content in raw_files.items():
            if not isinstance(content, str):
                raise _malformed("file content")
            try:
                files[str(sha)] = base64.b64decode(content, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise ExchangeRefused("เนื้อไฟล์ไม่ใช่ base64", code="malformed_envelope") from exc
    return Incoming(envelope=envelope, signature=signature, files=files)


def encode_files(contents: dict[str, bytes]) -> dict[str, str]:
    return {sha: base64.b64encode(data).decode() for sha, data in contents.items()}
