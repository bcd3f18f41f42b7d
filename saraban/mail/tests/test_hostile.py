"""Hostile and broken mail: whatever the bytes, :func:`parse_mail` returns a ParsedMail or
raises MailRefused with a stable code — quickly, and without exhausting the stack.

The fuzz tests also run the parser *without* its last-resort guard (which turns any bug
into ``mail_malformed``), so a bug shows here as the exception it is.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saraban.mail import CODES, MailLimits, MailRefused, ParsedMail, _parse, parse_mail
from saraban.mail._scan import prescan

from .mailkit import PDF, b64, ew, mail, multipart, part, tnef

LIMITS = MailLimits()


def unguarded(raw: bytes, limits: MailLimits = LIMITS) -> ParsedMail | None:
    """parse_mail's work without the catch-all, so a bug raises its own exception."""
    refused: MailRefused | None = None
    try:
        if not raw.strip():
            raise MailRefused("mail_malformed", "empty")
        prescan(raw, limits)
        return _parse._parse(raw, limits, ())
    except MailRefused as err:
        refused = err
    assert refused.code in CODES
    return None


def check(raw: bytes) -> None:
    unguarded(raw)
    refused: MailRefused | None = None
    try:
        parsed = parse_mail(raw)
    except MailRefused as err:
        refused = err
    if refused is not None:
        assert refused.code in CODES
        assert refused.message
        return
    assert isinstance(parsed, ParsedMail)
    assert len(parsed.digest) == 64
    for att in parsed.attachments:
        assert att.filename and len(att.filename) <= 200
        assert not any(c in att.filename for c in "/\\\x00\r\n")
        assert att.origin in {"part", "tnef", "forwarded"}


SEED = mail(
    [f"Subject: {ew('ทดสอบ', 'tis-620')}", "MIME-Version: 1.0",
     'Content-Type: multipart/mixed; boundary="B"'],
    multipart("B", [
        part(["Content-Type: multipart/alternative; boundary=\"A\""], multipart("A", [
            part(["Content-Type: text/plain; charset=utf-8",
                  "Content-Transfer-Encoding: quoted-printable"], "=E0=B8=81 text"),
            part(["Content-Type: text/html; charset=windows-874"], "<p>x</p>"),
        ])),
        part(["Content-Type: application/pdf; name*=utf-8''%E0%B8%81.pdf",
              "Content-Transfer-Encoding: base64"], b64(PDF)),
        part(["Content-Type: message/rfc822"], mail(["Subject: inner"], "inner body")),
        part(['Content-Type: application/ms-tnef; name="winmail.dat"',
              "Content-Transfer-Encoding: base64"], b64(tnef([("a.txt", b"a")]))),
        part(["Content-Type: message/delivery-status"],
             "Reporting-MTA: dns; x\r\n\r\nFinal-Recipient: rfc822; a@b\r\nAction: failed\r\n"),
    ]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000))
