"""The operators' metrics through ``GET /metrics``: the token, and figures that follow the rows
the real actions write (letters queued and sent, mail refused, sign-ins failed)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from saraban.agencies.actors import resolve_actor
from saraban.exchange.mail.intake import ingest
from saraban.exchange.mail.mailboxes import mailbox_add, mailbox_set
from saraban.exchange.tests.test_mail_intake import ADDRESS, letter_mail
from saraban.exchange.worker import drain
from saraban.letters.services import LetterDetails, Recipient, Upload, letter_register_outgoing
from saraban.letters.tests.test_register import tiny_pdf

pytestmark = pytest.mark.django_db

TOKEN = "s3cret-metrics-token-for-tests"
URL = "/metrics"


@pytest.fixture(autouse=True)
def _token(settings) -> None:
    settings.SARABAN_METRICS_TOKEN = TOKEN


def scrape(client: Client, token: str = TOKEN) -> dict[tuple[str, tuple[tuple[str, str], ...]],
                                                      float]:
    """Every sample of one scrape, by (name, sorted labels)."""
    response = client.get(URL, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == CONTENT_TYPE_LATEST
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str,
          **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def send(org, *recipients):
    return letter_register_outgoing(
        actor=resolve_actor(org.clerk), registry=org.central,
        details=LetterDetails(kind="external", subject="ขอความร่วมมือสำรวจข้อมูล", urgency=1),
        recipients=list(recipients), main_file=Upload("letter.pdf", tiny_pdf()),
    )


# ---- the token ----------------------------------------------------------------------------


def test_the_endpoint_does_not_exist_without_a_token(client, settings):
    settings.SARABAN_METRICS_TOKEN = ""
    assert client.get(URL).status_code == 404
    assert client.get(URL, HTTP_AUTHORIZATION="Bearer ").status_code == 404


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", f"Basic {TOKEN}", TOKEN,
                                           f"Bearer {TOKEN}x", "Bearer"])
def test_a_missing_or_wrong_token_is_refused(client, authorization):
    headers = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}
    response = client.get(URL, **headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["code"] == "metrics_unauthorized"
    assert b"saraban_" not in response.content


def test_only_get_is_answered_and_no_session_is_needed(client):
    assert reverse("reports:metrics") == URL
    assert client.post(URL, HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 405
    response = client.get(URL, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert not response.cookies  # no session, no CSRF cookie: a scraper keeps nothing
    assert "no-cache" in response["Cache-Control"]


def test_a_signed_in_browser_opening_it_writes_nothing(client, org):
    """No write on GET: the session of someone signed in is not recorded here."""
    from saraban.agencies.models import SignInSession

    client.force_login(org.clerk)
    SignInSession.objects.all().delete()  # as if first seen now
    assert client.get(URL, HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
    assert not SignInSession.objects.exists()


# ---- the figures --------------------------------------------------------------------------


def test_a_letter_is_queued_then_sent_and_its_latency_counted(client, org):
    before = scrape(client)
    assert value(before, "saraban_exchange_outbox_messages", state="queued",
                 channel="saraban") == 0
    assert value(before, "saraban_exchange_delivery_latency_seconds_count",
                 channel="saraban") == 0

    send(org, Recipient(channel="saraban", agency=org.province))
    queued = scrape(client)
    assert value(queued, "saraban_exchange_outbox_messages", state="queued",
                 channel="saraban") == 1
    assert value(queued, "saraban_exchange_outbox_messages", state="queued",
                 channel="email") == 0
    assert value(queued, "saraban_exchange_outbox_oldest_queued_seconds",
                 channel="saraban") >= 0

    drain()
    sent = scrape(client)
    assert value(sent, "saraban_exchange_outbox_messages", state="queued",
                 channel="saraban") == 0
    assert value(sent, "saraban_exchange_outbox_messages", state="sent", channel="saraban") == 1
    assert value(sent, "saraban_exchange_outbox_oldest_queued_seconds", channel="saraban") == 0
    assert value(sent, "saraban_exchange_delivery_latency_seconds_count",
                 channel="saraban") == 1
    # Delivered within the minute here: every bucket from 60 s up holds it.
    assert value(sent, "saraban_exchange_delivery_latency_seconds_bucket",
                 channel="saraban", le="60.0") == 1
    assert value(sent, "saraban_exchange_delivery_latency_seconds_bucket",
                 channel="saraban", le="+Inf") == 1
    assert 0 <= value(sent, "saraban_exchange_delivery_latency_seconds_sum",
                      channel="saraban") < 60
    # It arrived at the province (on this node), waiting for its registry.
    assert value(sent, "saraban_exchange_inbox_waiting", channel="saraban") == 1
    assert value(sent, "saraban_exchange_inbox_waiting", channel="email") == 0


def test_mail_arrivals_and_refusals_are_counted_by_channel_and_code(client, org):
    mailbox = mailbox_add(agency=org.ministry, address=ADDRESS)
    assert ingest(mailbox, letter_mail()).outcome == "inbox"
    mailbox_set(mailbox=mailbox, accept_senders="*.go.th")
    mailbox.refresh_from_db()
    refused = ingest(mailbox, letter_mail(sender="Somchai <somchai1234@gmail.com>"))
    assert refused.code == "mail_sender_refused"

    samples = scrape(client)
    assert value(samples, "saraban_exchange_inbox_waiting", channel="email") == 1
    assert value(samples, "saraban_exchange_inbox_oldest_waiting_seconds", channel="email") >= 0
    assert value(samples, "saraban_exchange_refusals", channel="email",
                 code="mail_sender_refused") == 1


def test_a_failed_sign_in_is_counted(client, org):
    assert value(scrape(client), "saraban_login_failures") == 0
    response = Client().post(reverse("web:login"), {"username": "clerk", "password": "wrong"})
    assert response.status_code == 400
    samples = scrape(client)
    assert value(samples, "saraban_login_failures") == 1
    assert value(samples, "saraban_login_locked", scope="pair") == 0


def test_a_mailbox_whose_poll_fails_is_flagged(client, org):
    samples = scrape(client)
    assert value(samples, "saraban_exchange_pollers", kind="mailbox", status="error") == 0
    mailbox = mailbox_add(agency=org.ministry, address=ADDRESS)
    # Nothing listens on port 1: the IMAP poll fails at once and the mailbox keeps the error.
    mailbox_set(mailbox=mailbox, imap_host="127.0.0.1", imap_port=1, imap_security="none",
                imap_user="saraban", imap_password="x")
    drain()
    samples = scrape(client)
    assert value(samples, "saraban_exchange_pollers", kind="mailbox", status="error") == 1
    assert value(samples, "saraban_exchange_pollers", kind="mailbox", status="ok") == 0
    assert value(samples, "saraban_exchange_poll_oldest_seconds", kind="mailbox") >= 0
    assert value(samples, "saraban_exchange_pollers", kind="ecms", status="ok") == 0


def test_the_ocr_backlog_is_exported_empty(client, org):
    samples = scrape(client)
    assert value(samples, "saraban_ocr_backlog", state="queued") == 0
    assert value(samples, "saraban_ocr_backlog", state="running") == 0
    assert value(samples, "saraban_ocr_oldest_pending_seconds") == 0


def test_a_scrape_costs_the_same_queries_for_one_letter_or_many(client, org):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            scrape(client)
        return len(captured)

    send(org, Recipient(channel="saraban", agency=org.province))
    few = queries()
    for _ in range(4):
        send(org, Recipient(channel="saraban", agency=org.province),
             Recipient(channel="saraban", agency=org.lao))
    drain()
    send(org, Recipient(channel="saraban", agency=org.province))
    Client().post(reverse("web:login"), {"username": "officer", "password": "wrong"})
    assert queries() == few
    assert few <= 10
