"""Reading arriving mail as real clients write it (each shape named after its sender)."""

from __future__ import annotations

import datetime as dt

import pytest

import saraban.mail as mail_lib
from saraban.mail import (
    CODES,
    Address,
    MailKind,
    MailLimits,
    MailRefused,
    classify,
    message_id_key,
    parse_mail,
)

from .mailkit import PDF, PNG, b64, ew, mail, multipart, part, tnef

THAI = "ขอเชิญประชุมคณะทำงาน ที่ มท 0808.2/ว 123"


def test_public_names():
    assert set(mail_lib.__all__) >= {
        "MailRefused", "MailLimits", "Address", "Attachment", "BounceRecipient", "Bounce",
        "SmimeInfo", "MailKind", "ParsedMail", "parse_mail", "classify", "message_id_key",
        "build_mail", "sign_smime",
    }
    assert {
        "mail_too_large", "mail_too_many_parts", "mail_too_deep", "mail_malformed",
        "mail_attachment_too_large", "mail_too_many_headers", "mail_dangerous_attachment",
    } == CODES


# --- subjects and headers ----------------------------------------------------------------------


@pytest.mark.parametrize("charset", ["tis-620", "TIS-620", "windows-874", "x-windows-874",
                                     "iso-8859-11", "utf-8", "UTF-8"])
@pytest.mark.parametrize("q", [False, True])
def test_subject_in_every_thai_charset(charset, q):
    parsed = parse_mail(mail([f"Subject: {ew(THAI, charset, q)}"]))
    assert parsed.subject == THAI


def test_subject_split_inside_a_thai_character_across_encoded_words():
    data = THAI.encode()
    first, second = data[:7], data[7:]  # 7 bytes: the third character is cut in two
    import base64

    words = (f"=?UTF-8?B?{base64.b64encode(first).decode()}?=\r\n"
             f" =?UTF-8?B?{base64.b64encode(second).decode()}?=")
    assert parse_mail(mail([f"Subject: {words}"])).subject == THAI


def test_subject_folded_words_and_plain_text_mixed():
    parsed = parse_mail(mail([f"Subject: RE: {ew('เรื่อง', 'tis-620')}\r\n  {ew('ด่วน')} (2)"]))
    assert parsed.subject == "RE: เรื่องด่วน (2)"


@pytest.mark.parametrize("codec", ["utf-8", "cp874"])
def test_raw_8bit_headers_read_as_utf8_else_thai(codec):
    raw = mail([]).replace(b"Subject: test", b"Subject: " + THAI.encode(codec))
    raw = raw.replace(b"From: Somchai", b"From: " + "สมชาย ใจดี".encode(codec))
    parsed = parse_mail(raw)
    assert parsed.subject == THAI
    assert parsed.sender == Address("somchai@dept.go.th", "สมชาย ใจดี")


def test_subject_whitespace_collapsed_and_nfc():
    decomposed = "e\u0301"
    parsed = parse_mail(mail([f"Subject:   a\t\t b  {ew(decomposed)} "]))
    assert parsed.subject == "a b \u00e9"


def test_unknown_charset_in_encoded_word_falls_back():
    parsed = parse_mail(mail(["Subject: =?x-bogus?B?4Lif4Lih?="]))
    assert parsed.subject == "ฟม"


def test_addresses_names_idna_and_groups():
    parsed = parse_mail(mail([
        f"From: {ew('กรม, ทดสอบ')} <Clerk.One@MAIL.XN--72C1A1BT4AWK9O.XN--O3CW4H>",
        'To: "Saraban, Central" <saraban@moi.go.th>, other@x.go.th',
        "Cc: Team: a@b.go.th, c@d.go.th;",
        "Reply-To: <reply@dept.go.th>",
    ]))
    assert parsed.sender == Address("Clerk.One@mail.ตัวอย่าง.ไทย", "กรม, ทดสอบ")
    assert [a.address for a in parsed.to] == ["saraban@moi.go.th", "other@x.go.th"]
    assert parsed.to[0].name == "Saraban, Central"
    assert [a.address for a in parsed.cc] == ["a@b.go.th", "c@d.go.th"]
    assert parsed.reply_to == Address("reply@dept.go.th", "")


