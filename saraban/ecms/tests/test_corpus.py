"""Every request and response form of the e-CMS reference (``docs/ecms.md``), byte for byte as
each client puts it on the wire, replayed through :func:`saraban.ecms.parse_message`.

The fixtures in ``corpus/`` were written by hand-made emulations of the public clients'
serialisers, not by Saraban's builders:

* ``mildoc/`` — mil-doc 2020 (LINQ to XML + ``Util.ConvertXmlFormat``): one line, no XML
  declaration, ``http://www.w3.org/2005/08/addressing`` with ``wsa:To``, ``ID="Body"`` on the
  letter and the special requests, placeholder reference/attachment when there are none,
  references and attachments in reverse order, ``ram:Attachment`` = ``-``.
* ``boi/`` — BOI-DMS eCMS 2 (string literals): the namespace without ``www.``, ``wsa:to``, an
  empty MessageID followed by a stray space on the letter, the three XML-declaration variants
  and none on InvalidLetterNotifier, no escaping (a bare ``&``), the receiver's department
  code as its ministry id, GovernmentSignature without ds:Signature, the production caller's
  empty main letter, the commented look-ups' indentation, the namespace-ill-formed
  OutboundStatusRequest, eCMS 1's six-child InvalidAcceptIDNotifier.
* ``transcript/`` — the node's answers in the shapes of the DGA transcripts (declaration,
  ``SOAP-ENV`` and ``env`` both declared, tab indentation, ``processID`` in notifier
  answers), plus a signed letter in the queue (``signed/`` holds its GovernmentDocument).
* ``other/`` — well-formed variants no client was seen writing: a BOM, other prefixes,
  base64 broken into lines.
* ``files/`` — the real files inside the base64 objects; ``keys/`` — the test PKI (a CA, the
  agency certificate it issued, an unrelated one, and the RSA certificate of the letter
  signed in place with the 2012 draft's algorithms).

The table below is written from the reference, not from the parser's output.
"""

from __future__ import annotations

import datetime as dt
import pathlib
from collections.abc import Callable
from dataclasses import dataclass, replace

import pytest
from cryptography import x509
from lxml import etree  # type: ignore[import-untyped]

from saraban.ecms import (
    Binary,
    Dialect,
    DocumentKey,
    EcmsRefused,
    Header,
    Letter,
    Message,
    Notifier,
    NotifierKind,
    Operation,
    Reference,
    SignatureVerdict,
    Signer,
    delete_document_request,
    delete_request,
    letter_request,
    notifier_request,
    parse_message,
    simple_request,
    special_request,
)
from saraban.ecms import Party as WireParty

CORPUS = pathlib.Path(__file__).parent / "corpus"
FILES = CORPUS / "files"
KEYS = CORPUS / "keys"

WSA_MD = "http://www.w3.org/2005/08/addressing"
WSA_BOI = "http://w3.org/2005/08/addressing"
RSM = "urn:th:gov:egif:data:standard:GovernmentDocument:1.0"
MD_OWN = "http://dev.scp1.ecms.dga.or.th/ecms-ws01/service2"
MD_PEER = "http://dev.scp2.ecms.dga.or.th/ecms-ws01/service2"
BOI_URL = "http://boi-ecms.mict.go.th/ecms-ws01/service2"
MD_DEPT, MOI_DEPT, BOI_DEPT, DDC_DEPT = "0201300000", "1500100000", "0100500000", "2100300000"

# --------------------------------------------------------------------------- expectations


@dataclass(frozen=True)
class Party:
    given: str
    family: str
    job: str
    ministry: str
    department: str


@dataclass(frozen=True)
class L:
    """An expected letter; files name ``corpus/files/…`` (None: no main letter)."""

    id: str
    date_text: str
    date: dt.date | None
    subject: str
    secret: str
    speed: str
    sender: Party
    receiver: Party
    references: tuple[tuple[str, str, str], ...]
    attachment_text: str
    send_date: str
    description: str
    main: tuple[str, str] | None
    attachments: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class N:
    kind: NotifierKind
    letter_id: str
    date_text: str
    subject: str
    accept_id: str = ""
    accept_date: str = ""
    accept_department: str = ""


@dataclass(frozen=True)
class X:
    """What one fixture must parse to (``refused``: the EcmsRefused code instead)."""

    operation: str = ""
    header: tuple[str, str, str] = ("", "", "")  # MessageID, To, WS-Addressing namespace
    dialect: str | None = None
    letter: L | None = None
    signer: tuple[str, str, str, str, str, str] | None = None  # TypeCode, names, title, codes
    signature: SignatureVerdict = SignatureVerdict.ABSENT
    notifier: N | None = None
    process_id: str = ""
    process_time: str = ""
    key: tuple[str, str, str, str] | None = None  # LetterID, date, sender dept, accept dept
    special_kind: str = ""
    ministries: tuple[tuple[str, str], ...] = ()
    organizations: tuple[tuple[str, str, str, str], ...] = ()  # id, th, en, url
    codes: tuple[tuple[str, str], ...] = ()
    mime_codes: tuple[tuple[str, str], ...] = ()
    outbound: tuple[tuple[str, str, str], ...] = ()
    ecms_time: str = ""
    errors: tuple[tuple[str, str], ...] = ()
    bare_ampersand: bool = False
    refused: str = ""


