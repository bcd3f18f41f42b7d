"""Hostile and broken e-CMS messages: each is refused with a stable code, or (for a wrong but
readable value) accepted with the wire text kept, and memory stays bounded.

What a receiving registry needs decides the line: a letter must not be lost because one value
is odd (a date that does not parse is kept as text, ``Letter.date`` is ``None``; an unknown
secret/speed code is kept as sent), but a letter without the parts that identify it (its
parties, its body) or with XML that is not XML is refused, so the sender hears why.
"""

from __future__ import annotations

import base64
import http.server
import os
import pathlib
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saraban.ecms import CODES, EcmsRefused, Limits, Message, Operation, parse_message

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
WSA = "http://www.w3.org/2005/08/addressing"
RAM = "urn:th:gov:egif:data:standard:ReusableAggregateBusinessInformationEntity:1"
RSM = "urn:th:gov:egif:data:standard:GovernmentDocument:1.0"
PDF = (pathlib.Path(__file__).parent / "corpus/files/letter.pdf").read_bytes()
PNG = (pathlib.Path(__file__).parent / "corpus/files/seal.png").read_bytes()
ROOT = pathlib.Path(__file__).resolve().parents[3]


def envelope(body: str, *, prolog: str = "", header: str = "") -> bytes:
    return (
        f'{prolog}<SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP}"><SOAP-ENV:Header>'
        f'<wsa:MessageID xmlns:wsa="{WSA}">1</wsa:MessageID>{header}</SOAP-ENV:Header>'
        f"<SOAP-ENV:Body>{body}</SOAP-ENV:Body></SOAP-ENV:Envelope>"
    ).encode()


def party(tag: str, ministry: str, department: str) -> str:
    return (
        f"<ram:{tag}><ram:GivenName>สมชาย</ram:GivenName><ram:FamilyName>ใจดี</ram:FamilyName>"
        "<ram:JobTitle>ผู้อำนวยการ</ram:JobTitle>"
        f"<ram:MinistryOrganization><ram:ID>{ministry}</ram:ID></ram:MinistryOrganization>"
        f"<ram:DepartmentOrganization><ram:ID>{department}</ram:ID></ram:DepartmentOrganization>"
        f"</ram:{tag}>"
    )


def letter(
    *,
    letter_id: str = "มท 0210.3/ว 1795",
    date: str = "2020-01-31",
    subject: str = "ขอเชิญประชุม",
    secret: str = "001",
    speed: str = "001",
    sender: str | None = None,
    receiver: str | None = None,
    description: str = "",
    main: str | None = None,
    attachments: str = "",
    letter_element: str | None = None,
    prolog: str = "",
    header: str = "",
) -> bytes:
    """A well-formed letter request; each keyword replaces one part with hostile text."""
    sender = party("SenderParty", "15", "1500100000") if sender is None else sender
    receiver = party("ReceiverParty", "02", "0201300000") if receiver is None else receiver
    if main is None:
        main = (f'<ram:MainLetterBinaryObject mimeCode="application/pdf">'
                f"{base64.b64encode(PDF).decode()}</ram:MainLetterBinaryObject>")
    body = letter_element or (
        '<ram:CorrespondenceLetter ID="Letter">'
        f"<ram:ID>{letter_id}</ram:ID><ram:CorrespondenceDate>{date}</ram:CorrespondenceDate>"
        f"<ram:Subject>{subject}</ram:Subject><ram:SecretCode>{secret}</ram:SecretCode>"
        f"<ram:SpeedCode>{speed}</ram:SpeedCode>{sender}{receiver}"
        "<ram:Attachment>-</ram:Attachment><ram:SendDate>2020-01-31T10:15:42</ram:SendDate>"
        f"<ram:Description>{description}</ram:Description>{main}{attachments}"
        "</ram:CorrespondenceLetter>"
    )
    return envelope(
        "<CorrespondenceLetterOutboundRequest>"
        f'<rsm:GovernmentDocument xmlns:ram="{RAM}" xmlns:rsm="{RSM}">{body}'
        "</rsm:GovernmentDocument></CorrespondenceLetterOutboundRequest>",
        prolog=prolog, header=header,
    )


