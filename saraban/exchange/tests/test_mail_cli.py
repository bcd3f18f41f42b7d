"""``saraban mail …``: the mailbox commands, and ``saraban mail ingest`` run as the mail
server runs it — a real subprocess reading one mail on standard input, on the test
database — with the exit codes postfix acts on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from conftest import TEST_KEY_ENCRYPTION_KEYS
from saraban.exchange.models import InboxFile, InboxMessage, Mailbox, MailSeen
from saraban.exchange.tests.test_mail_intake import ADDRESS, letter_mail

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args: str) -> str:
    out = StringIO()
    call_command("mail", *args, stdout=out)
    return out.getvalue()


def database_url() -> str:
    """The test database as a URL a second process can open."""
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
        return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return f"sqlite:///{db['NAME']}"


def saraban(*args: str, stdin: bytes, url: str | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    inherited = {k: v for k, v in os.environ.items()
                 if not k.startswith("SARABAN_") and k != "DATABASE_URL"}
    return subprocess.run(
        [sys.executable, "-c", "from saraban.cli import main; main()", *args],
        input=stdin, capture_output=True, timeout=120, check=False,
        env={**inherited, "DATABASE_URL": url or database_url(),
             "SARABAN_FILES_DIR": str(django_settings.SARABAN_FILES_DIR),
             "SARABAN_KEY_ENCRYPTION_KEYS": TEST_KEY_ENCRYPTION_KEYS,
             "SARABAN_SECRET_KEY": str(django_settings.SECRET_KEY),
             "PYTHONWARNINGS": "ignore", **(env or {})},
    )


@pytest.fixture
def mailbox(org) -> Mailbox:
    org.ministry.exchange_code = "moi-ops"
    org.ministry.save(update_fields=["exchange_code"])
    run("mailbox", "add", "--agency", "moi-ops", "--address", ADDRESS, "--accept", "*.go.th",
        "--accept", "@mail.go.th")
    return Mailbox.objects.get(address=ADDRESS)


def test_mailbox_add_set_list_and_status(org, mailbox, monkeypatch, tmp_path: Path):
    assert mailbox.accept_senders == "*.go.th\n@mail.go.th"
    monkeypatch.setenv("SARABAN_IMAP_PASSWORD", "imap-pw")
    assert run("mailbox", "set", "--agency", ADDRESS, "--imap-host", "imap.moi.go.th",
               "--imap-password", "--acknowledge", "--name", "สารบรรณ สป.มท.") \
        .startswith(f"updated {ADDRESS}")
    mailbox.refresh_from_db()
    assert (mailbox.imap_host, mailbox.imap_password(), mailbox.acknowledge,
            mailbox.display_name) == ("imap.moi.go.th", "imap-pw", True, "สารบรรณ สป.มท.")
    assert "imap-pw" not in mailbox.imap_password_sealed
    listed = run("mailbox", "list")
    assert ADDRESS in listed and "imap saraban@moi.go.th@imap.moi.go.th:993" in listed
    status = json.loads(run("status"))["mailboxes"][0]
    assert status["address"] == ADDRESS and status["accept_senders"] == ["*.go.th", "@mail.go.th"]
    with pytest.raises(CommandError, match="bad_sender_pattern"):
        run("mailbox", "set", "--agency", "moi-ops", "--accept", "*@*")
    with pytest.raises(CommandError, match="no agency"):
        run("mailbox", "add", "--agency", "nowhere", "--address", "a@b.go.th")
    (tmp_path / "cert.pem").write_text(
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    with pytest.raises(CommandError, match="smime_incomplete"):
        run("mailbox", "set", "--agency", "moi-ops", "--smime-certificate",
            str(tmp_path / "cert.pem"))


def test_ingest_takes_a_mail_on_stdin_and_answers_in_json(org, mailbox):
    raw = letter_mail()
    done = saraban("mail", "ingest", "--agency", "moi-ops", "--json", stdin=raw)
    assert done.returncode == 0, done.stderr.decode()
    answer = json.loads(done.stdout)
    inbox = InboxMessage.objects.get()
    assert answer == {"inbox_id": inbox.pk, "subject": "ที่ มท 0808.2/ว 123 เรื่อง ขอเชิญประชุมคณะทำงาน",
                      "sender": "saraban@lamphun.go.th", "attachments": ["หนังสือเชิญประชุม.pdf"],
                      "outcome": "inbox"}
    assert InboxFile.objects.filter(message=inbox, role="original").exists()
    assert MailSeen.objects.get().source == "pipe"

    # postfix delivers the same mail again (it never heard our answer): exit 0, same item.
    again = saraban("mail", "ingest", "--agency", str(org.ministry.pk), "--json", stdin=raw)
    assert again.returncode == 0
    assert json.loads(again.stdout) | {"outcome": "x"} == answer | {"outcome": "x"}
    assert json.loads(again.stdout)["outcome"] == "duplicate"

    refused = saraban("mail", "ingest", "--agency", ADDRESS, "--json",
                      stdin=letter_mail(sender="x@gmail.com"))
    assert refused.returncode == 2
    assert json.loads(refused.stdout)["code"] == "mail_sender_refused"

    kept = saraban("mail", "ingest", "--agency", "moi-ops", stdin=letter_mail(
        subject="Automatic reply: ไม่อยู่", headers={"Auto-Submitted": "auto-replied"}))
    assert kept.returncode == 0 and kept.stdout.decode().startswith("auto_reply:")
    assert InboxMessage.objects.count() == 1


def test_ingest_defers_when_it_cannot_process_now(org, mailbox, tmp_path):
    """75 (EX_TEMPFAIL): the mail server keeps the mail and tries again."""
    unknown = saraban("mail", "ingest", "--agency", "nobody", "--json", stdin=letter_mail())
    assert unknown.returncode == 75 and json.loads(unknown.stdout)["code"] == "no_mailbox"
    down = saraban("mail", "ingest", "--agency", "moi-ops", "--json", stdin=letter_mail(),
                   url="postgres://postgres@127.0.0.1:9/saraban")
    assert down.returncode == 75, down.stderr.decode()
    assert json.loads(down.stdout)["code"] == "database_unavailable"
    run("mailbox", "set", "--agency", "moi-ops", "--disabled")
    disabled = saraban("mail", "ingest", "--agency", "moi-ops", "--json", stdin=letter_mail())
    assert disabled.returncode == 75 and json.loads(disabled.stdout)["code"] == "mailbox_disabled"
    assert not InboxMessage.objects.exists()
