"""Build the demo organisation and a few dozen letters of every kind across two Buddhist years.

The sample organisation (``saraban.agencies.sample``) gives the Ministry of Interior, Chiang Mai
and its city municipality with the four demo accounts; this adds the Cabinet Secretariat, two
more provinces, a provincial administrative organisation, districts and more units, then
registers letters through the real actions in ``saraban.letters.services``. Letters of the
previous year are registered with the clock moved back (time-machine), so their numbers still
come from ``issue_number`` and restart on 1 January like any real register.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import fontpkg_sarabun
import time_machine
import typst
from django.db import transaction
from django.utils import timezone

from saraban.agencies.actors import Actor, resolve_actor
from saraban.agencies.models import Agency, AgencyKind, Person, Position, Role, RoleGrant
from saraban.agencies.sample import SampleOrg, build_sample_org, make_person
from saraban.agencies.services import agency_create
from saraban.core.thai import BANGKOK, be_year, thai_date
from saraban.letters.models import (
    Channel,
    Letter,
    LetterKind,
    RegisterEntry,
    Registry,
    Secrecy,
    SeriesKind,
    Urgency,
)
from saraban.letters.registries import registry_open
from saraban.letters.services import (
    LetterDetails,
    Recipient,
    Upload,
    entry_cancel,
    handover_register,
    letter_hand_over,
    letter_register_incoming,
    letter_register_outgoing,
)

__all__ = ["DEMO_ACCOUNTS", "DEMO_PASSWORD", "DemoSummary", "demo_is_loaded", "load_demo"]

DEMO_PASSWORD: Final = "saraban-demo"  # noqa: S105 (the published demo password)
DEMO_ACCOUNTS: Final = (
    ("admin", "ผู้ดูแลระบบของกระทรวงมหาดไทย (agency admin)"),
    ("clerk", "เจ้าหน้าที่สารบรรณกลาง สป.มท. (registry clerk)"),
    ("director", "ผู้อำนวยการศูนย์เทคโนโลยีสารสนเทศและการสื่อสาร (executive; signs drafts)"),
    ("officer", "นักวิชาการคอมพิวเตอร์ (officer)"),
)
CABINET_NAME: Final = "สำนักเลขาธิการคณะรัฐมนตรี"
FONT_DIR: Final = Path(fontpkg_sarabun.__file__).parent / "files"
# e-CMS: สป.มท. talks to its own e-CMS node (``make run`` starts a local one there, hosting
# both departments), through which it reaches กรมควบคุมโรค, an agency on another vendor's system.
DEMO_ECMS_URL: Final = os.environ.get("SARABAN_DEMO_ECMS_URL", "http://127.0.0.1:8780")
DEMO_ECMS_OWN: Final = ("1500100000", "สำนักงานปลัดกระทรวงมหาดไทย")
DEMO_ECMS_OTHER: Final = ("2100500000", "กรมควบคุมโรค")
# The central e-mail address of สป.มท.: a few letters arrived by e-mail (the demo has no mail
# server: they are handed over as the mail server's pipe would, `saraban mail ingest`).
DEMO_MAILBOX: Final = "saraban@moi.go.th"

_PDF_SOURCE: Final = """\
#let inp = sys.inputs
#set page(paper: "a4", margin: (x: 3cm, y: 2.5cm))
#set text(font: "Sarabun", size: 16pt, lang: "th")
#align(center)[#text(size: 20pt, weight: "bold")[#inp.at("title")]]
#v(0.5em)
#grid(columns: (1fr, 1fr), [ที่ #inp.at("number")], align(right)[#inp.at("sender")])
#align(right)[#inp.at("date")]
#v(0.5em)
*เรื่อง* #inp.at("subject")

*เรียน* #inp.at("recipient")

