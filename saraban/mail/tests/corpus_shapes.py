"""Mail as real clients put it on the wire, built byte for byte, each with what it must parse to.

Every writer below emulates one client's serialiser, not Saraban's: its header set and order,
its boundary form, how it folds, which transfer encodings it picks and how it writes a Thai file
name. The shapes, as seen in mail from these clients:

* **Outlook / Exchange Online** — ``_004_<id>_`` (mixed) around ``_000_<id>_`` (alternative),
  ``Thread-Topic``/``Thread-Index``, ``X-MS-Has-Attach``, ``X-MS-TNEF-Correlator``,
  ``Content-Language: th-TH``, tab folding, RFC 2047 ``=?utf-8?B?`` words *inside* the quoted
  ``name``/``filename`` (several words for a long name), ``Content-Description``,
  ``size=``/``creation-date=``; winmail.dat (TNEF) for rich text sent to the Internet.
* **Outlook 2010–2016 and Outlook Express on Thai Windows** — ``----=_NextPart_000_…``,
  ``X-Mailer``/``X-MimeOLE``, ``windows-874`` bodies and words (Q and B), ``x-windows-874``
  from old Exchange, ``TIS-620`` that in fact holds windows-874 punctuation.
* **Gmail** — ``000000000000<16 hex>`` boundaries, DKIM/ARC/``X-Google-*`` headers, base64
  ``UTF-8`` bodies, ``Content-ID: <f_…>``/``X-Attachment-Id``, ``---------- Forwarded message
  ---------`` inline forwards, vacation replies with ``Auto-Submitted: auto-replied``.
* **Thunderbird** — ``------------<24 alnum>`` (``------------ms<digits>`` when signed),
  ``User-Agent: Mozilla Thunderbird``, ``format=flowed`` with ``8bit`` UTF-8 bodies, the
  ``name=`` RFC 2047 / ``filename*0*=`` RFC 2231 pair; old versions with TIS-620.
* **Apple Mail / iOS Mail** — ``Apple-Mail=_<UUID>``, ``Mime-Version: 1.0 (Mac OS X Mail …)``,
  quoted-printable bodies, ``x-unix-mode=0644``, PDFs *inline* inside the HTML alternative,
  text after an attachment as another part, ``filename*=utf-8''…``, NFD file names.
* **Thai government webmail** — Zimbra (MailGoThai, ministries: ``=_<uuid>`` boundaries,
  ``…JavaMail.zimbra@`` ids, ``Date: … +0700 (ICT)``), Roundcube (LAOs, universities:
  ``=_<md5>`` boundaries, the three ``mime_param_folding`` modes), SquirrelMail with TIS-620,
  PHPMailer-based e-office systems (``b1_`` boundaries, HTML only), old systems that put raw
  TIS-620 or UTF-8 bytes in headers.
* Forwards inline and as ``message/rfc822`` (nested twice), replies quoting a letter number,
  S/MIME (``multipart/signed`` and opaque ``application/pkcs7-mime``, certificates made here),
  auto-replies, bounces (postfix, Exchange, Gmail, qmail, Exim, Yahoo), loops.

The expectations are the writer's *inputs* (what the user typed and attached), never the parser's
output. ``cases()`` returns them all; ``TEMPLATES`` are the hand-written ``corpus/*.eml``.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import functools
import hashlib
import html
import io
import pathlib
import random
import struct
import unicodedata
import urllib.parse
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID
from PIL import Image

CORPUS = pathlib.Path(__file__).parent / "corpus"
MAILBOX = "saraban@moi.go.th"
MAILBOX_NAME = "สารบรรณกลาง กระทรวงมหาดไทย"
ICT = dt.timezone(dt.timedelta(hours=7))
BASE_DATE = dt.datetime(2026, 12, 7, 9, 30, 15, tzinfo=ICT)

# --------------------------------------------------------------------------- expectations


@dataclass(frozen=True)
class File:
    """An expected attachment (``data`` None: not compared, e.g. a forwarded ``.eml``)."""

    name: str
    content_type: str
    origin: str = "part"
    inline: bool = False
    data: bytes | None = None


@dataclass(frozen=True)
class Expect:
    """What one mail must parse to; ``files`` None: not compared (a bounce's returned mail)."""

    kind: str = "letter"
    subject: str = ""
    sender: str = ""
    sender_name: str = ""
    date: dt.datetime | None = None
    message_id: str = ""
    snippets: tuple[str, ...] = ()
    files: tuple[File, ...] | None = ()
    in_reply_to: tuple[str, ...] = ()
    number: str | None = ""  # the letter number the mail quotes ("" none; None unchecked)
    bounce_id: str = ""
    bounce_recipient: str = ""
    bounce_action: str = ""
    bounce_status: str = ""  # "" not checked (a bounce that names no status)
    smime: str = ""  # "" not signed; else the verdict
    smime_signer: str = ""  # a CN the signer subject names
    own: tuple[str, ...] = ()  # own addresses given to classify()


@dataclass(frozen=True)
class Case:
    id: str
    client: str
    shape: str
    raw: bytes
    expect: Expect


# --------------------------------------------------------------------------- documents


def make_pdf(label: str) -> bytes:
    """A minimal valid one-page PDF (catalog, pages, page, content, font; exact xref)."""
    text = label.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    stream = f"BT /F1 14 Tf 72 760 Td ({text}) Tj ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def make_png(seed: int) -> bytes:
    """A valid 2x2 RGB PNG whose pixels depend on ``seed``."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    rows = b"".join(b"\x00" + bytes([seed % 256, 80, 160] * 2) for _ in range(2))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def make_jpeg(seed: int) -> bytes:
    """A real 4x4 JPEG (a scanner's output in miniature) whose colour depends on ``seed``."""
    buf = io.BytesIO()
    Image.new("RGB", (4, 4), (seed % 256, 120, 60)).save(buf, "JPEG", quality=60)
    return buf.getvalue()


def make_ooxml(kind: str, seed: int) -> bytes:
    """A minimal valid Office Open XML package (docx or xlsx): content types with the main
    part's override, the package relationship to it, and the main part (fixed timestamps)."""
    if kind == "docx":
        part, ctype = "word/document.xml", (
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml")
        xml = ('<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/'
               f'main"><w:body><w:p><w:r><w:t>ร่าง {seed}</w:t></w:r></w:p></w:body></w:document>')
    else:
        part, ctype = "xl/workbook.xml", (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml")
        xml = ('<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
               f'<sheets><sheet name="S{seed}" sheetId="1"/></sheets></workbook>')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        def add(name: str, text: str) -> None:
            z.writestr(zipfile.ZipInfo(name, (2026, 12, 7, 9, 0, 0)), text)
        add("[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/{part}" ContentType="{ctype}"/></Types>')
        add("_rels/.rels",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
            f'2006/relationships/officeDocument" Target="{part}"/></Relationships>')
        add(part, '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' + xml)
    return buf.getvalue()


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Doc:
    """An attached file as the user attached it; ``wire`` is the declared type if it differs."""

    name: str
    content_type: str
    data: bytes
    inline: bool = False
    wire: str = ""

    @property
    def declared(self) -> str:
        return self.wire or self.content_type


def pdf_doc(name: str, seed: int, *, wire: str = "", inline: bool = False) -> Doc:
    return Doc(name, "application/pdf", make_pdf(f"Saraban corpus {seed} {len(name)}"),
               inline=inline, wire=wire)


# --------------------------------------------------------------------------- letters


@dataclass(frozen=True)
class Letter:
    """What a sender typed: the expectations of a letter-shaped mail come from here."""

    subject: str
    sender: str
    sender_name: str
    body: str
    snippet: str
    docs: tuple[Doc, ...] = ()
    date: dt.datetime = BASE_DATE
    message_id: str = ""
    number: str | None = ""  # None: not checked (Thai digits)
    in_reply_to: str = ""

    def expect(self, **overrides: object) -> Expect:
        files = tuple(File(d.name, d.content_type, "part", d.inline, d.data) for d in self.docs)
        values: dict[str, object] = {
            "subject": self.subject, "sender": self.sender, "sender_name": self.sender_name,
            "date": self.date, "message_id": self.message_id, "snippets": (self.snippet,),
            "files": files, "number": self.number,
            "in_reply_to": (self.in_reply_to,) if self.in_reply_to else ()}
        values.update(overrides)
        return Expect(**values)  # type: ignore[arg-type]


def body_text(greeting: str, subject: str, snippet: str, sender_name: str) -> str:
    return (f"เรียน {greeting}\n\n"
            f"ด้วยหน่วยงานขอส่งหนังสือเรื่อง {subject} มาเพื่อโปรดพิจารณา\n"
            f"{snippet}\n"
            "จึงเรียนมาเพื่อโปรดทราบและพิจารณาดำเนินการต่อไป\n\n"
            f"ขอแสดงความนับถือ\n{sender_name}\n")


SENDERS = (
    ("somchai.j@dopa.go.th", "นายสมชาย ใจดี"),
    ("saraban@chiangmai.go.th", "สำนักงานจังหวัดเชียงใหม่"),
    ("wipa.m@dla.go.th", "นางสาววิภา มั่นคง"),
    ("ratchanee.k@moph.go.th", "ว่าที่ร้อยตรีหญิง รัชนี แก้วมณี"),
    ("admin@tambon-nongbua.go.th", "อบต.หนองบัว"),
    ("prasert.d@obec.go.th", "ประเสริฐ ดอยคำ"),
)

# (subject, number quoted, documents) — the matrix each client writer walks
LETTER_SPECS: tuple[tuple[str, str | None, Callable[[int], tuple[Doc, ...]]], ...] = (
    ("ขอเชิญประชุมคณะกรรมการบริหารงานจังหวัดแบบบูรณาการ ครั้งที่ 12/2569", "",
     lambda s: (pdf_doc("หนังสือเชิญประชุม.pdf", s),)),
    ("ที่ มท 0808.2/ว 1234 เรื่อง การจัดทำแผนพัฒนาท้องถิ่น (พ.ศ. 2571-2575)", "มท 0808.2/ว 1234",
     lambda s: (pdf_doc("มท0808.2ว1234.pdf", s),
                pdf_doc("สิ่งที่ส่งมาด้วย 1 แบบฟอร์ม.pdf", s + 1))),
    ("ส่งรายงานผลการดำเนินงาน", "",
     lambda s: (pdf_doc("รายงาน.pdf", s),
                Doc("รายงานผล ไตรมาส 1.xlsx", XLSX, make_ooxml("xlsx", s)))),
    ("ขอความอนุเคราะห์ข้อมูลประกอบการจัดทำรายงานสถานการณ์ภัยแล้งและแนวทางการให้ความช่วยเหลือ"
     "ผู้ประสบภัยในพื้นที่จังหวัดภาคตะวันออกเฉียงเหนือ ประจำปีงบประมาณ พ.ศ. 2570", "",
     lambda s: (pdf_doc("แบบรายงานสถานการณ์ภัยแล้งและแนวทางการให้ความช่วยเหลือผู้ประสบภัย"
                        "ในพื้นที่จังหวัดภาคตะวันออกเฉียงเหนือ ประจำปีงบประมาณ 2570.pdf", s),)),
    ("Re: ขอความอนุเคราะห์ข้อมูล [ด่วนที่สุด]", "",
     lambda s: (Doc("ข้อมูลประกอบ.docx", DOCX, make_ooxml("docx", s)),)),
    ("ที่ นร ๐๑๐๕/ว ๔๕๖ เรื่อง ซักซ้อมแนวทางปฏิบัติในการรับส่งหนังสือทางไปรษณีย์อิเล็กทรอนิกส์", None,
     lambda s: (pdf_doc("นร0105ว456.pdf", s),)),
    ("แจ้งเปลี่ยนแปลงที่อยู่ไปรษณีย์อิเล็กทรอนิกส์กลางของหน่วยงาน", "", lambda s: ()),
    ("ส่งคำสั่งจังหวัด เรื่อง แต่งตั้งคณะทำงาน", "",
     lambda s: (pdf_doc("คำสั่งจังหวัด.pdf", s, wire="application/octet-stream"),)),
    ("ส่งสำเนาหนังสือ ฯลฯ เพื่อทราบ", "",
     lambda s: (Doc("scan0001.jpg", "image/jpeg", make_jpeg(s)), pdf_doc("หนังสือ.pdf", s))),
    ("ขอส่งแบบตอบรับการเข้าร่วมโครงการ", "",
     lambda s: (pdf_doc("Document.pdf", s),
                pdf_doc("แบบตอบรับ (ส่งภายใน 15 ธ.ค.).pdf", s + 1))),
    ("ประชาสัมพันธ์การรับสมัครงานต่าง ๆ ของสำนักงาน ก.พ.", "",
     lambda s: (Doc("ภาพประชาสัมพันธ์.png", "image/png", make_png(s)),)),
    ("ที่ สธ 0211.04/7788 เรื่อง ขอให้ตรวจสอบข้อมูลบุคลากร", "สธ 0211.04/7788",
     lambda s: (pdf_doc("สธ0211.04-7788.pdf", s), pdf_doc("บัญชีรายชื่อ.pdf", s + 1))),
)


def letters(client: str, count: int = len(LETTER_SPECS), *, seed: int = 0,
            domain: str = "") -> Iterator[tuple[int, Letter]]:
    """The matrix rows for one client: distinct snippets, dates and ids per client."""
    salt = int(hashlib.sha256(client.encode()).hexdigest()[:6], 16) % 997
    for i, (subject, number, docs) in enumerate(LETTER_SPECS[:count]):
        address, name = SENDERS[(i + seed) % len(SENDERS)]
        if domain:
            address = address.split("@")[0] + "@" + domain
        snippet = f"อ้างอิงรายการ {client}-{i:02d}"
        yield i, Letter(
            subject=subject, sender=address, sender_name=name,
            body=body_text("ปลัดกระทรวงมหาดไทย", subject, snippet, name), snippet=snippet,
            docs=docs(salt * 31 + i * 7), date=BASE_DATE + dt.timedelta(minutes=salt + i * 13),
            number=number)


# --------------------------------------------------------------------------- encoders

CODECS = {"utf-8": "utf-8", "windows-874": "cp874", "x-windows-874": "cp874", "tis-620": "cp874",
          "iso-8859-11": "iso8859-11"}


def codec(label: str) -> str:
    return CODECS.get(label.lower(), label)


def words_b(text: str, label: str = "utf-8", width: int = 75) -> list[str]:
    """RFC 2047 B words of at most ``width`` characters, each holding whole characters."""
    out: list[str] = []
    cur = ""
    for ch in text:
        cand = cur + ch
        word = f"=?{label}?B?{base64.b64encode(cand.encode(codec(label))).decode()}?="
        if len(word) > width and cur:
            out.append(f"=?{label}?B?{base64.b64encode(cur.encode(codec(label))).decode()}?=")
            cur = ch
        else:
            cur = cand
    if cur:
        out.append(f"=?{label}?B?{base64.b64encode(cur.encode(codec(label))).decode()}?=")
    return out


def _q(data: bytes) -> str:
    safe = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!*+-/"
    return "".join("_" if b == 0x20 else chr(b) if b in safe else f"={b:02X}" for b in data)


def words_q(text: str, label: str = "utf-8", width: int = 75) -> list[str]:
    """RFC 2047 Q words of at most ``width`` characters, each holding whole characters."""
    out: list[str] = []
    cur = ""
    for ch in text:
        cand = cur + ch
        if len(f"=?{label}?Q?{_q(cand.encode(codec(label)))}?=") > width and cur:
            out.append(f"=?{label}?Q?{_q(cur.encode(codec(label)))}?=")
            cur = ch
        else:
            cur = cand
    if cur:
        out.append(f"=?{label}?Q?{_q(cur.encode(codec(label)))}?=")
    return out


FOLD, FOLD_TAB = "\r\n ", "\r\n\t"
MULTI_PART = "This is a multi-part message in MIME format.\r\n"


def enc(text: str, label: str = "utf-8", *, q: bool = False, sep: str = "\r\n ") -> str:
    """``text`` as RFC 2047 words joined by ``sep``; plain ASCII stays as it is."""
    if text.isascii():
        return text
    return sep.join(words_q(text, label) if q else words_b(text, label))


def pct(text: str, label: str = "utf-8") -> str:
    return urllib.parse.quote(text.encode(codec(label)), safe="!#$&+-.^_`|~")


def rfc2231(param: str, text: str, label: str = "utf-8", *, width: int = 60,
            sep: str = "\r\n ", lang: str = "") -> str:
    """``param*=`` or ``param*0*=…; param*1*=…`` continuations (never splitting a %XX)."""
    encoded = pct(text, label)
    if len(encoded) <= width:
        return f"{param}*={label}'{lang}'{encoded}"
    pieces: list[str] = []
    cur = ""
    i = 0
    while i < len(encoded):
        step = 3 if encoded[i] == "%" else 1
        if len(cur) + step > width:
            pieces.append(cur)
            cur = ""
        cur += encoded[i:i + step]
        i += step
    pieces.append(cur)
    parts = [f"{param}*0*={label}'{lang}'{pieces[0]}"]
    parts += [f"{param}*{n}*={p}" for n, p in enumerate(pieces[1:], 1)]
    return (";" + sep).join(parts)


def b64(data: bytes, width: int = 76) -> bytes:
    text = base64.b64encode(data)
    return b"\r\n".join(text[i:i + width] for i in range(0, len(text), width)) or b""


def qp(text: str, charset: str = "utf-8") -> bytes:
    """Quoted-printable, line by line, CRLF line ends, soft breaks at 76."""
    lines = text.split("\n")
    return b"\r\n".join(binascii.b2a_qp(line.encode(codec(charset))).replace(b"=\n", b"=\r\n")
                        for line in lines)


def crlf(text: str, charset: str = "utf-8") -> bytes:
    return text.replace("\n", "\r\n").encode(codec(charset))


def flowed(text: str) -> bytes:
    """format=flowed 8bit UTF-8 (space-stuffing of lines starting with a space or ``From ``)."""
    out = []
    for line in text.split("\n"):
        if line.startswith((" ", "From ", ">")) and not line.startswith(">"):
            line = " " + line
        out.append(line)
    return "\r\n".join(out).encode()


def html_of(text: str, charset: str = "utf-8", *, wrapper: str = "div") -> str:
    inner = "<br>\n".join(html.escape(line) for line in text.split("\n"))
    return (f'<html><head><meta http-equiv="Content-Type" content="text/html; charset={charset}">'
            f"</head><body><{wrapper} dir=\"ltr\">{inner}</{wrapper}></body></html>")


def rfc822_date(when: dt.datetime, *, zero_pad: bool = False, comment: str = "",
                weekday: bool = True) -> str:
    day = f"{when.day:02d}" if zero_pad else str(when.day)
    off = when.utcoffset() or dt.timedelta()
    minutes = int(off.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    zone = f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
    head = when.strftime("%a, ") if weekday else ""
    text = f"{head}{day} {when.strftime('%b %Y %H:%M:%S')} {zone}"
    return f"{text} ({comment})" if comment else text


def utc(when: dt.datetime) -> dt.datetime:
    return when.astimezone(dt.UTC)


Header = str | bytes


def entity(headers: Sequence[Header], body: bytes) -> bytes:
    head = b"\r\n".join(h if isinstance(h, bytes) else h.encode() for h in headers)
    return head + b"\r\n\r\n" + body


def multipart(boundary: str, parts: Sequence[bytes], *, preamble: str = "",
              epilogue: str = "") -> bytes:
    out = preamble.encode() + (b"\r\n" if preamble else b"")
    for part in parts:
        out += b"--" + boundary.encode() + b"\r\n" + part + b"\r\n"
    return out + b"--" + boundary.encode() + b"--\r\n" + epilogue.encode()


class Rand:
    """Deterministic identifiers in each client's own alphabet."""

    def __init__(self, seed: str) -> None:
        self.r = random.Random(seed)

    def hex(self, n: int, upper: bool = False) -> str:
        text = "".join(self.r.choice("0123456789abcdef") for _ in range(n))
        return text.upper() if upper else text

    def alnum(self, n: int) -> str:
        abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
        return "".join(self.r.choice(abc) for _ in range(n))

    def digits(self, n: int) -> str:
        return "".join(self.r.choice("0123456789") for _ in range(n))

    def uuid(self, upper: bool = False) -> str:
        h = self.hex(32, upper)
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def b64(self, n: int) -> str:
        return base64.b64encode(self.r.randbytes(n)).decode()


# --------------------------------------------------------------------------- client writers
# Each returns (raw bytes, Message-ID without <>). ``to`` is always the central mailbox.

Writer = Callable[[Letter, Rand], tuple[bytes, str]]


def _outlook_attachment(d: Doc, when: dt.datetime, label: str = "utf-8", cid: str = "") -> bytes:
    name = enc(d.name, label, sep="\r\n ")
    stamp = utc(when).strftime("%a, %d %b %Y %H:%M:%S GMT")
    disposition = "inline" if d.inline else "attachment"
    return entity([
        f'Content-Type: {d.declared}; name="{name}"',
        f"Content-Description: {enc(d.name, label, sep=FOLD)}",
        f'Content-Disposition: {disposition};\r\n\tfilename="{name}"; size={len(d.data)};\r\n'
        f'\tcreation-date="{stamp}";\r\n\tmodification-date="{stamp}"',
        *([f"Content-ID: <{cid}>"] if cid else []),
        "Content-Transfer-Encoding: base64",
    ], b64(d.data))


def pictures(lt: Letter) -> tuple[list[Doc], list[Doc]]:
    """The pictures shown in the HTML body (inline images: a signature logo, a pasted scan)
    and the other files."""
    shown = [d for d in lt.docs if d.inline and d.content_type.startswith("image/")]
    return shown, [d for d in lt.docs if d not in shown]


def related(alt: bytes, images: Sequence[bytes], boundary: str, *, fold: str = "\r\n\t") -> bytes:
    """multipart/related: the alternative, then the pictures its HTML names by cid."""
    return entity([f'Content-Type: multipart/related;{fold}boundary="{boundary}";{fold}'
                   'type="multipart/alternative"'], multipart(boundary, [alt, *images]))


def outlook365(lt: Letter, r: Rand, *, extra: Sequence[str] = (), tnef: bytes = b"",
               subject_prefix: str = "") -> tuple[bytes, str]:
    """Outlook for Windows through Exchange Online (the most common sender in ministries)."""
    host = f"SG2PR0{r.digits(1)}MB{r.digits(4)}"
    fqdn = f"{host}.apcprd0{r.digits(1)}.prod.outlook.com"
    mid = lt.message_id or f"{host}{r.hex(28, True)}@{fqdn}"
    tag = f"{host}{r.hex(28, True)}{fqdn.split('.')[0]}"
    subject = subject_prefix + enc(lt.subject, sep="\r\n ")
    alt_b = f"_000_{tag}_"
    alt = entity([f'Content-Type: multipart/alternative;\r\n\tboundary="{alt_b}"'], multipart(
        alt_b, [
            entity(['Content-Type: text/plain; charset="utf-8"',
                    "Content-Transfer-Encoding: base64"], b64(crlf(lt.body))),
            entity(['Content-Type: text/html; charset="utf-8"',
                    "Content-Transfer-Encoding: base64"], b64(html_of(lt.body).encode())),
        ]))
    shown, files = pictures(lt)
    if shown:
        stamp = f"01DB{r.hex(4, True)}.{r.hex(8, True)}"
        alt = related(alt, [_outlook_attachment(d, lt.date, cid=f"{d.name}@{stamp}")
                            for d in shown], f"_005_{tag}_")
        alt_b = f"_005_{tag}_"
    parts = [_outlook_attachment(d, lt.date) for d in files]
    if tnef:
        parts.append(entity([
            'Content-Type: application/ms-tnef; name="winmail.dat"',
            'Content-Disposition: attachment; filename="winmail.dat"',
            "Content-Transfer-Encoding: base64"], b64(tnef)))
    has = bool(parts)
    head = [
        f"Received: from {fqdn} ([fe80::{r.hex(4)}:{r.hex(4)}:{r.hex(4)}:{r.hex(4)}]) by\r\n"
        f" {fqdn} ([fe80::{r.hex(4)}:{r.hex(4)}%4]) with mapi id 15.20.8207.017;\r\n"
        f" {rfc822_date(utc(lt.date))}",
        f"From: {enc(lt.sender_name)} <{lt.sender}>",
        f"To: {enc(MAILBOX_NAME)} <{MAILBOX}>",
        f"Subject: {subject}",
        f"Thread-Topic: {enc(lt.subject)}",
        f"Thread-Index: {r.b64(22)}",
        f"Date: {rfc822_date(utc(lt.date))}",
        f"Message-ID: <{mid}>",
    ]
    if lt.in_reply_to:
        head += [f"References: <{lt.in_reply_to}>", f"In-Reply-To: <{lt.in_reply_to}>"]
    head += [
        "Accept-Language: th-TH, en-US",
        "Content-Language: th-TH",
        f"X-MS-Has-Attach: {'yes' if has else ''}",
        "X-MS-TNEF-Correlator:" + (f" <{mid}>" if tnef else ""),
        "authentication-results: dkim=none (message not signed)\r\n"
        " header.d=none;dmarc=none action=none header.from=go.th;",
        "x-ms-exchange-messagesentrepresentingtype: 1",
        "x-ms-publictraffictype: Email",
        f"x-ms-office365-filtering-correlation-id: {r.uuid()}",
        *extra,
    ]
    if has:
        mixed_b = f"_004_{tag}_"
        return entity([*head, f'Content-Type: multipart/mixed;\r\n\tboundary="{mixed_b}"',
                       "MIME-Version: 1.0"],
            multipart(mixed_b, [alt, *parts])), mid
    top = alt.split(b"\r\n\r\n", 1)
    return entity([*head, top[0].decode(), "MIME-Version: 1.0"], top[1]), mid


def outlook_desktop(lt: Letter, r: Rand, *, label: str = "windows-874", q: bool = False,
                    mailer: str = "Microsoft Outlook 16.0") -> tuple[bytes, str]:
    """Outlook 2010–2016 over SMTP from Thai Windows: windows-874 everywhere, _NextPart_."""
    domain = lt.sender.split("@")[1]
    mid = lt.message_id or f"00{r.hex(2)}01db{r.hex(4)}${r.hex(8)}${r.hex(8)}@{domain}"
    part_id = f"{r.hex(4, True)}_01DB{r.hex(4, True)}.{r.hex(8, True)}"
    mixed_b, alt_b = f"----=_NextPart_000_{part_id}", f"----=_NextPart_001_{part_id}"
    alt = entity([f'Content-Type: multipart/alternative;\r\n\tboundary="{alt_b}"'], multipart(
        alt_b, [
            entity([f'Content-Type: text/plain;\r\n\tcharset="{label}"',
                    "Content-Transfer-Encoding: quoted-printable"], qp(lt.body, label)),
            entity([f'Content-Type: text/html;\r\n\tcharset="{label}"',
                    "Content-Transfer-Encoding: quoted-printable"],
                   qp(html_of(lt.body, label), label)),
        ]))
    parts = []
    for d in lt.docs:
        name = enc(d.name, label, q=q, sep="\r\n\t")
        parts.append(entity([
            f'Content-Type: {d.declared};\r\n\tname="{name}"',
            "Content-Transfer-Encoding: base64",
            f'Content-Disposition: {"inline" if d.inline else "attachment"};\r\n\t'
            f'filename="{name}"'], b64(d.data)))
    head = [
        f"From: {enc(lt.sender_name, label, q=q)} <{lt.sender}>",
        f"To: <{MAILBOX}>",
        f"Subject: {enc(lt.subject, label, q=q, sep=FOLD_TAB)}",
        f"Date: {rfc822_date(lt.date)}",
        f"Message-ID: <{mid}>",
        "MIME-Version: 1.0",
    ]
    if lt.in_reply_to:
        head.insert(4, f"In-Reply-To: <{lt.in_reply_to}>")
    tail = [f"X-Mailer: {mailer}", f"Thread-Index: {r.b64(16)}", "Content-Language: th"]
    if parts:
        return entity([*head, f'Content-Type: multipart/mixed;\r\n\tboundary="{mixed_b}"', *tail],
                      multipart(mixed_b, [alt, *parts],
                                preamble="This is a multipart message in MIME format.\r\n")), mid
    return entity([*head, f'Content-Type: multipart/alternative;\r\n\tboundary="{alt_b}"', *tail],
                  b"This is a multipart message in MIME format.\r\n\r\n"
                  + alt.split(b"\r\n\r\n", 1)[1]), mid


def outlook_mac(lt: Letter, r: Rand) -> tuple[bytes, str]:
    """Outlook for Mac 16: ``B_<digits>_<digits>`` boundaries, lower-case ``Content-type``,
    the "> This message is in MIME format" preamble, RFC 2047 file names."""
    stamp = r.digits(10)
    mixed_b, alt_b = f"B_{stamp}_{r.digits(10)}", f"B_{stamp}_{r.digits(10)}"
    mid = lt.message_id or f"{r.uuid(True)}@{lt.sender.split('@')[1]}"
    alt = entity([f'Content-type: multipart/alternative;\r\n\tboundary="{alt_b}"'], multipart(
        alt_b, [entity(['Content-type: text/plain;\r\n\tcharset="UTF-8"',
                        "Content-transfer-encoding: quoted-printable"], qp(lt.body)),
                entity(['Content-type: text/html;\r\n\tcharset="UTF-8"',
                        "Content-transfer-encoding: quoted-printable"], qp(html_of(lt.body)))]))
    parts = [entity([f'Content-type: {d.declared}; name="{enc(d.name, "UTF-8", sep=FOLD)}"',
                     f'Content-disposition: attachment;\r\n\tfilename="'
                     f'{enc(d.name, "UTF-8", sep=FOLD)}"',
                     "Content-transfer-encoding: base64"], b64(d.data)) for d in lt.docs]
    head = ["User-Agent: Microsoft-MacOutlook/16.89.24091630",
            f"Date: {rfc822_date(lt.date, zero_pad=True)}", f"Subject: {enc(lt.subject, 'UTF-8')}",
            f"From: {enc(lt.sender_name, 'UTF-8')} <{lt.sender}>", f"To: <{MAILBOX}>",
            f"Message-ID: <{mid}>", f"Thread-Topic: {enc(lt.subject, 'UTF-8')}",
            "Mime-version: 1.0"]
    preamble = ("> This message is in MIME format. Since your mail reader does not understand\r\n"
                "this format, some or all of this message may not be legible.\r\n")
    if not parts:
        return entity([*head, f'Content-type: multipart/alternative;\r\n\tboundary="{alt_b}"'],
                      preamble.encode() + b"\r\n" + alt.split(b"\r\n\r\n", 1)[1]), mid
    return entity([*head, f'Content-type: multipart/mixed;\r\n\tboundary="{mixed_b}"'],
                  multipart(mixed_b, [alt, *parts], preamble=preamble)), mid


def yahoo(lt: Letter, r: Rand) -> tuple[bytes, str]:
    """Yahoo Mail web (small offices' addresses): JavaMail ``----=_Part_`` boundaries,
    X-Mailer WebService/YMailNorrin, RFC 2047 file names, Content-ID on every file."""
    millis = int(lt.date.timestamp() * 1000)
    mid = lt.message_id or f"{r.digits(9)}.{r.digits(7)}.{millis}@mail.yahoo.com"
    mixed_b = f"----=_Part_{r.digits(7)}_{r.digits(9)}.{millis}"
    alt_b = f"----=_Part_{r.digits(7)}_{r.digits(9)}.{millis}"
    alt = entity([f'Content-Type: multipart/alternative; \r\n\tboundary="{alt_b}"'], multipart(
        alt_b, [entity(["Content-Type: text/plain; charset=UTF-8",
                        "Content-Transfer-Encoding: quoted-printable"], qp(lt.body)),
                entity(["Content-Type: text/html; charset=UTF-8",
                        "Content-Transfer-Encoding: quoted-printable"],
                       qp(html_of(lt.body, wrapper="div")))]))
    parts = [entity([f"Content-Type: {d.declared}",
                     "Content-Transfer-Encoding: base64",
                     f'Content-Disposition: attachment; \r\n\tfilename="'
                     f'{enc(d.name, "UTF-8", sep=FOLD_TAB)}"',
                     f"Content-ID: <{r.hex(8)}-{r.hex(4)}@yahoo.com>"], b64(d.data))
             for d in lt.docs]
    head = [f"Date: {rfc822_date(lt.date)}", f"From: {enc(lt.sender_name, 'UTF-8')} <{lt.sender}>",
            f"To: {MAILBOX}", f"Message-ID: <{mid}>",
            f"Subject: {enc(lt.subject, 'UTF-8', sep=FOLD)}", "MIME-Version: 1.0",
            "X-Mailer: WebService/1.1.22941 YMailNorrin"]
    if not parts:
        top = alt.split(b"\r\n\r\n", 1)
        return entity([*head, top[0].decode()], top[1]), mid
    return entity([*head, f'Content-Type: multipart/mixed; \r\n\tboundary="{mixed_b}"'],
                  multipart(mixed_b, [alt, *parts])), mid


def outlook_express(lt: Letter, r: Rand, *, label: str = "windows-874") -> tuple[bytes, str]:
    """Outlook Express 6 / Windows Mail: X-MimeOLE, X-Priority, words in the user's code page."""
    mid = lt.message_id or f"00{r.hex(2)}01c9{r.hex(4)}${r.hex(8)}${r.hex(8)}@pc{r.digits(3)}"
    part_id = f"{r.hex(4, True)}_01C9B2C4.{r.hex(8, True)}"
    mixed_b, alt_b = f"----=_NextPart_000_{part_id}", f"----=_NextPart_001_{part_id}"
    alt = entity([f'Content-Type: multipart/alternative;\r\n\tboundary="{alt_b}"', ""][:1],
                 multipart(alt_b, [
                     entity([f'Content-Type: text/plain;\r\n\tcharset="{label}"',
                             "Content-Transfer-Encoding: quoted-printable"], qp(lt.body, label)),
                     entity([f'Content-Type: text/html;\r\n\tcharset="{label}"',
                             "Content-Transfer-Encoding: quoted-printable"],
                            qp(html_of(lt.body, label), label)),
                 ]))
    parts = []
    for d in lt.docs:
        name = enc(d.name, label, sep="\r\n\t")
        parts.append(entity([f'Content-Type: {d.declared};\r\n\tname="{name}"',
                             "Content-Transfer-Encoding: base64",
                             f'Content-Disposition: attachment;\r\n\tfilename="{name}"'],
                            b64(d.data)))
    head = [
        f"Message-ID: <{mid}>",
        f"From: \"{enc(lt.sender_name, label)}\" <{lt.sender}>",
        f"To: <{MAILBOX}>",
        f"Subject: {enc(lt.subject, label, sep=FOLD_TAB)}",
        f"Date: {rfc822_date(lt.date)}",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/mixed;\r\n\tboundary="{mixed_b}"',
        "X-Priority: 3", "X-MSMail-Priority: Normal",
        "X-Mailer: Microsoft Outlook Express 6.00.2900.5931",
        "X-MimeOLE: Produced By Microsoft MimeOLE V6.00.2900.6157",
    ]
    return entity(head, multipart(mixed_b, [alt, *parts],
                                  preamble="This is a multi-part message in MIME format.\r\n")), mid


def _gmail_headers(lt: Letter, r: Rand, mid: str, domain: str) -> list[str]:
    when = rfc822_date(lt.date)
    stamp = int(lt.date.timestamp())
    return [
        f"Received: by mail-pj1-f{r.digits(2)}.google.com with SMTP id "
        f"{r.alnum(12).lower()}so{r.digits(7)}pjb.{r.digits(1)}\r\n"
        f"        for <{MAILBOX}>; {when}",
        f"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n"
        f"        d={domain}; s=20230601; t={stamp}; x={stamp + 604800}; darn=moi.go.th;\r\n"
        f"        h=to:subject:message-id:date:from:mime-version:from:to:cc:subject\r\n"
        f"         :date:message-id:reply-to;\r\n"
        f"        bh={r.b64(32)};\r\n"
        f"        b={r.b64(96)}\r\n         {r.b64(96)}",
        f"X-Google-DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n"
        f"        d=1e100.net; s=20230601; t={int(lt.date.timestamp())};\r\n"
        f"        bh={r.b64(32)};\r\n        b={r.b64(96)}",
        f"X-Gm-Message-State: AOJu0Y{r.alnum(60)}",
        f"X-Google-Smtp-Source: AGHT+I{r.alnum(70)}",
        f"X-Received: by 2002:a17:90b:{r.hex(4)}:b0:{r.hex(3)}:{r.hex(4)}:{r.hex(4)}"
        " with SMTP id\r\n"
        f" {r.alnum(20).lower()}.{r.digits(2)}.{r.digits(13)}; {when}",
        "MIME-Version: 1.0",
    ]


def gmail(lt: Letter, r: Rand, *, domain: str = "gmail.com", arc: bool = False,
          text_cte: str = "base64") -> tuple[bytes, str]:
    """Gmail web: 000000000000… boundaries, base64 UTF-8, Content-ID/X-Attachment-Id."""
    mid = lt.message_id or f"CA{r.alnum(10)}+{r.alnum(30)}_{r.alnum(10)}@mail.gmail.com"
    stamp = r.hex(16)

    def boundary() -> str:
        return "000000000000" + stamp[:8] + r.hex(8)

    alt_b = boundary()
    text = b64(crlf(lt.body)) if text_cte == "base64" else qp(lt.body)
    alt = entity([f'Content-Type: multipart/alternative; boundary="{alt_b}"'], multipart(alt_b, [
        entity(['Content-Type: text/plain; charset="UTF-8"',
                f"Content-Transfer-Encoding: {text_cte}"], text),
        entity(['Content-Type: text/html; charset="UTF-8"',
                f"Content-Transfer-Encoding: {text_cte}"],
               b64(html_of(lt.body).encode()) if text_cte == "base64" else qp(html_of(lt.body))),
    ]))
    shown, files = pictures(lt)
    if shown:
        def pasted(n: int, d: Doc) -> bytes:
            cid = f"ii_m{r.alnum(7).lower()}{n}"
            return entity([f'Content-Type: {d.declared}; name="{d.name}"',
                           f'Content-Disposition: inline; filename="{d.name}"',
                           "Content-Transfer-Encoding: base64", f"Content-ID: <{cid}>",
                           f"X-Attachment-Id: {cid}"], b64(d.data))
        alt = related(alt, [pasted(n, d) for n, d in enumerate(shown)], boundary(), fold=" ")
    parts = []
    for n, d in enumerate(files):
        att = f"f_m{r.alnum(6).lower()}{n}"
        name = enc(d.name, "UTF-8", sep="\r\n\t")
        parts.append(entity([
            f'Content-Type: {d.declared}; name="{name}"',
            f'Content-Disposition: {"inline" if d.inline else "attachment"}; filename="{name}"',
            "Content-Transfer-Encoding: base64", f"Content-ID: <{att}>",
            f"X-Attachment-Id: {att}"], b64(d.data)))
    head = _gmail_headers(lt, r, mid, domain)
    if arc:  # routed through Google Workspace to the agency's server: the ARC set first
        head = [
            f"ARC-Seal: i=1; a=rsa-sha256; t={int(lt.date.timestamp())}; cv=none;\r\n"
            f"        d=google.com; s=arc-20240605;\r\n        b={r.b64(96)}",
            "ARC-Message-Signature: i=1; a=rsa-sha256; c=relaxed/relaxed; d=google.com;"
            " s=arc-20240605;\r\n        h=to:subject:message-id:date:from:mime-version"
            f":dkim-signature;\r\n        bh={r.b64(32)};\r\n        b={r.b64(96)}",
            f"ARC-Authentication-Results: i=1; mx.google.com;\r\n       dkim=pass"
            f" header.i=@{domain} header.s=google header.b={r.alnum(8)};\r\n"
            f"       spf=pass (google.com: domain of {lt.sender} designates"
            f" 209.85.220.41 as permitted sender) smtp.mailfrom={lt.sender};\r\n"
            f"       dmarc=pass (p=NONE sp=NONE dis=NONE) header.from={domain}",
            f"Return-Path: <{lt.sender}>", *head]
    if lt.in_reply_to:
        head += [f"References: <{lt.in_reply_to}>", f"In-Reply-To: <{lt.in_reply_to}>"]
    head += [
        f"From: {enc(lt.sender_name, 'UTF-8', sep=FOLD_TAB)} <{lt.sender}>",
        f"Date: {rfc822_date(lt.date)}",
        f"Message-ID: <{mid}>",
        f"Subject: {enc(lt.subject, 'UTF-8', sep=FOLD_TAB)}",
        f"To: {MAILBOX}",
    ]
    if parts:
        mixed_b = boundary()
        return entity([*head, f'Content-Type: multipart/mixed; boundary="{mixed_b}"'],
                      multipart(mixed_b, [alt, *parts])), mid
    top = alt.split(b"\r\n\r\n", 1)
    return entity([*head, top[0].decode()], top[1]), mid


def _tb_attachment(d: Doc, label: str = "UTF-8") -> bytes:
    name = enc(d.name, label, sep="\r\n ")
    if d.name.isascii():
        disp = f'filename="{d.name}"'
    else:
        disp = rfc2231("filename", d.name, label, sep="\r\n ")
    return entity([
        f'Content-Type: {d.declared}; name="{name}"',
        f"Content-Disposition: {'inline' if d.inline else 'attachment'};\r\n {disp}",
        "Content-Transfer-Encoding: base64"], b64(d.data, 72))


def thunderbird(lt: Letter, r: Rand, *, old: bool = False, label: str = "UTF-8"
                ) -> tuple[bytes, str]:
    """Thunderbird 115: ------------<24 alnum>, format=flowed 8bit, filename*0*= continuations.

    ``old``: Thunderbird 2–38 with digits-only boundaries, a Gecko User-Agent and the Thai
    encoding the user picked (TIS-620 or windows-874) for subject and body.
    """
    domain = lt.sender.split("@")[1]
    if old:
        mid = lt.message_id or f"{r.hex(8).upper()}.{r.digits(7)}@{domain}"
        boundary = "------------" + r.digits(24)
        agent = ("User-Agent: Mozilla/5.0 (Windows NT 6.1; rv:38.0) Gecko/20100101 "
                 "Thunderbird/38.5.0")
        text_part = entity([f"Content-Type: text/plain; charset={label}; format=flowed",
                            "Content-Transfer-Encoding: 8bit"], crlf(lt.body, label))
    else:
        mid = lt.message_id or f"{r.uuid()}@{domain}"
        boundary = "------------" + r.alnum(24)
        agent = "User-Agent: Mozilla Thunderbird"
        text_part = entity(["Content-Type: text/plain; charset=UTF-8; format=flowed",
                            "Content-Transfer-Encoding: 8bit"], flowed(lt.body))
    head = [f'Content-Type: multipart/mixed; boundary="{boundary}"'] if lt.docs else [
        f"Content-Type: text/plain; charset={'UTF-8' if not old else label}; format=flowed",
        "Content-Transfer-Encoding: 8bit"]
    head += [f"Message-ID: <{mid}>", f"Date: {rfc822_date(lt.date)}", "MIME-Version: 1.0", agent]
    if lt.in_reply_to:
        head += [f"References: <{lt.in_reply_to}>", f"In-Reply-To: <{lt.in_reply_to}>"]
    head += ["Content-Language: th", f"To: {MAILBOX}",
             f"From: {enc(lt.sender_name, label)} <{lt.sender}>",
             f"Subject: {enc(lt.subject, label)}"]
    if not lt.docs:
        return entity(head, text_part.split(b"\r\n\r\n", 1)[1]), mid
    files = [_tb_attachment(d, "UTF-8" if d.name.isascii() else label) for d in lt.docs]
    return entity(head, multipart(boundary, [text_part, *files],
                                  preamble="This is a multi-part message in MIME format.")), mid


def _apple_attachment(d: Doc, *, inline: bool) -> bytes:
    if d.name.isascii():
        disp, name = f"filename={d.name}" if " " not in d.name else f'filename="{d.name}"', d.name
        name = f'"{name}"'
    else:
        disp = rfc2231("filename", d.name, "utf-8", sep="\r\n\t")
        name = f'"{enc(d.name, "utf-8", sep=FOLD_TAB)}"'
    return entity([
        f"Content-Disposition: {'inline' if inline else 'attachment'};\r\n\t{disp}",
        f"Content-Type: {d.declared};\r\n\tx-unix-mode=0644;\r\n\tname={name}",
        "Content-Transfer-Encoding: base64"], b64(d.data))


def apple_mail(lt: Letter, r: Rand, *, rich: bool = True) -> tuple[bytes, str]:
    """Apple Mail on macOS. ``rich``: HTML with the files *inline* inside the alternative
    (multipart/alternative → text/plain, multipart/mixed → html, file, html); otherwise plain
    text, the files as attachments and the text after them as another text/plain part."""
    mid = lt.message_id or f"{r.uuid(True)}@{lt.sender.split('@')[1]}"
    outer = f"Apple-Mail={r.uuid(True)}".replace("Apple-Mail=", "Apple-Mail=_")
    text = entity(["Content-Transfer-Encoding: quoted-printable",
                   "Content-Type: text/plain;\r\n\tcharset=utf-8"], qp(lt.body))
    head = [f"From: {enc(lt.sender_name, sep=FOLD_TAB)} <{lt.sender}>"]
    if rich and lt.docs:
        inner = f"Apple-Mail=_{r.uuid(True)}"
        mixed = entity([f'Content-Type: multipart/mixed;\r\n\tboundary="{inner}"'], multipart(
            inner, [
                entity(["Content-Transfer-Encoding: quoted-printable",
                        "Content-Type: text/html;\r\n\tcharset=utf-8"],
                       qp('<html><head><meta http-equiv="content-type" content="text/html; '
                          'charset=utf-8"></head><body style="overflow-wrap: break-word;">'
                          + html.escape(lt.body).replace("\n", "<br>") + "<div></div>")),
                *(_apple_attachment(d, inline=d.inline) for d in lt.docs),
                entity(["Content-Transfer-Encoding: 7bit",
                        "Content-Type: text/html;\r\n\tcharset=us-ascii"],
                       b"<html><head><meta http-equiv=\"content-type\" content=\"text/html; "
                       b"charset=us-ascii\"></head><body style=\"overflow-wrap: break-word;\">"
                       b"<div></div></body></html>"),
            ]))
        ctype = f'Content-Type: multipart/alternative;\r\n\tboundary="{outer}"'
        body = multipart(outer, [text, mixed])
    elif lt.docs:
        ctype = f'Content-Type: multipart/mixed;\r\n\tboundary="{outer}"'
        body = multipart(outer, [text, *(_apple_attachment(d, inline=False) for d in lt.docs),
                                 entity(["Content-Transfer-Encoding: 7bit",
                                         "Content-Type: text/plain;\r\n\tcharset=us-ascii"],
                                        b"\r\n\r\n")])
    else:
        ctype = "Content-Type: text/plain;\r\n\tcharset=utf-8"
        head.append("Content-Transfer-Encoding: quoted-printable")
        body = qp(lt.body)
    head += [ctype, "Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3826.300.87.4.3\\))",
             f"Subject: {enc(lt.subject, sep=FOLD_TAB)}"]
    if lt.in_reply_to:
        head += [f"In-Reply-To: <{lt.in_reply_to}>", f"References: <{lt.in_reply_to}>"]
    head += [f"Message-Id: <{mid}>", f"Date: {rfc822_date(lt.date)}",
             f"To: {enc(MAILBOX_NAME)} <{MAILBOX}>", "X-Mailer: Apple Mail (2.3826.300.87.4.3)"]
    return entity(head, body), mid


def ios_mail(lt: Letter, r: Rand) -> tuple[bytes, str]:
    """iPhone Mail: Apple-Mail-<UUID> (no =_), attachments before the closing text."""
    mid = lt.message_id or f"{r.uuid(True)}@{lt.sender.split('@')[1]}"
    b = f"Apple-Mail-{r.uuid(True)}"
    parts = [entity(["Content-Type: text/plain;\r\n\tcharset=utf-8",
                     "Content-Transfer-Encoding: quoted-printable"], qp(lt.body))]
    parts += [_apple_attachment(d, inline=False) for d in lt.docs]
    parts.append(entity(["Content-Type: text/plain;\r\n\tcharset=utf-8",
                         "Content-Transfer-Encoding: quoted-printable"],
                        qp("\nส่งจาก iPhone ของฉัน")))
    return entity([
        f'Content-Type: multipart/mixed; boundary="{b}"',
        "Content-Transfer-Encoding: 7bit",
        f"From: {enc(lt.sender_name)} <{lt.sender}>",
        "Mime-Version: 1.0 (1.0)",
        f"Date: {rfc822_date(lt.date)}",
        f"Subject: {enc(lt.subject)}",
        f"Message-Id: <{mid}>",
        f"To: {MAILBOX}",
        "X-Mailer: iPhone Mail (21G93)"], multipart(b, parts)), mid


def zimbra(lt: Letter, r: Rand, *, host: str = "mail.go.th") -> tuple[bytes, str]:
    """Zimbra web client (MailGoThai and ministry servers): =_<uuid> boundaries, JavaMail ids."""
    mid = lt.message_id or (f"{r.digits(9)}.{r.digits(6)}.{int(lt.date.timestamp() * 1000)}"
                           f".JavaMail.zimbra@{lt.sender.split('@')[1]}")
    alt_b, mixed_b = f"=_{r.uuid()}", f"=_{r.uuid()}"
    alt = entity([f'Content-Type: multipart/alternative; \r\n\tboundary="{alt_b}"'], multipart(
        alt_b, [
            entity(["Content-Type: text/plain; charset=utf-8",
                    "Content-Transfer-Encoding: quoted-printable"], qp(lt.body)),
            entity(["Content-Type: text/html; charset=utf-8",
                    "Content-Transfer-Encoding: quoted-printable"],
                   qp("<html><body><div style=\"font-family: tahoma, sans-serif; font-size: "
                      "12pt; color: #000000\">" + html.escape(lt.body).replace("\n", "<br>")
                      + "</div></body></html>")),
        ]))
    parts = []
    for d in lt.docs:
        if d.name.isascii():
            ct = f'name="{d.name}"' if " " in d.name else f"name={d.name}"
            cd = f"filename={d.name}"
        else:
            ct = f'name="{enc(d.name, "utf-8", sep=" ")}"'
            cd = rfc2231("filename", d.name, "utf-8", width=900)
        parts.append(entity([f"Content-Type: {d.declared}; {ct}",
                             f"Content-Disposition: {'inline' if d.inline else 'attachment'}; {cd}",
                             "Content-Transfer-Encoding: base64"], b64(d.data)))
    head = [
        f"Received: from {host} (LHLO {host}) (10.10.{r.digits(2)}.{r.digits(2)}) by {host}\r\n"
        f" with LMTP; {rfc822_date(lt.date)} (ICT)",
        f"Date: {rfc822_date(lt.date, comment='ICT')}",
        f"From: {enc(lt.sender_name, 'utf-8', q=False)} <{lt.sender}>",
        f"To: saraban <{MAILBOX}>",
        f"Message-ID: <{mid}>",
    ]
    if lt.in_reply_to:
        head.append(f"In-Reply-To: <{lt.in_reply_to}>")
    head += [f"Subject: {enc(lt.subject, 'utf-8', sep=FOLD_TAB)}",
             "MIME-Version: 1.0"]
    if parts:
        head.append(f'Content-Type: multipart/mixed; \r\n\tboundary="{mixed_b}"')
    else:
        head.append(f'Content-Type: multipart/alternative; \r\n\tboundary="{alt_b}"')
    head += [f"X-Originating-IP: [10.10.{r.digits(2)}.{r.digits(2)}]",
             "X-Mailer: Zimbra 8.8.15_GA_4484 (ZimbraWebClient - GC131 (Win)/8.8.15_GA_4481)",
             f"Thread-Index: {r.b64(18)}", f"Thread-Topic: {enc(lt.subject, 'utf-8')}"]
    if parts:
        return entity(head, multipart(mixed_b, [alt, *parts])), mid
    return entity(head, alt.split(b"\r\n\r\n", 1)[1]), mid


def roundcube(lt: Letter, r: Rand, *, folding: int = 1) -> tuple[bytes, str]:
    """Roundcube 1.6 (Mail_mime): =_<md5> boundary, Q-encoded subject, format=flowed QP,
    ``mime_param_folding`` 0 (full RFC 2231), 1 (2047 name + 2231 filename), 2 (full 2047)."""
    token = r.hex(32)
    domain = lt.sender.split("@")[1]
    mid = lt.message_id or f"{token}@{domain}"
    b = f"=_{token}"
    parts = [entity(["Content-Transfer-Encoding: quoted-printable",
                     "Content-Type: text/plain; charset=UTF-8;\r\n format=flowed"], qp(lt.body))]
    for d in lt.docs:
        if d.name.isascii():
            ct, cd = f"name={d.name}", f"filename={d.name}"
        elif folding == 0:
            ct = rfc2231("name", d.name, "UTF-8", width=62)
            cd = rfc2231("filename", d.name, "UTF-8", width=62)
        elif folding == 1:
            ct = f'name="{enc(d.name, "UTF-8", sep=FOLD)}"'
            cd = rfc2231("filename", d.name, "UTF-8", width=62)
        else:
            ct = f'name="{enc(d.name, "UTF-8", sep=FOLD)}"'
            cd = f'filename="{enc(d.name, "UTF-8", sep=FOLD)}"'
        parts.append(entity(["Content-Transfer-Encoding: base64",
                             f"Content-Type: {d.declared};\r\n {ct}",
                             f"Content-Disposition: attachment;\r\n {cd};\r\n size={len(d.data)}"],
                            b64(d.data)))
    head = ["MIME-Version: 1.0", f"Date: {rfc822_date(lt.date, zero_pad=True)}",
            f"From: {enc(lt.sender_name, 'UTF-8', q=True)} <{lt.sender}>", f"To: {MAILBOX}",
            f"Subject: {enc(lt.subject, 'UTF-8', q=True)}"]
    if lt.in_reply_to:
        head += [f"In-Reply-To: <{lt.in_reply_to}>", f"References: <{lt.in_reply_to}>"]
    head += [f"Message-ID: <{mid}>", f"X-Sender: {lt.sender}",
             "User-Agent: Roundcube Webmail/1.6.9"]
    if len(parts) == 1:
        return entity([*head, "Content-Type: text/plain; charset=UTF-8;\r\n format=flowed",
                       "Content-Transfer-Encoding: quoted-printable"], qp(lt.body)), mid
    return entity([*head, f'Content-Type: multipart/mixed;\r\n boundary="{b}"'],
                  multipart(b, parts)), mid


def squirrelmail(lt: Letter, r: Rand, *, label: str = "tis-620") -> tuple[bytes, str]:
    """SquirrelMail 1.4 with the Thai translation: TIS-620 words and an 8bit TIS-620 body."""
    stamp = lt.date.strftime("%Y%m%d%H%M%S")
    domain = lt.sender.split("@")[1]
    mid = lt.message_id or f"{r.hex(32)}.squirrel@webmail.{domain}"
    b = f"----=_{stamp}_{r.digits(5)}"
    head = [f"Message-ID: <{mid}>", f"Date: {rfc822_date(lt.date)}",
            f"Subject: {enc(lt.subject, label, sep=FOLD)}",
            f'From: "{enc(lt.sender_name, label)}" <{lt.sender}>', f"To: {MAILBOX}",
            "User-Agent: SquirrelMail/1.4.22", "MIME-Version: 1.0"]
    text = entity([f"Content-Type: text/plain;charset={label}", "Content-Transfer-Encoding: 8bit"],
                  crlf(lt.body, label))
    if not lt.docs:
        return entity([*head, f"Content-Type: text/plain;charset={label}",
                       "Content-Transfer-Encoding: 8bit", "X-Priority: 3 (Normal)",
                       "Importance: Normal"], crlf(lt.body, label)), mid
    parts = [text] + [entity([
        f'Content-Type: {d.declared};\r\n name="{enc(d.name, label, sep=" ")}"',
        "Content-Transfer-Encoding: base64",
        f'Content-Disposition: attachment;\r\n filename="{enc(d.name, label, sep=" ")}"'],
        b64(d.data)) for d in lt.docs]
    return entity([*head, f'Content-Type: multipart/mixed;boundary="{b}"',
                   "X-Priority: 3 (Normal)", "Importance: Normal"],
                  multipart(b, parts, preamble="")), mid


def phpmailer(lt: Letter, r: Rand, *, html_only: bool = True) -> tuple[bytes, str]:
    """PHPMailer 6 in Thai e-office / e-saraban systems: b1_ boundaries, HTML-only bodies."""
    token = r.alnum(43)
    domain = lt.sender.split("@")[1]
    mid = lt.message_id or f"{token}@{domain}"
    b1 = f"b1=_{token}"
    if html_only:
        body = entity(["Content-Type: text/html; charset=UTF-8",
                       "Content-Transfer-Encoding: base64"],
                      b64(html_of(lt.body, wrapper="p").encode()))
    else:
        b2 = f"b2=_{token}"
        body = entity([f'Content-Type: multipart/alternative;\r\n boundary="{b2}"'], multipart(
            b2, [entity(["Content-Type: text/plain; charset=UTF-8",
                         "Content-Transfer-Encoding: base64"], b64(crlf(lt.body))),
                 entity(["Content-Type: text/html; charset=UTF-8",
                         "Content-Transfer-Encoding: base64"], b64(html_of(lt.body).encode()))]))
    parts = [body] + [entity([
        f'Content-Type: {d.declared}; name="{enc(d.name, "UTF-8", sep=FOLD)}"',
        "Content-Transfer-Encoding: base64",
        f'Content-Disposition: attachment; filename="{enc(d.name, "UTF-8", sep=FOLD)}"'],
        b64(d.data)) for d in lt.docs]
    head = [f"Date: {rfc822_date(lt.date)}", f"To: {MAILBOX}",
            f"From: {enc(lt.sender_name, 'UTF-8')} <{lt.sender}>",
            f"Subject: {enc(lt.subject, 'UTF-8')}", f"Message-ID: <{mid}>",
            "X-Mailer: PHPMailer 6.9.1 (https://github.com/PHPMailer/PHPMailer)",
            "MIME-Version: 1.0"]
    if len(parts) == 1 and html_only:
        return entity([*head, "Content-Type: text/html; charset=UTF-8",
                       "Content-Transfer-Encoding: base64"],
                      b64(html_of(lt.body, wrapper="p").encode())), mid
    return entity([*head, f'Content-Type: multipart/mixed;\r\n boundary="{b1}"'],
                  multipart(b1, parts, preamble=MULTI_PART)), mid


def lotus_notes(lt: Letter, r: Rand, *, label: str = "TIS-620") -> tuple[bytes, str]:
    """Lotus Notes / Domino 8.5–9 (long the ministries' mail): ``0__=`` boundaries given as
    ``Boundary=``, lower-case ``Content-type``, ``Content-Disposition: inline`` on the
    multipart itself, X-MIMETrack, TIS-620 words and quoted-printable text."""
    domain = lt.sender.split("@")[1]
    token = r.hex(16, True)
    mid = lt.message_id or (f"OF{r.hex(8, True)}.{r.hex(8, True)}-ON{r.hex(8, True)}."
                            f"{r.hex(8, True)}-{r.hex(8, True)}.{r.hex(8, True)}@{domain}")
    mixed_b = f"0__={token}8f9e8a93df938690918c{token}"
    alt_b = f"1__={token}8f9e8a93df938690918c{token}"
    alt = entity([f'Content-type: multipart/alternative; \r\n\tBoundary="{alt_b}"'],
                 multipart(alt_b, [
                     entity([f"Content-type: text/plain; charset={label}",
                             "Content-transfer-encoding: quoted-printable"], qp(lt.body, label)),
                     entity([f"Content-type: text/html; charset={label}",
                             "Content-Disposition: inline",
                             "Content-transfer-encoding: quoted-printable"],
                            qp(html_of(lt.body, label), label))]))
    parts = [entity([
        f'Content-type: {d.declared}; \r\n\tname="{enc(d.name, label, sep=" ")}"',
        f'Content-Disposition: attachment; filename="{enc(d.name, label, sep=" ")}"',
        "Content-transfer-encoding: base64"], b64(d.data)) for d in lt.docs]
    stamp = lt.date.strftime("%d/%m/%Y %H:%M:%S")
    head = ["MIME-Version: 1.0", f"Subject: {enc(lt.subject, label, sep=FOLD_TAB)}",
            f"To: {MAILBOX}", "X-Mailer: Lotus Notes Release 8.5.3 September 15, 2011",
            f"Message-ID: <{mid}>", f"From: {enc(lt.sender_name, label)} <{lt.sender}>",
            f"Date: {rfc822_date(lt.date)}",
            f"X-MIMETrack: Serialize by Router on MAIL01/DOPA(Release 9.0.1FP10|January 20, 2018)"
            f" at\r\n {stamp},\r\n\tSerialize complete at {stamp}"]
    if not parts:
        top = alt.split(b"\r\n\r\n", 1)
        return entity([*head, top[0].decode()], top[1]), mid
    return entity([*head, f'Content-type: multipart/mixed; \r\n\tBoundary="{mixed_b}"',
                   "Content-Disposition: inline"], multipart(mixed_b, [alt, *parts])), mid


def legacy_raw(lt: Letter, r: Rand, *, charset: str = "tis-620") -> tuple[bytes, str]:
    """An old in-house system (PHP mail(), Lotus gateways) writing raw 8-bit headers in the
    body's charset — TIS-620 or UTF-8 — and raw 8-bit quoted file names."""
    domain = lt.sender.split("@")[1]
    mid = lt.message_id or f"{r.digits(10)}.{r.hex(8)}@{domain}"
    b = f"==Multipart_Boundary_x{r.hex(32)}x"
    raw = codec(charset)

    def h(name: str, value: str) -> bytes:
        return f"{name}: ".encode() + value.encode(raw)

    head: list[Header] = [
        f"Date: {rfc822_date(lt.date, weekday=False)}",
        h("From", f'"{lt.sender_name}" <{lt.sender}>'), f"To: {MAILBOX}",
        h("Subject", lt.subject), f"Message-ID: <{mid}>", "MIME-Version: 1.0",
        "X-Mailer: PHP/5.2.17"]
    text = entity([f'Content-Type: text/plain; charset="{charset}"',
                   "Content-Transfer-Encoding: 8bit"], crlf(lt.body, charset))
    if not lt.docs:
        return entity([*head, f'Content-Type: text/plain; charset="{charset}"',
                       "Content-Transfer-Encoding: 8bit"], crlf(lt.body, charset)), mid
    parts = [text] + [entity([
        f'Content-Type: {d.declared};\r\n name="'.encode() + d.name.encode(raw) + b'"',
        b'Content-Disposition: attachment;\r\n filename="' + d.name.encode(raw) + b'"',
        "Content-Transfer-Encoding: base64"], b64(d.data)) for d in lt.docs]
    return entity([*head, f'Content-Type: multipart/mixed;\r\n boundary="{b}"'],
                  multipart(b, parts, preamble=MULTI_PART)), mid


# --------------------------------------------------------------------------- TNEF (winmail.dat)


@dataclass(frozen=True)
class TnefFile:
    long_name: str
    data: bytes
    mime_tag: str = ""
    short_name: str = ""  # attAttachTitle / PR_ATTACH_FILENAME (8.3); "" to use long_name
    long_unicode: bool = True  # PR_ATTACH_LONG_FILENAME as PT_UNICODE (else PT_STRING8)
    with_long: bool = True


def _tnef_attr(level: int, attr: int, data: bytes) -> bytes:
    return struct.pack("<BII", level, attr, len(data)) + data + struct.pack(
        "<H", sum(data) & 0xFFFF)


def _mapi(props: Sequence[tuple[int, int, bytes | int]]) -> bytes:
    """MAPI properties as TNEF writes them (count; type, id, value; strings padded to 4)."""
    out = struct.pack("<I", len(props))
    for ptype, pid, value in props:
        out += struct.pack("<HH", ptype, pid)
        if isinstance(value, int):
            out += struct.pack("<i", value)
        else:
            padded = value + b"\0" * (-len(value) % 4)
            out += struct.pack("<II", 1, len(value)) + padded
    return out


def _tnef_date(when: dt.datetime) -> bytes:
    w = when.astimezone(dt.UTC)
    return struct.pack("<7H", w.year, w.month, w.day, w.hour, w.minute, w.second,
                       (w.weekday() + 1) % 7)


def make_tnef(files: Sequence[TnefFile], *, when: dt.datetime = BASE_DATE,
              codepage: int = 874, subject: str = "", rtf: str = "") -> bytes:
    """winmail.dat as Outlook writes it for rich-text mail (MS-OXTNEF): version, OEM code page,
    message class, date, MAPI properties, then per file attAttachRendData (which opens it),
    attAttachTitle, attAttachModifyDate, attAttachData and attAttachment (MAPI: method,
    long file name, 8.3 name, extension, MIME tag)."""
    cp = f"cp{codepage}"
    out = struct.pack("<IH", 0x223E9F78, 0x1A2B)
    out += _tnef_attr(1, 0x00089006, struct.pack("<I", 0x10000))
    out += _tnef_attr(1, 0x00069007, struct.pack("<II", codepage, 0))
    out += _tnef_attr(1, 0x00078008, b"IPM.Microsoft Mail.Note\0")
    if subject:
        out += _tnef_attr(1, 0x00018004, subject.encode(cp) + b"\0")
    out += _tnef_attr(1, 0x00038005, _tnef_date(when))
    props: list[tuple[int, int, bytes | int]] = [(0x0003, 0x3FDE, 65001), (0x0003, 0x0017, 1)]
    if rtf:  # PR_RTF_COMPRESSED, stored uncompressed ("MELA" header, MS-OXRTFCP)
        raw_rtf = rtf.encode("ascii")
        props.append((0x0102, 0x1009, struct.pack("<II4sI", len(raw_rtf) + 12, len(raw_rtf),
                                                  b"MELA", 0) + raw_rtf))
    out += _tnef_attr(1, 0x00069003, _mapi(props))
    for f in files:
        short = f.short_name or f.long_name
        ext = "." + f.long_name.rsplit(".", 1)[-1] if "." in f.long_name else ""
        out += _tnef_attr(2, 0x00069002, struct.pack("<HiHHI", 1, -1, 0, 0, 0))
        out += _tnef_attr(2, 0x00018010, short.encode(cp) + b"\0")
        out += _tnef_attr(2, 0x00038013, _tnef_date(when))
        out += _tnef_attr(2, 0x0006800F, f.data)
        props = [(0x0003, 0x3705, 1)]
        if f.with_long:
            if f.long_unicode:
                props.append((0x001F, 0x3707, f.long_name.encode("utf-16-le") + b"\0\0"))
            else:
                props.append((0x001E, 0x3707, f.long_name.encode(cp) + b"\0"))
        if f.short_name:
            props.append((0x001E, 0x3704, f.short_name.encode(cp) + b"\0"))
        props.append((0x001E, 0x3703, ext.encode() + b"\0"))
        if f.mime_tag:
            props.append((0x001E, 0x370E, f.mime_tag.encode() + b"\0"))
        out += _tnef_attr(2, 0x00069005, _mapi(props))
    return out


# --------------------------------------------------------------------------- S/MIME


SIGNER_CN = "สารบรรณ ปค. Test"


@functools.cache
def smime_identity() -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    """A test CA and the signer certificate it issued (emailProtection, the sender's address)."""
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "TH"),
                         x509.NameAttribute(NameOID.COMMON_NAME, "Saraban Corpus Test CA")])
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "TH"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "กรมการปกครอง"),
                      x509.NameAttribute(NameOID.COMMON_NAME, SIGNER_CN),
                      x509.NameAttribute(NameOID.EMAIL_ADDRESS, "saraban@dopa.go.th")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(ca_name)
            .public_key(key.public_key()).serial_number(0x5A2A)
            .not_valid_before(start).not_valid_after(start + dt.timedelta(days=3650))
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.EMAIL_PROTECTION]),
                           critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.RFC822Name("saraban@dopa.go.th")]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    return cert, key