def test_sender_falls_back_to_sender_header_and_may_be_none():
    raw = mail(["Sender: boss@dept.go.th"]).replace(b"From: Somchai <somchai@dept.go.th>\r\n", b"")
    assert parse_mail(raw).sender == Address("boss@dept.go.th", "")
    raw = mail([]).replace(b"From: Somchai <somchai@dept.go.th>\r\n", b"")
    assert parse_mail(raw).sender is None


def test_ids_without_brackets():
    parsed = parse_mail(mail([
        "Message-ID:\r\n <CAF=abc+def@mail.gmail.com> ",
        "In-Reply-To: <x1@moi.go.th>",
        "References: <r1@moi.go.th>\r\n <r2@moi.go.th>",
    ]))
    assert parsed.message_id == "CAF=abc+def@mail.gmail.com"
    assert parsed.in_reply_to == ("x1@moi.go.th",)
    assert parsed.references == ("r1@moi.go.th", "r2@moi.go.th")
    assert parse_mail(mail(["Message-ID: bare@host"])).message_id == "bare@host"
    raw = mail([]).replace(b"Message-ID: <m1@dept.go.th>\r\n", b"")
    assert parse_mail(raw).message_id == ""


@pytest.mark.parametrize(("value", "expected"), [
    ("Mon, 07 Dec 2026 10:00:00 +0700", dt.datetime(2026, 12, 7, 3, 0, tzinfo=dt.UTC)),
    ("7 Dec 2026 10:00:00 -0000", dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC)),
    ("Mon, 7 Dec 2569 10:00:00 +0700", dt.datetime(2026, 12, 7, 3, 0, tzinfo=dt.UTC)),
    ("Mon, 07 Dec 26 10:00:00 GMT", dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC)),
    ("not a date", None),
    ("Mon, 31 Feb 2026 10:00:00 +0700", None),
])
def test_dates_are_aware(value, expected):
    parsed = parse_mail(mail([f"Date: {value}"]))
    assert parsed.date == expected
    assert parsed.date is None or parsed.date.tzinfo is not None


def test_headers_are_lowercased_and_decoded():
    parsed = parse_mail(mail([f"X-Custom: {ew('ค่า')}", "X-Custom: second"]))
    assert ("x-custom", "ค่า") in parsed.headers
    assert parsed.header("X-CUSTOM") == "ค่า"
    assert parsed.header_all("x-custom") == ("ค่า", "second")


# --- bodies ------------------------------------------------------------------------------------


def test_text_in_tis620_without_charset_label():
    raw = mail(["Content-Type: text/plain"], THAI.encode("cp874"))
    parsed = parse_mail(raw)
    assert parsed.text == THAI
    assert "charset_missing" in parsed.defects


def test_utf8_labelled_latin1_and_tis620_labelled_utf8_are_read_right():
    parsed = parse_mail(mail(["Content-Type: text/plain; charset=iso-8859-1",
                              "Content-Transfer-Encoding: 8bit"], THAI.encode()))
    assert parsed.text == THAI
    assert "charset_mislabelled" in parsed.defects
    parsed = parse_mail(mail(["Content-Type: text/plain; charset=utf-8",
                              "Content-Transfer-Encoding: 8bit"], THAI.encode("cp874")))
    assert parsed.text == THAI


def test_western_latin1_stays_latin1():
    parsed = parse_mail(mail(["Content-Type: text/plain; charset=iso-8859-1"],
                             "Café crème à Paris".encode("latin-1")))
    assert parsed.text == "Café crème à Paris"