MD_SENDER = Party("สมชาย", "ใจดี", "ผู้อำนวยการกองกลาง", "02", MD_DEPT)
MOI_RECEIVER = Party("สมหญิง", "รักงาน", "อธิบดีกรมการปกครอง", "15", MOI_DEPT)
BOI_SENDER = Party("วิภาวรรณ", "มั่นคง", "เจ้าหน้าที่บันทึกข้อมูล", "01", BOI_DEPT)
BOI_SIGNER = ("", "ประพันธ์", "ศรีสุข", "รองเลขาธิการ", "01", BOI_DEPT)

L1 = L(
    id="กห 0201.3/1795", date_text="2020-01-31", date=dt.date(2020, 1, 31),
    subject="ขอเชิญประชุมคณะทำงานพัฒนาระบบสารบรรณอิเล็กทรอนิกส์ ครั้งที่ 1/2563",
    secret="001", speed="002", sender=MD_SENDER, receiver=MOI_RECEIVER,
    references=(  # the user's order (the wire has them reversed)
        ("มท 0210.3/ว 1795", "2019-12-20", "การพัฒนาระบบสารบรรณอิเล็กทรอนิกส์"),
        ("กห 0201.3/512", "2020-01-10", "แต่งตั้งคณะทำงานพัฒนาระบบสารบรรณอิเล็กทรอนิกส์"),
    ),
    attachment_text="-", send_date="2020-01-31T10:15:42",
    description="ขอเชิญประชุมในวันที่ 7 กุมภาพันธ์ 2563 เวลา 09.30 น. ณ ห้องประชุม 1",
    main=("application/pdf", "letter.pdf"),
    attachments=(("application/pdf", "annex.pdf"), ("image/png", "seal.png")),
)
L1_PLAIN = L(
    id="กห 0201.3/1802", date_text="2020-02-03", date=dt.date(2020, 2, 3),
    subject="ขอความอนุเคราะห์ส่งรายชื่อผู้ประสานงาน", secret="001", speed="001",
    sender=MD_SENDER, receiver=MOI_RECEIVER, references=(), attachment_text="-",
    send_date="2020-02-03T08:05:09", description="", main=("application/pdf", "letter.pdf"),
    attachments=(),
)
L2 = L(
    id="นร 1302/ว 0123", date_text="2017-01-05", date=dt.date(2017, 1, 5),
    subject="ขอความอนุเคราะห์ข้อมูลโครงการที่ได้รับการส่งเสริมการลงทุน ปี 2559",
    secret="001", speed="003", sender=BOI_SENDER,
    # the wire says 1500100000 as the ministry too: the ministry is its first two digits
    receiver=Party("", "", "", "15", MOI_DEPT),
    references=(), attachment_text="", send_date="2017-01-05", description="",
    main=None, attachments=(),
)
L3 = L(
    id="นร 1302/0456", date_text="2017-01-09", date=dt.date(2017, 1, 9),
    subject="แจ้งผลการพิจารณาอนุมัติโครงการส่งเสริมการลงทุน", secret="002", speed="002",
    sender=BOI_SENDER,
    receiver=Party("นายแพทย์สมศักดิ์", "อารีย์", "อธิบดีกรมควบคุมโรค", "21", DDC_DEPT),
    references=(
        ("สธ 0403/1120", "2016-12-01", "ขอทราบผลการพิจารณาโครงการ"),
        ("นร 1302/0388", "2016-12-15", "ขอเอกสารเพิ่มเติมประกอบการพิจารณา"),
    ),
    attachment_text="1. สรุปผลการพิจารณา 2. แผนที่ตั้งโครงการ 3. บันทึกแนบท้าย",
    send_date="2017-01-09", description="แจ้งผลการพิจารณาตามหนังสือที่อ้างถึง",
    main=("application/pdf", "letter.pdf"),
    attachments=(("application/pdf", "annex.pdf"), ("image/jpeg", "photo.jpg"),
                 ("text/plain", "note.txt")),
)
L3_SIGNER = ("DSIG", "ประพันธ์", "ศรีสุข", "รองเลขาธิการ", "01", BOI_DEPT)
L4 = L(
    id="นร 1302/ว 0124", date_text="2017-01-05", date=dt.date(2017, 1, 5),
    subject="ขอข้อมูลสถิติการส่งเสริมการลงทุน & การจ้างงาน ปี 2559", secret="001", speed="003",
    sender=BOI_SENDER, receiver=Party("", "", "", "15", MOI_DEPT), references=(),
    attachment_text="", send_date="2017-01-05", description="R&D และ M&A", main=None,
    attachments=(),
)
L_TESTED = L(
    id="นร 1302/ว 0099", date_text="2016-12-28", date=dt.date(2016, 12, 28),
    subject="ทดสอบการส่งหนังสือผ่านระบบ e-CMS", secret="001", speed="001", sender=BOI_SENDER,
    receiver=Party("ทดสอบ", "ทดสอบ", "ทดสอบ", "15", MOI_DEPT), references=(),
    attachment_text="", send_date="2016-12-28T09:30:00", description="",
    main=("text/plain", "note.txt"), attachments=(("text/plain", "note.txt"),),
)
L_WRAPPED = L(
    id="กห 0201.3/1803", date_text="2020-02-03", date=dt.date(2020, 2, 3),
    subject="ขอความอนุเคราะห์ส่งรายชื่อผู้ประสานงาน", secret="001", speed="001",
    sender=MD_SENDER, receiver=MOI_RECEIVER, references=(), attachment_text="-",
    send_date="2020-02-03T08:05:09", description="", main=("application/pdf", "letter.pdf"),
    attachments=(("image/png", "seal.png"),),
)
# กรมการปกครอง's letter to mil-doc's department, signed, handed out by the node.
IN_ID, IN_DATE = "มท 0210.3/ว 2201", "2020-01-28"
IN_SUBJ = "ขอความร่วมมือตอบแบบสำรวจความพร้อมระบบสารบรรณอิเล็กทรอนิกส์ & การเชื่อมโยง"
L_SIGNED = L(
    id=IN_ID, date_text=IN_DATE, date=dt.date(2020, 1, 28), subject=IN_SUBJ,
    secret="002", speed="004",
    sender=Party("ธนพล", "วงศ์ไทย", "อธิบดีกรมการปกครอง", "15", MOI_DEPT),
    receiver=Party("สมชาย", "ใจดี", "ผู้อำนวยการกองกลาง", "02", MD_DEPT),
    references=(("มท 0210.3/ว 1795", "2019-12-20", "การพัฒนาระบบสารบรรณอิเล็กทรอนิกส์"),),
    attachment_text="แบบสำรวจ จำนวน 1 ชุด", send_date="2020-01-28T15:45:03",
    description="ขอให้ตอบแบบสำรวจภายในวันที่ 14 กุมภาพันธ์ 2563",
    main=("application/pdf", "letter.pdf"), attachments=(("application/pdf", "annex.pdf"),),
)
SIGNED_SIGNER = ("DSIG", "ธนพล", "วงศ์ไทย", "อธิบดีกรมการปกครอง", "15", MOI_DEPT)

