"""The wire format of node-to-node messages.

A message is a JSON object ``{"envelope": {...}, "signature": "...", "files": {...}}``:

* ``envelope`` is what is signed (canonical JSON): ``v`` (1), ``type`` ("letter" or
  "receipt"), ``id`` (a UUID, unique per sender), ``from`` and ``to`` (exchange codes),
  ``sent_at`` (UTC, ISO 8601; renewed at each attempt), and for a letter ``letter`` (its
  registration details) and ``files`` (name, role, sha256, size, content type of each file),
  for a receipt ``receipt`` (``for``: the letter message id, ``status``: registered, rejected
  or returned, ``number``, ``at``, ``reason``);
* ``signature`` is ECDSA P-256/SHA-256 over the envelope by the sending agency's key,
  base64;
* ``files`` maps each sha256 to the file's content in base64 (not signed: the signed
  digests cover it).

The receiver answers a transport receipt ``{"receipt": {...}, "signature": "..."}`` signed by
the receiving agency: the message id, both codes, ``received_at``, the envelope's digest and
the digests of the files it stored.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from .errors import ExchangeRefused

VERSION = 1
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


def _require(cond: bool, what: str) -> None:
    if not cond:
        raise ExchangeRefused(f"ซองหนังสือไม่ถูกต้อง: {what}", code="malformed_envelope")


def parse(data: object) -> Incoming:
    """Check the shape of a decoded message; raises ``ExchangeRefused`` (malformed…)."""
    _require(isinstance(data, dict), "not an object")
    assert isinstance(data, dict)
    envelope = data.get("envelope")
    signature = data.get("signature")
    raw_files = data.get("files", {})
    _require(isinstance(envelope, dict), "envelope")
    _require(isinstance(signature, str) and 0 < len(signature) < 512, "signature")
    _require(isinstance(raw_files, dict), "files")
    assert isinstance(envelope, dict) and isinstance(signature, str) and isinstance(raw_files, dict)
    if envelope.get("v") != VERSION:
        raise ExchangeRefused("ไม่รองรับรุ่นของซองหนังสือนี้", code="unsupported_version")
    _require(envelope.get("type") in {"letter", "receipt"}, "type")
    for key in ("id", "from", "to"):
        _require(isinstance(envelope.get(key), str) and 0 < len(envelope[key]) <= 64, key)
    try:
        uuid.UUID(envelope["id"])
    except ValueError as exc:
        raise ExchangeRefused("ซองหนังสือไม่ถูกต้อง: id", code="malformed_envelope") from exc
    parse_time(envelope.get("sent_at"), "sent_at")
    files: dict[str, bytes] = {}
    if envelope["type"] == "letter":
        letter = envelope.get("letter")
        _require(isinstance(letter, dict), "letter")
        assert isinstance(letter, dict)
        _require(isinstance(letter.get("subject"), str) and bool(letter["subject"]), "subject")
        listed = envelope.get("files", [])
        _require(isinstance(listed, list), "files")
        for item in listed:
            _require(isinstance(item, dict), "file")
            _require(isinstance(item.get("sha256"), str) and len(item["sha256"]) == 64, "sha256")
            _require(item.get("role") in {"main", "attachment"}, "role")
            _require(isinstance(item.get("name"), str), "name")
            _require(isinstance(item.get("size"), int), "size")
        for sha, content in raw_files.items():
            _require(isinstance(content, str), "file content")
            try:
                files[str(sha)] = base64.b64decode(content, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise ExchangeRefused("เนื้อไฟล์ไม่ใช่ base64", code="malformed_envelope") from exc
    else:
        receipt = envelope.get("receipt")
        _require(isinstance(receipt, dict), "receipt")
        assert isinstance(receipt, dict)
        _require(receipt.get("status") in {"registered", "rejected", "returned"}, "status")
        _require(isinstance(receipt.get("for"), str), "for")
        try:
            uuid.UUID(receipt["for"])
        except ValueError as exc:
            raise ExchangeRefused("ซองหนังสือไม่ถูกต้อง: for", code="malformed_envelope") from exc
    return Incoming(envelope=envelope, signature=signature, files=files)


def encode_files(contents: dict[str, bytes]) -> dict[str, str]:
    return {sha: base64.b64encode(data).decode() for sha, data in contents.items()}
