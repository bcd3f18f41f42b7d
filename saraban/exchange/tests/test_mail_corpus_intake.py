"""The mail corpus (``saraban/mail/tests/corpus_shapes.py``) through the intake: each mail
handed over as by a postfix pipe becomes exactly the expected inbox item, or is kept apart.

Every mail of the corpus runs here too (the parse-level test, ``saraban/mail/tests/
test_corpus.py``, checks the same expectations on ``parse_mail`` alone): through the sandboxed
parse, the deduplication, the file checks and the store, as the mail server hands it over.
"""

from __future__ import annotations

import hashlib
import re

import pytest

from saraban.exchange.mail.intake import ingest
from saraban.exchange.mail.mailboxes import mailbox_add
from saraban.exchange.models import InboxFile, InboxMessage, Mailbox, MailSeen
from saraban.mail.tests.corpus_shapes import MAILBOX, MAILBOX_NAME, Case, cases

PDF = "application/pdf"
#: What a registry keeps of a mail's files (the types the letters area accepts, decided from the
#: content): anything else is listed as not kept.
KEPT_TYPES = ("application/pdf", "image/png", "image/jpeg", "image/tiff",
              "application/vnd.openxmlformats-officedocument.",
              "application/vnd.oasis.opendocument.")

CASES = cases()


def _loose(name: str) -> str:
    """A name without the characters a file name may not hold and without trailing dots
    (either side may drop or replace them: the contract only says they go)."""
    return re.sub(r'[<>:"/\\|?*_\s]', "", name).rstrip(".")


@pytest.fixture
def mailbox(org) -> Mailbox:
    return mailbox_add(agency=org.ministry, address=MAILBOX, display_name=MAILBOX_NAME)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_corpus_mail_becomes_the_expected_inbox_item(case: Case, mailbox: Mailbox) -> None:
    e = case.expect
    result = ingest(mailbox, case.raw, source="pipe")

    seen = MailSeen.objects.get(mailbox=mailbox)
    assert seen.source == "pipe"
    assert seen.digest
    if e.kind != "letter":
        assert result.outcome == e.kind, result
        assert result.inbox_id is None
        assert seen.outcome == e.kind
        assert seen.blob is not None  # the raw mail is kept even when it yields no item
        assert not InboxMessage.objects.exists()
        return

    assert result.outcome == "inbox", result
    assert result.sender == e.sender
    assert result.inbox_id is not None
    inbox = InboxMessage.objects.get(pk=result.inbox_id)
    assert seen.inbox_id == inbox.pk
    assert inbox.sender_code == f"mailto:{e.sender}"
    envelope = inbox.envelope
    mail, letter = envelope["mail"], envelope["letter"]
    assert mail["from"] == e.sender
    assert mail["from_name"] == e.sender_name
    assert mail["subject"] == e.subject
    if e.message_id:
        assert mail["message_id"] == e.message_id
    # the registry's subject: the mail's, without a leading "ที่ <number> เรื่อง"
    if e.number and e.subject.startswith(f"ที่ {e.number} เรื่อง "):
        assert letter["subject"] == e.subject.removeprefix(f"ที่ {e.number} เรื่อง ")
    elif e.number is None:
        assert e.subject.endswith(letter["subject"])
    else:
        assert letter["subject"] == e.subject
    if e.number is not None:
        assert letter["number"] == e.number
    assert letter["sender_name"] == f"{e.sender_name} <{e.sender}>"
    assert letter["recipient_name"] == MAILBOX_NAME
    for snippet in e.snippets:
        assert snippet in letter["body"]
    if e.date is not None:
        assert mail["date"] is not None
    if e.smime:
        assert mail["smime"]["verdict"] == e.smime

    # the files: documents in order (the first PDF is the main one), forwarded mails listed as
    # not kept, and the raw mail as the original
    assert e.files is not None
    documents = [f for f in e.files if f.content_type.startswith(KEPT_TYPES)]
    expected, main = [], False
    for f in documents:
        role = "main" if f.content_type == PDF and not main else "attachment"
        main = main or role == "main"
        expected.append((f.name, role))
    stored = list(InboxFile.objects.filter(message=inbox).order_by("pk")
                  .values_list("filename", "role", "blob__sha256"))
    assert [(name, role) for name, role, _sha in stored[:-1]] == expected
    assert result.attachments == [f.name for f in documents]
    assert letter["enclosures"] == [name for name, role in expected if role != "main"]
    for (_name, _role, sha), f in zip(stored, documents, strict=False):
        if f.data is not None:
            assert sha == hashlib.sha256(f.data).hexdigest()
    name, role, sha = stored[-1]
    assert role == "original"
    assert sha == hashlib.sha256(case.raw).hexdigest()
    assert name.endswith(".eml")
    assert _loose(name.removesuffix(".eml")) == _loose(e.subject)
    not_kept = [f.name for f in e.files if not f.content_type.startswith(KEPT_TYPES)]
    assert [n["name"] for n in mail["not_kept"]] == not_kept