def refused(data: bytes, code: str, limits: Limits | None = None) -> EcmsRefused:
    with pytest.raises(EcmsRefused) as caught:
        parse_message(data, limits=limits)
    assert caught.value.code == code, f"{caught.value.code}: {caught.value.message}"
    assert caught.value.code in CODES
    return caught.value


def test_the_base_letter_is_accepted() -> None:
    """The hostile variants below differ from this one letter only where they say."""
    msg = parse_message(letter())
    assert msg.operation == Operation.OUTBOUND
    assert msg.letter is not None and msg.letter.main is not None
    assert msg.letter.main.data == PDF


# --------------------------------------------------------------------------- DTDs and entities


class _Catcher(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        body = b'<!ENTITY % q "x">'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def catcher() -> Iterator[tuple[str, list[str]]]:
    """A real HTTP server on loopback that records every request an entity would make."""
    _Catcher.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Catcher)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", _Catcher.hits
    finally:
        server.shutdown()
        server.server_close()


def test_external_entity_to_a_local_file_is_refused() -> None:
    data = letter(prolog='<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
                  subject="&xxe;")
    err = refused(data, "xml_dtd_refused")
    assert "root:" not in err.message


def test_external_entity_over_http_is_refused_and_nothing_is_fetched(catcher) -> None:
    url, hits = catcher
    data = letter(prolog=f'<!DOCTYPE d [<!ENTITY xxe SYSTEM "{url}/secret">]>', subject="&xxe;")
    refused(data, "xml_dtd_refused")
    time.sleep(0.05)
    assert hits == []


def test_parameter_entity_is_refused_and_nothing_is_fetched(catcher) -> None:
    url, hits = catcher
    data = letter(prolog=f'<!DOCTYPE d [<!ENTITY % p SYSTEM "{url}/evil.dtd"> %p;]>')
    refused(data, "xml_dtd_refused")
    time.sleep(0.05)
    assert hits == []


def test_billion_laughs_is_refused() -> None:
    ents = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    data = letter(prolog=f"<!DOCTYPE d [{ents}]>", subject="&lol9;")
    refused(data, "xml_dtd_refused")


def test_doctype_alone_is_refused() -> None:
    refused(letter(prolog='<?xml version="1.0"?><!DOCTYPE SOAP-ENV:Envelope>'), "xml_dtd_refused")
    refused(letter(prolog='<!doctype html SYSTEM "about:legacy-compat">'), "xml_dtd_refused")


def test_entity_declaration_smuggled_in_another_encoding_is_refused() -> None:
    """UTF-7 hides ``<!DOCTYPE`` from a byte scan; the message is refused either way."""
    head = '<?xml version="1.0" encoding="UTF-7"?>'
    dtd = '<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    utf7 = head.encode() + dtd.encode("utf-7") + letter(subject="&xxe;").decode().encode("utf-7")
    with pytest.raises(EcmsRefused) as caught:
        parse_message(utf7)
    assert caught.value.code in {"xml_dtd_refused", "xml_malformed"}
    assert "root:" not in caught.value.message


def test_utf16_is_refused() -> None:
    refused(envelope("<CorrespondenceLetterInboundRequest/>").decode().encode("utf-16"),
            "xml_malformed")


def test_undefined_entity_reference_stays_text() -> None:
    """Without a DTD ``&xxe;`` names nothing: it is read as the characters the sender typed
    (the bare-``&`` repair), never resolved."""
    msg = parse_message(letter(subject="ประชุม &xxe; และ &nbsp;"))
    assert msg.letter is not None
    assert msg.letter.subject == "ประชุม &xxe; และ &nbsp;"
    assert "bare_ampersand" in msg.repaired


def test_xinclude_is_not_processed() -> None:
    xi = ('<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="/etc/passwd" '
          'parse="text"/>')
    msg = parse_message(letter(header=xi))
    assert msg.operation == Operation.OUTBOUND
    assert "root:" not in repr(msg)


