"""Delivery status notifications and bounces into :class:`Bounce`.

RFC 3464 (``multipart/report; report-type=delivery-status``: a human part, a
``message/delivery-status`` part of field blocks, the returned ``message/rfc822`` or
``text/rfc822-headers``) is read field by field. The shapes that predate or ignore it are
recognised by their sender (MAILER-DAEMON, postmaster, "Mail Delivery Subsystem", an empty
Return-Path) together with their subject or their fixed sentences: qmail ("Hi. This is the
qmail-send program"), Yahoo, old Exchange ("The following recipient(s) cannot be reached"),
Lotus Notes ("was not delivered to"), Gmail's old text notice ("Delivery to the following
recipient failed permanently"), exim and sendmail. Their recipients, statuses and the
original Message-ID are then found in the text (the returned headers follow a marker line).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ._charset import collapse, decode_header
from ._headers import message_id, normalize_address
from ._model import Address, Bounce, BounceRecipient

_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_SMTP_CODE = re.compile(r"\b([45])[0-9][0-9]\b")
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")
_DAEMONS = {"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon", "maildelivery",
            "mailer_daemon", "bounce", "bounces", "mdaemon", "nobody"}
_SUBJECT = re.compile(
    r"undeliver|undelivered|delivery status notification|delivery (?:failure|failed|has failed|"
    r"notification|report|problem)|failure notice|returned mail|mail delivery failed|"
    r"non[- ]?deliver|could not be delivered|not delivered|delivery incomplete|"
    r"warning: could not send|mail system error|nondeliverable|"
    r"ส่งไม่สำเร็จ|ไม่สามารถส่ง|ตีกลับ|ส่งไม่ถึง",
    re.IGNORECASE,
)
_MARKERS = re.compile(
    r"this is the qmail-send program|i'm afraid i wasn't able to deliver|"
    r"sorry, we were unable to deliver your message|"
    r"delivery to the following recipients? failed|"
    r"the following recipient\(s\) cannot be reached|"
    r"your message did not reach some or all of the intended recipients|"
    r"delivery has failed to these recipients|was not delivered to|"
    r"this is the mail system at host|could not be delivered to one or more recipients|"
    r"a message that you sent could not be delivered|"
    r"message could not be delivered|delivery to the following recipients? (?:has been )?delayed|"
    r"the original message was received at|unable to deliver (?:your )?message|"
    r"your message wasn't delivered|address not found",
    re.IGNORECASE,
)
_COPY = re.compile(
    r"^.*(?:below this line is a copy of the message|enclosed are the original headers|"
    r"original message (?:follows|headers)|this is a copy of the message|"
    r"-{3,}\s*original message\s*-{3,}|returned message|message headers follow|"
    r"undelivered message headers|text of the original message).*$",
    re.IGNORECASE | re.MULTILINE,
)
_FIELD = re.compile(r"^([A-Za-z][A-Za-z0-9-]{0,70}):[ \t]*(.*(?:\n[ \t]+.*)*)", re.MULTILINE)
_DELAY = re.compile(r"delayed|will (?:be )?retr|still trying|temporar|deferred|"
                    r"not yet been delivered|will keep trying", re.IGNORECASE)


def _fields(block: str) -> list[tuple[str, str]]:
    return [(m.group(1).lower(), collapse(m.group(2))) for m in _FIELD.finditer(block)]


def _typed(value: str) -> str:
    """``rfc822; user@x`` → ``user@x``; ``dns; mx.example`` → ``mx.example``."""
    return value.split(";", 1)[1].strip() if ";" in value else value.strip()


def _status(text: str, delayed: bool) -> str:
    m = _STATUS.search(text)
    if m:
        return m.group(0)
    m = _SMTP_CODE.search(text)
    if m:
        return f"{m.group(1)}.0.0"
    return "4.0.0" if delayed else "5.0.0"


def parse_status_blocks(text: str) -> tuple[str, str, list[BounceRecipient]]:
    """RFC 3464 fields: (reporting MTA, envelope id, recipients)."""
    blocks = [b for b in re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n").replace("\r", "\n"))
              if b.strip()]
    mta = envid = ""
    recipients: list[BounceRecipient] = []
    for block in blocks[:500]:
        f = dict(reversed(_fields(block)))
        if "reporting-mta" in f:
            mta = mta or _typed(f["reporting-mta"])
        if "original-envelope-id" in f:
            envid = envid or f["original-envelope-id"].strip()
        addr = _typed(f.get("final-recipient", "") or f.get("original-recipient", ""))
        if not addr:
            continue
        action = f.get("action", "").strip().lower().split()[0] if f.get("action") else ""
        diag = _typed(f.get("diagnostic-code", ""))
        status = f.get("status", "").strip()
        m = _STATUS.search(status)
        delayed = action == "delayed"
        status = m.group(0) if m else _status(diag, delayed)
        if action not in {"failed", "delayed", "delivered", "relayed", "expanded"}:
            action = "failed" if status.startswith("5") else "delayed"
        recipients.append(BounceRecipient(normalize_address(addr), action, status, diag))
    return mta, envid, recipients


def _returned_from_text(text: str) -> list[tuple[str, str]]:
    """Header fields quoted in a bounce's text after its 'copy of the message' marker."""
    m = _COPY.search(text)
    region = text[m.end():] if m else text
    fields: list[tuple[str, str]] = []
    started = False
    for line_m in _FIELD.finditer(region[:200_000]):
        name, value = line_m.group(1).lower(), collapse(decode_header(line_m.group(2)))
        if name in {"message-id", "subject", "from", "to", "date", "x-saraban-message",
                    "return-path", "received", "references", "in-reply-to"} or started:
            started = True
            fields.append((name, value))
    return fields