def _sign(content: bytes, *, detached: bool) -> bytes:
    cert, key = smime_identity()
    options = [pkcs7.PKCS7Options.Binary]
    if detached:
        options.append(pkcs7.PKCS7Options.DetachedSignature)
    return (pkcs7.PKCS7SignatureBuilder().set_data(content)
            .add_signer(cert, key, hashes.SHA256()).sign(serialization.Encoding.DER, options))


def split_head(raw: bytes) -> tuple[list[bytes], bytes]:
    head, body = raw.split(b"\r\n\r\n", 1)
    lines: list[bytes] = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and lines:
            lines[-1] += b"\r\n" + line
        else:
            lines.append(line)
    return lines, body


def signed(raw: bytes, r: Rand, *, style: str, tamper: bool = False) -> bytes:
    """Wrap a client's mail in S/MIME the way that client does: the content headers move into
    the signed entity, the others stay outside. ``style``: outlook (x-pkcs7-signature, OID
    micalg, _NextPart_), thunderbird (------------ms…), apple (Apple-Mail=_), opaque (p7m)."""
    lines, body = split_head(raw)
    content = [h for h in lines if h.lower().startswith((b"content-", b"mime-version"))]
    outer = [h for h in lines if h not in content]
    entity_bytes = entity([h for h in content if not h.lower().startswith(b"mime-version")], body)
    signature = _sign(entity_bytes, detached=style != "opaque")
    if tamper:  # one byte changed after signing (inside the p7m for an opaque signature)
        entity_bytes = entity_bytes.replace(b"Content-Type:", b"Content-type:", 1)
        signature = signature.replace(b"Content-Type:", b"Content-type:", 1)
    if style == "opaque":
        return entity([*outer, "MIME-Version: 1.0",
                       "Content-Type: application/pkcs7-mime; smime-type=signed-data;\r\n"
                       '\tname="smime.p7m"',
                       "Content-Transfer-Encoding: base64",
                       'Content-Disposition: attachment;\r\n\tfilename="smime.p7m"'],
                      b64(signature))
    if style == "outlook":
        b = f"----=_NextPart_000_{r.hex(4, True)}_01DB{r.hex(4, True)}.{r.hex(8, True)}"
        ctype = (f'Content-Type: multipart/signed;\r\n\tprotocol="application/x-pkcs7-signature";'
                 f'\r\n\tmicalg=2.16.840.1.101.3.4.2.1;\r\n\tboundary="{b}"')
        sig = entity(['Content-Type: application/x-pkcs7-signature;\r\n\tname="smime.p7s"',
                      "Content-Transfer-Encoding: base64",
                      'Content-Disposition: attachment;\r\n\tfilename="smime.p7s"'], b64(signature))
        pre = "This is a multipart message in MIME format.\r\n"
    elif style == "thunderbird":
        b = "------------ms" + r.digits(22)
        ctype = (f'Content-Type: multipart/signed; protocol="application/pkcs7-signature";'
                 f' micalg=sha-256; boundary="{b}"')
        sig = entity(['Content-Type: application/pkcs7-signature; name="smime.p7s"',
                      "Content-Transfer-Encoding: base64",
                      'Content-Disposition: attachment; filename="smime.p7s"',
                      "Content-Description: S/MIME Cryptographic Signature"],
                     b64(signature) + b"\r\n")
        pre = "This is a cryptographically signed message in MIME format.\r\n"
    else:
        b = f"Apple-Mail=_{r.uuid(True)}"
        ctype = (f'Content-Type: multipart/signed;\r\n\tboundary="{b}";\r\n'
                 f'\tprotocol="application/pkcs7-signature";\r\n\tmicalg=sha-256')
        sig = entity(["Content-Disposition: attachment;\r\n\tfilename=smime.p7s",
                      "Content-Type: application/pkcs7-signature;\r\n\tname=smime.p7s",
                      "Content-Transfer-Encoding: base64"], b64(signature))
        pre = ""
    return entity([*outer, "MIME-Version: 1.0", ctype],
                  multipart(b, [entity_bytes, sig], preamble=pre))


