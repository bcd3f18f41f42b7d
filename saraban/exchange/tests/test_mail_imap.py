"""Reading the central mailbox over IMAP from a real Dovecot started by the tests: store, then
move; every Message-ID recorded so nothing is downloaded or stored twice; leases."""

from __future__ import annotations

import pytest
from django.utils import timezone
from imapclient import IMAPClient  # type: ignore[import-untyped]

from saraban.exchange.mail import imap
from saraban.exchange.mail.intake import ingest
from saraban.exchange.mail.mailboxes import mailbox_add, mailbox_set
from saraban.exchange.models import InboxMessage, Mailbox, MailSeen
from saraban.exchange.testing_mail import DOVECOT_SKIP, Dovecot, dovecot_available
from saraban.exchange.tests.test_mail_intake import letter_mail
from saraban.mail import MailLimits, ParsedMail

pytestmark = pytest.mark.skipif(not dovecot_available(), reason=DOVECOT_SKIP)

DONE = "Saraban/Processed"
KEPT = "Saraban/Kept"


@pytest.fixture(scope="module")
def dovecot():
    with Dovecot() as server:
        yield server


@pytest.fixture(scope="module")
def courier():
    with Dovecot(courier_style=True) as server:
        yield server


def connected(org, server: Dovecot, **settings) -> tuple[Mailbox, str]:
    user, password = server.add_user()
    box = mailbox_add(agency=org.ministry, address=user, imap_host=server.host,
                      imap_port=server.port, imap_security="none", imap_password=password,
                      **settings)
    return box, user


def test_a_poll_stores_letters_moves_them_and_keeps_others_apart(org, dovecot):
    box, user = connected(org, dovecot)
    letters = [letter_mail(subject=f"เรื่อง ขอความอนุเคราะห์ ฉบับที่ {n}") for n in range(3)]
    auto = letter_mail(subject="Out of Office: ไม่อยู่", files=(),
                       headers={"Auto-Submitted": "auto-replied"})
    refused = letter_mail(sender="x@spam.example")
    mailbox_set(mailbox=box, accept_senders="*.go.th")
    uids = dovecot.append_many(user, [*letters, auto, refused])
    assert len(uids) == 5

    [result] = imap.poll_now()
    assert result.as_dict() | {"error": ""} == {
        "mailbox": user, "inbox": 3, "duplicates": 0, "kept_apart": 1, "refused": 1,
        "moved": 5, "move_failed": 0, "remaining": 0, "error": ""}
    assert dovecot.uids(user) == []
    assert len(dovecot.uids(user, DONE)) == 3 and len(dovecot.uids(user, KEPT)) == 2
    assert {DONE, KEPT} <= set(dovecot.folders(user))
    # BODY.PEEK: a clerk reading the mailbox in a mail program still sees them unread.
    assert not any("\\Seen" in f for f in dovecot.flags(user, DONE))
    assert InboxMessage.objects.filter(recipient=org.ministry).count() == 3
    assert sorted(MailSeen.objects.values_list("source", flat=True)) == ["imap"] * 5
    box.refresh_from_db()
    assert box.last_polled_at is not None and box.lease_until is None and not box.last_error

    # New mail later: only it is read.
    dovecot.append(user, letter_mail(subject="เรื่อง ฉบับใหม่"))
    [again] = imap.poll_now()
    assert (again.inbox, again.moved) == (1, 1)


def test_a_mail_stored_before_a_crash_is_only_moved_not_downloaded_again(org, dovecot):
    """The intake stored the mail (here: the same mail came by the pipe too), then died
    before the move: the poll recognises the Message-ID from the header alone."""
    box, user = connected(org, dovecot)
    raw = letter_mail()
    assert ingest(box, raw, source="pipe").outcome == "inbox"
    dovecot.append(user, raw)
    [result] = imap.poll_now()
    assert (result.inbox, result.duplicates, result.moved) == (0, 1, 1)
    assert result.items == ["known 1"]
    assert InboxMessage.objects.count() == 1
    assert len(dovecot.uids(user, DONE)) == 1


def test_a_mail_without_message_id_is_recognised_by_its_content(org, dovecot):
    box, user = connected(org, dovecot)
    raw = letter_mail(message_id="")
    assert b"Message-ID" not in raw
    assert ingest(box, raw, source="pipe").outcome == "inbox"
    dovecot.append(user, raw)
    [result] = imap.poll_now()
    assert (result.duplicates, result.moved) == (1, 1)
    assert InboxMessage.objects.count() == 1


def test_an_oversized_mail_is_refused_without_downloading_it(org, dovecot, settings):
    settings.SARABAN_MAIL_MAX_BYTES = 30_000
    _box, user = connected(org, dovecot)
    big = letter_mail(files=(("big.pdf", "application/pdf", b"%PDF-1.4\n" + b"0" * 40_000),))
    dovecot.append_many(user, [big, letter_mail()])
    [result] = imap.poll_now()
    assert (result.refused, result.inbox, result.moved) == (1, 1, 2)
    seen = MailSeen.objects.get(outcome="refused")
    assert seen.code == "mail_too_large" and seen.blob_id is None and seen.size >= 40_000
    assert "ไม่ได้ดาวน์โหลด" in seen.reason
    assert len(dovecot.uids(user, KEPT)) == 1
    # Put back (a clerk dragged it into the inbox again): recognised, not refused twice.
    dovecot.append(user, big)
    [again] = imap.poll_now()
    assert (again.duplicates, again.refused) == (1, 0)


