from __future__ import annotations

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command

from saraban.agencies.models import Agency, Person
from saraban.letters.models import (
    Channel,
    Dispatch,
    Handover,
    Letter,
    LetterFile,
    LetterKind,
    LetterReference,
    RegisterEntry,
    SeriesKind,
    Urgency,
)


@pytest.fixture
def demo(db, settings):
    settings.DEMO = True
    call_command("load_demo")


def test_demo_accounts_log_in_with_the_demo_password(demo):
    for username in ("admin", "clerk", "director", "officer"):
        assert authenticate(username=username, password="saraban-demo") is not None


def test_demo_has_letters_of_every_kind_urgency_and_two_years(demo):
    letters = Letter.objects.all()
    assert 30 <= letters.count() <= 100
    assert set(letters.values_list("kind", flat=True)) == set(LetterKind.values)
    assert set(letters.values_list("urgency", flat=True)) == set(Urgency.values)
    assert set(letters.exclude(subkind="").values_list("subkind", flat=True)) >= {
        "order", "regulation", "bylaw", "announcement", "statement", "news", "certificate",
        "minutes", "memo", "other_evidence",
    }
    years = sorted(set(RegisterEntry.objects.values_list("year_be", flat=True)))
    assert len(years) == 2 and years[1] == years[0] + 1
    kinds = set(RegisterEntry.objects.values_list("series__kind", flat=True))
    assert kinds == set(SeriesKind.values)
    assert set(Dispatch.objects.values_list("channel", flat=True)) == set(Channel.values)
    assert RegisterEntry.objects.filter(cancelled_at__isnull=False).count() == 1
    assert Handover.objects.filter(entry__isnull=False).exists()
    assert LetterReference.objects.filter(referenced__isnull=False).exists()
    assert LetterFile.objects.filter(blob__content_type="application/pdf").count() >= 5
    secret = Letter.objects.filter(secrecy__gt=0)
    assert secret.exists()
    assert all(letter.secret_readers.filter(username="director").exists() for letter in secret)


def test_demo_numbers_restart_each_year(demo):
    for year in set(RegisterEntry.objects.values_list("year_be", flat=True)):
        numbers = sorted(
            RegisterEntry.objects.filter(
                year_be=year, series__kind=SeriesKind.INCOMING,
                series__registry__name_th="สารบรรณกลาง สป.มท.",
            ).values_list("number", flat=True)
        )
        assert numbers == list(range(1, len(numbers) + 1))


def test_demo_has_the_agencies_of_the_issue(demo):
    names = set(Agency.objects.values_list("name_th", flat=True))
    assert {
        "กระทรวงมหาดไทย", "สำนักงานปลัดกระทรวงมหาดไทย", "ศูนย์เทคโนโลยีสารสนเทศและการสื่อสาร",
        "สำนักเลขาธิการคณะรัฐมนตรี", "จังหวัดเชียงใหม่", "จังหวัดนครราชสีมา", "จังหวัดสงขลา",
        "องค์การบริหารส่วนจังหวัดเชียงใหม่", "เทศบาลนครเชียงใหม่",
    } <= names
    cabinet = Agency.objects.get(name_th="สำนักเลขาธิการคณะรัฐมนตรี")
    assert (cabinet.letter_code, cabinet.office_code, cabinet.is_tenant) == ("นร", "0505", True)
    assert cabinet.registry.is_central
    assert Agency.objects.filter(kind="district").count() >= 2


def test_audit_verify_passes_after_the_demo(demo, capsys):
    call_command("audit", "verify")
    assert "OK" in capsys.readouterr().out


def test_load_demo_twice_changes_nothing(demo, capsys):
    counts = (Letter.objects.count(), Person.objects.count(), Agency.objects.count())
    call_command("load_demo")
    out = capsys.readouterr().out
    assert "already loaded" in out and "clerk" in out
    assert (Letter.objects.count(), Person.objects.count(), Agency.objects.count()) == counts


def test_load_demo_refuses_without_demo_setting(db, settings):
    settings.DEMO = False
    with pytest.raises(CommandError, match="SARABAN_DEMO"):
        call_command("load_demo")
    assert not Person.objects.exists()


def test_load_demo_force_loads_without_demo_setting(db, settings):
    settings.DEMO = False
    call_command("load_demo", "--force")
    assert Person.objects.filter(username="clerk").exists()


@pytest.mark.slow
def test_saraban_audit_verify_on_the_demo_fails_after_an_edit_or_a_delete(tmp_path):
    """The operator's command, run as operators run it, against a demo node's own database."""
    import os
    import sqlite3
    import subprocess
    import sys
    from pathlib import Path

    saraban = Path(sys.executable).with_name("saraban")
    db = tmp_path / "demo.sqlite3"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{db}",
        "SARABAN_VAR_DIR": str(tmp_path),
        "SARABAN_DEMO": "1",
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(saraban), *args], env=env, capture_output=True, text=True, timeout=120
        )

    assert run("migrate", "--no-input").returncode == 0
    assert run("load_demo").returncode == 0
    ok = run("audit", "verify")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("OK")

    with sqlite3.connect(db) as conn:
        agency, event_id = conn.execute(
            "SELECT agency_id, id FROM core_auditevent WHERE seq = 3 ORDER BY agency_id LIMIT 1"
        ).fetchone()
        conn.execute(
            "UPDATE core_auditevent SET details = '{\"subject\": \"x\"}' WHERE id = ?",
            (event_id,),
        )
    edited = run("audit", "verify")
    assert edited.returncode != 0
    assert f"agency {agency}, event #3 (id {event_id}): altered" in edited.stderr

    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM core_auditevent WHERE id = ?", (event_id,))
    deleted = run("audit", "verify")
    assert deleted.returncode != 0
    assert f"agency {agency}, event #3: deleted" in deleted.stderr


def test_demo_has_letters_that_arrived_by_email(demo):
    from saraban.exchange.models import InboxMessage, MailSeen

    mail = InboxMessage.objects.filter(sender_code__startswith="mailto:")
    assert mail.count() == 3
    registered = mail.get(state="registered")
    assert registered.entry is not None
    letter = registered.entry.letter
    assert letter.received_via == "email"
    assert letter.subject == "ขอรับการสนับสนุนงบประมาณโครงการประปาหมู่บ้าน"
    assert set(letter.files.values_list("role", flat=True)) == {"main", "original"}
    # The older system's TIS-620 subject, read back as Thai.
    assert mail.filter(envelope__letter__subject="แจ้งผลการประชุมคณะกรรมการ").exists()
    # The reply quoting one of our numbers is linked to that letter.
    reply = mail.get(sender_code="mailto:saraban@chiangmai.go.th")
    assert reply.envelope["mail"]["replied_letter"] is not None
    assert MailSeen.objects.filter(outcome="auto_reply").count() == 1