# --------------------------------------------------------------------------- forwards and replies

THAI_MONTHS = ("มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน", "พฤษภาคม", "มิถุนายน", "กรกฎาคม",
               "สิงหาคม", "กันยายน", "ตุลาคม", "พฤศจิกายน", "ธันวาคม")


def thai_date(when: dt.datetime) -> str:
    return (f"{when.day} {THAI_MONTHS[when.month - 1]} {when.year + 543} "
            f"{when.hour}:{when.minute:02d}")


def inline_forward(orig: Letter, forwarder: tuple[str, str], note: str, *, style: str,
                   when: dt.datetime) -> Letter:
    """What the forwarder's client puts in the new mail: its own note, the quoted header block
    in that client's words, the original text, and the original's files at the top level."""
    if style == "outlook":
        block = ("________________________________\n"
                 f"จาก: {orig.sender_name} <{orig.sender}>\n"
                 f"ส่ง: {thai_date(orig.date)}\n"
                 f"ถึง: {MAILBOX_NAME} <{MAILBOX}>\n"
                 f"เรื่อง: {orig.subject}\n\n")
        subject = "FW: " + orig.subject
    elif style == "gmail":
        block = ("---------- Forwarded message ---------\n"
                 f"From: {orig.sender_name} <{orig.sender}>\n"
                 f"Date: {orig.date.strftime('%a, %b %-d, %Y at %-I:%M %p')}\n"
                 f"Subject: {orig.subject}\n"
                 f"To: <{MAILBOX}>\n\n")
        subject = "Fwd: " + orig.subject
    else:  # thunderbird
        block = ("-------- Forwarded Message --------\n"
                 f"Subject: \t{orig.subject}\n"
                 f"Date: \t{rfc822_date(orig.date)}\n"
                 f"From: \t{orig.sender_name} <{orig.sender}>\n"
                 f"To: \t{MAILBOX}\n\n")
        subject = "Fwd: " + orig.subject
    address, name = forwarder
    return dataclasses.replace(
        orig, subject=subject, sender=address, sender_name=name, date=when, message_id="",
        body=f"{note}\n\n{block}{orig.body}", snippet=orig.snippet)