def test_without_move_the_mail_is_copied_flagged_and_expunged(org, dovecot):
    box, user = connected(org, dovecot)
    uids = dovecot.append_many(user, [letter_mail(), letter_mail()])
    client = IMAPClient(dovecot.host, port=dovecot.port, ssl=False)
    client.login(user, box.imap_password())
    client.create_folder(DONE)
    client.select_folder("INBOX")
    imap._copy_delete(client, uidplus=True)(uids[:1], DONE)
    imap._copy_delete(client, uidplus=False)(uids[1:], DONE)
    client.logout()
    assert dovecot.uids(user) == [] and len(dovecot.uids(user, DONE)) == 2


def test_folders_follow_the_servers_namespace_and_separator(org, courier):
    _box, user = connected(org, courier)
    courier.append(user, letter_mail())
    [result] = imap.poll_now()
    assert (result.inbox, result.moved, result.error) == (1, 1, "")
    assert {"INBOX.Saraban.Processed", "INBOX.Saraban.Kept"} <= set(courier.folders(user))
    assert len(courier.uids(user, DONE)) == 1


def test_a_wrong_password_is_an_error_on_the_mailbox_and_stops_nothing_else(org, dovecot):
    box, user = connected(org, dovecot)
    good_user, good_password = dovecot.add_user()
    good = mailbox_add(agency=org.province, address=good_user, imap_host=dovecot.host,
                       imap_port=dovecot.port, imap_security="none",
                       imap_password=good_password)
    mailbox_set(mailbox=box, imap_password="wrong")
    dovecot.append(user, letter_mail())
    dovecot.append(good_user, letter_mail())
    results = {r.mailbox: r for r in imap.poll_now()}
    assert results[user].error.startswith("imap:") and results[good_user].inbox == 1
    box.refresh_from_db()
    assert box.last_error and box.lease_until is None
    assert box.next_poll_at is not None and box.next_poll_at > timezone.now()
    assert dovecot.uids(user) != []  # left where it was
    assert good.pk != box.pk


def test_a_leased_mailbox_is_skipped_and_due_ones_are_polled(org, dovecot, settings):
    settings.SARABAN_MAIL_POLL_SECONDS = 3600
    box, user = connected(org, dovecot)
    owner = "other-worker"
    assert imap.claim_mailbox(owner=owner) is not None
    dovecot.append(user, letter_mail())
    assert imap.poll_now() == []  # another worker holds it
    assert imap.poll_due() == 0
    imap.release_mailbox(box, owner)
    assert imap.poll_due() == 0  # polled just now by "other-worker": not due for an hour
    Mailbox.objects.filter(pk=box.pk).update(next_poll_at=None)
    assert imap.poll_due() == 1
    mailbox_set(mailbox=box, enabled=False)
    dovecot.append(user, letter_mail())
    assert imap.poll_now() == []  # disabled


def test_the_batch_limit_leaves_the_rest_for_an_immediate_next_poll(org, dovecot, settings):
    settings.SARABAN_MAIL_POLL_BATCH = 2
    box, user = connected(org, dovecot)
    dovecot.append_many(user, [letter_mail(subject=f"เรื่อง {n}") for n in range(3)])
    [first] = imap.poll_now()
    assert (first.inbox, first.remaining) == (2, 1)
    box.refresh_from_db()
    assert box.next_poll_at is not None and box.next_poll_at <= timezone.now()
    assert imap.poll_due() == 1
    assert InboxMessage.objects.count() == 3


def test_a_mail_that_makes_the_intake_fail_is_refused_and_the_rest_go_on(org, dovecot,
                                                                         monkeypatch):
    """A bug met by one mail (here: the parser failing on it) must not hold up the mailbox:
    it is refused as unprocessable with its raw mail kept, moved aside, and the poll goes on."""
    from saraban.exchange.mail import intake

    real = intake.parse_sandboxed

    def parse_sandboxed(raw: bytes, limits: MailLimits) -> ParsedMail:  # fails on one mail
        if b"POISON" in raw:
            raise RuntimeError("a parser bug")
        return real(raw, limits)

    monkeypatch.setattr(intake, "parse_sandboxed", parse_sandboxed)
    _box, user = connected(org, dovecot)
    dovecot.append_many(user, [letter_mail(subject="POISON"), letter_mail()])
    [result] = imap.poll_now()
    assert (result.refused, result.inbox, result.moved, result.error) == (1, 1, 2, "")
    seen = MailSeen.objects.get(outcome="refused")
    assert seen.code == "mail_unprocessable" and seen.blob_id is not None
    assert len(dovecot.uids(user, KEPT)) == 1