L_DDC = L(
    id="สธ 0403/1187", date_text="2017-01-12", date=dt.date(2017, 1, 12),
    subject="ขอบคุณสำหรับการแจ้งผลการพิจารณาโครงการ", secret="001", speed="001",
    sender=Party("สมศักดิ์", "อารีย์", "อธิบดีกรมควบคุมโรค", "21", DDC_DEPT),
    receiver=Party("", "", "เลขาธิการคณะกรรมการส่งเสริมการลงทุน", "01", BOI_DEPT),
    references=(("นร 1302/0456", "2017-01-09", "แจ้งผลการพิจารณาอนุมัติโครงการส่งเสริมการลงทุน"),),
    attachment_text="-", send_date="2017-01-12T10:00:00", description="",
    main=("application/pdf", "letter.pdf"), attachments=(),
)
DDC_SIGNER = ("DSIG", "สมศักดิ์", "อารีย์", "อธิบดีกรมควบคุมโรค", "21", DDC_DEPT)

B_ID, B_DATE = "มท 0310.4/ว 0057", "2017-01-04"
B_SUBJ = "ขอเชิญร่วมงานสัมมนาการส่งเสริมการลงทุนในภูมิภาค"

MD_HEAD = ("57", MD_PEER, WSA_MD)
BOI_EMPTY = ("", "", WSA_BOI)
K = NotifierKind
OUT = Operation.OUTBOUND


def _md_lookup(op: str, message_id: str = "Test", to: str = MD_OWN) -> X:
    return X(op, (message_id, to, WSA_MD), "mildoc")