def rfc822_part(inner: bytes, subject: str, *, style: str, when: dt.datetime) -> bytes:
    """A mail attached whole, in the attaching client's words."""
    if style == "outlook":
        stamp = utc(when).strftime("%a, %d %b %Y %H:%M:%S GMT")
        head = ["Content-Type: message/rfc822",
                f'Content-Disposition: attachment;\r\n\tcreation-date="{stamp}";\r\n'
                f'\tmodification-date="{stamp}"']
    elif style == "gmail":
        name = enc(subject + ".eml", "UTF-8", sep="\r\n\t")
        head = [f'Content-Type: message/rfc822; name="{name}"',
                f'Content-Disposition: attachment; filename="{name}"',
                f"Content-ID: <f_m{hashlib.sha1(inner).hexdigest()[:8]}0>",
                f"X-Attachment-Id: f_m{hashlib.sha1(inner).hexdigest()[:8]}0"]
    elif style == "thunderbird":
        head = [f'Content-Type: message/rfc822; charset=UTF-8;\r\n name="{enc(subject + ".eml")}"',
                "Content-Disposition: attachment;\r\n "
                + rfc2231("filename", subject + ".eml", "UTF-8")]
    else:  # apple
        head = ["Content-Disposition: attachment;\r\n\t"
                + rfc2231("filename", subject + ".eml", "utf-8", sep="\r\n\t"),
                "Content-Type: message/rfc822;\r\n\tx-unix-mode=0666;\r\n"
                f'\tname="{enc(subject + ".eml", sep=FOLD_TAB)}"']
    return entity(head, inner)


