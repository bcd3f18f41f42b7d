"""``saraban ecms parse FILE [--trust CERT.pem ...]``: read one e-CMS SOAP message (request or
response, any client dialect) and print what it says as JSON.

Exit 0 when the message was understood (a letter whose signature does not check is still
understood: ``"signature": "invalid"``); exit 2 with ``{"code": …, "message": …}`` when it is
refused (the codes of :data:`saraban.ecms.CODES`, plus ``file_unreadable``,
``bad_trust_certificate`` and ``usage`` for the command itself).

>>> parse_main(["corpus/boi/notifier_accept.xml"])  # doctest: +SKIP
{"operation": "CorrespondenceLetterOutboundRequest", "notifier": {"kind": "AcceptLetterNotifier", …
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import pathlib
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from ._errors import EcmsRefused
from ._model import Binary, Limits, Message, Operation, Party
from ._parse import parse_message

#: The JSON keys of a refusal that is the command's, not the message's.
FILE_UNREADABLE = "file_unreadable"
BAD_TRUST_CERTIFICATE = "bad_trust_certificate"
USAGE = "usage"


class _Usage(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _Usage(message)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="saraban ecms parse",
        description="Read one e-CMS SOAP message and print what it says as JSON.",
    )
    p.add_argument("file", metavar="FILE", help="the message; - reads standard input")
    p.add_argument(
        "--trust", metavar="CERT.pem", action="append", default=[],
        help="a trusted certificate (PEM, may hold several); repeatable",
    )
    defaults = _env_limits()
    for name, help_ in (
        ("max_bytes", "the whole message, bytes"),
        ("max_depth", "element nesting"),
        ("max_file_bytes", "one decoded file, bytes"),
        ("max_files", "main letter + attachments"),
        ("max_elements", "elements in the message"),
    ):
        p.add_argument(
            f"--{name.replace('_', '-')}", type=int, default=getattr(defaults, name),
            metavar="N", help=f"limit: {help_} (default {getattr(defaults, name)})",
        )
    return p


def _env_limits() -> Limits:
    """The library's limits, overridden by ``SARABAN_ECMS_MAX_*`` in the environment (where
    the operator sets them for the node too; ``saraban.settings`` reads the same names)."""
    base = Limits()
    values: dict[str, int] = {}
    for field in ("max_bytes", "max_depth", "max_file_bytes", "max_files", "max_elements"):
        raw = os.environ.get(f"SARABAN_ECMS_{field.upper()}", "").strip()
        try:
            values[field] = int(raw) if raw else getattr(base, field)
        except ValueError:
            raise _Usage(f"SARABAN_ECMS_{field.upper()} is not a number: {raw!r}") from None
    return Limits(**values)


def _emit(obj: dict[str, Any]) -> None:
    # UTF-8 whatever the locale: Thai must not depend on LANG.
    sys.stdout.buffer.write(json.dumps(obj, ensure_ascii=False, indent=2).encode() + b"\n")
    sys.stdout.buffer.flush()


def _refuse(code: str, message: str) -> int:
    _emit({"code": code, "message": message})
    return 2


def _read(name: str, limit: int) -> bytes:
    """At most ``limit + 1`` bytes: enough for the parser to say the message is too large
    without this command holding an arbitrarily large input."""
    if name == "-":
        return sys.stdin.buffer.read(limit + 1)
    with pathlib.Path(name).open("rb") as f:
        return f.read(limit + 1)


def _trust(paths: Sequence[str]) -> list[str]:
    """Every certificate in the ``--trust`` files, one PEM each."""
    pems: list[str] = []
    for path in paths:
        try:
            data = pathlib.Path(path).read_bytes()
            certs = x509.load_pem_x509_certificates(data)
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path}: {exc}") from None
        pems += [c.public_bytes(Encoding.PEM).decode() for c in certs]
    return pems


def _iso(text: str) -> str | None:
    """The CE date of a wire ``yyyy-MM-dd`` value, or None."""
    try:
        return dt.date.fromisoformat(text.strip()[:10]).isoformat()
    except ValueError:
        return None


def _party(p: Party) -> dict[str, str]:
    return {
        "department": p.department_id,
        "ministry": p.ministry_id,
        "given_name": p.given_name,
        "family_name": p.family_name,
        "job_title": p.job_title,
    }


def _file(b: Binary) -> dict[str, Any]:
    return {"mime": b.mime_code, "size": len(b.data), "sha256": hashlib.sha256(b.data).hexdigest()}


def _subject(pem: str) -> str | None:
    if not pem:
        return None
    try:
        return x509.load_pem_x509_certificate(pem.encode()).subject.rfc4514_string()
    except ValueError:
        return None


def describe(msg: Message) -> dict[str, Any]:
    """The JSON shape of a parsed message (what ``saraban ecms parse`` prints)."""
    out: dict[str, Any] = {
        "operation": msg.operation,
        "dialect": msg.dialect.value if msg.dialect else None,
        "header": {
            "message_id": msg.header.message_id,
            "to": msg.header.to,
            "wsa_namespace": msg.header.wsa_namespace,
        },
        "process_id": msg.process_id,
        "process_time": msg.process_time,
    }
    if msg.operation == Operation.INBOUND_RESPONSE:
        out["empty_queue"] = msg.is_empty_queue
    if msg.letter is not None:
        lt = msg.letter
        out["letter"] = {
            "id": lt.letter_id,
            "date": lt.date.isoformat() if lt.date else None,
            "date_text": lt.date_text,
            "subject": lt.subject,
            "secret_code": lt.secret_code,
            "speed_code": lt.speed_code,
            "attachment_text": lt.attachment_text,
            "send_date": lt.send_date,
            "description": lt.description,
        }
        out["sender"] = _party(lt.sender)
        out["receiver"] = _party(lt.receiver)
        out["references"] = [
            {"id": r.letter_id, "date": _iso(r.date_text), "date_text": r.date_text,
             "subject": r.subject}
            for r in lt.references
        ]
        out["main"] = _file(lt.main) if lt.main else None
        out["attachments"] = len(lt.attachments)
        out["attachment_files"] = [_file(a) for a in lt.attachments]
    if msg.letter is not None or msg.signer is not None:
        out["signature"] = msg.signature.value
        out["signature_detail"] = msg.signature_detail
        out["signer"] = _subject(msg.signer_certificate_pem)
        s = msg.signer
        out["government_signature"] = None if s is None else {
            "type_code": s.type_code,
            "given_name": s.given_name,
            "family_name": s.family_name,
            "title": s.title,
            "ministry_code": s.ministry_code,
            "department_code": s.department_code,
        }
    else:
        out["signature"] = msg.signature.value
    if msg.notifier is not None:
        n = msg.notifier
        out["notifier"] = {
            "kind": n.kind.value,
            "letter_id": n.letter_id,
            "date": _iso(n.date_text),
            "date_text": n.date_text,
            "subject": n.subject,
            "accept_id": n.accept_id,
            "accept_date": n.accept_date,
            "accept_department": n.accept_department,
        }
        out["accept_department"] = n.accept_department
    if msg.document_key is not None:
        k = msg.document_key
        out["document_key"] = {
            "letter_id": k.letter_id,
            "date": _iso(k.date_text),
            "date_text": k.date_text,
            "sender_department": k.sender_department,
            "accept_department": k.accept_department,
        }
        out.setdefault("accept_department", k.accept_department)
    if msg.special_kind:
        out["special_kind"] = msg.special_kind
    op = msg.operation
    if msg.ministries or op == Operation.MINISTRIES_RESPONSE:
        out["ministries"] = [{"id": o.organization_id, "th_name": o.th_name}
                             for o in msg.ministries]
    if msg.organizations or op == Operation.ORGANIZATIONS_RESPONSE:
        out["organizations"] = [
            {"id": o.organization_id, "th_name": o.th_name, "en_name": o.en_name,
             "ecms_url": o.ecms_url}
            for o in msg.organizations
        ]
    if msg.codes or op in {Operation.SECRET_CODES_RESPONSE, Operation.SPEED_CODES_RESPONSE}:
        out["codes"] = [{"value": c.value, "description": c.description} for c in msg.codes]
    if msg.mime_codes or op == Operation.MIME_CODES_RESPONSE:
        out["mime_codes"] = [{"extension": c.value, "content_type": c.description}
                             for c in msg.mime_codes]
    if msg.outbound or op == Operation.OUTBOUND_STATUS_RESPONSE:
        out["outbound"] = [{"process_id": o.process_id, "letter_id": o.letter_id,
                            "status": o.status} for o in msg.outbound]
    if msg.ecms_time or op == Operation.TIME_CHECK_RESPONSE:
        out["ecms_time"] = msg.ecms_time
    out["errors"] = [{"code": e.code, "description": e.description} for e in msg.errors]
    out["repaired"] = list(msg.repaired)
    return out


def parse_main(argv: list[str]) -> int:
    """``saraban ecms parse``: 0 understood, 2 refused (JSON on standard output either way)."""
    try:
        args = _parser().parse_args(argv)  # _parser reads SARABAN_ECMS_MAX_* for defaults
    except _Usage as exc:
        return _refuse(USAGE, str(exc))
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    limits = Limits(
        max_bytes=args.max_bytes, max_depth=args.max_depth,
        max_file_bytes=args.max_file_bytes, max_files=args.max_files,
        max_elements=args.max_elements,
    )
    try:
        trust = _trust(args.trust)
    except ValueError as exc:
        return _refuse(BAD_TRUST_CERTIFICATE, f"not a PEM certificate: {exc}")
    try:
        data = _read(args.file, limits.max_bytes)
    except OSError as exc:
        return _refuse(FILE_UNREADABLE, f"{args.file}: {exc.strerror or exc}")
    try:
        msg = parse_message(data, trust=trust, limits=limits)
    except EcmsRefused as exc:
        return _refuse(exc.code, exc.message)
    _emit(describe(msg))
    return 0