CASES: dict[str, X] = {
    # ---------------------------------------------------------------- mil-doc requests
    "mildoc/outbound_letter.xml": X(OUT, ("128", MD_PEER, WSA_MD), "mildoc", letter=L1),
    "mildoc/outbound_letter_plain.xml": X(OUT, ("131", MD_PEER, WSA_MD), "mildoc", letter=L1_PLAIN),
    "mildoc/notifier_receive.xml": X(OUT, MD_HEAD, "mildoc",
                                     notifier=N(K.RECEIVE, IN_ID, IN_DATE, IN_SUBJ)),
    "mildoc/notifier_accept.xml": X(OUT, MD_HEAD, "mildoc",
                                    notifier=N(K.ACCEPT, IN_ID, IN_DATE, IN_SUBJ, "1024")),
    "mildoc/notifier_reject.xml": X(OUT, ("58", MD_PEER, WSA_MD), "mildoc",
                                    notifier=N(K.REJECT, IN_ID, IN_DATE, IN_SUBJ)),
    "mildoc/notifier_invalid.xml": X(OUT, ("59", MD_PEER, WSA_MD), "mildoc",
                                     notifier=N(K.INVALID, IN_ID, IN_DATE, IN_SUBJ)),
    "mildoc/notifier_invalid_accept_id.xml": X(
        OUT, ("128", MD_PEER, WSA_MD), "mildoc",
        notifier=N(K.INVALID_ACCEPT_ID, L1.id, L1.date_text, L1.subject, "1O24")),
    "mildoc/inbound_request.xml": X(Operation.INBOUND, ("ทดสอบระบบ", MD_OWN, WSA_MD), "mildoc"),
    "mildoc/delete_request.xml": X(Operation.DELETE, ("scp 2 ลบหนังสือ", MD_OWN, WSA_MD), "mildoc",
                                   process_id="ECMS-20200131-000457"),
    "mildoc/delete_document_request.xml": X(
        Operation.DELETE_DOCUMENT, ("128", MD_OWN, WSA_MD), "mildoc",
        key=(L1.id, L1.date_text, MD_DEPT, MOI_DEPT)),
    **{
        f"mildoc/special_{name}.xml": X(
            Operation.SPECIAL, ("", "", WSA_MD), "mildoc", special_kind=kind, key=key)
        for name, kind, key in (
            ("government_document", "GovernmentDocument", (IN_ID, IN_DATE, MOI_DEPT, MD_DEPT)),
            ("receive", K.RECEIVE.value, (L1.id, L1.date_text, MD_DEPT, MOI_DEPT)),
            ("accept", K.ACCEPT.value, (L1.id, L1.date_text, MD_DEPT, MOI_DEPT)),
            ("reject", K.REJECT.value, (L1.id, L1.date_text, MD_DEPT, MOI_DEPT)),
            ("invalid", K.INVALID.value, (L1.id, L1.date_text, MD_DEPT, MOI_DEPT)),
            ("invalid_accept_id", K.INVALID_ACCEPT_ID.value, (IN_ID, IN_DATE, MOI_DEPT, MD_DEPT)),
        )
    },
    "mildoc/ministries_request.xml": _md_lookup(Operation.MINISTRIES),
    "mildoc/organizations_request.xml": _md_lookup(Operation.ORGANIZATIONS),
    "mildoc/secret_codes_request.xml": _md_lookup(Operation.SECRET_CODES),
    "mildoc/speed_codes_request.xml": _md_lookup(Operation.SPEED_CODES),
    "mildoc/mime_codes_request.xml": _md_lookup(Operation.MIME_CODES, to=MD_PEER),
    "mildoc/outbound_status_request.xml": _md_lookup(Operation.OUTBOUND_STATUS, message_id=""),
    "mildoc/time_check_request.xml": _md_lookup(Operation.TIME_CHECK, to=MD_PEER),
    # ---------------------------------------------------------------- BOI-DMS requests
    "boi/outbound_letter.xml": X(OUT, ("", BOI_URL, WSA_BOI), "boi", letter=L2, signer=BOI_SIGNER),
    "boi/outbound_letter_full.xml": X(OUT, ("", BOI_URL, WSA_BOI), "boi", letter=L3,
                                      signer=L3_SIGNER),
    "boi/outbound_letter_ampersand.xml": X(OUT, ("", BOI_URL, WSA_BOI), "boi", letter=L4,
                                           signer=BOI_SIGNER, bare_ampersand=True),
    "boi/outbound_letter_tested.xml": X(
        OUT, ("", BOI_URL, WSA_BOI), "boi", letter=L_TESTED,
        signer=("DSIG", "ทดสอบ", "ทดสอบ", "ทดสอบ", "01", BOI_DEPT)),
    "boi/notifier_receive.xml": X(OUT, BOI_EMPTY, "boi",
                                  notifier=N(K.RECEIVE, B_ID, B_DATE, B_SUBJ)),
    "boi/notifier_accept.xml": X(OUT, BOI_EMPTY, "boi",
                                 notifier=N(K.ACCEPT, B_ID, B_DATE, B_SUBJ, "00123")),
    "boi/notifier_reject.xml": X(OUT, BOI_EMPTY, "boi",
                                 notifier=N(K.REJECT, B_ID, B_DATE, B_SUBJ)),
    "boi/notifier_invalid.xml": X(OUT, BOI_EMPTY, "boi",
                                  notifier=N(K.INVALID, B_ID, B_DATE, B_SUBJ)),
    "boi/notifier_invalid_accept_id.xml": X(
        OUT, BOI_EMPTY, "boi",
        notifier=N(K.INVALID_ACCEPT_ID, L3.id, L3.date_text, L3.subject, "2560/00045")),
    "boi/ecms1_notifier_invalid_accept_id.xml": X(
        OUT, BOI_EMPTY, "boi",
        notifier=N(K.INVALID_ACCEPT_ID, "นร 1302/0311", "2016-03-02",
                   "ขอเชิญประชุมชี้แจงหลักเกณฑ์การส่งเสริมการลงทุน", "1559", "2016-03-04", "11008")),
    "boi/inbound_request.xml": X(Operation.INBOUND, BOI_EMPTY, "boi"),
    "boi/delete_request.xml": X(Operation.DELETE, BOI_EMPTY, "boi",
                                process_id="ECMS-20170105-000981"),
    "boi/delete_request_placeholders.xml": X(
        Operation.DELETE, ("XmlValue-01", "XmlValue-02", WSA_BOI), "boi", process_id="XmlValue-03"),
    "boi/delete_document_request.xml": X(Operation.DELETE_DOCUMENT, BOI_EMPTY, "boi",
                                         key=(L3.id, L3.date_text, BOI_DEPT, DDC_DEPT)),
    # SOAP-ENV is never declared: not namespace-well-formed (ecms.md §5.14).
    "boi/outbound_status_request.xml": X(refused="xml_malformed"),
    "boi/ministries_request.xml": X(Operation.MINISTRIES, BOI_EMPTY, "boi"),
    "boi/organizations_request.xml": X(Operation.ORGANIZATIONS, BOI_EMPTY, "boi"),
    "boi/organizations_request_tabs.xml": X(Operation.ORGANIZATIONS, BOI_EMPTY, "boi"),
    "boi/secret_codes_request.xml": X(Operation.SECRET_CODES, BOI_EMPTY, "boi"),
    "boi/speed_codes_request.xml": X(Operation.SPEED_CODES, BOI_EMPTY, "boi"),
    "boi/mime_codes_request.xml": X(Operation.MIME_CODES, BOI_EMPTY, "boi"),
    # ---------------------------------------------------------------- the node's answers
    "transcript/outbound_response_letter.xml": X(
        Operation.OUTBOUND_RESPONSE, letter=L3, signer=L3_SIGNER,
        process_id="ECMS-20170109-000512", process_time="2017-01-09T14:02:11.387+07:00"),
    "transcript/inbound_response_letter.xml": X(
        Operation.INBOUND_RESPONSE, letter=L_SIGNED, signer=SIGNED_SIGNER,
        signature=SignatureVerdict.UNTRUSTED,  # no trust given; see test_signed_letter_*
        process_id="ECMS-20200131-000457", process_time="2020-01-31T09:01:13.880+07:00"),
    "transcript/inbound_response_letter_tampered.xml": X(
        Operation.INBOUND_RESPONSE,
        letter=replace(L_SIGNED, subject=IN_SUBJ.replace("ความพร้อม", "ความไม่พร้อม", 1)),
        signer=SIGNED_SIGNER, signature=SignatureVerdict.INVALID,
        process_id="ECMS-20200131-000457", process_time="2020-01-31T09:01:13.880+07:00"),
    # Signed the way the 2012 draft describes, by a node signing in place: rsa-sha1, sha1,
    # SignedInfo in C14N WithComments, no Transforms, the envelope's namespaces in the digest.
    "transcript/inbound_response_letter_signed_in_place.xml": X(
        Operation.INBOUND_RESPONSE, letter=L_DDC, signer=DDC_SIGNER,
        signature=SignatureVerdict.UNTRUSTED,
        process_id="ECMS-20170112-000077", process_time="2017-01-12T10:00:05.000+07:00"),
    **{
        f"transcript/inbound_response_{name}.xml": X(
            Operation.INBOUND_RESPONSE, process_id=pid,
            process_time="2017-01-10T09:12:45.120+07:00",
            notifier=N(kind, L3.id, L3.date_text, L3.subject, acc, "2017-01-10T09:10:02",
                       DDC_DEPT))
        for name, kind, acc, pid in (
            ("receive", K.RECEIVE, "", "ECMS-20170110-000201"),
            ("accept", K.ACCEPT, "2560/00045", "ECMS-20170110-000202"),
            ("reject", K.REJECT, "", "ECMS-20170110-000203"),
            ("invalid", K.INVALID, "", "ECMS-20170110-000204"),
        )
    },
    "transcript/inbound_response_invalid_accept_id.xml": X(
        Operation.INBOUND_RESPONSE, process_id="ECMS-20200203-000077",
        process_time="2020-02-03T11:00:00.000+07:00",
        notifier=N(K.INVALID_ACCEPT_ID, L1.id, L1.date_text, L1.subject, "1O24",
                   "2020-02-03T10:58:31", MOI_DEPT)),
    "transcript/inbound_response_reject_lowercase_pid.xml": X(
        Operation.INBOUND_RESPONSE, process_id="ECMS-20170110-000099",
        process_time="2017-01-10T09:15:00.000+07:00",
        notifier=N(K.REJECT, L3.id, L3.date_text, L3.subject, "", "2017-01-10T09:14:40",
                   DDC_DEPT)),
    "transcript/inbound_response_empty.xml": X(Operation.INBOUND_RESPONSE),
    **{
        f"transcript/outbound_response_{name}.xml": X(
            Operation.OUTBOUND_RESPONSE, process_id=pid,
            process_time="2020-01-31T13:20:05.441+07:00",
            notifier=N(kind, IN_ID, IN_DATE, IN_SUBJ, acc, "2020-01-31T13:20:05", MD_DEPT))
        for name, kind, acc, pid in (
            ("receive", K.RECEIVE, "", "ECMS-20200131-001301"),
            ("accept", K.ACCEPT, "1024", "ECMS-20200131-001302"),
            ("reject", K.REJECT, "", "ECMS-20200131-001303"),
            ("invalid", K.INVALID, "", "ECMS-20200131-001304"),
        )
    },
    "transcript/outbound_response_invalid_accept_id.xml": X(
        Operation.OUTBOUND_RESPONSE, process_id="ECMS-20200203-001305",
        process_time="2020-01-31T13:20:05.441+07:00",
        notifier=N(K.INVALID_ACCEPT_ID, L1.id, L1.date_text, L1.subject, "1O24",
                   "2020-02-03T10:58:31", MOI_DEPT)),
    "transcript/delete_response.xml": X(
        Operation.DELETE_RESPONSE, process_id="ECMS-20170105-000981",
        process_time="2017-01-05T16:40:12.004+07:00"),
    "transcript/delete_response_env_prefix.xml": X(
        Operation.DELETE_RESPONSE, process_id="ECMS-20200131-000457",
        process_time="2020-01-31T13:25:00.000+07:00"),
    "transcript/delete_document_response.xml": X(
        Operation.DELETE_DOCUMENT_RESPONSE, process_id="ECMS-20170111-000130",
        process_time="2017-01-11T08:30:00.000+07:00", key=(L3.id, "", "", "")),
    "transcript/outbound_status_response.xml": X(
        Operation.OUTBOUND_STATUS_RESPONSE,
        outbound=(("ECMS-20170109-000512", L3.id, "DELIVERED"),
                  ("ECMS-20170105-000480", L2.id, "WAITING"),
                  ("ECMS-20170111-000131", L4.id, "ERROR"))),
    "transcript/organizations_response.xml": X(
        "OrganizationList",
        organizations=(
            (MOI_DEPT, "กรมการปกครอง", "Department of Provincial Administration",
             "http://dopa.ecms.dga.or.th/ecms-ws01/service2"),
            (DDC_DEPT, "กรมควบคุมโรค", "Department of Disease Control",
             "http://ddc.ecms.dga.or.th/ecms-ws01/service2"),
            (BOI_DEPT, "สำนักงานคณะกรรมการส่งเสริมการลงทุน", "Office of the Board of Investment",
             "http://boi.ecms.dga.or.th/ecms-ws01/service2"),
        )),
    "transcript/ministries_response.xml": X(
        "GetMinistryOrganizationListResponse",
        ministries=(("01", "สำนักนายกรัฐมนตรี"), ("02", "กระทรวงกลาโหม"),
                    ("15", "กระทรวงมหาดไทย"), ("21", "กระทรวงสาธารณสุข"))),
    "transcript/secret_codes_response.xml": X(
        "SecretCodes",
        codes=(("001", "ปกติ"), ("002", "ลับ"), ("003", "ลับมาก"), ("004", "ลับที่สุด"))),
    "transcript/speed_codes_response.xml": X(
        "SpeedCodes",
        codes=(("001", "ปกติ"), ("002", "ด่วน"), ("003", "ด่วนมาก"), ("004", "ด่วนที่สุด"))),
    "transcript/mime_codes_response.xml": X(
        "MimeCodes",
        mime_codes=(("pdf", "application/pdf"),
                    ("docx", "application/vnd.openxmlformats-officedocument"
                             ".wordprocessingml.document"),
                    ("png", "image/png"), ("jpg", "image/jpeg"))),
    # The transcript's typo (</SpeedCodes> closes MimeCodes) is not XML.
    "transcript/mime_codes_response_typo.xml": X(refused="xml_malformed"),
    "transcript/time_check_response.xml": X("TimeCheckResponse",
                                            ecms_time="2020-01-31T10:15:40.512+07:00"),
    "transcript/error_response.xml": X(
        Operation.OUTBOUND_RESPONSE,
        errors=(("E1007", "ไม่พบรหัสหน่วยงานผู้รับ 2100399999 ในระบบ"),)),
    "transcript/error_response_two.xml": X(
        "ErrorDetail",
        errors=(("E0001", "รูปแบบ XML ไม่ถูกต้อง"),
                ("E0003", "Invalid CorrespondenceDate: 2563-01-31"))),
    # ---------------------------------------------------------------- other variants
    "other/inbound_request_bom.xml": X(Operation.INBOUND, BOI_EMPTY, "boi"),
    "other/inbound_request_prefixes.xml": X(
        Operation.INBOUND, ("uuid:6f1c2a9e-4b1d-4c3e-9a57-0d2b8f7e1c11", MD_OWN, WSA_MD),
        "mildoc"),
    "other/letter_wrapped_base64.xml": X(OUT, ("132", MD_PEER, WSA_MD), "mildoc",
                                         letter=L_WRAPPED),
}

