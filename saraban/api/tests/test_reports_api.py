"""``GET /api/v1/reports/…``: the indicators through the API, for the people who oversee an
agency, with the same figures as the indicators themselves."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from saraban.agencies.actors import resolve_actor
from saraban.core.thai import BANGKOK
from saraban.letters.services import (
    LetterDetails,
    Recipient,
    Upload,
    entry_cancel,
    letter_register_incoming,
    letter_register_outgoing,
)
from saraban.letters.tests.test_register import tiny_pdf

from .conftest import API

SHARE = f"{API}/reports/electronic-share"


def _send(org, when: dt.datetime, *channels: str, secrecy: int = 0):
    recipients = {
        "saraban": Recipient(channel="saraban", agency=org.province),
        "post": Recipient(channel="post", text="บริษัท ทดสอบ จำกัด"),
        "fax": Recipient(channel="fax", text="สำนักงานที่ดิน", address="053 112 345"),
        "email": Recipient(channel="email", text="อบต.", address="saraban@tambon.go.th"),
        "hand": Recipient(channel="hand", text="นายสมศักดิ์"),
    }
    with time_machine.travel(when, tick=False):
        return letter_register_outgoing(
            actor=resolve_actor(org.clerk), registry=org.central,
            details=LetterDetails(kind="external", subject="แจ้งผลการประชุม", secrecy=secrecy),
            recipients=[recipients[c] for c in channels],
            main_file=Upload("letter.pdf", tiny_pdf()),
        )


@pytest.fixture
def letters(org):
    """Five copies in fiscal year 2569 (three electronic), one the day before it began, one
    secret, one cancelled, one letter received by e-mail and one at the desk."""
    b = BANGKOK
    _send(org, dt.datetime(2025, 10, 1, 0, 5, tzinfo=b), "saraban", "post")   # 17:05 UTC 30 Sep
    _send(org, dt.datetime(2026, 1, 15, 9, 0, tzinfo=b), "email", "fax")
    _send(org, dt.datetime(2026, 2, 2, 9, 0, tzinfo=b), "saraban", secrecy=1)
    _send(org, dt.datetime(2025, 9, 30, 23, 0, tzinfo=b), "saraban", "saraban")  # FY 2568
    cancelled = _send(org, dt.datetime(2026, 3, 3, 9, 0, tzinfo=b), "hand")
    entry_cancel(actor=resolve_actor(org.clerk), entry=cancelled, reason="ออกเลขผิด")
    for via in ("email", ""):
        with time_machine.travel(dt.datetime(2026, 1, 20, 10, 0, tzinfo=b), tick=False):
            letter_register_incoming(
                actor=resolve_actor(org.clerk), registry=org.central,
                details=LetterDetails(kind="external", subject="ขอความอนุเคราะห์",
                                      sender_text="อบต.บ้านใหม่", received_via=via))


def test_electronic_share_of_a_fiscal_year(api, org, letters):
    response = api.get(SHARE, {"fiscal_year": 2569, "agency": "moi"},
                       headers=api.as_user("admin"))  # the ministry's administrator
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["sent_total"], body["sent_electronic"], body["share"]) == (5, 3, 0.6)
    assert body["by_channel"] == {"saraban": 2, "email": 1, "post": 1, "hand": 0, "ecms": 0,
                                  "fax": 1, "unrecorded": 0}
    assert (body["from"], body["to"]) == ("2025-10-01", "2026-09-30")
    assert body["period_label"] == "ปีงบประมาณ 2569"
    assert body["agency"]["code"] == "moi" and body["indicator"] == "electronic_share"
    [row] = body["rows"]
    assert (row["total"], row["part"], row["letters"]) == (5, 3, 3)


def test_from_and_to_are_bangkok_days_and_by_month_lists_every_month(api, org, letters):
    headers = api.as_user("director")  # oversees สป.มท. (the central registry's unit)
    day = api.get(SHARE, {"from": "2025-09-30", "to": "2025-09-30"}, headers=headers).json()
    assert (day["sent_total"], day["sent_electronic"]) == (2, 2)
    months = api.get(SHARE, {"from": "2025-10-01", "to": "2026-03-31", "by": "month"},
                     headers=headers).json()
    assert [r["key"] for r in months["rows"]] == [
        "2025-10-01", "2025-11-01", "2025-12-01", "2026-01-01", "2026-02-01", "2026-03-01"]
    assert [r["total"] for r in months["rows"]] == [2, 0, 0, 2, 1, 0]
    assert months["rows"][0]["label"] == "ต.ค. 68"


def test_received_and_signed_shares(api, org, letters):
    headers = api.as_user("director")
    received = api.get(f"{API}/reports/received-share", {"fiscal_year": 2569},
                       headers=headers).json()
    assert (received["received_total"], received["received_electronic"]) == (2, 1)
    assert received["by_channel"]["email"] == 1 and received["by_channel"]["paper"] == 1
    signed = api.get(f"{API}/reports/signed-share", {"fiscal_year": 2569},
                     headers=headers).json()
    assert (signed["sent_letters"], signed["signed"], signed["share"]) == (3, 0, 0.0)


def test_by_unit_lists_the_units_with_a_registry(api, org, letters):
    body = api.get(SHARE, {"fiscal_year": 2569, "by": "unit"},
                   headers=api.as_user("admin")).json()
    rows = {r["key"]: r for r in body["rows"]}
    assert set(rows) == {str(org.ops.pk), str(org.ict.pk)}
    assert rows[str(org.ops.pk)]["total"] == 5 and rows[str(org.ict.pk)]["total"] == 0


def test_a_province_executive_sees_each_lao_hosted_below(api, org, letters):
    from saraban.agencies.models import Role, RoleGrant
    from saraban.agencies.sample import make_person

    governor = make_person("governor", "ผู้ว่า ราชการ", agency=org.province,
                           password="saraban-demo")
    RoleGrant.objects.create(person=governor, unit=org.province, role=Role.EXECUTIVE)
    with time_machine.travel(dt.datetime(2026, 5, 5, 10, 0, tzinfo=BANGKOK), tick=False):
        letter_register_outgoing(
            actor=resolve_actor(org.clerk), registry=org.lao_registry,
            details=LetterDetails(kind="external", subject="รายงานผล"),
            recipients=[Recipient(channel="saraban", agency=org.province)],
            main_file=Upload("letter.pdf", tiny_pdf()), authorised=True)
    headers = api.as_user("governor")
    own = api.get(SHARE, {"fiscal_year": 2569}, headers=headers).json()
    assert own["sent_total"] == 0 and own["agency"]["hosted"] is False
    body = api.get(SHARE, {"fiscal_year": 2569, "hosted": "true", "by": "agency"},
                   headers=headers).json()
    assert (body["sent_total"], body["sent_electronic"]) == (1, 1)
    rows = {r["key"]: r for r in body["rows"]}
    assert set(rows) == {str(org.province.pk), str(org.lao.pk)}
    assert rows[str(org.lao.pk)]["total"] == 1
    lao = api.get(SHARE, {"fiscal_year": 2569, "agency": "chiangmai-city"},
                  headers=headers).json()
    assert lao["sent_total"] == 1


def test_connections_say_which_agencies_are_reachable_electronically(api, org):
    from saraban.agencies.models import AgencyKind, Role, RoleGrant
    from saraban.agencies.sample import make_person
    from saraban.agencies.services import agency_create
    from saraban.exchange.mail.mailboxes import mailbox_add

    governor = make_person("governor", "ผู้ว่า ราชการ", agency=org.province,
                           password="saraban-demo")
    RoleGrant.objects.create(person=governor, unit=org.province, role=Role.EXECUTIVE)
    offline = agency_create(kind=AgencyKind.SAO, name_th="อบต.ยังไม่เชื่อมต่อ",
                            parent=org.province, is_tenant=True)
    by_mail = agency_create(kind=AgencyKind.SAO, name_th="อบต.ใช้อีเมล", parent=org.province,
                            is_tenant=True)
    mailbox_add(agency=by_mail, address="saraban@bymail.go.th")
    body = api.get(f"{API}/reports/connections", {"hosted": "true"},
                   headers=api.as_user("governor")).json()
    rows = {r["name"]: r for r in body["rows"]}
    assert set(rows) == {"จังหวัดเชียงใหม่", "เทศบาลนครเชียงใหม่", "อบต.ยังไม่เชื่อมต่อ",
                         "อบต.ใช้อีเมล"}
    assert rows["เทศบาลนครเชียงใหม่"]["saraban"] and rows["เทศบาลนครเชียงใหม่"]["connected"]
    assert not rows["อบต.ยังไม่เชื่อมต่อ"]["connected"]
    assert rows["อบต.ใช้อีเมล"]["email"] and not rows["อบต.ใช้อีเมล"]["saraban"]
    assert (body["total"], body["connected"], body["share"]) == (4, 3, 0.75)
    assert offline.pk == rows["อบต.ยังไม่เชื่อมต่อ"]["id"]
    own = api.get(f"{API}/reports/connections", headers=api.as_user("governor")).json()
    assert [r["name"] for r in own["rows"]] == ["จังหวัดเชียงใหม่"]


def test_service_indicators(api, org, letters):
    body = api.get(f"{API}/reports/service", {"fiscal_year": 2569},
                   headers=api.as_user("director")).json()
    assert body["time_to_first_action"]["total"] == 2  # the two letters received
    assert body["time_to_first_action"]["done"] == 0
    assert set(body["time_to_register"]["within"]) == {"1h", "1d", "3d", "7d"}
    assert body["pending"]["total"] == 0 and body["circular_receipts"]["share"] is None
    assert body["from"] == "2025-10-01"


def test_bad_requests_get_codes_and_people_see_only_what_they_oversee(api, org, letters):
    director = api.as_user("director")
    cases = [
        ({"from": "2026-02-01", "to": "2026-01-01"}, 400, "bad_period"),
        ({"from": "1-2-2026"}, 422, None),
        ({"fiscal_year": 2569, "quarter": 5}, 400, "bad_quarter"),
        ({"quarter": 2}, 400, "bad_quarter"),
        ({"year": 1999}, 400, "bad_year"),
        ({"by": "person"}, 400, "bad_filter"),
        ({"agency": "nobody"}, 404, "agency_not_found"),
        ({"agency": "chiangmai"}, 403, "report_forbidden"),
        ({"agency": "moi"}, 403, "report_forbidden"),  # above the unit the director heads
        ({"agency": str(org.ict.pk)}, 200, None),  # below it
        ({"from": "2000-01-01", "to": "2026-01-01"}, 400, "period_too_long"),
        ({"from": "9999-12-31", "to": "9999-12-31"}, 400, "bad_date"),
        ({"from": "0001-01-01"}, 400, "bad_date"),
        ({"fiscal_year": 2569, "quarter": 0}, 400, "bad_quarter"),
        ({"year": 2569, "month": 0}, 400, "bad_month"),
        ({"agency": "9" * 30}, 404, "agency_not_found"),
    ]
    for params, status, code in cases:
        response = api.get(SHARE, params, headers=director)
        assert response.status_code == status, (params, response.content)
        if code:
            assert response.json()["code"] == code
    officer = api.get(SHARE, {}, headers=api.as_user("officer"))
    assert (officer.status_code, officer.json()["code"]) == (403, "report_forbidden")
    assert api.get(SHARE).status_code == 401


def test_the_reports_are_in_the_openapi_document(api, db):
    doc = api.get(f"{API}/openapi.json").json()
    assert "/api/v1/reports/connections" in doc["paths"]
    assert "/api/v1/reports/service" in doc["paths"]
    for name in ("electronic-share", "received-share", "signed-share"):
        operation = doc["paths"][f"/api/v1/reports/{name}"]["get"]
        assert {p["name"] for p in operation["parameters"]} >= {"from", "to", "agency", "by",
                                                                 "fiscal_year"}
    shape = doc["components"]["schemas"]["ElectronicShareOut"]["properties"]
    assert {"sent_total", "sent_electronic", "share", "by_channel", "from", "to"} <= set(shape)