def attach_messages(outer: bytes, parts: Sequence[bytes]) -> bytes:
    """Append whole-message parts to a client-written multipart/mixed mail (before its close)."""
    head, body = outer.split(b"\r\n\r\n", 1)
    marker = head.split(b'boundary="', 1)[1].split(b'"', 1)[0]
    close = b"--" + marker + b"--"
    extra = b"".join(b"--" + marker + b"\r\n" + p + b"\r\n" for p in parts)
    before, after = body.rsplit(close, 1)
    return head + b"\r\n\r\n" + before + extra + close + after


# --------------------------------------------------------------------------- kept apart

OUR_SUBJECT = "ที่ มท 0208/1234 เรื่อง ขอเชิญประชุมคณะทำงาน"
OUR_ID = "6f1c2a9e-4b7d-5e3f-9a81-2c4d6e8f0a1b@moi.go.th"


def auto_reply(r: Rand, *, sender: tuple[str, str], subject: str, headers: Sequence[str],
               body: str, when: dt.datetime, mailer: str) -> tuple[bytes, str]:
    """An answer a mail server or client sends by itself, in that system's header set."""
    address, name = sender
    mid = f"{r.hex(24)}@{address.split('@')[1]}"
    if mailer == "exchange":
        host = f"SG2PR0{r.digits(1)}MB{r.digits(4)}"
        mid = f"{host}{r.hex(28, True)}@{host}.apcprd0{r.digits(1)}.prod.outlook.com"
    head = [f"From: {enc(name)} <{address}>", f"To: {MAILBOX}",
            f"Subject: {enc(subject)}", f"Date: {rfc822_date(when)}", f"Message-ID: <{mid}>",
            f"In-Reply-To: <{OUR_ID}>", f"References: <{OUR_ID}>", *headers, "MIME-Version: 1.0",
            'Content-Type: text/plain; charset="utf-8"', "Content-Transfer-Encoding: base64"]
    return entity(head, b64(crlf(body))), mid