#par(first-line-indent: 2.5em, justify: true)[#inp.at("body")]
#v(2em)
#align(center)[ขอแสดงความนับถือ]
"""


@dataclass
class DemoSummary:
    """What the loader made (or found): shown by the command."""

    created: bool
    letters: int = 0
    years: list[int] = field(default_factory=list)


def demo_is_loaded() -> bool:
    return (
        Agency.objects.filter(letter_code="นร", office_code="0505").exists()
        and Person.objects.filter(username="clerk").exists()
    )


def demo_pdf(*, title: str, number: str, sender: str, date: str, subject: str,
             recipient: str, body: str) -> bytes:
    """A small one-page PDF with real Thai text (Typst, Sarabun); a few kilobytes."""
    inputs = {"title": title, "number": number or "-", "sender": sender, "date": date,
              "subject": subject, "recipient": recipient, "body": body}
    # The stub ties the source's type to the font paths' type; a bytes source is markup.
    pdf, _warnings = typst.compile_with_warnings(  # type: ignore[misc]
        _PDF_SOURCE.encode(), font_paths=[str(FONT_DIR)], ignore_system_fonts=True,
        sys_inputs=inputs,
    )
    assert isinstance(pdf, bytes)
    return pdf


@contextmanager
def _at(moment: dt.datetime | None) -> Iterator[None]:
    """Run the actions as if at ``moment`` (None: now)."""
    if moment is None:
        yield
        return
    with time_machine.travel(moment, tick=False):
        yield


@dataclass(frozen=True)
class _Demo:
    org: SampleOrg
    cabinet: Agency
    cabinet_registry: Registry
    korat: Agency
    songkhla: Agency
    pao: Agency
    units: list[Agency]
    clerks: dict[int, Actor]  # registry id → an actor allowed to register there


def _clerk(username: str, full_name: str, *, tenant: Agency, unit: Agency) -> Person:
    person = make_person(username, full_name, agency=tenant, password=None)
    Position.objects.create(unit=unit, title_th="เจ้าพนักงานธุรการ", holder=person)
    RoleGrant.objects.create(person=person, unit=tenant, role=Role.REGISTRY_CLERK)
    return person


def _build_agencies(org: SampleOrg) -> _Demo:
    cabinet = agency_create(
        kind=AgencyKind.OFFICE, name_th=CABINET_NAME, name_en="Secretariat of the Cabinet",
        is_tenant=True, letter_code="นร", office_code="0505", short_name_th="สลค.",
        address="ทำเนียบรัฐบาล ถนนพิษณุโลก เขตดุสิต กรุงเทพฯ 10300", phone="0 2280 9000",
    )
    cabinet_registry = registry_open(unit=cabinet, is_central=True, name_th="สารบรรณกลาง สลค.")
    korat = agency_create(
        kind=AgencyKind.PROVINCE, name_th="จังหวัดนครราชสีมา", name_en="Nakhon Ratchasima Province",
        is_tenant=True, letter_code="นม", office_code="0018",
        address="ศาลากลางจังหวัดนครราชสีมา ถนนมหาดไทย อำเภอเมืองนครราชสีมา 30000",
    )
    songkhla = agency_create(
        kind=AgencyKind.PROVINCE, name_th="จังหวัดสงขลา", name_en="Songkhla Province",
        is_tenant=True, letter_code="สข", office_code="0019",
        address="ศาลากลางจังหวัดสงขลา ถนนราชดำเนิน อำเภอเมืองสงขลา 90000",
    )
    pao = agency_create(
        kind=AgencyKind.PAO, name_th="องค์การบริหารส่วนจังหวัดเชียงใหม่",
        name_en="Chiang Mai Provincial Administrative Organization", parent=org.province,
        is_tenant=True, letter_code="ชม", office_code="51000", short_name_th="อบจ.เชียงใหม่",
    )
    from saraban.exchange.directory import agency_enrol

    for agency, code in (
        (cabinet, "soc"), (korat, "nakhonratchasima"), (songkhla, "songkhla"),
        (pao, "chiangmai-pao"),
    ):
        agency_enrol(agency=agency, code=code)
        agency.refresh_from_db()
    from saraban.exchange.ecms.accounts import ecms_account_set, ecms_entry_add

    own, other = DEMO_ECMS_OWN, DEMO_ECMS_OTHER
    ecms_account_set(agency=org.ministry, department=own[0],
                     node_url=f"{DEMO_ECMS_URL}/{own[0]}/ecms-ws01/service2")
    ecms_entry_add(department=other[0], name=other[1],
                   node_url=f"{DEMO_ECMS_URL}/{other[0]}/ecms-ws01/service2")
    for name, code in (("อำเภอเมืองเชียงใหม่", "0017.1"), ("อำเภอแม่ริม", "0017.2")):
        agency_create(kind=AgencyKind.DISTRICT, name_th=name, parent=org.province,
                      office_code=code)
    agency_create(kind=AgencyKind.DISTRICT, name_th="อำเภอเมืองนครราชสีมา", parent=korat,
                  office_code="0018.1")
    units = [
        agency_create(kind=AgencyKind.DIVISION, name_th=name, parent=org.ops, office_code=code)
        for name, code in (
            ("กองกลาง", "0201"),
            ("กองการเจ้าหน้าที่", "0202"),
            ("กองคลัง", "0203"),
            ("สำนักนโยบายและแผน", "0206"),
            ("กองกฎหมายและระเบียบ", "0207"),
        )
    ]
    registries = {
        cabinet.pk: cabinet_registry,
        korat.pk: registry_open(unit=korat, is_central=True),
        songkhla.pk: registry_open(unit=songkhla, is_central=True),
        pao.pk: registry_open(unit=pao, is_central=True),
    }
    clerks: dict[int, Actor] = {}
    for username, name, tenant in (
        ("nr_clerk", "สมใจ เลขาธิการ", cabinet),
        ("nm_clerk", "บุญมี โคราช", korat),
        ("sk_clerk", "อารีย์ ทะเลสาบ", songkhla),
        ("pao_clerk", "แสงเดือน ล้านนา", pao),
    ):
        person = _clerk(username, name, tenant=tenant, unit=tenant)
        clerks[registries[tenant.pk].pk] = resolve_actor(person)
    cm_clerk = _clerk("cm_clerk", "ประเสริฐ ดอยคำ", tenant=org.province, unit=org.province)
    clerks[org.province_registry.pk] = resolve_actor(cm_clerk)
    moi = resolve_actor(org.clerk)
    clerks[org.central.pk] = moi
    clerks[org.ict_registry.pk] = moi
    return _Demo(org=org, cabinet=cabinet, cabinet_registry=cabinet_registry, korat=korat,
                 songkhla=songkhla, pao=pao, units=units, clerks=clerks)


class _Letters:
    """Registers the demo letters of one Buddhist year through the real actions."""

    def __init__(self, demo: _Demo, *, year_ce: int, moments: list[dt.datetime | None]) -> None:
        self.demo = demo
        self.year_ce = year_ce
        self.moments = moments
        self.i = 0
        self.count = 0

    def _moment(self) -> dt.datetime | None:
        moment = self.moments[min(self.i, len(self.moments) - 1)]
        self.i += 1
        return moment

    def _pdf(self, details: LetterDetails, number: str, sender: str, recipient: str,
             when: dt.date) -> Upload:
        titles: dict[str, str] = {
            LetterKind.INTERNAL: "บันทึกข้อความ",
            LetterKind.DIRECTIVE: "คำสั่ง",
            LetterKind.PUBLIC_RELATIONS: "ประกาศ",
        }
        title = titles.get(details.kind, "")
        data = demo_pdf(
            title=title, number=number, sender=sender, date=thai_date(when),
            subject=details.subject, recipient=recipient,
            body=details.body or f"ตามที่ {sender} ได้ดำเนินการเรื่อง{details.subject} "
            "จึงเรียนมาเพื่อโปรดทราบและพิจารณาดำเนินการต่อไป",
        )
        return Upload(f"{details.subject[:40]}.pdf", data)

    def incoming(self, registry: Registry, details: LetterDetails, *, pdf: bool = False,
                 ) -> RegisterEntry:
        moment = self._moment()
        actor = self.demo.clerks[registry.pk]
        with _at(moment):
            today = timezone.localdate()
            details.letter_date = details.letter_date or today - dt.timedelta(days=2)
            main = None
            if pdf:
                main = self._pdf(details, details.number, details.sender_agency.name_th
                                 if details.sender_agency else details.sender_text,
                                 registry.unit.name_th, details.letter_date)
            entry = letter_register_incoming(actor=actor, registry=registry, details=details,
                                             main_file=main)
        self.count += 1
        return entry

    def outgoing(self, registry: Registry, details: LetterDetails, recipients: list[Recipient],
                 *, series: str = SeriesKind.OUTGOING, pdf: bool = False) -> RegisterEntry:
        moment = self._moment()
        actor = self.demo.clerks[registry.pk]
        with _at(moment):
            main = None
            if pdf:
                to = recipients[0].agency.name_th if recipients[0].agency else recipients[0].text
                main = self._pdf(details, f"{registry.number_prefix}/…", registry.unit.name_th,
                                 to, timezone.localdate())
            entry = letter_register_outgoing(actor=actor, registry=registry, details=details,
                                             series_kind=series, recipients=recipients,
                                             main_file=main)
        self.count += 1
        return entry


def _year_letters(demo: _Demo, letters: _Letters, *, current: bool) -> None:
    org = demo.org
    central = org.central
    be = letters.year_ce + 543
    u = Urgency
    # Incoming letters to the central registry of สป.มท.
    nr_out = letters.outgoing(
        demo.cabinet_registry,
        LetterDetails(kind=LetterKind.EXTERNAL,
                      subject="มติคณะรัฐมนตรีเรื่องการพัฒนาระบบสารบรรณอิเล็กทรอนิกส์",
                      urgency=u.MOST_URGENT, salutation="เรียน ปลัดกระทรวงมหาดไทย"),
        [Recipient(channel=Channel.SARABAN, agency=org.ministry)], pdf=True,
    )
    cabinet_letter = letters.incoming(central, LetterDetails(
        kind=LetterKind.EXTERNAL, subject=nr_out.letter.subject, urgency=u.MOST_URGENT,
        number=nr_out.formatted, letter_date=nr_out.letter.letter_date,
        sender_agency=demo.cabinet, salutation="เรียน ปลัดกระทรวงมหาดไทย",
        enclosures=["สำเนามติคณะรัฐมนตรี จำนวน 1 ชุด"],
    ), pdf=True)
    letters.incoming(central, LetterDetails(
        kind=LetterKind.EXTERNAL, subject="ขอความอนุเคราะห์ข้อมูลสถิติการใช้หนังสืออิเล็กทรอนิกส์",
        urgency=u.URGENT, number="บจ. 045/" + str(be), sender_text="บริษัท ไทยดิจิทัล จำกัด",
    ))
    letters.incoming(central, LetterDetails(
        kind=LetterKind.EXTERNAL, subject="รายงานผลการดำเนินงานศูนย์ดำรงธรรมจังหวัด",
        urgency=u.VERY_URGENT, number="นม 0018/1532", sender_agency=demo.korat,
        references=["หนังสือกระทรวงมหาดไทย ด่วนที่สุด ที่ มท 0200/ว 12"],
    ), pdf=True)
    letters.incoming(central, LetterDetails(
        kind=LetterKind.EXTERNAL, subject="ขอรับการสนับสนุนงบประมาณป้องกันอุทกภัย",
        urgency=u.NORMAL, number="สข 0019/877", sender_agency=demo.songkhla, is_paper=True,
    ))
    letters.incoming(central, LetterDetails(
        kind=LetterKind.INTERNAL, subject="ขออนุมัติจัดซื้อเครื่องคอมพิวเตอร์แม่ข่าย",
        number="มท 0212/455", sender_agency=org.ict,
    ))
    letters.incoming(central, LetterDetails(
        kind=LetterKind.STAMPED, subject="แจ้งผลการพิจารณาคำร้องขอข้อมูลข่าวสาร",
        number="มท 0307/2210", sender_text="กรมการปกครอง",
    ))
    letters.incoming(central, LetterDetails(
        kind=LetterKind.DIRECTIVE, subkind="order", subject="แต่งตั้งคณะทำงานจัดทำแผนดิจิทัลจังหวัด",
        number=f"ชม 88/{be}", sender_agency=org.province, urgency=u.URGENT,
    ))
    letters.incoming(central, LetterDetails(
        kind=LetterKind.PUBLIC_RELATIONS, subkind="news", subject="ข่าวประชาสัมพันธ์งานกาชาดประจำปี",
        sender_agency=demo.pao,
    ))
    letters.incoming(central, LetterDetails(
        kind=LetterKind.EVIDENCE, subkind="minutes",
        subject="รายงานการประชุมคณะกรรมการบริหารงานจังหวัดแบบบูรณาการ ครั้งที่ 3",
        sender_agency=org.province,
    ))
    letters.incoming(central, LetterDetails(
        kind=LetterKind.EXTERNAL, subject="รายงานการสืบสวนข้อเท็จจริง (ลับ)",
        secrecy=Secrecy.CONFIDENTIAL, urgency=u.VERY_URGENT, number="ศธ 0201/ลับ 12",
        sender_text="สำนักงานปลัดกระทรวงศึกษาธิการ", secret_readers=[org.director],
    ))
    # Outgoing letters: each channel, circulars, orders, announcements, secret ones.
    reply = letters.outgoing(central, LetterDetails(
        kind=LetterKind.EXTERNAL, subject="ตอบรับมติคณะรัฐมนตรีเรื่องระบบสารบรรณอิเล็กทรอนิกส์",
        urgency=u.MOST_URGENT, references=[cabinet_letter.letter],
        salutation="เรียน เลขาธิการคณะรัฐมนตรี",
    ), [Recipient(channel=Channel.SARABAN, agency=demo.cabinet)], pdf=True)
    letters.incoming(demo.cabinet_registry, LetterDetails(
        kind=LetterKind.EXTERNAL, subject=reply.letter.subject, number=reply.formatted,
        sender_agency=org.ministry, urgency=u.MOST_URGENT,
    ))
    letters.outgoing(central, LetterDetails(
        kind=LetterKind.EXTERNAL, subject="ขอเชิญประชุมเชิงปฏิบัติการการใช้งานระบบสารบรรณ",
        urgency=u.URGENT, enclosures=["กำหนดการประชุม", "แบบตอบรับ"],
    ), [Recipient(channel=Channel.EMAIL, text="สำนักงานพัฒนารัฐบาลดิจิทัล (องค์การมหาชน)",
                  address="saraban@dga.or.th")])
    letters.outgoing(central, LetterDetails(
        kind=LetterKind.EXTERNAL, subject="ส่งเอกสารหลักฐานการเบิกจ่ายงบประมาณ",
        enclosures=["หลักฐานการเบิกจ่าย จำนวน 12 แผ่น"],
    ), [Recipient(channel=Channel.POST, text="สำนักงานการตรวจเงินแผ่นดิน",
                  address="ถนนพระรามที่ 6 เขตพญาไท กรุงเทพฯ 10400"),
        # the covering letter goes ahead by fax, the originals by post
        Recipient(channel=Channel.FAX, text="สำนักงานการตรวจเงินแผ่นดิน", address="0 2000 0000")])
    letters.outgoing(central, LetterDetails(
        kind=LetterKind.STAMPED, subject="แจ้งผลการพิจารณาคำขอใช้ห้องประชุม",
    ), [Recipient(channel=Channel.HAND, text="นายสมศักดิ์ ประชาชน")])
    circular = letters.outgoing(central, LetterDetails(
        kind=LetterKind.EXTERNAL, subject="แนวทางการรับส่งหนังสือราชการผ่านระบบสารบรรณอิเล็กทรอนิกส์",
        urgency=u.VERY_URGENT, salutation="เรียน ผู้ว่าราชการจังหวัด ทุกจังหวัด",
    ), [Recipient(channel=Channel.SARABAN, agency=a)
        for a in (org.province, demo.korat, demo.songkhla)], series=SeriesKind.CIRCULAR, pdf=True)
    letters.incoming(org.province_registry, LetterDetails(
        kind=LetterKind.EXTERNAL, subject=circular.letter.subject, number=circular.formatted,
        sender_agency=org.ministry, urgency=u.VERY_URGENT, references=[],
    ))
    for kind, subkind, subject, series in (
        (LetterKind.DIRECTIVE, "order", "แต่งตั้งผู้รับผิดชอบงานสารบรรณและเทคโนโลยีสารสนเทศ",
         SeriesKind.ORDER),
        (LetterKind.DIRECTIVE, "regulation", "ระเบียบกระทรวงมหาดไทยว่าด้วยการใช้ระบบสารบรรณ",
         SeriesKind.ORDER),
        (LetterKind.PUBLIC_RELATIONS, "announcement", "รับสมัครบุคคลเพื่อเลือกสรรเป็นพนักงานราชการ",
         SeriesKind.ANNOUNCEMENT),
        (LetterKind.PUBLIC_RELATIONS, "statement", "แถลงการณ์เรื่องสถานการณ์อุทกภัย",
         SeriesKind.ANNOUNCEMENT),
    ):
        letters.outgoing(central, LetterDetails(kind=kind, subkind=subkind, subject=subject),
                         [Recipient(channel=Channel.SARABAN, agency=org.ops)],
                         series=series, pdf=subkind == "order")
    letters.outgoing(central, LetterDetails(
        kind=LetterKind.EVIDENCE, subkind="certificate", subject="หนังสือรับรองการปฏิบัติราชการ",
    ), [Recipient(channel=Channel.HAND, text="นางสาวมาลี ศรีสุข")])
    letters.outgoing(central, LetterDetails(
        kind=LetterKind.EXTERNAL, subject="ส่งข้อมูลบุคคลผู้ต้องสงสัย", secrecy=Secrecy.SECRET,
        urgency=u.MOST_URGENT, secret_readers=[org.director],
    ), [Recipient(channel=Channel.SARABAN, agency=org.province)])
    letters.outgoing(central, LetterDetails(
        kind=LetterKind.EXTERNAL, subject="แผนรักษาความปลอดภัยสถานที่ราชการ",
        secrecy=Secrecy.TOP_SECRET, secret_readers=[org.director],
    ), [Recipient(channel=Channel.HAND, text="ผู้บัญชาการตำรวจแห่งชาติ")])
    letters.outgoing(central, LetterDetails(
        kind=LetterKind.INTERNAL, subject="ขอให้ปรับปรุงระบบเครือข่ายสำนักงาน",
        subkind="", salutation="เรียน ผู้อำนวยการศูนย์เทคโนโลยีสารสนเทศและการสื่อสาร",
    ), [Recipient(channel=Channel.SARABAN, agency=org.ict)])
    if not current:
        letters.incoming(central, LetterDetails(
            kind=LetterKind.EVIDENCE, subkind="memo", subject="บันทึกการส่งมอบครุภัณฑ์",
            sender_agency=demo.units[2],
        ))
        letters.incoming(central, LetterDetails(
            kind=LetterKind.DIRECTIVE, subkind="bylaw", subject="ข้อบังคับว่าด้วยการประชุมสภา",
            sender_agency=org.lao,
        ))
        letters.incoming(central, LetterDetails(
            kind=LetterKind.EVIDENCE, subkind="other_evidence", subject="ใบเสร็จรับเงินค่าบำรุง",
            sender_text="สมาคมนักบริหารงานสารบรรณ",
        ))
    else:
        # The ICT centre's own registry: one letter handed over and registered, one waiting.
        handed = letters.incoming(central, LetterDetails(
            kind=LetterKind.EXTERNAL, subject="ขอความร่วมมือทดสอบการเชื่อมโยงระบบสารบรรณ",
            urgency=u.URGENT, number="นร 0505/ว 321", sender_agency=demo.cabinet,
            references=[cabinet_letter.letter],
        ), pdf=True)
        waiting = letters.incoming(central, LetterDetails(
            kind=LetterKind.EXTERNAL, subject="แจ้งกำหนดการบำรุงรักษาระบบเครือข่าย",
            sender_text="บริษัท โทรคมนาคมแห่งชาติ จำกัด (มหาชน)",
        ))
        clerk = demo.clerks[central.pk]
        with _at(letters._moment()):
            handover = letter_hand_over(actor=clerk, letter=handed.letter,
                                        to_registry=org.ict_registry, note="เพื่อดำเนินการ")
            handover_register(actor=clerk, handover=handover)
            letter_hand_over(actor=clerk, letter=waiting.letter, to_registry=org.ict_registry)
        # To an agency on another vendor's system, through the e-CMS.
        letters.outgoing(central, LetterDetails(
            kind=LetterKind.EXTERNAL, subject="ขอข้อมูลการเฝ้าระวังโรคติดต่อในพื้นที่",
            urgency=u.URGENT, salutation="เรียน อธิบดีกรมควบคุมโรค",
        ), [Recipient(channel=Channel.ECMS, text=DEMO_ECMS_OTHER[1], code=DEMO_ECMS_OTHER[0])],
            pdf=True)
        wrong = letters.outgoing(central, LetterDetails(
            kind=LetterKind.EXTERNAL, subject="ขอเชิญประชุม (ออกเลขซ้ำซ้อน)",
        ), [Recipient(channel=Channel.POST, text="สำนักงาน ก.พ.")])
        with _at(letters._moment()):
            entry_cancel(actor=clerk, entry=wrong, reason="ออกเลขซ้ำกับหนังสือฉบับเดิม")


def _moments(start: dt.datetime, end: dt.datetime, n: int) -> list[dt.datetime | None]:
    step = max((end - start) / max(n, 1), dt.timedelta(seconds=1))
    return [min(start + step * i, end) for i in range(n)]


def _routing(org: SampleOrg) -> None:
    """Today's incoming letters at the central registry: endorsed and assigned by the
    director, some acknowledged and one closed by the officer, so the desks have work."""
    from saraban.routing.services import (
        Target,
        routing_acknowledge,
        routing_assign,
        routing_close,
        routing_endorse,
    )

    director = resolve_actor(org.director)
    officer = resolve_actor(org.officer)
    letters = list(
        Letter.objects.filter(tenant=org.ministry, direction="incoming", secrecy=0,
                              entries__series__registry=org.central)
        .order_by("-created_at")[:4]
    )
    for i, letter in enumerate(letters):
        text = "มอบ ศสป. ดำเนินการ" if i % 2 == 0 else "เพื่อโปรดพิจารณา"
        endorsement = routing_endorse(actor=director, letter=letter, text=text)
        target = Target(person=org.officer) if i < 3 else Target(unit=org.ict)
        [assignment] = routing_assign(actor=director, letter=letter, targets=[target],
                                      endorsement=endorsement, note=text)
        if i == 1:
            routing_acknowledge(actor=officer, assignment=assignment)
        if i == 2:
            routing_close(actor=officer, assignment=assignment,
                          outcome="ดำเนินการตามที่ได้รับมอบหมายแล้ว")


def _signing(org: SampleOrg) -> None:
    """A demo CA (made here, trusted by this node only): the director's certificate (signed
    with the demo password at signing time), the ministry's seal, and a draft by the officer,
    initialled by the clerk and waiting for the director's signature."""
    from saraban.documents.services import draft_create, draft_initial, draft_submit
    from saraban.signatures.services import identity_add_pkcs12
    from saraban.signatures.testing import TestPKI, trust_pki

    pki = TestPKI(None, name="Saraban Demo CA")
    trust_pki(pki)
    director = pki.issue_person(org.director.display_name(), organisation=org.ministry.name_th)
    identity_add_pkcs12(actor=None, tenant=org.ministry, person=org.director,
                        p12=pki.pkcs12(director, DEMO_PASSWORD), passphrase=DEMO_PASSWORD,
                        label=org.director.display_name())
    seal = pki.issue_seal(org.ministry.name_th)
    identity_add_pkcs12(actor=None, tenant=org.ministry, person=None,
                        p12=pki.pkcs12(seal, DEMO_PASSWORD), passphrase=DEMO_PASSWORD,
                        store_secret=True, label=f"ตรา{org.ministry.name_th}")
    officer = resolve_actor(org.officer)
    draft = draft_create(
        actor=officer, registry=org.ict_registry, form="external",
        fields={
            "subject": "ขอความร่วมมือทดสอบการรับส่งหนังสือราชการทางระบบสารบรรณอิเล็กทรอนิกส์",
            "salutation": "ผู้ว่าราชการจังหวัดเชียงใหม่",
            "references": ["หนังสือกระทรวงมหาดไทย ที่ มท 0212/ว 100 ลงวันที่ 1 ตุลาคม 2569"],
            "body": [
                "ด้วยศูนย์เทคโนโลยีสารสนเทศและการสื่อสาร สำนักงานปลัดกระทรวงมหาดไทย ได้เปิดใช้"
                "ระบบสารบรรณอิเล็กทรอนิกส์ สำหรับรับส่งหนังสือราชการระหว่างส่วนราชการ พร้อมลงลายมือชื่อ"
                "อิเล็กทรอนิกส์ด้วยใบรับรองที่ออกโดยผู้ให้บริการออกใบรับรอง",
                "จึงเรียนมาเพื่อโปรดพิจารณาให้เจ้าหน้าที่ผู้เกี่ยวข้องทดสอบการรับหนังสือฉบับนี้ทางระบบ",
            ],
            "closing": "ขอแสดงความนับถือ",
            "phone": "0 2222 1141",
        },
        recipients=[{"agency": org.province.pk, "channel": "auto"}],
    )
    draft_submit(actor=officer, draft=draft, reviewers=[org.clerk], signer=org.director)
    draft_initial(actor=resolve_actor(org.clerk), draft=draft, comment="ตรวจแล้ว เห็นควรลงนาม")