def test_processing_instructions_are_ignored_and_fetch_nothing(catcher) -> None:
    url, hits = catcher
    pi = f'<?xml-stylesheet type="text/xsl" href="{url}/evil.xsl"?>'
    msg = parse_message(letter(prolog='<?xml version="1.0" encoding="UTF-8"?>' + pi))
    assert msg.operation == Operation.OUTBOUND
    # A PI before the operation element is not the operation.
    msg = parse_message(envelope("<?php system('id'); ?><CorrespondenceLetterInboundRequest/>"))
    assert msg.operation == Operation.INBOUND
    time.sleep(0.05)
    assert hits == []


# --------------------------------------------------------------------------- size and depth


def test_message_over_the_byte_limit_is_refused() -> None:
    refused(letter(), "xml_too_large", Limits(max_bytes=1000))


def test_deep_nesting_is_refused() -> None:
    deep = "<a>" * 10_000 + "x" + "</a>" * 10_000
    refused(letter(description=deep), "xml_too_deep")
    refused(letter(header=deep), "xml_too_deep")
    # Just past the default (64): a parser's own limit (libxml2: 256) must not be the one hit.
    refused(letter(description="<a>" * 70 + "</a>" * 70), "xml_too_deep")


def test_depth_limit_is_configurable() -> None:
    refused(letter(), "xml_too_deep", Limits(max_depth=5))


def test_file_over_the_file_limit_is_refused() -> None:
    refused(letter(), "file_too_large", Limits(max_file_bytes=len(PDF) - 1))
    assert parse_message(letter(), limits=Limits(max_file_bytes=len(PDF))).letter is not None


def test_too_many_files_are_refused() -> None:
    one = f'<ram:AttachmentBinaryObject mimeCode="image/png">{base64.b64encode(PNG).decode()}' \
          "</ram:AttachmentBinaryObject>"
    assert len(parse_message(letter(attachments=one * 99)).letter.attachments) == 99  # type: ignore[union-attr]
    refused(letter(attachments=one * 100), "too_many_files")  # main + 100 > 100
    refused(letter(attachments=one * 3), "too_many_files", Limits(max_files=3))


def _write_big_letter(path: pathlib.Path, base64_bytes: int) -> None:
    """A letter whose main object is ``base64_bytes`` of base64, written in 1 MiB pieces."""
    head, tail = letter(main="<ram:MainLetterBinaryObject mimeCode=\"application/pdf\">@@"
                        "</ram:MainLetterBinaryObject>").split(b"@@")
    block = base64.b64encode(os.urandom(3 * 1024 * 256))  # 1 MiB of base64 text
    with path.open("wb") as f:
        f.write(head)
        for _ in range(base64_bytes // len(block)):
            f.write(block)
        f.write(tail)


_MEASURE = """
import json, resource, sys, time
from saraban.ecms import EcmsRefused, Limits, parse_message
data = open(sys.argv[1], "rb").read()
limits = Limits(**json.loads(sys.argv[2]))
start = time.monotonic()
try:
    msg = parse_message(data, limits=limits)
    outcome = "accepted:" + str(len(msg.letter.main.data) if msg.letter and msg.letter.main else -1)
except EcmsRefused as exc:
    outcome = exc.code
# VmHWM is this process image's own peak; ru_maxrss would start at the parent's size (Linux
# carries the forking parent's high-water mark across fork and exec).
try:
    with open("/proc/self/status") as f:
        peak_kb = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
except (OSError, StopIteration):
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"outcome": outcome, "seconds": time.monotonic() - start,
                  "maxrss_mb": peak_kb / 1024}))
"""


def measure(path: pathlib.Path, **limits: int) -> dict[str, Any]:
    """Parse ``path`` in a fresh interpreter and report its peak resident memory (the parse's
    alone, plus the interpreter's ~30 MB)."""
    import json

    proc = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(path), json.dumps(limits)],
        capture_output=True, text=True, timeout=120, cwd=ROOT, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