def _recipients_from_text(text: str, exclude: set[str]) -> list[BounceRecipient]:
    m = _COPY.search(text)
    region = text[: m.start()] if m else text
    region = region.replace("\r\n", "\n")[:100_000]
    out: list[BounceRecipient] = []
    seen: set[str] = set()
    # qmail / Yahoo: "<user@x>:" followed by the remote's words up to a blank line.
    for q in re.finditer(r"^<([^<>\s]+@[^<>\s]+)>:?[ \t]*\n((?:.+\n?)*)", region, re.MULTILINE):
        addr = normalize_address(q.group(1))
        if addr.lower() in seen:
            continue
        seen.add(addr.lower())
        diag = collapse(q.group(2))
        delayed = bool(_DELAY.search(region))
        status = _status(diag, delayed)
        out.append(BounceRecipient(addr, "delayed" if delayed and not status.startswith("5")
                                   else "failed", status, diag[:1000]))
    if out:
        return out
    # Everything else: each address in the report, with the paragraph it stands in.
    paragraphs = re.split(r"\n[ \t]*\n", region)
    for i, para in enumerate(paragraphs):
        for addr_m in _EMAIL.finditer(para):
            addr = normalize_address(addr_m.group(0).strip(".'\"`"))
            key = addr.lower()
            if key in seen or key in exclude:
                continue
            seen.add(key)
            tail = para[addr_m.end():].strip()
            if len(tail) < 10 and i + 1 < len(paragraphs):
                tail = (tail + " " + paragraphs[i + 1]).strip()
            diag = collapse(tail)[:1000]
            delayed = bool(_DELAY.search(region)) and not re.search(
                r"permanent|failed permanently|user unknown|does not exist", region, re.I)
            status = _status(diag or region, delayed)
            out.append(BounceRecipient(
                addr, "delayed" if delayed and not status.startswith("5") else "failed",
                status, diag))
            if len(out) >= 100:
                return out
    return out


def _is_daemon(sender: Address | None, headers: Sequence[tuple[str, str]]) -> bool:
    if sender is None:
        return True
    local = sender.address.rpartition("@")[0].lower()
    if local in _DAEMONS or local.startswith(("mailer-daemon", "postmaster", "bounce")):
        return True
    name = sender.name.lower()
    if "mail delivery" in name or "mailer-daemon" in name or "postmaster" in name:
        return True
    return any(n == "return-path" and v.strip() in {"<>", ""} for n, v in headers)


def find_bounce(
    *,
    headers: Sequence[tuple[str, str]],
    sender: Address | None,
    subject: str,
    text: str,
    report_type: str,
    status_text: str | None,
    returned: Sequence[tuple[str, str]] | None,
    extra_text: str = "",
) -> Bounce | None:
    """A :class:`Bounce` when the mail is a DSN or a recognisable bounce, else ``None``."""
    body = text + ("\n\n" + extra_text if extra_text else "")
    if status_text is None:
        strong = bool(_MARKERS.search(body[:20_000]))
        daemon = _is_daemon(sender, headers)
        if not ((daemon and (_SUBJECT.search(subject) or strong))
                or (strong and _SUBJECT.search(subject))
                or (report_type == "delivery-status")):
            return None
    mta = envid = ""
    recipients: list[BounceRecipient] = []
    if status_text is not None:
        mta, envid, recipients = parse_status_blocks(status_text)
    returned_fields = list(returned or [])
    if not returned_fields:
        returned_fields = _returned_from_text(body)
    own = {sender.address.lower()} if sender else set()
    for n, v in returned_fields:
        if n in {"from", "return-path"}:
            own.update(a.lower() for a in _EMAIL.findall(v))
    if not recipients:
        recipients = _recipients_from_text(body, own)
    if not mta:
        m = re.search(
            r"(?:qmail-send program|mail system) at (?:host )?([A-Za-z0-9.-]+[A-Za-z0-9])",
            body, re.IGNORECASE,
        )
        if m:
            mta = m.group(1)
        elif sender:
            mta = sender.address.rpartition("@")[2]
    original = next((message_id(v) for n, v in returned_fields if n == "message-id"), "")
    if not original:
        m = re.search(r"(?im)^[ \t>]*message-id:[ \t]*(<[^<>\s]+>|\S+@\S+)", body)
        if m:
            original = message_id(m.group(1))
    original_subject = next((v for n, v in returned_fields if n == "subject"), "")
    if not original_subject:
        m = re.search(r"(?im)^[ \t]*subject:[ \t]*(.+)$", body)
        if m:
            original_subject = collapse(m.group(1))
    return Bounce(
        original_message_id=original,
        envelope_id=envid,
        recipients=tuple(recipients),
        reporting_mta=mta,
        original_subject=original_subject,
        returned_headers=tuple(returned_fields[:200]),
    )