def our_own(r: Rand, *, when: dt.datetime, sender: str = MAILBOX,
            extra: Sequence[str] = (), received: int = 1) -> tuple[bytes, str]:
    """A mail in Saraban's own outgoing shape (what a loop brings back)."""
    uid = r.uuid()
    hops = [f"Received: from relay{n}.moi.go.th (relay{n}.moi.go.th [10.1.{n % 250}.9])\r\n"
            f"\tby mx{n}.moi.go.th (Postfix) with ESMTP id {r.hex(10, True)};\r\n"
            f"\t{rfc822_date(when)}" for n in range(received)]
    head = [*hops, f"From: {enc(MAILBOX_NAME)} <{sender}>", "To: saraban@dopa.go.th",
            f"Subject: {enc(OUR_SUBJECT)}", f"Date: {rfc822_date(when)}",
            f"Message-ID: <{uid}@moi.go.th>", f"X-Saraban-Message: {uid}", *extra,
            "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: base64"]
    return entity(head, b64(crlf("เรียน อธิบดีกรมการปกครอง\nตามหนังสือที่อ้างถึง\n"))), f"{uid}@moi.go.th"


def postfix_dsn(r: Rand, *, recipient: str, action: str, status: str, diagnostic: str,
                original_id: str, full: bool, when: dt.datetime) -> bytes:
    """A postfix bounce (failed) or delay warning, RET=HDRS or RET=FULL."""
    qid = r.hex(11, True)
    b = f"{qid}.{int(when.timestamp())}/mail.moi.go.th"
    delayed = action == "delayed"
    subject = ("Delayed Mail (still being retried)" if delayed
               else "Undelivered Mail Returned to Sender")
    notice = ("This is the mail system at host mail.moi.go.th.\n\n"
              + ("####################################################################\n"
                 "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\n"
                 "####################################################################\n\n"
                 "Your message could not be delivered for more than 4 hour(s).\n"
                 "It will be retried until it is 5 day(s) old.\n" if delayed else
                 "I'm sorry to have to inform you that your message could not\n"
                 "be delivered to one or more recipients. It's attached below.\n")
              + f"\n                   The mail system\n\n<{recipient}>: {diagnostic}\n")
    original = entity([
        "Return-Path: <saraban@moi.go.th>",
        f"From: {enc(MAILBOX_NAME)} <{MAILBOX}>", f"To: {recipient}",
        f"Subject: {enc(OUR_SUBJECT)}", f"Date: {rfc822_date(when - dt.timedelta(hours=4))}",
        f"Message-ID: <{original_id}>", f"X-Saraban-Message: {original_id.split('@')[0]}",
        "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: base64"], b64(crlf("เรียน นายกองค์การบริหารส่วนตำบล\n")))
    returned = (entity(["Content-Description: Undelivered Message",
                        "Content-Type: message/rfc822", "Content-Transfer-Encoding: 8bit"],
                       original)
                if full else
                entity(["Content-Description: Undelivered Message Headers",
                        "Content-Type: text/rfc822-headers", "Content-Transfer-Encoding: 8bit"],
                       original.split(b"\r\n\r\n", 1)[0] + b"\r\n"))
    report = (f"Reporting-MTA: dns; mail.moi.go.th\nX-Postfix-Queue-ID: {qid}\n"
              f"X-Postfix-Sender: rfc822; {MAILBOX}\n"
              f"Arrival-Date: {rfc822_date(when - dt.timedelta(hours=4))}\n\n"
              f"Final-Recipient: rfc822; {recipient}\nOriginal-Recipient: rfc822;{recipient}\n"
              f"Action: {action}\nStatus: {status}\n"
              f"Diagnostic-Code: smtp; {diagnostic}\n"
              + (f"Will-Retry-Until: {rfc822_date(when + dt.timedelta(days=5))}\n"
                 if delayed else ""))
    parts = [
        entity(["Content-Description: Notification", "Content-Type: text/plain; charset=utf-8",
                "Content-Transfer-Encoding: 8bit"], crlf(notice)),
        entity(["Content-Description: Delivery report",
                "Content-Type: message/delivery-status"], crlf(report)),
        returned,
    ]
    return entity([
        "Return-Path: <>", f"Date: {rfc822_date(when)}",
        "From: MAILER-DAEMON@mail.moi.go.th (Mail Delivery System)", f"Subject: {subject}",
        f"To: {MAILBOX}", "Auto-Submitted: auto-replied", "MIME-Version: 1.0",
        f'Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary="{b}"',
        "Content-Transfer-Encoding: 8bit", f"Message-Id: <{r.digits(14)}.{qid}@mail.moi.go.th>"],
        multipart(b, parts, preamble="This is a MIME-encapsulated message.\r\n"))


# --------------------------------------------------------------------------- the corpus

# (client, shape, writer, letters taken from the matrix, sender seed)
MATRIX: tuple[tuple[str, str, Writer, int, int], ...] = (
    ("outlook", "exchange-online", outlook365, 12, 0),
    ("outlook", "desktop-windows-874-b", outlook_desktop, 12, 1),
    ("outlook", "desktop-windows-874-q",
     lambda lt, r: outlook_desktop(lt, r, q=True, mailer="Microsoft Outlook 15.0"), 6, 2),
    ("outlook", "desktop-x-windows-874",
     lambda lt, r: outlook_desktop(lt, r, label="x-windows-874",
                                   mailer="Microsoft Office Outlook 12.0"),
     4, 3),
    ("outlook", "mac-16", outlook_mac, 6, 2),
    ("outlook", "express-windows-874", outlook_express, 6, 4),
    ("outlook", "express-tis-620", lambda lt, r: outlook_express(lt, r, label="TIS-620"), 6, 5),
    ("gmail", "web", gmail, 12, 0),
    ("gmail", "workspace-qp",
     lambda lt, r: gmail(lt, r, domain="nakhonpathom.go.th", arc=True,
                         text_cte="quoted-printable"), 4, 1),
    ("yahoo", "web", yahoo, 6, 3),
    ("thunderbird", "115-flowed", thunderbird, 12, 2),
    ("thunderbird", "38-tis-620",
     lambda lt, r: thunderbird(lt, r, old=True, label="TIS-620"), 6, 3),
    ("thunderbird", "38-windows-874",
     lambda lt, r: thunderbird(lt, r, old=True, label="windows-874"), 4, 4),
    ("apple", "macos-rich-inline", apple_mail, 12, 5),
    ("apple", "macos-plain", lambda lt, r: apple_mail(lt, r, rich=False), 6, 0),
    ("apple", "ios", ios_mail, 6, 1),
    ("thai-webmail", "zimbra-mailgothai", zimbra, 12, 2),
    ("thai-webmail", "roundcube-rfc2231", lambda lt, r: roundcube(lt, r, folding=0), 6, 3),
    ("thai-webmail", "roundcube-mixed", lambda lt, r: roundcube(lt, r, folding=1), 6, 4),
    ("thai-webmail", "roundcube-rfc2047", lambda lt, r: roundcube(lt, r, folding=2), 6, 5),
    ("thai-webmail", "squirrelmail-tis-620", squirrelmail, 6, 0),
    ("thai-eoffice", "phpmailer-html-only", phpmailer, 6, 1),
    ("thai-eoffice", "phpmailer-alternative",
     lambda lt, r: phpmailer(lt, r, html_only=False), 4, 2),
    ("thai-legacy", "lotus-notes-tis-620", lotus_notes, 6, 1),
    ("thai-legacy", "raw-8bit-tis-620", legacy_raw, 6, 3),
    ("thai-legacy", "raw-8bit-utf-8", lambda lt, r: legacy_raw(lt, r, charset="utf-8"), 4, 4),
)

DOMAINS = {"gmail/web": "gmail.com", "gmail/workspace-qp": "nakhonpathom.go.th",
           "yahoo/web": "yahoo.com",
           "apple/ios": "icloud.com", "apple/macos-plain": "me.com"}


def _inline_all(lt: Letter) -> Letter:
    return dataclasses.replace(lt, docs=tuple(dataclasses.replace(d, inline=True) for d in lt.docs))


def _letter(client: str, i: int, *, seed: int = 0, domain: str = "") -> Letter:
    return next(lt for n, lt in letters(client, seed=seed, domain=domain) if n == i)


def windows_safe(name: str) -> str:
    """A name as it can be saved on Windows: the characters Windows refuses in a file name
    (``< > : " / \\ | ? *``) become ``_`` (what clients do when they save a mail)."""
    return "".join("_" if ch in '<>:"/\\|?*' else ch for ch in name)


def _eml(lt: Letter, raw: bytes) -> File:
    return File(windows_safe(f"{lt.subject}.eml"), "message/rfc822", "part")


def _forwarded(files: Sequence[File]) -> tuple[File, ...]:
    return tuple(dataclasses.replace(f, origin="forwarded") for f in files)


def _expect_files(lt: Letter) -> tuple[File, ...]:
    return lt.expect().files or ()


class _Corpus:
    def __init__(self) -> None:
        self.items: list[Case] = []

    def add(self, client: str, shape: str, raw: bytes, expect: Expect, name: str = "") -> None:
        case_id = f"{client}/{shape}" + (f"/{name}" if name else "")
        assert case_id not in {c.id for c in self.items}, case_id
        self.items.append(Case(case_id, client, shape, raw, expect))


def _matrix(c: _Corpus) -> None:
    for client, shape, writer, count, seed in MATRIX:
        key = f"{client}/{shape}"
        for i, lt in letters(key, count, seed=seed, domain=DOMAINS.get(key, "")):
            if shape == "macos-rich-inline":
                lt = _inline_all(lt)
            raw, mid = writer(lt, Rand(f"{key}/{i}"))
            c.add(client, shape, raw, lt.expect(message_id=mid), f"{i:02d}")


def _forwards(c: _Corpus) -> None:
    fw_by = ("somchai.j@dopa.go.th", "นายสมชาย ใจดี")
    when = BASE_DATE + dt.timedelta(days=1)
    # inline forwards: the original's text quoted, its files carried at the top level
    for style, writer, i in (("outlook", outlook365, 0), ("gmail", gmail, 2),
                             ("thunderbird", thunderbird, 8)):
        orig = _letter(f"fw-{style}", i, seed=2)
        fw = inline_forward(orig, fw_by, "เรียน สารบรรณกลาง โปรดดำเนินการต่อ", style=style, when=when)
        raw, mid = writer(fw, Rand(f"fw-inline-{style}"))
        c.add(style, "forward-inline", raw, fw.expect(message_id=mid,
              snippets=(orig.snippet, "โปรดดำเนินการต่อ")))
    # forwarded as an attachment (message/rfc822), in each attaching client's words
    combos: tuple[tuple[str, Writer, Writer, int], ...] = (
        ("outlook", outlook365, zimbra, 0),
        ("gmail", gmail, outlook_desktop, 9),
        ("thunderbird", thunderbird, _apple_rich, 8),
        ("apple", lambda lt, r: apple_mail(lt, r, rich=False), lambda lt, r: roundcube(lt, r), 2),
        ("outlook", outlook365, gmail, 10),
    )
    for n, (style, outer_w, inner_w, i) in enumerate(combos):
        inner = _letter(f"fwa-{n}", i, seed=n)
        if inner_w is _apple_rich:
            inner = _inline_all(inner)
        inner_raw, _ = inner_w(inner, Rand(f"fwa-inner-{n}"))
        own_docs = (pdf_doc("บันทึกข้อความ.pdf", 900 + n),) if n == 4 else ()
        prefix = "ส่งต่อ: " if style == "outlook" else "Fwd: "
        note = f"ส่งต่อหนังสือตามแนบ รายการที่ {n}"
        outer = Letter(subject=prefix + inner.subject,
                       sender=fw_by[0], sender_name=fw_by[1],
                       body=note + "\n", snippet=note,
                       docs=own_docs or (pdf_doc("placeholder.pdf", 0),), date=when)
        raw, mid = outer_w(outer, Rand(f"fwa-outer-{n}"))
        part = rfc822_part(inner_raw, inner.subject, style=style, when=when)
        if not own_docs:  # drop the placeholder the writer needed for a multipart/mixed
            raw = _drop_last_part(raw)
        raw = attach_messages(raw, [part])
        files = tuple(File(d.name, d.content_type, "part", d.inline, d.data) for d in own_docs)
        files += (_eml(inner, inner_raw), *_forwarded(_expect_files(inner)))
        c.add(style, "forward-attached", raw, outer.expect(message_id=mid, files=files), f"{n}")
    # nested twice: a mail attaching a mail that attaches a mail with the documents
    nests: tuple[tuple[Writer, Writer, Writer, str, str], ...] = (
            (gmail, thunderbird, outlook365, "gmail", "thunderbird"),
            (outlook365, outlook365, gmail, "outlook", "outlook"),
            (thunderbird, _apple_plain, zimbra, "thunderbird", "apple"))
    for n, (a_w, b_w, c_w, a_style, b_style) in enumerate(nests):
        core = _letter(f"nest-{n}", 9 if n != 1 else 2, seed=n)
        core_raw, _ = c_w(core, Rand(f"nest-c-{n}"))
        mid_l = Letter(subject=f"Fwd: {core.subject} (ชั้นที่ 2)", sender="wipa.m@dla.go.th",
                       sender_name="นางสาววิภา มั่นคง", body="ส่งต่อชั้นที่สอง\n",
                       snippet="ส่งต่อชั้นที่สอง", docs=(pdf_doc("placeholder.pdf", 1),),
                       date=when - dt.timedelta(hours=2))
        mid_raw, _ = b_w(mid_l, Rand(f"nest-b-{n}"))
        mid_raw = attach_messages(_drop_last_part(mid_raw), [
            rfc822_part(core_raw, core.subject, style=b_style, when=mid_l.date)])
        top = Letter(subject=f"Fwd: ส่งต่อหนังสือซ้อนสองชั้น {n}", sender=fw_by[0],
                     sender_name=fw_by[1], body=f"หนังสือซ้อนสองชั้น ชุดที่ {n}\n",
                     snippet=f"หนังสือซ้อนสองชั้น ชุดที่ {n}", docs=(pdf_doc("placeholder.pdf", 2),),
                     date=when)
        raw, mid = a_w(top, Rand(f"nest-a-{n}"))
        raw = attach_messages(_drop_last_part(raw), [
            rfc822_part(mid_raw, mid_l.subject, style=a_style, when=when)])
        files = (_eml(mid_l, mid_raw), *_forwarded([_eml(core, core_raw)]),
                 *_forwarded(_expect_files(core)))
        c.add(a_style, "forward-nested-twice", raw, top.expect(message_id=mid, files=files), f"{n}")
    # two mails attached to one (Outlook "forward as attachment" of a selection)
    a, b = _letter("two-a", 0, seed=1), _letter("two-b", 6, seed=2)
    a_raw, _ = gmail(a, Rand("two-a"))
    b_raw, _ = thunderbird(b, Rand("two-b"))
    top = Letter(subject="FW: หนังสือสองฉบับ", sender=fw_by[0], sender_name=fw_by[1],
                 body="ส่งต่อหนังสือสองฉบับ\n", snippet="ส่งต่อหนังสือสองฉบับ",
                 docs=(pdf_doc("placeholder.pdf", 3),), date=when)
    raw, mid = outlook365(top, Rand("two-top"))
    raw = attach_messages(_drop_last_part(raw), [
        rfc822_part(a_raw, a.subject, style="outlook", when=when),
        rfc822_part(b_raw, b.subject, style="outlook", when=when)])
    files = (_eml(a, a_raw), *_forwarded(_expect_files(a)), _eml(b, b_raw))
    c.add("outlook", "forward-attached", raw, top.expect(message_id=mid, files=files), "two")


