"""E-mail on the wire: reading arriving mail, writing and signing outgoing mail.

Django-free, like :mod:`saraban.ecms`: the exchange area's mail intake and dispatch use it.

- :func:`parse_mail` reads one mail (RFC 5322/MIME as real clients write it: RFC 2047 and
  RFC 2231 in Thai charsets, raw 8-bit headers, forwarded messages, winmail.dat, S/MIME,
  delivery status notifications) into a :class:`ParsedMail`, under :class:`MailLimits`;
  it raises :class:`MailRefused` (stable ``code``) and nothing else.
- :func:`classify` tells a letter from an automatic reply, a bounce and a loop.
- :func:`message_id_key` normalises a Message-ID for deduplication.
- :func:`build_mail` writes a UTF-8 mail with Thai subject and file names;
  :func:`sign_smime` signs it (multipart/signed, SHA-256).

>>> mail = parse_mail(b"From: a@x.go.th\\r\\nSubject: =?tis-620?B?x8PUp6g=?=\\r\\n\\r\\nhi\\r\\n")
>>> mail.subject, mail.text
('วริงจ', 'hi')
"""

from ._build import build_mail
from ._classify import classify, is_auto_reply, message_id_key
from ._errors import CODES, MailRefused
from ._model import (
    Address,
    Attachment,
    Bounce,
    BounceRecipient,
    MailKind,
    MailLimits,
    ParsedMail,
    SmimeInfo,
)
from ._parse import content_digest, parse_mail
from ._smime import sign_smime

__all__ = [
    "CODES",
    "Address",
    "Attachment",
    "Bounce",
    "BounceRecipient",
    "MailKind",
    "MailLimits",
    "MailRefused",
    "ParsedMail",
    "SmimeInfo",
    "build_mail",
    "classify",
    "content_digest",
    "is_auto_reply",
    "message_id_key",
    "parse_mail",
    "sign_smime",
]