# --------------------------------------------------------------------------- the checks


def _parse(name: str, **kw: object) -> Message:
    return parse_message((CORPUS / name).read_bytes(), **kw)  # type: ignore[arg-type]


def _check_letter(msg: Message, exp: L) -> list[str]:
    got = msg.letter
    assert got is not None, "no letter"
    wrong: list[str] = []

    def same(what: str, a: object, b: object) -> None:
        if a != b:
            wrong.append(f"{what}: expected {b!r}, got {a!r}")

    same("letter_id", got.letter_id, exp.id)
    same("date_text", got.date_text, exp.date_text)
    same("date", got.date, exp.date)
    same("subject", got.subject, exp.subject)
    same("secret_code", got.secret_code, exp.secret)
    same("speed_code", got.speed_code, exp.speed)
    sides = (("sender", got.sender, exp.sender), ("receiver", got.receiver, exp.receiver))
    for side, p, e in sides:
        same(side, (p.given_name, p.family_name, p.job_title, p.ministry_id, p.department_id),
             (e.given, e.family, e.job, e.ministry, e.department))
    same("references", tuple((r.letter_id, r.date_text, r.subject) for r in got.references),
         exp.references)
    same("attachment_text", got.attachment_text, exp.attachment_text)
    same("send_date", got.send_date, exp.send_date)
    same("description", got.description, exp.description)
    if exp.main is None:
        same("main", got.main, None)
    else:
        same("main", (got.main.mime_code, got.main.data) if got.main else None,
             (exp.main[0], (FILES / exp.main[1]).read_bytes()))
    same("attachments", tuple((a.mime_code, a.data) for a in got.attachments),
         tuple((m, (FILES / f).read_bytes()) for m, f in exp.attachments))
    # document_xml: the GovernmentDocument as a standalone document.
    root = etree.fromstring(msg.document_xml)
    same("document_xml root", root.tag, f"{{{RSM}}}GovernmentDocument")
    return wrong