def test_quoted_printable_soft_breaks_and_bad_escapes_tolerated():
    body = "=E0=B8=97=E0=B8=94=\r\n=E0=B8=AA=E0=B8=AD=E0=B8=9A =ZZ end\r\n"
    parsed = parse_mail(mail(["Content-Type: text/plain; charset=utf-8",
                              "Content-Transfer-Encoding: quoted-printable"], body))
    assert parsed.text == "ทดสอบ =ZZ end"
    assert "quoted_printable_invalid" in parsed.defects


def test_bad_base64_tolerated_with_a_defect():
    good = b64(THAI)
    body = good[:10] + "!!*" + good[10:] + "=\r\n"
    parsed = parse_mail(mail(["Content-Type: text/plain; charset=utf-8",
                              "Content-Transfer-Encoding: base64"], body))
    assert parsed.text == THAI
    assert "base64_invalid_characters" in parsed.defects
    truncated = good.replace("\r\n", "")[:-3]
    parsed = parse_mail(mail(["Content-Type: text/plain; charset=utf-8",
                              "Content-Transfer-Encoding: base64"], truncated))
    assert parsed.text.startswith(THAI[:10])


def test_html_only_body_becomes_text():
    html = ("<html><head><style>p{color:red}</style><title>x</title></head><body>"
            "<p>เรียน&nbsp;ผู้อำนวยการ</p><div>ที่ มท&amp;0808<br>บรรทัด</div>"
            "<script>alert(1)</script><table><tr><td>a</td><td>b</td></tr></table></body></html>")
    parsed = parse_mail(mail(["Content-Type: text/html; charset=utf-8"], html))
    assert parsed.text == "เรียน ผู้อำนวยการ\nที่ มท&0808\nบรรทัด\na b"


def test_alternative_prefers_plain_and_related_images_are_inline():
    alt = multipart("alt", [
        part(["Content-Type: text/plain; charset=utf-8"], "ข้อความธรรมดา"),
        part(['Content-Type: multipart/related; boundary="rel"'], multipart("rel", [
            part(["Content-Type: text/html; charset=utf-8"], "<p>ข้อความ HTML</p>"),
            part(["Content-Type: image/png; name=\"image001.png\"", "Content-ID: <img1>",
                  "Content-Transfer-Encoding: base64"], b64(PNG)),
        ])),
    ])
    raw = mail(['Content-Type: multipart/mixed; boundary="mix"'], multipart("mix", [
        part(['Content-Type: multipart/alternative; boundary="alt"'], alt),
        part(["Content-Type: application/pdf; name=\"a.pdf\"",
              "Content-Disposition: attachment; filename=\"a.pdf\"",
              "Content-Transfer-Encoding: base64"], b64(PDF)),
    ]))
    parsed = parse_mail(raw)
    assert parsed.text == "ข้อความธรรมดา"
    assert [(a.filename, a.content_type, a.inline) for a in parsed.attachments] == [
        ("image001.png", "image/png", True), ("a.pdf", "application/pdf", False)]
    assert parsed.attachments[1].data == PDF


def test_alternative_with_only_html_uses_html():
    raw = mail(['Content-Type: multipart/alternative; boundary="a"'], multipart("a", [
        part(["Content-Type: text/plain; charset=utf-8"], "   "),
        part(["Content-Type: text/html; charset=utf-8"], "<b>ตัวหนา</b>"),
    ]))
    assert parse_mail(raw).text == "ตัวหนา"


def test_apple_mail_inline_pdf_between_text_parts():
    raw = mail(['Content-Type: multipart/mixed; boundary="Apple-Mail=_1"'],
               multipart("Apple-Mail=_1", [
                   part(["Content-Type: text/plain; charset=utf-8",
                         "Content-Transfer-Encoding: quoted-printable"], "=E0=B8=81 before"),
                   part(["Content-Disposition: inline; filename=\"letter.pdf\"",
                         "Content-Type: application/pdf; x-unix-mode=0644; name=\"letter.pdf\"",
                         "Content-Transfer-Encoding: base64"], b64(PDF)),
                   part(["Content-Type: text/plain; charset=utf-8"], "after"),
               ]))
    parsed = parse_mail(raw)
    assert parsed.text == "ก before\nafter"
    assert parsed.attachments[0].inline and parsed.attachments[0].filename == "letter.pdf"


