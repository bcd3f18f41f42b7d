"""Writing outgoing mail: what Outlook, Gmail, Thunderbird and Python read back."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
from typing import Any

from saraban.mail import Address, build_mail, parse_mail

from .mailkit import PDF

SUBJECT = "ที่ มท 0808.2/ว 1234 เรื่อง ขอเชิญประชุมคณะทำงานพัฒนาระบบสารบรรณอิเล็กทรอนิกส์ ครั้งที่ 1/2569"
NAME = "หนังสือเชิญประชุม ที่ มท 0808.2/ว 1234 ลงวันที่ 7 ธันวาคม 2569 (ฉบับลงนาม).pdf"
WHEN = dt.datetime(2026, 12, 7, 3, 0, tzinfo=dt.UTC)


def build(**over: Any) -> bytes:
    kwargs: dict[str, Any] = {
        "sender": Address("saraban@moi.go.th", "สารบรรณกลาง กระทรวงมหาดไทย"),
        "to": [Address("clerk@lao.go.th", "งานสารบรรณ, อบต."), Address("x@ตัวอย่าง.ไทย")],
        "subject": SUBJECT,
        "text": "เรียน นายก อบต.\nตามหนังสือที่อ้างถึง\n",
        "attachments": [(NAME, "application/pdf", PDF), ("note.txt", "text/plain", b"hi\n")],
        "message_id": "3f2a@moi.go.th",
        "in_reply_to": "orig@lao.go.th",
        "references": ["r0@lao.go.th", "orig@lao.go.th"],
        "extra_headers": [("X-Saraban-Message", "3f2a"), ("Auto-Submitted", "auto-replied")],
        "date": WHEN,
    }
    kwargs.update(over)
    return build_mail(**kwargs)


def test_round_trip_through_our_parser():
    parsed = parse_mail(build())
    assert parsed.subject == SUBJECT
    assert parsed.sender == Address("saraban@moi.go.th", "สารบรรณกลาง กระทรวงมหาดไทย")
    assert parsed.to == (Address("clerk@lao.go.th", "งานสารบรรณ, อบต."),
                         Address("x@ตัวอย่าง.ไทย", ""))
    assert parsed.text == "เรียน นายก อบต.\nตามหนังสือที่อ้างถึง"
    assert [(a.filename, a.content_type, a.data) for a in parsed.attachments] == [
        (NAME.replace("/", "_"), "application/pdf", PDF), ("note.txt", "text/plain", b"hi\n")]
    assert parsed.message_id == "3f2a@moi.go.th"
    assert parsed.in_reply_to == ("orig@lao.go.th",)
    assert parsed.references == ("r0@lao.go.th", "orig@lao.go.th")
    assert parsed.date == WHEN
    assert parsed.header("x-saraban-message") == "3f2a"
    assert parsed.defects == ()


def test_round_trip_through_the_standard_library():
    msg = email.message_from_bytes(build(), policy=email.policy.default)
    assert str(msg["subject"]) == SUBJECT
    files = list(msg.iter_attachments())
    assert files[0].get_filename() == NAME.replace("/", "_")
    assert files[0].get_content() == PDF
    assert msg.get_body(("plain",)).get_content().startswith("เรียน")  # type: ignore[union-attr]


def test_wire_form_crlf_ascii_short_lines():
    raw = build()
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert b"\r" not in raw.replace(b"\r\n", b"")
    assert raw.isascii()
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78
    head = raw.split(b"\r\n\r\n", 1)[0].decode()
    assert "MIME-Version: 1.0" in head
    assert "Message-ID: <3f2a@moi.go.th>" in head
    assert "@xn--72c1a1bt4awk9o.xn--o3cw4h" in head


def test_filenames_written_for_outlook_and_rfc2231_readers():
    raw = build().decode()
    assert re.search(r'name="=\?utf-8\?B\?', raw)  # Outlook reads the RFC 2047 name=
    assert re.search(r"filename\*0\*=utf-8''%E0%B8", raw)  # RFC 2231 continuations
    assert 'filename="note.txt"' in raw and 'name="note.txt"' in raw


def test_plain_mail_without_attachments():
    raw = build(attachments=[], references=[], in_reply_to="", extra_headers=[])
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert b"multipart" not in raw and b"In-Reply-To" not in head
    assert b"Content-Type: text/plain; charset=utf-8" in head
    assert parse_mail(raw).text.startswith("เรียน")


def test_header_injection_is_neutralised():
    raw = build(subject="hello\r\nBcc: victim@x.com", extra_headers=[("X-A\r\nB", "v\nBcc: y@z")],
                sender=Address("saraban@moi.go.th", "a\r\nBcc: q@r"))
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert not re.search(rb"^Bcc:", head, re.MULTILINE)
    parsed = parse_mail(raw)
    assert parsed.header("bcc") == ""
    assert parsed.subject == "hello Bcc: victim@x.com"


def test_output_is_deterministic():
    assert build() == build()
    assert build() != build(attachments=[(NAME, "application/pdf", PDF + b" ")])


def test_ascii_names_with_specials_are_quoted():
    raw = build(sender=Address("a@b.go.th", 'Dept. "A" (HQ)'), attachments=[])
    assert parse_mail(raw).sender == Address("a@b.go.th", 'Dept. "A" (HQ)')