def _check(name: str, msg: Message, exp: X) -> list[str]:
    wrong: list[str] = []

    def same(what: str, a: object, b: object) -> None:
        if a != b:
            wrong.append(f"{what}: expected {b!r}, got {a!r}")

    same("operation", msg.operation, exp.operation)
    same("header", (msg.header.message_id, msg.header.to, msg.header.wsa_namespace), exp.header)
    same("dialect", msg.dialect.value if msg.dialect else None, exp.dialect)
    if exp.letter is None:
        same("letter", msg.letter, None)
    else:
        wrong += _check_letter(msg, exp.letter)
    s = msg.signer
    same("signer", (s.type_code, s.given_name, s.family_name, s.title, s.ministry_code,
                    s.department_code) if s else None, exp.signer)
    same("signature", msg.signature, exp.signature)
    n = msg.notifier
    same("notifier", (n.kind, n.letter_id, n.date_text, n.subject, n.accept_id, n.accept_date,
                      n.accept_department) if n else None,
         (exp.notifier.kind, exp.notifier.letter_id, exp.notifier.date_text,
          exp.notifier.subject, exp.notifier.accept_id, exp.notifier.accept_date,
          exp.notifier.accept_department) if exp.notifier else None)
    same("process_id", msg.process_id, exp.process_id)
    same("process_time", msg.process_time, exp.process_time)
    k = msg.document_key
    same("document_key", (k.letter_id, k.date_text, k.sender_department, k.accept_department)
         if k else None, exp.key)
    same("special_kind", msg.special_kind, exp.special_kind)
    same("ministries", tuple((o.organization_id, o.th_name) for o in msg.ministries),
         exp.ministries)
    same("organizations", tuple((o.organization_id, o.th_name, o.en_name, o.ecms_url)
                                for o in msg.organizations), exp.organizations)
    same("codes", tuple((c.value, c.description) for c in msg.codes), exp.codes)
    same("mime_codes", tuple((c.value, c.description) for c in msg.mime_codes), exp.mime_codes)
    same("outbound", tuple((o.process_id, o.letter_id, o.status) for o in msg.outbound),
         exp.outbound)
    same("ecms_time", msg.ecms_time, exp.ecms_time)
    same("errors", tuple((e.code, e.description) for e in msg.errors), exp.errors)
    same("bare_ampersand repaired", "bare_ampersand" in msg.repaired, exp.bare_ampersand)
    return wrong