# --- attachment names ----------------------------------------------------------------------------


def _attached(*headers: str, data: bytes = PDF) -> mail_lib.Attachment:
    raw = mail(['Content-Type: multipart/mixed; boundary="b"'], multipart("b", [
        part(["Content-Type: text/plain"], "x"),
        part([*headers, "Content-Transfer-Encoding: base64"], b64(data)),
    ]))
    parsed = parse_mail(raw)
    assert len(parsed.attachments) == 1
    return parsed.attachments[0]


NAME = "หนังสือ ที่ มท 0808.2/ว 123 ลงวันที่ 7 ธันวาคม 2569.pdf"
SAFE = NAME.replace("/", "_")


def test_rfc2231_continuations_thunderbird():
    import urllib.parse

    pieces = [urllib.parse.quote(NAME[i : i + 7].encode()) for i in range(0, len(NAME), 7)]
    cont = ";\r\n ".join(
        f"filename*{i}*={'UTF-8' + chr(39) * 2 if i == 0 else ''}{p}" for i, p in enumerate(pieces))
    att = _attached("Content-Type: application/pdf", f"Content-Disposition: attachment;\r\n {cont}")
    assert att.filename == SAFE


def test_rfc2231_in_tis620_and_windows874():
    import urllib.parse

    for label in ("tis-620", "x-windows-874"):
        enc = urllib.parse.quote(NAME.encode("cp874"))
        att = _attached("Content-Type: application/pdf",
                        f"Content-Disposition: attachment; filename*={label}'th'{enc}")
        assert att.filename == SAFE


def test_rfc2231_plain_continuations():
    att = _attached("Content-Type: application/pdf",
                    'Content-Disposition: attachment; filename*0="long "; filename*1="name.pdf"')
    assert att.filename == "long name.pdf"


def test_rfc2047_inside_quoted_filename_outlook_gmail():
    words = "\r\n ".join(ew(NAME[i : i + 12]) for i in range(0, len(NAME), 12))
    att = _attached(f'Content-Type: application/pdf; name="{words}"',
                    f'Content-Disposition: attachment; filename="{words}"')
    assert att.filename == SAFE


def test_name_only_and_raw_8bit_names():
    att = _attached(f'Content-Type: application/pdf; name="{ew(NAME, "windows-874")}"')
    assert att.filename == SAFE
    raw = mail(['Content-Type: multipart/mixed; boundary="b"'], multipart("b", [
        part(["Content-Type: text/plain"], "x"),
        b'Content-Type: application/pdf; name="' + NAME.encode("cp874") + b'"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + b64(PDF).encode(),
    ]))
    assert parse_mail(raw).attachments[0].filename == SAFE


def test_content_location_name():
    att = _attached("Content-Type: application/pdf",
                    "Content-Location: http://intranet.go.th/files/%E0%B8%81.pdf?x=1")
    assert att.filename == "ก.pdf"


def test_nameless_attachment_gets_a_name_from_its_type():
    att = _attached("Content-Type: application/pdf", "Content-Disposition: attachment")
    assert att.filename == "attachment-1.pdf"
    att = _attached("Content-Type: image/png", "Content-Disposition: attachment", data=PNG)
    assert att.filename == "attachment-1.png"


