"""The mail parser as a sandbox target, and a :class:`ParsedMail` as JSON values.

An arriving mail is hostile input like any other file, so the intake does not parse it in
its own process: ``saraban.core.sandbox.run("saraban.mail.sandboxed:parse_file", path,
limits)`` forks a child with bounded memory, CPU and time, which calls :func:`parse_file`
and answers in JSON. The child's answer is never an exception: it is
``{"mail": <to_json(parsed)>}`` or ``{"refused": code, "message": text}``, so this module
needs nothing outside the mail library. :func:`from_json` gives the ``ParsedMail`` back.

Strings travel as they are, except a lone surrogate (which UTF-8 cannot carry) becomes
U+FFFD; file contents travel in base64.
"""

from __future__ import annotations

import base64
import dataclasses
from datetime import datetime
from typing import Any, Final

from ._errors import MailRefused
from ._model import (
    Address,
    Attachment,
    Bounce,
    BounceRecipient,
    MailLimits,
    ParsedMail,
    SmimeInfo,
)
from ._parse import parse_mail

__all__ = ["SANDBOX_PRELOAD", "from_json", "parse_file", "to_json"]

#: What the sandbox helper imports once, so each child has it without importing.
SANDBOX_PRELOAD: Final = (
    "email.parser",
    "email.policy",
    "saraban.mail._parse",
    "tnefparse",
    "asn1crypto.cms",
)


def parse_file(path: str, limits: dict[str, int]) -> dict[str, Any]:
    """Parse the mail stored at ``path`` under ``limits`` (the fields of ``MailLimits``)."""
    with open(path, "rb") as fh:
        raw = fh.read()
    try:
        parsed = parse_mail(raw, limits=MailLimits(**limits))
    except MailRefused as exc:
        return {"refused": exc.code, "message": exc.message}
    return {"mail": to_json(parsed)}


def _text(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "replace").decode("utf-8")
    return value


def _address(value: Address | None) -> list[str] | None:
    return None if value is None else [_text(value.address), _text(value.name)]


def _address_back(value: Any) -> Address | None:
    return None if value is None else Address(address=value[0], name=value[1])


def to_json(mail: ParsedMail) -> dict[str, Any]:
    """``mail`` as JSON values (see the module docstring)."""
    bounce = mail.bounce
    smime = mail.smime
    return {
        "message_id": _text(mail.message_id),
        "sender": _address(mail.sender),
        "reply_to": _address(mail.reply_to),
        "to": [_address(a) for a in mail.to],
        "cc": [_address(a) for a in mail.cc],
        "date": None if mail.date is None else mail.date.isoformat(),
        "subject": _text(mail.subject),
        "text": _text(mail.text),
        "attachments": [
            {"filename": _text(a.filename), "content_type": _text(a.content_type),
             "data": base64.b64encode(a.data).decode("ascii"), "inline": a.inline,
             "origin": a.origin}
            for a in mail.attachments
        ],
        "in_reply_to": [_text(v) for v in mail.in_reply_to],
        "references": [_text(v) for v in mail.references],
        "headers": [[_text(n), _text(v)] for n, v in mail.headers],
        "bounce": None if bounce is None else {
            "original_message_id": _text(bounce.original_message_id),
            "envelope_id": _text(bounce.envelope_id),
            "recipients": [{k: _text(v) for k, v in dataclasses.asdict(r).items()}
                           for r in bounce.recipients],
            "reporting_mta": _text(bounce.reporting_mta),
            "original_subject": _text(bounce.original_subject),
            "returned_headers": [[_text(n), _text(v)] for n, v in bounce.returned_headers],
        },
        "smime": None if smime is None else {
            "signed": smime.signed, "signer_subject": _text(smime.signer_subject),
            "signer_certificate_pem": _text(smime.signer_certificate_pem),
            "verdict": smime.verdict,
        },
        "defects": [_text(v) for v in mail.defects],
        "size": mail.size,
        "digest": mail.digest,
    }


def from_json(data: dict[str, Any]) -> ParsedMail:
    """The ``ParsedMail`` that :func:`to_json` wrote."""
    bounce = data["bounce"]
    smime = data["smime"]
    return ParsedMail(
        message_id=data["message_id"],
        sender=_address_back(data["sender"]),
        reply_to=_address_back(data["reply_to"]),
        to=tuple(Address(address=a, name=n) for a, n in data["to"]),
        cc=tuple(Address(address=a, name=n) for a, n in data["cc"]),
        date=None if data["date"] is None else datetime.fromisoformat(data["date"]),
        subject=data["subject"],
        text=data["text"],
        attachments=tuple(
            Attachment(filename=a["filename"], content_type=a["content_type"],
                       data=base64.b64decode(a["data"]), inline=bool(a["inline"]),
                       origin=a["origin"])
            for a in data["attachments"]
        ),
        in_reply_to=tuple(data["in_reply_to"]),
        references=tuple(data["references"]),
        headers=tuple((n, v) for n, v in data["headers"]),
        bounce=None if bounce is None else Bounce(
            original_message_id=bounce["original_message_id"],
            envelope_id=bounce["envelope_id"],
            recipients=tuple(BounceRecipient(**r) for r in bounce["recipients"]),
            reporting_mta=bounce["reporting_mta"],
            original_subject=bounce["original_subject"],
            returned_headers=tuple((n, v) for n, v in bounce["returned_headers"]),
        ),
        smime=None if smime is None else SmimeInfo(
            signed=bool(smime["signed"]), signer_subject=smime["signer_subject"],
            signer_certificate_pem=smime["signer_certificate_pem"], verdict=smime["verdict"],
        ),
        defects=tuple(data["defects"]),
        size=int(data["size"]),
        digest=data["digest"],
    )