@pytest.mark.parametrize("name", sorted(CASES))
def test_corpus_file_parses_as_the_reference_says(name: str) -> None:
    exp = CASES[name]
    if exp.refused:
        with pytest.raises(EcmsRefused) as caught:
            _parse(name)
        assert caught.value.code == exp.refused, caught.value.message
        return
    msg = _parse(name)
    wrong = _check(name, msg, exp)
    assert not wrong, f"{name}:\n  " + "\n  ".join(wrong)


def test_every_corpus_file_is_in_the_table() -> None:
    on_disk = {
        str(p.relative_to(CORPUS))
        for d in ("mildoc", "boi", "transcript", "other") for p in (CORPUS / d).glob("*.xml")
    }
    assert on_disk == set(CASES)


def test_empty_queue_is_recognised() -> None:
    assert _parse("transcript/inbound_response_empty.xml").is_empty_queue
    assert not _parse("transcript/inbound_response_accept.xml").is_empty_queue


def test_mildoc_wire_order_is_reversed_and_parser_restores_it() -> None:
    """The fixture really has mil-doc's reversed order (so the check above means something)."""
    raw = (CORPUS / "mildoc/outbound_letter.xml").read_text()
    assert raw.index("กห 0201.3/512") < raw.index("มท 0210.3/ว 1795")
    first = raw.index("<ram:AttachmentBinaryObject ")
    assert raw.startswith('<ram:AttachmentBinaryObject mimeCode="image/png">', first)


# --------------------------------------------------------------------------- the signed letter


def _pem(name: str) -> str:
    return (KEYS / name).read_text()


@pytest.mark.parametrize(
    ("trust", "verdict"),
    [
        ((), SignatureVerdict.UNTRUSTED),
        (("other.pem",), SignatureVerdict.UNTRUSTED),
        (("agency.pem",), SignatureVerdict.VALID),   # the signing certificate itself
        (("ca.pem",), SignatureVerdict.VALID),       # its issuer
        (("other.pem", "ca.pem"), SignatureVerdict.VALID),
    ],
)
def test_signed_letter_verdict_follows_the_trusted_certificates(
    trust: tuple[str, ...], verdict: SignatureVerdict
) -> None:
    msg = _parse("transcript/inbound_response_letter.xml", trust=[_pem(t) for t in trust])
    assert msg.signature == verdict, msg.signature_detail


@pytest.mark.parametrize("trust", [(), ("ca.pem",), ("agency.pem",)])
def test_tampered_letter_is_invalid_whatever_the_trust(trust: tuple[str, ...]) -> None:
    msg = _parse("transcript/inbound_response_letter_tampered.xml",
                 trust=[_pem(t) for t in trust])
    assert msg.signature == SignatureVerdict.INVALID, msg.signature_detail


def test_letter_signed_in_place_with_the_drafts_algorithms_verifies() -> None:
    name = "transcript/inbound_response_letter_signed_in_place.xml"
    msg = _parse(name, trust=[_pem("node-rsa.pem")])
    assert msg.signature == SignatureVerdict.VALID, msg.signature_detail
    data = (CORPUS / name).read_bytes().replace("ขอบคุณ".encode(), "ไม่ขอบคุณ".encode(), 1)
    msg = parse_message(data, trust=[_pem("node-rsa.pem")])
    assert msg.signature == SignatureVerdict.INVALID


def test_signed_letter_keeps_the_signer_certificate_and_the_signed_bytes() -> None:
    msg = _parse("transcript/inbound_response_letter.xml")
    got = x509.load_pem_x509_certificate(msg.signer_certificate_pem.encode())
    assert got == x509.load_pem_x509_certificate(_pem("agency.pem").encode())
    # The node hands out exactly the GovernmentDocument it stored: byte for byte as signed.
    assert msg.document_xml == (CORPUS / "signed/government_document.xml").read_bytes()


def test_unsigned_letters_have_no_signer_certificate() -> None:
    for name in ("mildoc/outbound_letter.xml", "boi/outbound_letter_full.xml"):
        msg = _parse(name)
        assert msg.signature == SignatureVerdict.ABSENT
        assert msg.signer_certificate_pem == ""