@pytest.mark.parametrize(("declared", "expected"), [
    ("../../etc/passwd.pdf", "passwd.pdf"),
    ("C:\\Users\\clerk\\Desktop\\a.pdf", "a.pdf"),
    ("a\x00b\x07c\u202e.pdf", "abc.pdf"),
    ("...", "attachment-1.pdf"),
    ("   ", "attachment-1.pdf"),
    ("ก" * 300 + ".pdf", "ก" * 196 + ".pdf"),
    ("a:b*c?.pdf", "a_b_c_.pdf"),
])
def test_file_names_are_made_safe(declared, expected):
    att = _attached(f"Content-Type: application/pdf; name=\"{ew(declared)}\"")
    assert att.filename == expected
    assert len(att.filename) <= 200


def test_octet_stream_is_sniffed():
    att = _attached('Content-Type: application/octet-stream; name="scan"')
    assert att.content_type == "application/pdf"
    att = _attached('Content-Type: application/octet-stream; name="x.docx"',
                    data=b"PK\x03\x04rest")
    assert att.content_type.endswith("wordprocessingml.document")
    att = _attached('Content-Type: APPLICATION/PDF; name="x.pdf"')
    assert att.content_type == "application/pdf"


# --- forwarded, TNEF ---------------------------------------------------------------------------


def _forwarded(cte: str = "") -> bytes:
    inner = mail([f"Subject: {ew('หนังสือเดิม ที่ 1/2569')}", "Message-ID: <inner@x.go.th>",
                  'Content-Type: multipart/mixed; boundary="in"'], multipart("in", [
                      part(["Content-Type: text/plain; charset=utf-8"], "inner text"),
                      part(['Content-Type: application/pdf; name="inner.pdf"',
                            "Content-Transfer-Encoding: base64"], b64(PDF)),
                  ]))
    body = inner if not cte else b64(inner).encode()
    headers = ["Content-Type: message/rfc822"] + ([f"Content-Transfer-Encoding: {cte}"]
                                                   if cte else [])
    return mail(["Subject: Fwd: old letter", 'Content-Type: multipart/mixed; boundary="out"'],
                multipart("out", [
                    part(["Content-Type: text/plain; charset=utf-8"], "ส่งต่อครับ"),
                    part([*headers, "Content-Disposition: attachment"], body),
                ]))


@pytest.mark.parametrize("cte", ["", "base64"])
def test_forwarded_message_is_an_eml_and_its_files_follow(cte):
    parsed = parse_mail(_forwarded(cte))
    assert parsed.text == "ส่งต่อครับ"
    assert [(a.filename, a.content_type, a.origin) for a in parsed.attachments] == [
        ("หนังสือเดิม ที่ 1_2569.eml", "message/rfc822", "part"),
        ("inner.pdf", "application/pdf", "forwarded"),
    ]
    eml = parse_mail(parsed.attachments[0].data)
    assert eml.message_id == "inner@x.go.th" and eml.text == "inner text"
    assert parsed.attachments[1].data == PDF


def test_winmail_dat_replaced_by_its_files():
    data = tnef([("หนังสือ.pdf", PDF), ("note.txt", b"hello")], body=b"tnef body")
    raw = mail(['Content-Type: multipart/mixed; boundary="b"'], multipart("b", [
        part(["Content-Type: text/plain"], "body"),
        part(['Content-Type: application/ms-tnef; name="winmail.dat"',
              'Content-Disposition: attachment; filename="winmail.dat"',
              "Content-Transfer-Encoding: base64"], b64(data)),
    ]))
    parsed = parse_mail(raw)
    assert [(a.filename, a.content_type, a.origin) for a in parsed.attachments] == [
        ("หนังสือ.pdf", "application/pdf", "tnef"), ("note.txt", "text/plain", "tnef")]
    assert parsed.attachments[0].data == PDF


def test_unreadable_winmail_dat_is_kept():
    raw = mail(['Content-Type: multipart/mixed; boundary="b"'], multipart("b", [
        part(["Content-Type: text/plain"], "body"),
        part(['Content-Type: application/ms-tnef; name="winmail.dat"',
              "Content-Transfer-Encoding: base64"], b64(b"\x78\x9f\x3e\x22garbage")),
    ]))
    parsed = parse_mail(raw)
    assert [a.filename for a in parsed.attachments] == ["winmail.dat"]
    assert "tnef_unreadable" in parsed.defects