def test_random_bytes(data):
    check(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_random_bytes_after_headers(data):
    check(b"From: a@b.go.th\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n" + data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_mail(data):
    raw = bytearray(SEED)
    for _ in range(data.draw(st.integers(1, 8))):
        op = data.draw(st.sampled_from(["flip", "insert", "delete", "truncate", "dup"]))
        pos = data.draw(st.integers(0, max(0, len(raw) - 1)))
        if op == "flip" and raw:
            raw[pos] = data.draw(st.integers(0, 255))
        elif op == "insert":
            raw[pos:pos] = data.draw(st.sampled_from(
                [b"\x00", b"\r", b"\n", b"--B\r\n", b"--A--", b"=?utf-8?B?", b"?=", b'"', b";",
                 b"*0*=", b"\r\n\r\n", b"Content-Type: multipart/mixed; boundary=B\r\n",
                 b"=\r\n", b"\xff\xfe", b"begin 644 x\r\n"]))
        elif op == "delete":
            del raw[pos : pos + data.draw(st.integers(1, 50))]
        elif op == "truncate":
            del raw[pos:]
        elif op == "dup":
            raw[pos:pos] = raw[pos : pos + data.draw(st.integers(1, 200))]
    check(bytes(raw))


header_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=80)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(subject=header_text, name=header_text, charset=st.sampled_from(
    ["utf-8", "tis-620", "x-windows-874", "bogus", "utf-7", "base64", "rot13", "", "utf-16"]),
    cte=st.sampled_from(["base64", "quoted-printable", "x-uuencode", "7bit", "bogus", ""]),
    body=st.binary(max_size=300))
def test_bogus_encodings(subject, name, charset, cte, body):
    raw = mail([f"Subject: =?{charset}?B?{b64(subject.encode('utf-8', 'replace'))}?=",
                'Content-Type: multipart/mixed; boundary="b"'], multipart("b", [
        part([f"Content-Type: text/plain; charset={charset}",
              f"Content-Transfer-Encoding: {cte}"], body),
        part([f"Content-Type: application/pdf; name=\"{ew(name) if name else ''}\"",
              f"Content-Disposition: attachment; filename*={charset}''%FF%E0{name[:5]!r}",
              f"Content-Transfer-Encoding: {cte}"], body),
    ]))
    check(raw)


def _timed(raw: bytes, **limits: int) -> tuple[str, float]:
    start = time.perf_counter()
    try:
        parse_mail(raw, limits=MailLimits(**limits))
        code = ""
    except MailRefused as err:
        code = err.code
    return code, time.perf_counter() - start


def test_deep_nesting_refused_before_parsing():
    depth = 5000
    raw = b"From: a@b\r\n" + b"".join(
        f'Content-Type: multipart/mixed; boundary="{i}"\r\n\r\n--{i}\r\n'.encode()
        for i in range(depth))
    code, took = _timed(raw)
    assert code == "mail_too_deep"
    assert took < 2
    forwarded = b"From: a@b\r\n" + b"Content-Type: message/rfc822\r\n\r\n" * depth + b"x"
    code, took = _timed(forwarded)
    assert code == "mail_too_deep" and took < 2


def test_many_parts_refused_quickly():
    raw = mail(['Content-Type: multipart/mixed; boundary="b"'],
               b"--b\r\n\r\nx\r\n" * 100_000 + b"--b--\r\n")
    code, took = _timed(raw)
    assert code == "mail_too_many_parts" and took < 2


def test_header_flood_refused_quickly():
    raw = b"From: a@b\r\n" + b"X-A: b\r\n" * 200_000 + b"\r\nbody"
    code, took = _timed(raw)
    assert code == "mail_too_many_headers" and took < 2
    folded = b"From: a@b\r\nSubject: x\r\n" + b" more\r\n" * 100_000 + b"\r\nbody"
    code, took = _timed(folded)
    assert code == "mail_too_many_headers" and took < 2


def test_huge_single_header_and_long_lines_are_bounded():
    raw = mail(["To: " + ", ".join(f"u{i}@x.go.th" for i in range(20_000))], "x" * 2_000_000)
    code, took = _timed(raw)
    assert code == "" and took < 5


def test_size_checked_before_anything():
    code, took = _timed(b"\x00" * (2 * 1024 * 1024), max_bytes=1024 * 1024)
    assert code == "mail_too_large" and took < 0.5


def test_tnef_with_millions_of_objects_is_not_parsed():
    stream = b"\x78\x9f\x3e\x22\x01\x00" + b"\x01\x00\x80\x01\x00\x00\x00\x00\x00\x00" * 100_000
    raw = mail(['Content-Type: multipart/mixed; boundary="b"'], multipart("b", [
        part(['Content-Type: application/ms-tnef; name="winmail.dat"',
              "Content-Transfer-Encoding: base64"], b64(stream))]))
    start = time.perf_counter()
    parsed = parse_mail(raw)
    assert time.perf_counter() - start < 3
    assert [a.filename for a in parsed.attachments] == ["winmail.dat"]


@pytest.mark.parametrize("raw", [
    # boundary that is a prefix of another, and an empty boundary
    mail(['Content-Type: multipart/mixed; boundary="a"'],
         b"--ab\r\n\r\nnot a part\r\n--a\r\nContent-Type: text/plain\r\n\r\nreal\r\n--a--\r\n"),
    mail(['Content-Type: multipart/mixed; boundary=""'], b"--\r\n\r\nx\r\n----\r\n"),
    # boundary never appears / never closed / closed twice
    mail(['Content-Type: multipart/mixed; boundary="zz"'], b"no parts here\r\n"),
    mail(['Content-Type: multipart/mixed; boundary="zz"'], b"--zz\r\n\r\nopen\r\n"),
    mail(['Content-Type: multipart/mixed; boundary="zz"'], b"--zz--\r\n--zz--\r\n--zz\r\n"),
    # the same boundary nested
    mail(['Content-Type: multipart/mixed; boundary="s"'],
         b'--s\r\nContent-Type: multipart/mixed; boundary="s"\r\n\r\n--s\r\n\r\nx\r\n--s--\r\n'),
    # lone CRs and LFs, NULs
    b"From: a@b\rSubject: x\r\n\n\rbody\x00\x00\r",
    b"From: a@b\nSubject: \x00\x00\n\nbo\x00dy",
    # header without value, without colon, with 8-bit name
    b"From: a@b\r\nSubject\r\n: empty\r\n\xff\xfe: x\r\n\r\nbody",
    # multipart/signed with one part, with a garbage signature
    mail(['Content-Type: multipart/signed; protocol="application/pkcs7-signature"; '
          'boundary="s"'], b"--s\r\nContent-Type: text/plain\r\n\r\nx\r\n--s--\r\n"),
    mail(['Content-Type: multipart/signed; boundary="s"'],
         b"--s\r\n\r\nx\r\n--s\r\nContent-Type: application/pkcs7-signature\r\n\r\n"
         b"MIIB\r\n--s--\r\n"),
    mail(["Content-Type: application/pkcs7-mime; smime-type=signed-data",
          "Content-Transfer-Encoding: base64"], b"MIAGCSqGSIb3DQEHAqCAMIACAQEx\r\n"),
    # delivery-status junk
    mail(['Content-Type: multipart/report; report-type=delivery-status; boundary="r"'],
         b"--r\r\nContent-Type: message/delivery-status\r\n\r\n\x00\xff:\r\n\r\n;;;\r\n--r--"),
    # RFC 2231 with absurd continuation numbers
    mail(['Content-Type: application/pdf; name*99999999*=a; name*0*=%ZZ%; name*-1=x']),
    # encoded words everywhere
    mail(["From: =?utf-8?B?====?= <=?x?Q?@?=>", "Date: =?utf-8?B?xx?=",
          "Message-ID: <=?utf-8?Q?a?=>"]),
])
def test_tricky_shapes(raw):
    check(raw)


def test_encoded_inner_messages_are_prescanned_too():
    deep = b"From: a@b\r\n" + b"".join(
        f'Content-Type: multipart/mixed; boundary="{i}"\r\n\r\n--{i}\r\n'.encode()
        for i in range(3000))
    raw = mail(['Content-Type: multipart/mixed; boundary="o"'], multipart("o", [
        part(["Content-Type: message/rfc822", "Content-Transfer-Encoding: base64"], b64(deep))]))
    code, took = _timed(raw)
    assert code == "mail_too_deep" and took < 2