def _mail(org: SampleOrg) -> None:
    """Letters that arrived at the central address by e-mail: one from a subdistrict
    (registered), one from an older system (TIS-620 subject, waiting), a reply quoting one of
    our letters (waiting, linked to it) and an out-of-office answer (kept apart)."""
    from saraban.exchange.inbox import exchange_inbox_register
    from saraban.exchange.mail.intake import ingest
    from saraban.exchange.mail.mailboxes import mailbox_add
    from saraban.exchange.models import InboxMessage
    from saraban.mail import Address, build_mail

    mailbox = mailbox_add(agency=org.ministry, address=DEMO_MAILBOX,
                          display_name="สารบรรณกลาง สำนักงานปลัดกระทรวงมหาดไทย",
                          accept_senders="*.go.th\n*.mail.go.th", acknowledge=True)
    to = [Address(DEMO_MAILBOX, mailbox.display_name)]
    today = thai_date(timezone.localdate())
    banmai = build_mail(
        sender=Address("saraban@banmai.go.th", "องค์การบริหารส่วนตำบลบ้านใหม่"), to=to,
        subject="ที่ ชม 75301/125 เรื่อง ขอรับการสนับสนุนงบประมาณโครงการประปาหมู่บ้าน",
        text="เรียน ปลัดกระทรวงมหาดไทย\n\nองค์การบริหารส่วนตำบลบ้านใหม่ขอส่งหนังสือขอรับการ"
             "สนับสนุนงบประมาณ รายละเอียดตามไฟล์ที่แนบ\n\nสำนักปลัด อบต.บ้านใหม่ โทร 0 5311 2233",
        attachments=[("หนังสือขอรับการสนับสนุน.pdf", "application/pdf", demo_pdf(
            title="บันทึกข้อความ", number="ชม 75301/125", sender="อบต.บ้านใหม่", date=today,
            subject="ขอรับการสนับสนุนงบประมาณโครงการประปาหมู่บ้าน",
            recipient="ปลัดกระทรวงมหาดไทย",
            body="ด้วยองค์การบริหารส่วนตำบลบ้านใหม่มีความประสงค์ขอรับการสนับสนุนงบประมาณ"))],
        message_id="demo-banmai-125@banmai.go.th",
    )
    subject = "ที่ ลพ 0017.3/ว 88 เรื่อง แจ้งผลการประชุมคณะกรรมการ".encode("cp874")
    import base64

    old_system = (
        b"From: =?TIS-620?B?" + base64.b64encode("อำเภอป่าซาง".encode("cp874"))
        + b"?= <saraban@pasang.lamphun.go.th>\r\nTo: " + DEMO_MAILBOX.encode()
        + b"\r\nSubject: =?TIS-620?B?" + base64.b64encode(subject) + b"?=\r\n"
        b"Message-ID: <20261201.88@pasang.lamphun.go.th>\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=TIS-620\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + "ขอแจ้งผลการประชุมคณะกรรมการ ตามสำเนาที่จะส่งทางไปรษณีย์".encode("cp874") + b"\r\n"
    )
    ours = (Letter.objects.filter(tenant=org.ministry, direction="outgoing")
            .exclude(number="").order_by("-created_at").first())
    mails = [banmai, old_system]
    if ours is not None:
        mails.append(build_mail(
            sender=Address("saraban@chiangmai.go.th", "สำนักงานจังหวัดเชียงใหม่"), to=to,
            subject=f"ตอบ: ที่ {ours.number} เรื่อง {ours.subject}",
            text=f"อ้างถึงหนังสือ ที่ {ours.number} จังหวัดเชียงใหม่ได้รับทราบและจะดำเนินการต่อไป",
            message_id="demo-reply-1@chiangmai.go.th"))
    mails.append(build_mail(
        sender=Address("somchai@dopa.go.th", "สมชาย ใจดี"), to=to,
        subject="ตอบกลับอัตโนมัติ: ไม่อยู่ที่สำนักงาน", text="ข้าพเจ้าไม่อยู่ถึงวันจันทร์",
        message_id="demo-ooo-1@dopa.go.th", extra_headers=[("Auto-Submitted", "auto-replied")]))
    results = [ingest(mailbox, raw, source="pipe") for raw in mails]
    first = results[0].inbox_id
    if first is not None:
        exchange_inbox_register(actor=resolve_actor(org.clerk),
                                message=InboxMessage.objects.get(pk=first))