# --- dangerous, limits ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["setup.exe", "letter.pdf.exe", "a.SCR", "x.js", "run.vbs",
                                  "p.ps1", "i.iso", "l.lnk", "h.hta", "m.msi", "x.exe.",
                                  "invoice\u202efdp.exe", "j.jar", "c.cmd", "b.bat"])
def test_dangerous_attachment_refused(name):
    with pytest.raises(MailRefused) as err:
        _attached(f'Content-Type: application/octet-stream; name="{ew(name)}"', data=b"x")
    assert err.value.code == "mail_dangerous_attachment"


@pytest.mark.parametrize("data", [b"MZ" + b"\x90" * 100, b"\x7fELF\x02\x01\x01" + b"\0" * 60])
def test_executable_content_refused_whatever_its_name(data):
    with pytest.raises(MailRefused) as err:
        _attached('Content-Type: application/pdf; name="letter.pdf"', data=data)
    assert err.value.code == "mail_dangerous_attachment"


def test_dangerous_inside_forwarded_and_tnef_refused():
    inner = mail(['Content-Type: multipart/mixed; boundary="in"'], multipart("in", [
        part(["Content-Type: text/plain"], "x"),
        part(['Content-Type: application/octet-stream; name="a.exe"',
              "Content-Transfer-Encoding: base64"], b64(b"hello")),
    ]))
    raw = mail(['Content-Type: multipart/mixed; boundary="out"'], multipart("out", [
        part(["Content-Type: text/plain"], "fwd"), part(["Content-Type: message/rfc822"], inner)]))
    with pytest.raises(MailRefused) as err:
        parse_mail(raw)
    assert err.value.code == "mail_dangerous_attachment"
    raw = mail(['Content-Type: multipart/mixed; boundary="b"'], multipart("b", [
        part(['Content-Type: application/ms-tnef; name="winmail.dat"',
              "Content-Transfer-Encoding: base64"], b64(tnef([("x.vbs", b"MsgBox 1")]))),
    ]))
    with pytest.raises(MailRefused) as err:
        parse_mail(raw)
    assert err.value.code == "mail_dangerous_attachment"


def test_zip_and_office_files_are_not_dangerous():
    assert _attached('Content-Type: application/zip; name="a.zip"',
                     data=b"PK\x03\x04" + b"\0" * 40).filename == "a.zip"


def _refused(raw: bytes, **limits: int) -> str:
    with pytest.raises(MailRefused) as err:
        parse_mail(raw, limits=MailLimits(**limits))
    assert err.value.message
    return err.value.code


def test_limits():
    assert _refused(mail([], "x" * 2000), max_bytes=1000) == "mail_too_large"
    many = mail(['Content-Type: multipart/mixed; boundary="b"'], multipart(
        "b", [part(["Content-Type: text/plain"], str(i)) for i in range(20)]))
    assert _refused(many, max_parts=10) == "mail_too_many_parts"
    assert parse_mail(many, limits=MailLimits(max_parts=21)).text.startswith("0\n1")
    deep = part(["Content-Type: text/plain"], "core")
    for i in range(6):
        deep = part([f'Content-Type: multipart/mixed; boundary="d{i}"'], multipart(f"d{i}", [deep]))
    raw = mail([]) .split(b"\r\n\r\n")[0] + b"\r\n" + deep
    assert _refused(raw, max_depth=5) == "mail_too_deep"
    assert parse_mail(raw, limits=MailLimits(max_depth=6)).text == "core"
    assert _refused(mail([f"X-H{i}: v" for i in range(30)]), max_headers=20) \
        == "mail_too_many_headers"
    big = PDF + b"0" * 5000
    raw = mail(['Content-Type: multipart/mixed; boundary="b"'], multipart("b", [
        part(['Content-Type: application/pdf; name="a.pdf"', "Content-Transfer-Encoding: base64"],
             b64(big))]))
    assert _refused(raw, max_attachment_bytes=4000) == "mail_attachment_too_large"