# --------------------------------------------------------------------------- the builders

# The library's mil-doc and BOI builders against the corpus: two independent emulations of
# each client's serialiser must agree byte for byte.


def _binary(mime: str, name: str) -> Binary:
    return Binary(mime, (FILES / name).read_bytes())


def _letter(e: L) -> Letter:
    def party(p: Party) -> WireParty:
        return WireParty(p.given, p.family, p.job, p.ministry, p.department)

    return Letter(
        letter_id=e.id, date_text=e.date_text, subject=e.subject, secret_code=e.secret,
        speed_code=e.speed, sender=party(e.sender), receiver=party(e.receiver),
        references=tuple(Reference(*r) for r in e.references),
        attachment_text=e.attachment_text, send_date=e.send_date, description=e.description,
        main=_binary(*e.main) if e.main else None,
        attachments=tuple(_binary(*a) for a in e.attachments),
    )


def _builds() -> dict[str, Callable[[], bytes]]:
    md, boi = Dialect.MILDOC, Dialect.BOI
    key_l1 = DocumentKey(L1.id, L1.date_text, MD_DEPT, MOI_DEPT)
    cases: dict[str, Callable[[], bytes]] = {
        "mildoc/outbound_letter.xml": lambda: letter_request(
            _letter(L1), header=Header("128", MD_PEER), dialect=md),
        "mildoc/outbound_letter_plain.xml": lambda: letter_request(
            _letter(L1_PLAIN), header=Header("131", MD_PEER), dialect=md),
        "boi/outbound_letter.xml": lambda: letter_request(
            _letter(L2), signer=Signer(*BOI_SIGNER), header=Header("", BOI_URL), dialect=boi),
        "boi/outbound_letter_full.xml": lambda: letter_request(
            _letter(L3), signer=Signer(*L3_SIGNER), header=Header("", BOI_URL), dialect=boi),
        "boi/outbound_letter_ampersand.xml": lambda: letter_request(
            _letter(L4), signer=Signer(*BOI_SIGNER), header=Header("", BOI_URL), dialect=boi),
        "mildoc/notifier_accept.xml": lambda: notifier_request(
            Notifier(K.ACCEPT, IN_ID, IN_DATE, IN_SUBJ, "1024"), header=Header("57", MD_PEER),
            dialect=md),
        "mildoc/notifier_invalid_accept_id.xml": lambda: notifier_request(
            Notifier(K.INVALID_ACCEPT_ID, L1.id, L1.date_text, L1.subject, "1O24"),
            header=Header("128", MD_PEER), dialect=md),
        "boi/notifier_invalid_accept_id.xml": lambda: notifier_request(
            Notifier(K.INVALID_ACCEPT_ID, L3.id, L3.date_text, L3.subject, "2560/00045"),
            dialect=boi),
        "mildoc/inbound_request.xml": lambda: simple_request(
            Operation.INBOUND, header=Header("ทดสอบระบบ", MD_OWN), dialect=md),
        "boi/inbound_request.xml": lambda: simple_request(Operation.INBOUND, dialect=boi),
        "mildoc/ministries_request.xml": lambda: simple_request(
            Operation.MINISTRIES, header=Header("Test", MD_OWN), dialect=md),
        "boi/ministries_request.xml": lambda: simple_request(Operation.MINISTRIES, dialect=boi),
        "boi/organizations_request.xml": lambda: simple_request(
            Operation.ORGANIZATIONS, dialect=boi),
        "boi/outbound_status_request.xml": lambda: simple_request(
            Operation.OUTBOUND_STATUS, dialect=boi),
        "mildoc/delete_request.xml": lambda: delete_request(
            "ECMS-20200131-000457", header=Header("scp 2 ลบหนังสือ", MD_OWN), dialect=md),
        "boi/delete_request.xml": lambda: delete_request("ECMS-20170105-000981", dialect=boi),
        "mildoc/delete_document_request.xml": lambda: delete_document_request(
            key_l1, header=Header("128", MD_OWN), dialect=md),
        "boi/delete_document_request.xml": lambda: delete_document_request(
            DocumentKey(L3.id, L3.date_text, BOI_DEPT, DDC_DEPT), dialect=boi),
        "mildoc/special_reject.xml": lambda: special_request(
            K.REJECT.value, key_l1, dialect=md),
        "mildoc/special_government_document.xml": lambda: special_request(
            "GovernmentDocument", DocumentKey(IN_ID, IN_DATE, MOI_DEPT, MD_DEPT), dialect=md),
    }
    def boi_notifier(kind: NotifierKind, accept_id: str = "") -> Callable[[], bytes]:
        return lambda: notifier_request(Notifier(kind, B_ID, B_DATE, B_SUBJ, accept_id),
                                        dialect=boi)

    cases["boi/notifier_receive.xml"] = boi_notifier(K.RECEIVE)
    cases["boi/notifier_accept.xml"] = boi_notifier(K.ACCEPT, "00123")
    cases["boi/notifier_reject.xml"] = boi_notifier(K.REJECT)
    cases["boi/notifier_invalid.xml"] = boi_notifier(K.INVALID)
    return cases


BUILDS = _builds()


@pytest.mark.parametrize("name", sorted(BUILDS))
def test_dialect_builder_writes_the_corpus_bytes(name: str) -> None:
    assert BUILDS[name]() == (CORPUS / name).read_bytes()