@transaction.atomic
def load_demo() -> DemoSummary:
    """Load the demo once; a second call finds it and changes nothing."""
    if demo_is_loaded():
        return DemoSummary(created=False, letters=Letter.objects.count())
    org = build_sample_org(password=DEMO_PASSWORD)
    for person in (org.admin,):
        person.is_staff = True
        person.save(update_fields=["is_staff"])
    demo = _build_agencies(org)
    now = timezone.now()
    this_year = now.astimezone(BANGKOK).year
    last_year = this_year - 1
    previous = _Letters(demo, year_ce=last_year, moments=_moments(
        dt.datetime(last_year, 2, 3, 9, 15, tzinfo=BANGKOK),
        dt.datetime(last_year, 12, 24, 15, 0, tzinfo=BANGKOK), 40))
    _year_letters(demo, previous, current=False)
    start = dt.datetime(this_year, 1, 2, 8, 30, tzinfo=BANGKOK)
    end = now - dt.timedelta(days=1)
    moments: list[dt.datetime | None] = []
    if end > start:
        moments = _moments(start, end, 22)
    moments += [None] * 20  # the rest are registered now: today's letters for the dashboard
    current = _Letters(demo, year_ce=this_year, moments=moments)
    _year_letters(demo, current, current=True)
    _routing(org)
    _signing(org)
    _mail(org)
    return DemoSummary(created=True, letters=previous.count + current.count,
                       years=[be_year(dt.date(last_year, 6, 1)), be_year(dt.date(this_year, 6, 1))])