def test_not_a_mail_is_malformed():
    for raw in (b"", b"   \r\n", b"just some text without headers\r\n",
                b"\x00\x01\x02binary"):
        assert _refused(raw) == "mail_malformed"


# --- digest ------------------------------------------------------------------------------------


def test_digest_same_over_imap_and_pipe():
    raw = _forwarded()
    imap = parse_mail(raw)
    piped = parse_mail(b"Return-Path: <somchai@dept.go.th>\nDelivered-To: saraban@moi.go.th\n"
                       b"Received: from x by y; Mon, 7 Dec 2026 10:00:01 +0700\n"
                       + raw.replace(b"\r\n", b"\n"))
    assert imap.digest == piped.digest
    assert len(imap.digest) == 64


def test_digest_changes_with_content():
    a = parse_mail(mail([], "one"))
    assert a.digest != parse_mail(mail([], "two")).digest
    assert a.digest != parse_mail(mail(["Subject: other"], "one")).digest
    assert a.digest == parse_mail(mail(["Message-ID: <other@x>"], "one")).digest


# --- classify -------------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [
    ["Auto-Submitted: auto-replied"],
    ["Auto-Submitted: auto-generated (vacation)"],
    ["X-Autoreply: yes"],
    ["X-Autorespond: Out of office"],
    ["Precedence: auto_reply"],
    [f"Subject: {ew('ตอบกลับอัตโนมัติ: ขอเชิญประชุม')}"],
    ["Subject: Automatic reply: meeting"],
    ["Subject: Out of Office: meeting"],
    ["Subject: [Auto-Reply] meeting"],
    ["Subject: Réponse automatique : réunion"],
])
def test_auto_replies(headers):
    assert classify(parse_mail(mail(headers))) == MailKind.AUTO_REPLY


@pytest.mark.parametrize("headers", [
    ["Auto-Submitted: no"],
    ["X-Auto-Response-Suppress: All"],  # Outlook asks others not to auto-reply: a letter
    ["Precedence: bulk", "Subject: ประกาศรับสมัคร"],
    ["Subject: RE: out of office hours policy"],
])
def test_letters_that_look_automatic_are_letters(headers):
    assert classify(parse_mail(mail(headers))) == MailKind.LETTER


def test_loops():
    own = ["saraban@moi.go.th"]
    assert classify(parse_mail(mail(["From: <SARABAN@moi.go.th>"])), own_addresses=own) \
        == MailKind.LOOP
    assert classify(parse_mail(mail(["X-Loop: saraban@moi.go.th"])), own_addresses=own) \
        == MailKind.LOOP
    assert classify(parse_mail(mail(["X-Saraban-Mailbox: saraban@moi.go.th",
                                     "Auto-Submitted: auto-replied"])), own_addresses=own) \
        == MailKind.LOOP
    hops = [f"Received: from h{i} by h{i + 1}; Mon, 7 Dec 2026 10:00:00 +0700" for i in range(61)]
    assert classify(parse_mail(mail(hops))) == MailKind.LOOP
    assert classify(parse_mail(mail(hops[:60]))) == MailKind.LETTER
    assert classify(parse_mail(mail(["X-Loop: other@x.go.th"])), own_addresses=own) \
        == MailKind.LETTER


@pytest.mark.parametrize(("value", "key"), [
    ("<Abc.Def@Mail.Example.GO.TH>", "Abc.Def@mail.example.go.th"),
    ("  <x@Y>  ", "x@y"),
    ("x@Y", "x@y"),
    ("<a b@C>", "ab@c"),
    ("", ""),
    ("no-at-sign", "no-at-sign"),
])
def test_message_id_key(value, key):
    assert message_id_key(value) == key
