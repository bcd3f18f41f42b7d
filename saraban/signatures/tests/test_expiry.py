"""Agency admins are warned 60, 30 and 7 days before a certificate lapses: each threshold once
per certificate (however many workers check at once), in the bell, by e-mail and on the
dashboard, for signing identities, the agency seal and the exchange certificate."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.db import connections
from django_tasks_db.models import DBTaskResult

from saraban.core.models import AuditEvent
from saraban.exchange import crypto
from saraban.exchange.renewal import exchange_renew
from saraban.routing.models import Notification
from saraban.signatures.expiry import NOTIFICATION_KIND, expiring_for, expiry_check, threshold_for
from saraban.signatures.models import CertificateWarning
from saraban.signatures.testing import make_seal

LOCMEM = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
DAY = dt.timedelta(days=1)


@pytest.fixture
def mailbox(settings, org):
    settings.MAILERS = LOCMEM
    org.admin.email = "admin@moi.go.th"
    org.admin.save(update_fields=["email"])
    mail.outbox = []
    return mail.outbox


def run_mail_jobs() -> None:
    """What the worker does with the queued e-mail jobs (in this test's connection)."""
    for job in DBTaskResult.objects.filter(task_path__endswith="send_notification_email",
                                           status="READY").order_by("pk"):
        job.task.func(*job.args_kwargs["args"], **job.args_kwargs["kwargs"])
        job.status = "SUCCESSFUL"
        job.save(update_fields=["status"])


def bell(person) -> list[str]:
    return list(Notification.objects.filter(person=person, kind=NOTIFICATION_KIND)
                .order_by("pk").values_list("text", flat=True))


def test_thresholds():
    end = dt.datetime(2027, 3, 1, tzinfo=dt.UTC)
    assert [threshold_for(end, end - n * DAY) for n in (61, 60, 31, 30, 8, 7, 1, 0, -3)] == [
        None, 60, 60, 30, 30, 7, 7, None, None]


@pytest.mark.django_db
def test_the_seal_is_warned_at_60_30_and_7_days_once_each(org, pki, mailbox):
    seal = make_seal(org.ministry, pki)
    end = seal.not_after
    assert expiry_check(now=end - 61 * DAY) == 0
    assert expiry_check(now=end - 59 * DAY) == 1
    assert expiry_check(now=end - 59 * DAY) == 0  # once
    assert expiry_check(now=end - 40 * DAY) == 0
    assert expiry_check(now=end - 29 * DAY) == 1
    assert expiry_check(now=end - 6 * DAY) == 1
    assert expiry_check(now=end - 1 * DAY) == 0
    assert expiry_check(now=end + 1 * DAY) == 0

    texts = bell(org.admin)
    assert len(texts) == 3
    assert all("ตราส่วนราชการ" in t and seal.label in t for t in texts)
    assert ["แจ้งเตือนล่วงหน้า 60 วัน" in texts[0], "ล่วงหน้า 30 วัน" in texts[1],
            "ล่วงหน้า 7 วัน" in texts[2]] == [True, True, True]
    assert bell(org.clerk) == []  # agency admins only
    run_mail_jobs()
    assert [m.to for m in mailbox] == [["admin@moi.go.th"]] * 3
    assert "หมดอายุ" in mailbox[0].subject
    assert sorted(CertificateWarning.objects.values_list("threshold_days", flat=True)) == [
        7, 30, 60]
    assert AuditEvent.objects.filter(agency_id=org.ministry.pk,
                                     action="certificate_expiry_warning").count() == 3


@pytest.mark.django_db
def test_a_certificate_first_seen_late_gets_only_the_nearest_warning(org, pki, mailbox):
    seal = make_seal(org.ministry, pki)
    assert expiry_check(now=seal.not_after - 20 * DAY) == 1
    assert list(CertificateWarning.objects.values_list("threshold_days", flat=True)) == [30]


@pytest.mark.django_db
def test_the_exchange_certificate_is_watched_too(org, mailbox, capsys):
    key = crypto.new_key()
    cert = crypto.certificate_for(key, code="moi", name="Ministry of Interior", days=10)
    exchange_renew(agency=org.ministry, certificate_pem=crypto.certificate_pem(cert),
                   private_key_pem=crypto.key_to_pem(key))
    call_command("signatures", "expiry-check")
    assert "sent 1 certificate expiry warnings" in capsys.readouterr().out
    [warning] = CertificateWarning.objects.all()
    assert (warning.source, warning.threshold_days) == ("exchange", 30)
    [text] = bell(org.admin)
    assert "ใบรับรองรับส่งหนังสือระหว่างหน่วยงาน" in text and "moi" in text


@pytest.mark.django_db(transaction=True)
def test_workers_checking_at_once_send_each_warning_once(org, pki):
    seal = make_seal(org.ministry, pki)
    moment = seal.not_after - 5 * DAY
    sent: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def worker() -> None:
        try:
            barrier.wait(timeout=30)
            sent.append(expiry_check(now=moment))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert sum(sent) == 1
    assert CertificateWarning.objects.count() == 1
    assert len(bell(org.admin)) == 1


@pytest.mark.django_db
def test_the_dashboard_shows_admins_what_lapses_soon_and_what_has_lapsed(client, org, pki):
    seal = make_seal(org.ministry, pki)
    assert expiring_for(org.admin) == []
    with time_machine.travel(seal.not_after - 20 * DAY, tick=False):
        [row] = expiring_for(org.admin)
        assert (row.days_left, row.expired) == (20, False)
        client.force_login(org.admin)
        response = client.get("/")
        assert response.status_code == 200, response
        page = response.content.decode()
        assert "certificate-banner" in page and "จะหมดอายุในอีก" in page
        assert seal.label in page
    with time_machine.travel(seal.not_after + 3 * DAY, tick=False):
        client.force_login(org.admin)
        page = client.get("/").content.decode()
        assert "หมดอายุแล้ว" in page and seal.label in page
        client.force_login(org.clerk)  # not an admin: no banner
        assert "certificate-banner" not in client.get("/").content.decode()
