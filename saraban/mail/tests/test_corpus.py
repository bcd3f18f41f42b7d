"""The mail corpus (``corpus_shapes.py`` and ``corpus/*.eml``) through :func:`parse_mail` and
:func:`classify`: every mail yields exactly the expected item.

The expectations are what the sender typed and attached (the writers' inputs) or, for the
hand-written bounces, read off the file; none is computed by the parser.
"""

from __future__ import annotations

import collections
import json

import pytest

from saraban.mail import classify, parse_mail, sandboxed
from saraban.mail.tests.corpus_shapes import MAILBOX, Case, cases

CASES = cases()


def test_corpus_has_every_client_and_shape_in_numbers() -> None:
    clients = collections.Counter(c.client for c in CASES)
    shapes = {c.shape for c in CASES}
    kinds = collections.Counter(c.expect.kind for c in CASES)
    assert len(CASES) >= 200
    for client in ("outlook", "gmail", "thunderbird", "apple", "thai-webmail", "thai-legacy"):
        assert clients[client] >= 10, client
    for shape in ("winmail-dat", "forward-attached", "forward-nested-twice", "forward-inline",
                  "smime-outlook", "smime-thunderbird", "smime-apple", "smime-opaque",
                  "express-tis-620", "desktop-windows-874-q", "desktop-x-windows-874",
                  "raw-8bit-tis-620", "zimbra-mailgothai", "roundcube-rfc2231"):
        assert shape in shapes, shape
    assert kinds["auto_reply"] >= 10 and kinds["bounce"] >= 10 and kinds["loop"] >= 5
    assert len({c.raw for c in CASES}) == len(CASES)  # distinct mails


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_mail_yields_the_expected_item(case: Case) -> None:
    e = case.expect
    mail = parse_mail(case.raw)

    assert classify(mail, own_addresses=[MAILBOX]) == e.kind
    assert mail.subject == e.subject
    assert mail.sender is not None
    assert mail.sender.address == e.sender
    if e.sender_name:
        assert mail.sender.name == e.sender_name
    assert mail.date == e.date
    if e.date is not None:
        assert mail.date is not None and mail.date.utcoffset() is not None
    if e.message_id:
        assert mail.message_id == e.message_id
    for snippet in e.snippets:
        assert snippet in mail.text
    assert "<html" not in mail.text.lower() and "</div>" not in mail.text
    if e.kind == "letter":
        assert MAILBOX in [a.address.lower() for a in mail.to]
    if e.in_reply_to:
        assert mail.in_reply_to == e.in_reply_to

    if e.files is not None:
        got = [(a.filename, a.content_type, a.origin, a.inline) for a in mail.attachments]
        assert got == [(f.name, f.content_type, f.origin, f.inline) for f in e.files]
        for attachment, expected in zip(mail.attachments, e.files, strict=True):
            if expected.data is not None:
                assert attachment.data == expected.data, expected.name

    if e.kind == "bounce":
        assert mail.bounce is not None
        assert mail.bounce.original_message_id == e.bounce_id
        recipients = {r.address.lower(): r for r in mail.bounce.recipients}
        assert e.bounce_recipient in recipients
        assert recipients[e.bounce_recipient].action == e.bounce_action
        if e.bounce_status:
            assert recipients[e.bounce_recipient].status == e.bounce_status
    else:
        assert mail.bounce is None

    if e.smime:
        assert mail.smime is not None and mail.smime.signed
        assert mail.smime.verdict == e.smime
        assert e.smime_signer in mail.smime.signer_subject
        assert "BEGIN CERTIFICATE" in mail.smime.signer_certificate_pem
    else:
        assert mail.smime is None or not mail.smime.signed


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_same_mail_with_bare_line_feeds_is_the_same_item(case: Case) -> None:
    """A postfix pipe hands mail over with LF line ends (and IMAP with CRLF): one mail, one
    digest, the same files, the same signature verdict."""
    crlf, lf = parse_mail(case.raw), parse_mail(case.raw.replace(b"\r\n", b"\n"))
    assert lf.digest == crlf.digest
    assert lf.subject == crlf.subject
    assert [(a.filename, a.data) for a in lf.attachments] == [
        (a.filename, a.data) for a in crlf.attachments]
    assert (lf.smime.verdict if lf.smime else None) == (crlf.smime.verdict if crlf.smime else None)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_every_mail_crosses_the_sandbox_boundary_unchanged(case: Case) -> None:
    """The intake parses in a sandboxed child, which answers in JSON: what comes back is the
    same ``ParsedMail`` the parser made, field for field, files byte for byte."""
    mail = parse_mail(case.raw)
    wire = json.loads(json.dumps(sandboxed.to_json(mail), ensure_ascii=False))
    assert sandboxed.from_json(wire) == mail