def _apple_rich(lt: Letter, r: Rand) -> tuple[bytes, str]:
    return apple_mail(lt, r)


def _apple_plain(lt: Letter, r: Rand) -> tuple[bytes, str]:
    return apple_mail(lt, r, rich=False)


def _drop_last_part(raw: bytes) -> bytes:
    """Remove the ``placeholder.pdf`` part a writer needed to write a multipart/mixed mail."""
    head, body = raw.split(b"\r\n\r\n", 1)
    marker = b"--" + head.split(b'boundary="', 1)[1].split(b'"', 1)[0]
    chunks = body.split(marker + b"\r\n")
    kept = [ch for ch in chunks if b"placeholder.pdf" not in ch]
    assert len(kept) == len(chunks) - 1
    if b"placeholder.pdf" in chunks[-1]:  # the last part: keep the closing delimiter
        kept[-1] += b"\r\n" if not kept[-1].endswith(b"\r\n") else b""
        return head + b"\r\n\r\n" + (marker + b"\r\n").join(kept) + marker + b"--" + (
            chunks[-1].rsplit(marker + b"--", 1)[1])
    return head + b"\r\n\r\n" + (marker + b"\r\n").join(kept)


def _replies(c: _Corpus) -> None:
    quote = ("\n\nเมื่อ จ. 7 ธ.ค. 2569 เวลา 10:00 สารบรรณกลาง กระทรวงมหาดไทย <saraban@moi.go.th> "
             "เขียนว่า:\n> เรียน อธิบดีกรมการปกครอง\n> ตามหนังสือที่อ้างถึง\n")
    when = BASE_DATE + dt.timedelta(days=2)
    rows: tuple[tuple[str, str, Writer, str, str, bool], ...] = (
        ("outlook", "reply", outlook365, "RE: ", "ได้รับหนังสือแล้ว จะแจ้งผลภายในวันศุกร์", True),
        ("outlook", "reply-thai-prefix", outlook_desktop, "ตอบกลับ: ", "ขอตอบรับการเข้าร่วมประชุม",
         True),
        ("gmail", "reply", gmail, "Re: ", "ยืนยันการเข้าร่วมประชุม 2 คน", True),
        ("thunderbird", "reply", thunderbird, "Re: ", "ส่งรายชื่อผู้เข้าร่วมตามแนบ", True),
        ("apple", "reply", _apple_plain, "Re: ", "รับทราบครับ", True),
        ("thai-webmail", "reply-number-in-body", zimbra, "",
         "ตามหนังสือที่ มท 0208/1234 ลงวันที่ 7 ธันวาคม 2569", False),
    )
    for n, (client, shape, writer, prefix, line, threaded) in enumerate(rows):
        address, name = SENDERS[n % len(SENDERS)]
        subject = prefix + OUR_SUBJECT if prefix else "ส่งรายชื่อผู้เข้าร่วมประชุมคณะทำงาน"
        docs = (pdf_doc("แบบตอบรับ.pdf", 700 + n),) if n % 2 else ()
        # the number quoted is ours, not the sender's: which one a registry records is its
        # choice, so it is not checked
        lt = Letter(subject=subject, sender=address, sender_name=name,
                   body=f"เรียน สารบรรณกลาง\n{line}\n{quote}", snippet=line, docs=docs,
                   date=when + dt.timedelta(minutes=n), number=None,
                   in_reply_to=OUR_ID if threaded else "")
        raw, mid = writer(lt, Rand(f"reply-{n}"))
        c.add(client, shape, raw, lt.expect(message_id=mid))


def _tnef(c: _Corpus) -> None:
    when = BASE_DATE + dt.timedelta(days=3)
    sets: tuple[tuple[str, tuple[TnefFile, ...], tuple[File, ...]], ...] = ()
    pdf_a, pdf_b = make_pdf("tnef a"), make_pdf("tnef b")
    docx = make_ooxml("docx", 77)
    long_name = "หนังสือขอความร่วมมือประชาสัมพันธ์โครงการ ประจำปีงบประมาณ พ.ศ. 2570.pdf"
    sets = (
        ("one-pdf", (TnefFile(long_name, pdf_a, "application/pdf", short_name="~1.PDF"),),
         (File(long_name, "application/pdf", "tnef", False, pdf_a),)),
        ("pdf-and-docx", (TnefFile("หนังสือนำส่ง.pdf", pdf_a, "application/pdf"),
                          TnefFile("ร่างคำสั่ง.docx", docx, DOCX)),
         (File("หนังสือนำส่ง.pdf", "application/pdf", "tnef", False, pdf_a),
          File("ร่างคำสั่ง.docx", DOCX, "tnef", False, docx))),
        ("string8-cp874", (TnefFile("รายงานการประชุม.pdf", pdf_b, "application/pdf",
                                    long_unicode=False),),
         (File("รายงานการประชุม.pdf", "application/pdf", "tnef", False, pdf_b),)),
        ("no-mime-tag", (TnefFile("สำเนาคำสั่ง.pdf", pdf_b),),
         (File("สำเนาคำสั่ง.pdf", "application/pdf", "tnef", False, pdf_b),)),
        ("title-only", (TnefFile("คำสั่ง.pdf", pdf_a, "application/pdf", with_long=False),),
         (File("คำสั่ง.pdf", "application/pdf", "tnef", False, pdf_a),)),
        ("no-files", (), ()),
    )
    for n, (name, files, expected) in enumerate(sets):
        lt = _letter(f"tnef-{name}", 6, seed=n)
        lt = dataclasses.replace(lt, date=when + dt.timedelta(minutes=n))
        rtf = r"{\rtf1\ansi\ansicpg874 {\fonttbl\f0 Tahoma;}\f0 rich text}"
        tnef = make_tnef(files, when=lt.date, rtf=rtf)
        raw, mid = outlook365(lt, Rand(f"tnef-{name}"), tnef=tnef)
        c.add("outlook", "winmail-dat", raw, lt.expect(message_id=mid, files=expected), name)
    # beside an ordinary attachment, and one no reader understands (kept as it came)
    lt = dataclasses.replace(_letter("tnef-beside", 0, seed=3), date=when + dt.timedelta(hours=1))
    raw, mid = outlook365(lt, Rand("tnef-beside"), tnef=make_tnef(
        [TnefFile("ภาคผนวก.pdf", pdf_b, "application/pdf")], when=lt.date))
    c.add("outlook", "winmail-dat", raw, lt.expect(message_id=mid, files=(
        *_expect_files(lt), File("ภาคผนวก.pdf", "application/pdf", "tnef", False, pdf_b))),
        "beside-pdf")
    lt = dataclasses.replace(_letter("tnef-broken", 6, seed=4), date=when + dt.timedelta(hours=2))
    junk = b"This is not TNEF at all." * 4
    raw, mid = outlook365(lt, Rand("tnef-broken"), tnef=junk)
    c.add("outlook", "winmail-dat", raw, lt.expect(message_id=mid, files=(
        File("winmail.dat", "application/ms-tnef", "part", False, junk),)), "unreadable")


def _smime(c: _Corpus) -> None:
    when = BASE_DATE + dt.timedelta(days=4)
    rows: tuple[tuple[str, str, Writer, int, bool], ...] = (
        ("outlook", "outlook", outlook365, 0, False),
        ("outlook", "opaque", outlook365, 9, False),
        ("outlook", "outlook", outlook_desktop, 1, False),
        ("thunderbird", "thunderbird", thunderbird, 2, False),
        ("thunderbird", "thunderbird", thunderbird, 6, False),
        ("apple", "apple", _apple_rich, 3, False),
        ("apple", "apple", _apple_plain, 6, False),
        ("thai-webmail", "thunderbird", zimbra, 8, False),
        ("thunderbird", "thunderbird", thunderbird, 0, True),
        ("outlook", "outlook", outlook365, 2, True),
        ("outlook", "opaque", outlook_desktop, 6, True),
    )
    for n, (client, style, writer, i, tamper) in enumerate(rows):
        lt = _letter(f"smime-{n}", i, seed=n, domain="dopa.go.th")
        if writer is _apple_rich:
            lt = _inline_all(lt)
        lt = dataclasses.replace(lt, date=when + dt.timedelta(minutes=n))
        plain, mid = writer(lt, Rand(f"smime-{n}"))
        raw = signed(plain, Rand(f"smime-sig-{n}"), style=style, tamper=tamper)
        verdict = "invalid" if tamper else "unverified"
        shape = f"smime-{style}" + ("-tampered" if tamper else "")
        c.add(client, shape, raw, lt.expect(message_id=mid, smime=verdict, smime_signer=SIGNER_CN),
              f"{n}")


def _auto(c: _Corpus) -> None:
    when = BASE_DATE + dt.timedelta(days=5)
    away = "ขณะนี้ข้าพเจ้าไม่อยู่ที่สำนักงาน จะกลับมาปฏิบัติงานวันที่ 14 ธันวาคม 2569"
    rows: tuple[tuple[str, str, str, tuple[str, ...], str, str], ...] = (
        ("outlook", "exchange-oof-en", "Automatic reply: " + OUR_SUBJECT,
         ("Thread-Topic: " + enc(OUR_SUBJECT), "Auto-Submitted: auto-generated",
          "X-Auto-Response-Suppress: All", "X-MS-Exchange-Inbox-Rules-Loop: somchai.j@dopa.go.th"),
         "exchange", "auto_reply"),
        ("outlook", "exchange-oof-th", "ตอบกลับอัตโนมัติ: " + OUR_SUBJECT,
         ("Auto-Submitted: auto-generated", "X-Auto-Response-Suppress: All"), "exchange",
         "auto_reply"),
        ("outlook", "exchange-2007-oof-subject-only", "ตอบกลับอัตโนมัติ: " + OUR_SUBJECT,
         ("X-Auto-Response-Suppress: All",), "exchange", "auto_reply"),
        ("outlook", "oof-rule-subject-only", "Out of Office: " + OUR_SUBJECT, (), "exchange",
         "auto_reply"),
        ("gmail", "vacation", "ลาพักผ่อนระหว่างวันที่ 7-11 ธันวาคม 2569",
         ("Auto-Submitted: auto-replied",), "gmail", "auto_reply"),
        ("thai-webmail", "zimbra-vacation", "Re: " + OUR_SUBJECT,
         ("Auto-Submitted: auto-replied (zimbra; vacation)",), "zimbra", "auto_reply"),
        ("thai-webmail", "sieve-vacation", "Auto: " + OUR_SUBJECT,
         ("Auto-Submitted: auto-replied (vacation)", "Precedence: bulk"), "sieve", "auto_reply"),
        ("thai-webmail", "cpanel-autoresponder", "ไม่อยู่ที่สำนักงาน",
         ("X-Autorespond: ไม่อยู่ที่สำนักงาน", "Precedence: auto_reply", "X-Autoreply: yes"),
         "cpanel", "auto_reply"),
        ("thai-legacy", "vacation-x-autoreply", "Re: " + OUR_SUBJECT, ("X-Autoreply: yes",),
         "vacation", "auto_reply"),
        ("thai-legacy", "precedence-auto-reply", "Re: " + OUR_SUBJECT, ("Precedence: auto_reply",),
         "helpdesk", "auto_reply"),
        ("thai-legacy", "lotus-notes", "นายสมชาย ใจดี ไม่อยู่ที่สำนักงาน",
         ("Auto-Submitted: auto-generated", "X-Mailer: Lotus Domino Release 9.0.1FP10"),
         "lotus", "auto_reply"),
        ("gmail", "yahoo-autorespond", "Re: " + OUR_SUBJECT, ("X-Autorespond: yes",), "yahoo",
         "auto_reply"),
        # not auto-replies: a circular from a mass-mail system, an explicit "no"
        ("thai-eoffice", "bulk-circular", "หนังสือเวียน ที่ มท 0810.6/ว 5678 เรื่อง ซักซ้อมการปฏิบัติ",
         ("Precedence: bulk", "List-Unsubscribe: <mailto:unsubscribe@dla.go.th>"), "bulk",
         "letter"),
        ("thunderbird", "auto-submitted-no", "ขอส่งรายชื่อผู้ประสานงาน", ("Auto-Submitted: no",),
         "tb", "letter"),
    )
    for n, (client, shape, subject, headers, mailer, kind) in enumerate(rows):
        sender = SENDERS[n % len(SENDERS)]
        text = f"{away} ({n})" if kind == "auto_reply" else f"เรียน สารบรรณกลาง รายการ {n}"
        raw, mid = auto_reply(Rand(f"auto-{n}"), sender=sender, subject=subject, headers=headers,
                              body=text, when=when + dt.timedelta(minutes=n), mailer=mailer)
        number = "มท 0810.6/ว 5678" if shape == "bulk-circular" else ""
        if kind == "auto_reply" and "มท 0208/1234" in subject:
            number = "มท 0208/1234"
        c.add(client, shape, raw, Expect(
            kind=kind, subject=subject, sender=sender[0], sender_name=sender[1],
            date=when + dt.timedelta(minutes=n), message_id=mid, snippets=(text,),
            in_reply_to=(OUR_ID,), number=number if kind == "letter" else None))