@pytest.fixture(scope="module")
def hundred_mb(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    path = tmp_path_factory.mktemp("big") / "letter-100mb.xml"
    _write_big_letter(path, 100 * 1024 * 1024)
    return path


def test_hundred_mb_of_base64_is_refused_by_size_with_bounded_memory(hundred_mb) -> None:
    r = measure(hundred_mb)
    assert r["outcome"] == "xml_too_large"
    assert r["maxrss_mb"] < 100 + 150  # the bytes read, plus the interpreter


def test_hundred_mb_of_base64_under_a_raised_byte_limit_stops_at_the_file_limit(
    hundred_mb,
) -> None:
    """With the byte limit raised past the message, the main letter is decoded piece by piece
    and refused once it passes max_file_bytes (40 MiB): never 100 MB of decoded bytes."""
    r = measure(hundred_mb, max_bytes=128 * 1024 * 1024)
    assert r["outcome"] == "file_too_large"
    assert r["maxrss_mb"] < 400, r


def test_fifteen_mb_file_is_accepted(tmp_path) -> None:
    """A real letter's scan: one base64 text node of 20 MB (over libxml2's 10 MB default)."""
    path = tmp_path / "letter-20mb.xml"
    _write_big_letter(path, 20 * 1024 * 1024)
    r = measure(path)
    assert r["outcome"] == f"accepted:{20 * 1024 * 1024 // 4 * 3}"
    assert r["maxrss_mb"] < 250, r


def test_many_small_elements_keep_memory_bounded(tmp_path) -> None:
    """Three million empty elements (12 MB, well under the byte limit) must not cost a tree of
    hundreds of MB: refuse them or read past them."""
    path = tmp_path / "elements.xml"
    path.write_bytes(letter(header="<a/>" * 3_000_000))
    r = measure(path)
    assert r["outcome"] in {"accepted:" + str(len(PDF)), "xml_too_large"}, r
    assert r["maxrss_mb"] < 250, r


def test_many_bare_ampersands_keep_memory_bounded(tmp_path) -> None:
    """The bare-``&`` repair must not cost memory per ``&``: eight million of them (8 MB, an
    eighth of the byte limit) in a subject."""
    path = tmp_path / "ampersands.xml"
    path.write_bytes(letter(subject="&" * 8_000_000))
    r = measure(path)
    assert r["outcome"] in {"accepted:" + str(len(PDF)), "xml_too_large", "xml_malformed"}, r
    assert r["maxrss_mb"] < 250, r


# --------------------------------------------------------------------------- wrong values


def test_date_that_does_not_parse_is_kept_as_text() -> None:
    msg = parse_message(letter(date="2563-13-45"))
    assert msg.letter is not None
    assert msg.letter.date_text == "2563-13-45"
    assert msg.letter.date is None


def test_codes_that_are_not_digits_are_kept_as_sent() -> None:
    msg = parse_message(letter(secret="ลับมาก", speed="ด่วน"))
    assert msg.letter is not None
    assert (msg.letter.secret_code, msg.letter.speed_code) == ("ลับมาก", "ด่วน")


def test_department_codes_that_are_not_digits_are_kept_as_sent() -> None:
    msg = parse_message(letter(sender=party("SenderParty", "มท", "กรมการปกครอง")))
    assert msg.letter is not None
    assert msg.letter.sender.department_id == "กรมการปกครอง"
    assert msg.letter.sender.ministry_id == "มท"


def test_text_where_the_party_elements_belong_is_refused() -> None:
    refused(letter(sender="<ram:SenderParty>กรมการปกครอง</ram:SenderParty>"), "missing_element")


def test_missing_receiver_is_refused() -> None:
    refused(letter(receiver=""), "missing_element")


def test_attribute_only_letter_is_refused() -> None:
    refused(letter(letter_element='<ram:CorrespondenceLetter ID="Letter"/>'), "missing_element")


def test_element_inside_a_text_value_is_refused() -> None:
    refused(letter(subject="<b>ด่วน</b>ขอเชิญประชุม"), "bad_value")


def test_bad_base64_is_refused() -> None:
    def main(text: str) -> str:
        return f'<ram:MainLetterBinaryObject mimeCode="application/pdf">{text}' \
               "</ram:MainLetterBinaryObject>"

    refused(letter(main=main("JVBERi0xLjQK!!!!")), "bad_base64")
    refused(letter(main=main("JVBERi0")), "bad_base64")  # length not a multiple of 4
    refused(letter(main=main("QUJD=QUJD")), "bad_base64")  # data after padding
    bad = '<ram:AttachmentBinaryObject mimeCode="image/png">iVBOR%%%</ram:AttachmentBinaryObject>'
    refused(letter(attachments=bad), "bad_base64")


def test_base64_in_lines_is_accepted() -> None:
    """xs:base64Binary allows whitespace; MIME-style 76-character lines decode the same."""
    text = base64.encodebytes(PDF).decode().replace("\n", "\r\n")
    msg = parse_message(letter(main=f'<ram:MainLetterBinaryObject mimeCode="application/pdf">'
                                    f"{text}</ram:MainLetterBinaryObject>"))
    assert msg.letter is not None and msg.letter.main is not None
    assert msg.letter.main.data == PDF


# --------------------------------------------------------------------------- not XML, not SOAP


def test_truncated_message_is_refused() -> None:
    data = letter()
    for cut in (len(data) // 3, len(data) - 20, len(data) - 1):
        refused(data[:cut], "xml_malformed")
    refused(b"", "xml_malformed")


def test_bare_less_than_is_refused() -> None:
    refused(letter(subject="ราคา < 500 บาท"), "xml_malformed")


def test_soap_12_envelope_is_refused() -> None:
    data = envelope("<CorrespondenceLetterInboundRequest/>").replace(
        SOAP.encode(), b"http://www.w3.org/2003/05/soap-envelope")
    refused(data, "not_soap")


def test_wrong_root_is_refused() -> None:
    refused(b"<html><body>hello</body></html>", "not_soap")
    doc = letter().split(b"<CorrespondenceLetterOutboundRequest>")[1].split(
        b"</CorrespondenceLetterOutboundRequest>")[0]
    refused(doc, "not_soap")  # a GovernmentDocument without its envelope
    refused(f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP}"/>'.encode(), "not_soap")


def test_envelope_without_operation_is_refused() -> None:
    refused(envelope(""), "missing_element")


def test_unknown_operation_is_refused() -> None:
    refused(envelope("<TransferAllLettersRequest/>"), "unknown_operation")


def test_refusals_leave_nothing_behind() -> None:
    """Parsing is a pure function: a refusal changes no state that a later parse could see."""
    before = parse_message(letter())
    with pytest.raises(EcmsRefused):
        parse_message(letter(prolog="<!DOCTYPE d>"))
    after = parse_message(letter())
    assert isinstance(after, Message) and after == before


# --------------------------------------------------------------------------- signature wrapping

CORPUS = pathlib.Path(__file__).parent / "corpus"
SIGNED = (CORPUS / "transcript/inbound_response_letter.xml").read_bytes()
CA = (CORPUS / "keys/ca.pem").read_text()
REAL_ID = "มท 0210.3/ว 2201"


def _forged_letter(letter_id: str = "มท 9999/ว 9999", id_attr: str = ' ID="Letter"') -> bytes:
    """A second CorrespondenceLetter saying something else, with the same parts."""
    start = SIGNED.index(b"<ram:CorrespondenceLetter ")
    end = SIGNED.index(b"</ram:CorrespondenceLetter>") + len(b"</ram:CorrespondenceLetter>")
    real = SIGNED[start:end]
    forged = real.replace(REAL_ID.encode(), letter_id.encode()).replace(
        b' ID="Letter"', id_attr.encode(), 1)
    assert forged != real
    return forged


def _never_valid_for_forged_content(data: bytes) -> None:
    """Either refused, or the verdict is not VALID, or what was read is the signed letter."""
    try:
        msg = parse_message(data, trust=[CA])
    except EcmsRefused:
        return
    assert msg.letter is not None
    if msg.signature == "valid":
        assert msg.letter.letter_id == REAL_ID, "a VALID verdict on a letter that was not signed"


def test_the_signed_letter_is_valid_when_its_ca_is_trusted() -> None:
    msg = parse_message(SIGNED, trust=[CA])
    assert msg.signature == "valid"
    assert msg.letter is not None and msg.letter.letter_id == REAL_ID


def test_a_forged_letter_before_the_signed_one_is_never_valid() -> None:
    start = SIGNED.index(b"<ram:CorrespondenceLetter ")
    for attr in (' ID="Letter"', "", ' ID="Forged"'):
        data = SIGNED[:start] + _forged_letter(id_attr=attr) + SIGNED[start:]
        _never_valid_for_forged_content(data)


def test_a_forged_letter_after_the_signed_one_is_never_valid() -> None:
    end = SIGNED.index(b"</ram:CorrespondenceLetter>") + len(b"</ram:CorrespondenceLetter>")
    for attr in (' ID="Letter"', ""):
        data = SIGNED[:end] + _forged_letter(id_attr=attr) + SIGNED[end:]
        _never_valid_for_forged_content(data)


def test_the_signed_letter_moved_aside_for_a_forged_one_is_never_valid() -> None:
    """Classic wrapping: the signed letter hidden in another element, a forged one (without
    an ID) in its place."""
    start = SIGNED.index(b"<ram:CorrespondenceLetter ")
    end = SIGNED.index(b"</ram:CorrespondenceLetter>") + len(b"</ram:CorrespondenceLetter>")
    real = SIGNED[start:end]
    hidden = b"<ram:Extension>" + real + b"</ram:Extension>"
    data = SIGNED[:start] + _forged_letter(id_attr="") + hidden + SIGNED[end:]
    _never_valid_for_forged_content(data)
    sig_at = SIGNED.index(b"<ds:Signature")
    data = (SIGNED[:start] + _forged_letter(id_attr="") + SIGNED[end:sig_at] + hidden
            + SIGNED[sig_at:])
    _never_valid_for_forged_content(data)


def test_a_comment_inside_a_signed_value_does_not_split_what_is_read() -> None:
    """C14N drops comments, so the digest still holds: the parser must then read the whole
    value, not the text before the comment."""
    data = SIGNED.replace(REAL_ID.encode(), "มท 0210.3/<!-- x -->ว 2201".encode(), 1)
    msg = parse_message(data, trust=[CA])
    assert msg.letter is not None
    assert msg.letter.letter_id == REAL_ID
    assert msg.signature == "valid"


# --------------------------------------------------------------------------- mutation fuzzing

_FUZZ_FILES = sorted(p for d in ("mildoc", "boi", "transcript", "other")
                     for p in (CORPUS / d).glob("*.xml"))
_FUZZ_BYTES = [b"<", b">", b"&", b"/", b'"', b"=", b":", b"\x00", b"\xff", b"<!DOCTYPE x>",
               b"<![CDATA[", b"]]>", b"<?pi?>", b"<!--", b"-->", b"&#0;", b"&#x110000;",
               b"\xe0\xb8", "กข".encode(), b"xmlns:ram=\"u\"", b" ID=\"Letter\"", b"==", b"\r\n"]


@settings(max_examples=400, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(
    file_index=st.integers(0, len(_FUZZ_FILES) - 1),
    edits=st.lists(
        st.tuples(st.floats(0, 1), st.integers(0, 3), st.sampled_from(_FUZZ_BYTES),
                  st.integers(1, 40)),
        min_size=1, max_size=4,
    ),
)
def test_mutated_corpus_messages_parse_or_are_refused_with_a_code(
    file_index: int, edits: list[tuple[float, int, bytes, int]]
) -> None:
    """Truncations, deletions, insertions and replacements anywhere in real messages: the
    parser returns a Message or raises EcmsRefused with a known code, nothing else."""
    data = bytearray(_FUZZ_FILES[file_index].read_bytes())
    for where, op, piece, length in edits:
        at = int(where * len(data))
        if op == 0:
            del data[at:]
        elif op == 1:
            del data[at:at + length]
        elif op == 2:
            data[at:at] = piece
        else:
            data[at:at + len(piece)] = piece
    code = ""
    try:
        parse_message(bytes(data), trust=[CA])
    except EcmsRefused as exc:
        code = exc.code
    assert code == "" or code in CODES