def _loops(c: _Corpus) -> None:
    when = BASE_DATE + dt.timedelta(days=6)
    rows: tuple[tuple[str, str, Sequence[str], int], ...] = (
        ("own-from", MAILBOX, (), 1),
        ("own-from-upper-domain", "saraban@MOI.GO.TH", (), 1),
        ("x-loop", "saraban@dopa.go.th", (f"X-Loop: {MAILBOX}",), 2),
        ("x-saraban-mailbox", "saraban@dopa.go.th", (f"X-Saraban-Mailbox: {MAILBOX}",), 1),
        ("received-61", "saraban@dopa.go.th", (), 61),
    )
    for n, (shape, sender, extra, hops) in enumerate(rows):
        raw, mid = our_own(Rand(f"loop-{n}"), when=when + dt.timedelta(minutes=n), sender=sender,
                           extra=extra, received=hops)
        c.add("loop", shape, raw, Expect(
            kind="loop", subject=OUR_SUBJECT, sender=sender.lower(), sender_name=MAILBOX_NAME,
            date=when + dt.timedelta(minutes=n), message_id=mid, snippets=("ตามหนังสือที่อ้างถึง",),
            number=None))


def _bounces(c: _Corpus) -> None:
    when = BASE_DATE + dt.timedelta(days=7)
    rows = (
        ("failed-headers", "nobody@tambon-x.go.th", "failed", "5.1.1",
         "host mx.tambon-x.go.th[203.0.113.7] said: 550 5.1.1 User unknown", False),
        ("failed-full", "palad@lao-nongbua.go.th", "failed", "5.2.2",
         "host mx.lao-nongbua.go.th[203.0.113.8] said: 552 5.2.2 Mailbox full", True),
        ("delayed", "saraban@slow.go.th", "delayed", "4.4.1",
         "connect to mx.slow.go.th[203.0.113.9]:25: Connection timed out", False),
        ("failed-dns", "info@no-such-domain.go.th", "failed", "5.4.4",
         "Host or domain name not found. Name service error for name=no-such-domain.go.th", True),
    )
    for n, (shape, rcpt, action, status, diag, full) in enumerate(rows):
        r = Rand(f"bounce-{n}")
        original = f"{r.uuid()}@moi.go.th"
        raw = postfix_dsn(r, recipient=rcpt, action=action, status=status, diagnostic=diag,
                          original_id=original, full=full, when=when + dt.timedelta(minutes=n))
        subject = ("Delayed Mail (still being retried)" if action == "delayed"
                   else "Undelivered Mail Returned to Sender")
        c.add("bounce", f"postfix-{shape}", raw, Expect(
            kind="bounce", subject=subject, sender="MAILER-DAEMON@mail.moi.go.th",
            sender_name="Mail Delivery System", date=when + dt.timedelta(minutes=n),
            files=None, bounce_id=original, bounce_recipient=rcpt, bounce_action=action,
            bounce_status=status, number=None))


BOUNCE_TEMPLATES: dict[str, Expect] = {
    "postfix_bounce_headers.eml": Expect(
        kind="bounce", subject="Undelivered Mail Returned to Sender",
        sender="MAILER-DAEMON@mail.moi.go.th", sender_name="Mail Delivery System",
        date=dt.datetime(2026, 12, 7, 10, 0, 5, tzinfo=ICT),
        message_id="20261207030005.4XyZ1k2LmnzB3@mail.moi.go.th", files=None,
        bounce_id="6f1c2a9e-4b7d-5e3f-9a81-2c4d6e8f0a1b@moi.go.th",
        bounce_recipient="nobody@tambon-x.go.th", bounce_action="failed", bounce_status="5.1.1",
        number=None),
    "exchange_online_ndr.eml": Expect(
        kind="bounce", subject="Undeliverable: " + "ที่ มท 0208/1234 เรื่อง ขอเชิญประชุมคณะทำงาน",
        sender="postmaster@moigoth.onmicrosoft.com", sender_name="Microsoft Outlook",
        date=dt.datetime(2026, 12, 7, 3, 0, 9, tzinfo=dt.UTC),
        message_id="6d2a3b1c-0e9f-4a8b-b7c6-d5e4f3a2b1c0@SG2PR06MB5310.apcprd06.prod.outlook.com",
        files=None, in_reply_to=("8a4e1b27-3c9d-5f60-8e12-7b3a9c4d5e6f@moi.go.th",),
        bounce_id="8a4e1b27-3c9d-5f60-8e12-7b3a9c4d5e6f@moi.go.th",
        bounce_recipient="somsri@lao-khokphet.go.th", bounce_action="failed",
        bounce_status="5.1.10", number=None),
    "gmail_dsn.eml": Expect(
        kind="bounce", subject="Delivery Status Notification (Failure)",
        sender="mailer-daemon@googlemail.com", sender_name="Mail Delivery Subsystem",
        date=dt.datetime(2026, 12, 6, 19, 0, 7, tzinfo=dt.timezone(dt.timedelta(hours=-8))),
        message_id="67538e17.170a0220.2f7d1b.0a3cGMR@mx.google.com", files=None,
        in_reply_to=("1d3f5b7a-9c2e-5d4f-8a6b-0c1e3f5a7b9d@moi.go.th",),
        bounce_id="1d3f5b7a-9c2e-5d4f-8a6b-0c1e3f5a7b9d@moi.go.th",
        bounce_recipient="kanokwan.p1987@gmail.com", bounce_action="failed",
        bounce_status="5.1.1", number=None),
    "qmail_bounce.eml": Expect(
        kind="bounce", subject="failure notice", sender="MAILER-DAEMON@mail.tambon-nongbua.go.th",
        date=dt.datetime(2026, 12, 7, 3, 0, 6, tzinfo=dt.UTC), files=None,
        bounce_id="2b4d6f8a-0c1e-5f2a-9b3c-4d5e6f7a8b9c@moi.go.th",
        bounce_recipient="palad@tambon-nongbua.go.th", bounce_action="failed",
        bounce_status="5.1.1", number=None),
    "yahoo_bounce.eml": Expect(
        kind="bounce", subject="Failure Notice", sender="MAILER-DAEMON@yahoo.com",
        date=dt.datetime(2026, 12, 7, 3, 0, 8, tzinfo=dt.UTC),
        message_id="1796612408.4012.yahoo@mta4012.mail.sg3.yahoo.com", files=None,
        bounce_id="3c5e7a9b-1d2f-5a3b-8c4d-5e6f7a8b9c0d@moi.go.th",
        bounce_recipient="chaiwat_kk@yahoo.com", bounce_action="failed", bounce_status="",
        number=None),
    "exim_bounce.eml": Expect(
        kind="bounce", subject="Mail delivery failed: returning message to sender",
        sender="Mailer-Daemon@mail.obec.go.th", sender_name="Mail Delivery System",
        date=dt.datetime(2026, 12, 7, 10, 0, 9, tzinfo=ICT),
        message_id="E1tJk2L-000abc-3Z@mail.obec.go.th", files=None,
        bounce_id="4d6f8a0b-2e3a-5b4c-9d5e-6f7a8b9c0d1e@moi.go.th",
        bounce_recipient="director@school123.obec.go.th", bounce_action="failed",
        bounce_status="5.2.2", number=None),
}


def _templates(c: _Corpus) -> None:
    for name, expect in BOUNCE_TEMPLATES.items():
        c.add("bounce", name.removesuffix(".eml"), (CORPUS / name).read_bytes(), expect)


def _pictures(c: _Corpus) -> None:
    """Pictures in the HTML body (multipart/related): Outlook's signature logo, a scan pasted
    into Gmail. They are files of the mail too (inline), before the attached ones."""
    for n, i in enumerate((0, 2, 6, 9)):
        lt = _letter(f"logo-{n}", i, seed=n)
        logo = Doc("image001.png", "image/png", make_png(200 + n), inline=True)
        lt = dataclasses.replace(lt, docs=(logo, *lt.docs))
        raw, mid = outlook365(lt, Rand(f"logo-{n}"))
        c.add("outlook", "exchange-online-signature-logo", raw, lt.expect(message_id=mid), f"{n}")
    for n, i in enumerate((0, 6)):
        lt = _letter(f"pasted-{n}", i, seed=n + 2, domain="gmail.com")
        scan = Doc("image.png", "image/png", make_png(220 + n), inline=True)
        lt = dataclasses.replace(lt, docs=(scan, *lt.docs))
        raw, mid = gmail(lt, Rand(f"pasted-{n}"))
        c.add("gmail", "web-pasted-image", raw, lt.expect(message_id=mid), f"{n}")


def _extras(c: _Corpus) -> None:
    """Shapes that break naive parsers but that real Thai mail carries every day."""
    when = BASE_DATE + dt.timedelta(days=8)
    # windows-874 punctuation (curly quotes, ellipsis) under a TIS-620 label (WHATWG and every
    # mail client read tis-620 as windows-874)
    lt = dataclasses.replace(
        _letter("x-quotes", 0, seed=1),
        subject="ขอเชิญร่วมงาน “วันข้าราชการพลเรือน” ประจำปี 2569…", date=when)
    lt = dataclasses.replace(
        lt, body=body_text("ผู้อำนวยการ", lt.subject, lt.snippet, lt.sender_name))
    raw, mid = outlook_express(lt, Rand("x-quotes"), label="tis-620")
    c.add("outlook", "express-tis-620-label-cp874-bytes", raw, lt.expect(message_id=mid))
    # ISO-8859-11 (old Thunderbird "Thai (ISO-8859-11)")
    lt = dataclasses.replace(_letter("x-iso", 2, seed=2), date=when + dt.timedelta(minutes=1))
    raw, mid = thunderbird(lt, Rand("x-iso"), old=True, label="ISO-8859-11")
    c.add("thunderbird", "38-iso-8859-11", raw, lt.expect(message_id=mid))
    # encoded words split inside a UTF-8 character (Lotus/Java gateways)
    lt = dataclasses.replace(_letter("x-split", 6, seed=3), date=when + dt.timedelta(minutes=2))
    raw, mid = gmail(lt, Rand("x-split"))
    data = lt.subject.encode()
    cut = [data[i:i + 20] for i in range(0, len(data), 20)]  # 20 bytes: mid-character cuts
    words = "\r\n ".join(f"=?UTF-8?B?{base64.b64encode(p).decode()}?=" for p in cut)
    head, body = raw.split(b"\r\n\r\n", 1)
    lines, _ = split_head(head + b"\r\n\r\n")
    head = b"\r\n".join(b"Subject: " + words.encode() if h.startswith(b"Subject:") else h
                        for h in lines)
    c.add("thai-legacy", "gateway-split-multibyte-words", head + b"\r\n\r\n" + body,
          lt.expect(message_id=mid))
    # macOS hands Apple Mail decomposed (NFD) names; the registry keeps NFC
    nfc = "Résumé การประชุม.pdf"
    data = make_pdf("nfd")
    lt = dataclasses.replace(_letter("x-nfd", 6, seed=4), date=when + dt.timedelta(minutes=3),
                            docs=(Doc(unicodedata.normalize("NFD", nfc), "application/pdf", data),))
    raw, mid = apple_mail(lt, Rand("x-nfd"), rich=False)
    c.add("apple", "macos-nfd-file-name", raw, lt.expect(
        message_id=mid, files=(File(nfc, "application/pdf", "part", False, data),)))
    # an internationalised domain (IDNA) in From
    ace = "xn--12cl1ck0bl6hdu9iyb9bp.xn--o3cw4h"  # องค์การบริหารส่วนตำบล.ไทย
    lt = dataclasses.replace(_letter("x-idna", 0, seed=5), sender=f"saraban@{ace}",
                            date=when + dt.timedelta(minutes=4))
    raw, mid = thunderbird(lt, Rand("x-idna"))
    c.add("thunderbird", "idna-sender-domain", raw, lt.expect(
        message_id=mid, sender="saraban@" + ace.encode().decode("idna")))
    # a file named only in Content-Type (Lotus Notes, old Exchange): name= with no disposition
    data = make_pdf("name only")
    lt = dataclasses.replace(_letter("x-nameonly", 6, seed=0), date=when + dt.timedelta(minutes=5))
    raw, mid = outlook_desktop(lt, Rand("x-nameonly"), label="windows-874")
    part = entity(['Content-Type: application/pdf;\r\n\tname="' + enc("ระเบียบวาระการประชุม.pdf",
                   "windows-874", sep="\r\n\t") + '"', "Content-Transfer-Encoding: base64"],
                  b64(data))
    raw = attach_messages(raw.replace(b"multipart/alternative", b"multipart/mixed", 1)
                          if False else raw, []) if False else raw
    raw = _append_part_mixed(raw, part)
    c.add("thai-legacy", "lotus-name-only", raw, lt.expect(
        message_id=mid, files=(File("ระเบียบวาระการประชุม.pdf", "application/pdf", "part", False,
                                    data),)))
    # no Date header at all (an in-house sender)
    lt = dataclasses.replace(_letter("x-nodate", 7, seed=1))
    raw, mid = legacy_raw(lt, Rand("x-nodate"), charset="utf-8")
    raw = b"\r\n".join(h for h in raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
                       if not h.startswith(b"Date:")) + b"\r\n\r\n" + raw.split(b"\r\n\r\n", 1)[1]
    c.add("thai-legacy", "no-date-header", raw, lt.expect(message_id=mid, date=None))
    # what a postfix pipe hands over: LF line ends, sometimes an mbox "From " line first
    pipes: tuple[tuple[str, str, Writer, int], ...] = (
            ("outlook", "exchange-online", outlook365, 1), ("gmail", "web", gmail, 2),
            ("thunderbird", "115-flowed", thunderbird, 3),
            ("apple", "macos-plain", _apple_plain, 8),
            ("thai-webmail", "zimbra-mailgothai", zimbra, 9),
            ("thai-webmail", "roundcube-mixed", roundcube, 11))
    for n, (client, shape, writer, i) in enumerate(pipes):
        lt = dataclasses.replace(_letter(f"x-lf-{n}", i, seed=n), date=when + dt.timedelta(hours=n))
        raw, mid = writer(lt, Rand(f"x-lf-{n}"))
        raw = raw.replace(b"\r\n", b"\n")
        if n in (1, 4):
            raw = f"From {lt.sender} {lt.date.strftime('%a %b %e %H:%M:%S %Y')}\n".encode() + raw
        c.add(client, f"{shape}-via-pipe-lf", raw, lt.expect(message_id=mid))


def _append_part_mixed(raw: bytes, part: bytes) -> bytes:
    """Add a part to a top-level multipart/mixed mail, or wrap a single-body mail in one."""
    head, _ = raw.split(b"\r\n\r\n", 1)
    if b"multipart/mixed" in head.split(b"boundary", 1)[0]:
        return attach_messages(raw, [part])
    lines, body = split_head(raw)
    content = [h for h in lines if h.lower().startswith(b"content-")]
    outer = [h for h in lines if h not in content]
    b = "----=_NextPart_000_0042_01DB4867.0A1B2C3D"
    return entity([*outer, f'Content-Type: multipart/mixed;\r\n\tboundary="{b}"'],
                  multipart(b, [entity(content, body), part],
                            preamble="This is a multipart message in MIME format.\r\n"))


@functools.cache
def cases() -> tuple[Case, ...]:
    """Every corpus mail with its expectation, in a stable order."""
    c = _Corpus()
    for build in (_matrix, _forwards, _replies, _tnef, _smime, _auto, _loops, _bounces,
                  _templates, _pictures, _extras):
        build(c)
    return tuple(c.items)
