"""The local e-CMS node (``saraban.ecms.node``) as real processes: two nodes relaying to each
other, requests in the clients' dialects (built by ``saraban.ecms`` and a few written by hand
the way BOI-DMS and mil-doc put them on the wire), SIGKILL and restart, hostile bodies."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from saraban import ecms

A, B, C = "1500100000", "2100200000", "1500200000"
GONE = "2100900000"
DATE = "2026-12-07"
PDF = b"%PDF-1.4\n% test letter\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_MAIN = "from saraban.ecms.node import main; import sys; sys.exit(main(sys.argv[1:]))"
READY = "e-CMS node listening on http://"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], object], timeout: float = 15.0, what: str = "") -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(0.05)


class NodeProc:
    """One node process on a fixed port and data directory (restartable)."""

    def __init__(self, root: Path, name: str, departments: dict[str, str],
                 peers: dict[str, str] | None = None, extra: list[str] | None = None) -> None:
        self.root = root / name
        self.root.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.port = free_port()
        self.departments = departments
        self.peers = peers or {}
        self.extra = extra or []
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.root / "node.log"

    def argv(self) -> list[str]:
        args = ["--host", "127.0.0.1", "--port", str(self.port), "--data",
                str(self.root / "data"), "--relay-retry-max", "0.5", *self.extra]
        for d, n in self.departments.items():
            args += ["--department", f"{d}={n}"]
        for d, u in self.peers.items():
            args += ["--peer", f"{d}={u}"]
        return [sys.executable, "-c", _MAIN, *args]

    def start(self) -> None:
        offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(self.argv(), stdout=log, stderr=subprocess.STDOUT,
                                         env={**os.environ, "PYTHONUNBUFFERED": "1"})

        def ready() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} ended:\n{self.log.read_text()}")
            with self.log.open("rb") as f:
                f.seek(offset)
                return READY.encode() in f.read()

        wait_for(ready, 20, f"{self.name} to listen")

    def kill(self, sig: int = signal.SIGKILL) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        code = self.proc.wait(10)
        self.proc = None
        return code

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def service(self, dept: str | None = None) -> str:
        return f"{self.url}/ecms-ws01/service2" if dept is None else \
            f"{self.url}/{dept}/ecms-ws01/service2"

    def post(self, body: bytes, dept: str | None = None,
             ctype: str = "text/xml; charset=utf-8") -> bytes:
        req = urllib.request.Request(self.service(dept), data=body, method="POST",
                                     headers={"Content-Type": ctype})
        with _OPENER.open(req, timeout=20) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"].startswith("text/xml")
            data: bytes = resp.read()
            return data

    def ask(self, body: bytes, dept: str | None = None, **kw: str) -> ecms.Message:
        return ecms.parse_message(self.post(body, dept, **kw))

    def poll(self, dept: str | None = None,
             dialect: ecms.Dialect = ecms.Dialect.SARABAN) -> ecms.Message:
        return self.ask(ecms.simple_request(ecms.Operation.INBOUND, dialect=dialect), dept)

    def wait_item(self, dept: str | None = None, timeout: float = 15) -> ecms.Message:
        def item() -> ecms.Message | None:
            msg = self.poll(dept)
            return None if msg.is_empty_queue else msg

        found = wait_for(item, timeout, f"an item on {self.name}/{dept}")
        assert isinstance(found, ecms.Message)
        return found

    def delete(self, process_id: str, dept: str | None = None) -> ecms.Message:
        return self.ask(ecms.delete_request(process_id), dept)

    def status(self, dept: str | None = None) -> dict[str, str]:
        msg = self.ask(ecms.simple_request(ecms.Operation.OUTBOUND_STATUS), dept)
        return {o.process_id: o.status for o in msg.outbound}


def codes(msg: ecms.Message) -> list[str]:
    return [e.code for e in msg.errors]


def party(dept: str, name: str = "สมชาย") -> ecms.Party:
    return ecms.Party(given_name=name, family_name="ใจดี", job_title="ผู้อำนวยการ",
                      ministry_id=dept[:2], department_id=dept)


def letter(number: str, sender: str = A, receiver: str = B, subject: str = "ขอเชิญประชุม",
           main: bytes = PDF, attachments: tuple[bytes, ...] = ()) -> ecms.Letter:
    return ecms.Letter(
        letter_id=number, date_text=DATE, subject=subject, secret_code="001",
        speed_code="002", sender=party(sender), receiver=party(receiver, "สมหญิง"),
        references=(ecms.Reference("มท 0001/1", "2026-01-02", "เรื่องเดิม"),),
        attachment_text="-", send_date=f"{DATE}T10:15:42", description="ทดสอบ",
        main=ecms.Binary("application/pdf", main),
        attachments=tuple(ecms.Binary("image/png", a) for a in attachments))


@pytest.fixture(scope="module")
def signing_key() -> tuple[bytes, bytes]:
    """An ECDSA P-256 key and its self-signed certificate (PEM), made here."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "กรม ก e-CMS test")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30)).sign(key, hashes.SHA256()))
    return (key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()),
            cert.public_bytes(serialization.Encoding.PEM))


def notifier(kind: ecms.NotifierKind, lt: ecms.Letter, accept_id: str = "") -> ecms.Notifier:
    return ecms.Notifier(kind=kind, letter_id=lt.letter_id, date_text=lt.date_text,
                         subject=lt.subject, accept_id=accept_id)


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NodeProc, NodeProc]]:
    """Node a serves A (and C), node b serves B; each names the other as peer."""
    root = tmp_path_factory.mktemp("ecms-pair")
    a = NodeProc(root, "a", {A: "กรม ก", C: "กรม ค"})
    b = NodeProc(root, "b", {B: "กรม ข"})
    a.peers = {B: b.url, GONE: b.url}   # b does not serve GONE (any more)
    b.peers = {A: a.url + "/ecms-ws01/service2", C: a.url}
    a.extra = ["--ministry", "15=กระทรวงมหาดไทย", "--ministry", "21=กระทรวงสาธารณสุข"]
    try:
        a.start()
        b.start()
        yield a, b
    finally:
        a.close()
        b.close()


# --- the whole exchange across two relaying nodes --------------------------------------------


def test_letter_relays_and_notifiers_come_back(pair: tuple[NodeProc, NodeProc],
                                                signing_key: tuple[bytes, bytes]) -> None:
    a, b = pair
    key, cert = signing_key
    lt = letter("มท 0210.3/ว 1795", attachments=(PNG, PNG + b"2"))
    request = ecms.letter_request(lt, sign_key_pem=key, sign_cert_pem=cert)
    sent = ecms.parse_message(request)
    assert sent.signature == ecms.SignatureVerdict.UNTRUSTED  # checks; no trust given
    answer = a.ask(request)
    assert answer.operation == ecms.Operation.OUTBOUND_RESPONSE, codes(answer)
    assert answer.process_id and answer.document_xml == sent.document_xml
    # The same letter again, re-signed (ECDSA: other signature bytes) or in another dialect:
    # the same content, so the same ProcessID, queued once.
    resigned = ecms.letter_request(lt, sign_key_pem=key, sign_cert_pem=cert)
    assert resigned != request
    assert a.ask(resigned).process_id == answer.process_id
    again = a.ask(ecms.letter_request(lt, dialect=ecms.Dialect.MILDOC))
    assert again.process_id == answer.process_id
    # A signed letter changed after signing is refused.
    tampered = request.replace("ขอเชิญประชุม".encode(), "ขอเชิญประชุน".encode())
    assert codes(a.ask(tampered)) == ["signature_invalid"]

    item = b.wait_item()
    assert item.letter is not None and item.letter.letter_id == lt.letter_id
    assert item.document_xml == sent.document_xml  # the very bytes A posted
    assert [x.data for x in item.letter.attachments] == [PNG, PNG + b"2"]
    assert b.poll().process_id == item.process_id  # the head stays until deleted
    assert b.delete(item.process_id).process_id == item.process_id
    assert b.delete(item.process_id).process_id == item.process_id  # repeat: same answer
    assert b.poll().is_empty_queue
    assert wait_for(lambda: a.status().get(answer.process_id) == "relayed")

    # B: received (mil-doc), then accepted with its number (BOI).
    got = b.ask(ecms.notifier_request(notifier(ecms.NotifierKind.RECEIVE, lt),
                                      dialect=ecms.Dialect.MILDOC))
    assert got.notifier is not None and got.notifier.accept_department == B, codes(got)
    assert got.notifier.accept_date
    acc = b.ask(ecms.notifier_request(notifier(ecms.NotifierKind.ACCEPT, lt, "รับ 4521"),
                                      dialect=ecms.Dialect.BOI))
    assert acc.process_id and acc.notifier is not None and acc.notifier.accept_id == "รับ 4521"
    assert b.ask(ecms.notifier_request(notifier(ecms.NotifierKind.ACCEPT, lt, "รับ 4521"))
                 ).process_id == acc.process_id  # idempotent

    first = a.wait_item()
    assert first.notifier is not None
    assert first.notifier.kind == ecms.NotifierKind.RECEIVE
    assert (first.notifier.letter_id, first.notifier.date_text, first.notifier.subject) == \
        (lt.letter_id, lt.date_text, lt.subject)
    assert first.notifier.accept_department == B
    a.delete(first.process_id)
    second = a.wait_item()
    assert second.notifier is not None and second.notifier.kind == ecms.NotifierKind.ACCEPT
    assert second.notifier.accept_id == "รับ 4521"
    a.delete(second.process_id)
    assert a.poll().is_empty_queue
    assert a.status()[answer.process_id] == "accepted"

    # A says the AcceptID is wrong: it goes to B's queue.
    a.ask(ecms.notifier_request(notifier(ecms.NotifierKind.INVALID_ACCEPT_ID, lt, "รับ 4521")))
    wrong = b.wait_item()
    assert wrong.notifier is not None
    assert wrong.notifier.kind == ecms.NotifierKind.INVALID_ACCEPT_ID
    assert wrong.notifier.accept_id == "รับ 4521"
    b.delete(wrong.process_id)
    # B confirms its number again: after the complaint that is a new notifier, not a repeat.
    again_acc = b.ask(ecms.notifier_request(notifier(ecms.NotifierKind.ACCEPT, lt, "รับ 4521")))
    assert again_acc.process_id and again_acc.process_id != acc.process_id, codes(again_acc)
    confirmed = a.wait_item()
    assert confirmed.notifier is not None
    assert confirmed.notifier.kind == ecms.NotifierKind.ACCEPT
    a.delete(confirmed.process_id)

    # A asks for the AcceptLetterNotifier again (special re-request): a fresh copy.
    doc_key = ecms.DocumentKey(lt.letter_id, lt.date_text, A, B)
    copy = a.ask(ecms.special_request("AcceptLetterNotifier", doc_key,
                                      dialect=ecms.Dialect.MILDOC))
    assert copy.process_id, codes(copy)
    item = a.wait_item()
    assert item.process_id == copy.process_id and item.notifier is not None
    assert item.notifier.accept_id == "รับ 4521"
    a.delete(item.process_id)
    assert codes(a.ask(ecms.special_request("RejectLetterNotifier", doc_key))) == \
        ["unknown_notifier"]


def test_a_letter_the_peer_refuses_is_undeliverable(pair: tuple[NodeProc, NodeProc]) -> None:
    a, _ = pair
    sent = a.ask(ecms.letter_request(letter("ไม่มีผู้รับ 1", receiver=GONE)))
    assert sent.process_id, codes(sent)
    wait_for(lambda: a.status()[sent.process_id] == "undeliverable", 10, "undeliverable")


def test_reject_delete_document_and_send_again(pair: tuple[NodeProc, NodeProc]) -> None:
    a, b = pair
    lt = letter("มท 0210.3/ว 2000", subject="ขออนุมัติ")
    first = a.ask(ecms.letter_request(lt, dialect=ecms.Dialect.BOI))
    assert first.process_id, codes(first)
    # Other content under the same number while the first exists: refused.
    other = letter("มท 0210.3/ว 2000", subject="ขออนุมัติ", main=PDF + b"v2")
    assert codes(a.ask(ecms.letter_request(other))) == ["duplicate_letter"]

    item = b.wait_item()
    b.delete(item.process_id)
    rej = b.ask(ecms.notifier_request(notifier(ecms.NotifierKind.REJECT, lt)))
    assert rej.notifier is not None, codes(rej)
    back = a.wait_item()
    assert back.notifier is not None and back.notifier.kind == ecms.NotifierKind.REJECT
    a.delete(back.process_id)
    assert a.status()[first.process_id] == "rejected"

    key = ecms.DocumentKey(lt.letter_id, DATE, A, B)
    gone = a.ask(ecms.delete_document_request(key, dialect=ecms.Dialect.MILDOC))
    assert gone.operation == ecms.Operation.DELETE_DOCUMENT_RESPONSE, codes(gone)
    assert a.ask(ecms.delete_document_request(key)).process_id == gone.process_id
    assert a.status()[first.process_id] == "deleted"

    resent = a.ask(ecms.letter_request(other))
    assert resent.process_id and resent.process_id != first.process_id, codes(resent)
    item2 = b.wait_item()
    assert item2.letter is not None and item2.letter.main is not None
    assert item2.letter.main.data == PDF + b"v2"
    b.delete(item2.process_id)
    assert b.poll().is_empty_queue


def test_same_node_delete_purges_and_refuses_later_notifiers(
        pair: tuple[NodeProc, NodeProc]) -> None:
    a, _ = pair
    lt = letter("กค 0401/77", sender=A, receiver=C)
    sent = a.ask(ecms.letter_request(lt))   # /ecms-ws01/service2 = A, the first department
    assert sent.process_id, codes(sent)
    item = a.wait_item(C)
    assert item.letter is not None and item.letter.receiver.department_id == C
    a.delete(item.process_id, C)
    # A client that writes the date with a time and pads the number still names it.
    loose = ecms.Notifier(kind=ecms.NotifierKind.RECEIVE, letter_id=f" {lt.letter_id} ",
                          date_text=f"{DATE}T00:00:00", subject=lt.subject)
    assert a.ask(ecms.notifier_request(loose), C).notifier is not None
    a.ask(ecms.notifier_request(notifier(ecms.NotifierKind.ACCEPT, lt, "99")), C)
    a.ask(ecms.delete_document_request(ecms.DocumentKey(lt.letter_id, DATE, A, C)), A)
    refused = a.ask(ecms.notifier_request(notifier(ecms.NotifierKind.REJECT, lt)), C)
    assert codes(refused) == ["letter_deleted"]
    # The notifiers went to A; drain A.
    n = a.wait_item(A)
    assert n.notifier is not None and n.notifier.kind == ecms.NotifierKind.RECEIVE
    assert n.notifier.letter_id == lt.letter_id  # A's own values, as it sent them
    a.delete(n.process_id, A)
    n = a.wait_item(A)
    assert n.notifier is not None and n.notifier.accept_id == "99"
    a.delete(n.process_id, A)
    # Re-request: a fresh copy of a live letter for its receiver.
    lt2 = letter("กค 0401/78", sender=A, receiver=C)
    a.ask(ecms.letter_request(lt2))
    first = a.wait_item(C)
    a.delete(first.process_id, C)
    again = a.ask(ecms.special_request("GovernmentDocument",
                                       ecms.DocumentKey(lt2.letter_id, DATE, A, C)), C)
    assert again.process_id, codes(again)
    copy = a.wait_item(C)
    assert copy.process_id == again.process_id and copy.letter is not None
    a.delete(copy.process_id, C)


def test_hand_written_boi_and_mildoc_bodies(pair: tuple[NodeProc, NodeProc]) -> None:
    """As BOI-DMS concatenates them (no escaping: R&D; no www.; wsa:to) and mil-doc's
    notifier with its odd Content-Type parameter."""
    a, b = pair
    doc = base64.b64encode(PDF).decode()
    boi = (
        '<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope '
        'xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Header>'
        '<wsa:MessageID xmlns:wsa="http://w3.org/2005/08/addressing"> </wsa:MessageID>'
        '<wsa:to xmlns:wsa="http://w3.org/2005/08/addressing"></wsa:to></SOAP-ENV:Header>'
        "<SOAP-ENV:Body><CorrespondenceLetterOutboundRequest><rsm:GovernmentDocument "
        'xmlns:ram="urn:th:gov:egif:data:standard:ReusableAggregateBusinessInformationEntity:1" '
        'xmlns:rsm="urn:th:gov:egif:data:standard:GovernmentDocument:1.0">'
        '<ram:CorrespondenceLetter ID="Letter"><ram:ID>สกท 01/55</ram:ID>'
        "<ram:CorrespondenceDate>2026-12-07</ram:CorrespondenceDate>"
        "<ram:Subject>งาน R&D</ram:Subject><ram:SecretCode>001</ram:SecretCode>"
        "<ram:SpeedCode>001</ram:SpeedCode><ram:SenderParty><ram:GivenName>ก</ram:GivenName>"
        "<ram:FamilyName>ข</ram:FamilyName><ram:JobTitle>ค</ram:JobTitle>"
        f"<ram:MinistryOrganization><ram:ID>21</ram:ID></ram:MinistryOrganization>"
        f"<ram:DepartmentOrganization><ram:ID>{B}</ram:ID></ram:DepartmentOrganization>"
        "</ram:SenderParty><ram:ReceiverParty><ram:GivenName></ram:GivenName>"
        "<ram:FamilyName></ram:FamilyName><ram:JobTitle></ram:JobTitle>"
        f"<ram:MinistryOrganization><ram:ID>{A}</ram:ID></ram:MinistryOrganization>"
        f"<ram:DepartmentOrganization><ram:ID>{A}</ram:ID></ram:DepartmentOrganization>"
        "</ram:ReceiverParty><ram:Attachment></ram:Attachment>"
        "<ram:SendDate>2026-12-07</ram:SendDate><ram:Description></ram:Description>"
        f'<ram:MainLetterBinaryObject mimeCode="application/pdf">{doc}'
        "</ram:MainLetterBinaryObject></ram:CorrespondenceLetter><ram:GovernmentSignature>"
        "<ram:TypeCode>DSIG</ram:TypeCode><ram:SignerParty><ram:GivenName>ก</ram:GivenName>"
        "<ram:FamilyName>ข</ram:FamilyName><ram:Title>ค</ram:Title>"
        f"<ram:MinistryCode>21</ram:MinistryCode><ram:DepartmentCode>{B}</ram:DepartmentCode>"
        "</ram:SignerParty></ram:GovernmentSignature></rsm:GovernmentDocument>"
        "</CorrespondenceLetterOutboundRequest></SOAP-ENV:Body></SOAP-ENV:Envelope>"
    ).encode()
    sent = b.ask(boi, ctype="text/xml")
    assert sent.process_id, codes(sent)
    item = a.wait_item(A)
    assert item.letter is not None and item.letter.subject == "งาน R&D"
    a.delete(item.process_id, A)
    mildoc = (
        '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/">'
        '<SOAP-ENV:Header><wsa:MessageID xmlns:wsa="http://www.w3.org/2005/08/addressing">'
        "128</wsa:MessageID><wsa:To xmlns:wsa=\"http://www.w3.org/2005/08/addressing\">"
        f"{b.service()}</wsa:To></SOAP-ENV:Header><SOAP-ENV:Body>"
        "<CorrespondenceLetterOutboundRequest><AcceptLetterNotifier>"
        "<LetterID>สกท 01/55</LetterID><AcceptID>ทะเบียนรับ 12</AcceptID>"
        "<CorrespondenceDate>2026-12-07</CorrespondenceDate><Subject>งาน R&amp;D</Subject>"
        "</AcceptLetterNotifier></CorrespondenceLetterOutboundRequest></SOAP-ENV:Body>"
        "</SOAP-ENV:Envelope>"
    ).encode()
    acc = a.ask(mildoc, A, ctype="text/xml; encoding='utf-8'")
    assert acc.notifier is not None and acc.notifier.accept_department == A, codes(acc)
    back = b.wait_item()
    assert back.notifier is not None and back.notifier.accept_id == "ทะเบียนรับ 12"
    b.delete(back.process_id)
    # BOI's OutboundStatusRequest uses a SOAP-ENV prefix it never declares: refused, as a
    # namespace-aware node must; mil-doc's form answers.
    boi_status = ecms.simple_request(ecms.Operation.OUTBOUND_STATUS, dialect=ecms.Dialect.BOI)
    assert codes(b.ask(boi_status)) == ["xml_malformed"]
    status = b.ask(ecms.simple_request(ecms.Operation.OUTBOUND_STATUS,
                                       dialect=ecms.Dialect.MILDOC))
    assert {o.letter_id: o.status for o in status.outbound}["สกท 01/55"] == "accepted"


# --- look-ups and refusals ---------------------------------------------------------------------


def test_lookups(pair: tuple[NodeProc, NodeProc]) -> None:
    a, b = pair
    orgs = a.ask(ecms.simple_request(ecms.Operation.ORGANIZATIONS, dialect=ecms.Dialect.MILDOC))
    urls = {o.organization_id: o.ecms_url for o in orgs.organizations}
    assert urls == {A: a.service(A), C: a.service(C), B: b.service(B),
                    GONE: b.service(GONE)}
    assert {o.organization_id: o.th_name for o in orgs.organizations}[A] == "กรม ก"
    mins = a.ask(ecms.simple_request(ecms.Operation.MINISTRIES, dialect=ecms.Dialect.BOI))
    assert {(m.organization_id, m.th_name) for m in mins.ministries} >= \
        {("15", "กระทรวงมหาดไทย"), ("21", "กระทรวงสาธารณสุข")}
    secret = a.ask(ecms.simple_request(ecms.Operation.SECRET_CODES))
    assert [c.value for c in secret.codes] == ["001", "002", "003", "004"]
    speed = a.ask(ecms.simple_request(ecms.Operation.SPEED_CODES))
    assert speed.codes[3].description == "ด่วนที่สุด"
    mime = a.ask(ecms.simple_request(ecms.Operation.MIME_CODES))
    assert ("pdf", "application/pdf") in {(c.value, c.description) for c in mime.mime_codes}
    clock = a.ask(ecms.simple_request(ecms.Operation.TIME_CHECK))
    assert clock.ecms_time.endswith("+07:00")  # Bangkok, where e-CMS nodes are
    import datetime as dt

    skew = dt.datetime.fromisoformat(clock.ecms_time) - dt.datetime.now(dt.UTC)
    assert abs(skew.total_seconds()) < 60
    with _OPENER.open(a.service(C), timeout=10) as page:
        assert C in page.read().decode()


@pytest.mark.parametrize(("body", "code"), [
    (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
     b'<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/">'
     b"<SOAP-ENV:Body><CorrespondenceLetterDeleteRequest><ProcessID>&e;</ProcessID>"
     b"</CorrespondenceLetterDeleteRequest></SOAP-ENV:Body></SOAP-ENV:Envelope>",
     "xml_dtd_refused"),
    (b'<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
     b"<l>&b;</l>", "xml_dtd_refused"),
    (b"<a>" * 1000 + b"</a>" * 1000, "xml_too_deep"),
    (b"not xml at all", "xml_malformed"),
    (b"<Envelope><Body/></Envelope>", "not_soap"),
])
def test_hostile_bodies_are_refused(pair: tuple[NodeProc, NodeProc], body: bytes,
                                    code: str) -> None:
    a, _ = pair
    assert codes(a.ask(body, C)) == [code]
    assert a.poll(C).is_empty_queue
    assert a.status(C) == {}


def test_refusals_store_nothing(pair: tuple[NodeProc, NodeProc]) -> None:
    a, b = pair
    before = (a.status(C), b.status())
    bad_b64 = ecms.letter_request(letter("บ 1/1", sender=C)).replace(
        base64.b64encode(PDF), b"!!!not-base64!!!")
    assert codes(a.ask(bad_b64, C)) == ["bad_base64"]
    # Wrong sender for this URL, unknown receiver, unknown department URL.
    assert codes(a.ask(ecms.letter_request(letter("บ 1/2", sender=B)), C)) == ["sender_mismatch"]
    assert codes(a.ask(ecms.letter_request(letter("บ 1/3", sender=C, receiver="9900000000")),
                       C)) == ["unknown_department"]
    assert codes(a.ask(ecms.simple_request(ecms.Operation.INBOUND), "7777777777")) == \
        ["unknown_department"]
    assert codes(a.ask(ecms.delete_request("no-such-item"), C)) == ["unknown_process"]
    lt = letter("ไม่มี 1/1", sender=B, receiver=C)
    assert codes(a.ask(ecms.notifier_request(notifier(ecms.NotifierKind.ACCEPT, lt, "1")),
                       C)) == ["unknown_letter"]
    # A response posted as a request.
    assert codes(a.ask(ecms.time_check_response("2026-01-01T00:00:00"), C)) == \
        ["unknown_operation"]
    assert (a.status(C), b.status()) == before
    assert a.poll(C).is_empty_queue


def test_oversized_body_is_answered_without_reading_it(pair: tuple[NodeProc, NodeProc]) -> None:
    a, _ = pair
    with socket.create_connection(("127.0.0.1", a.port), timeout=10) as s:
        s.sendall(b"POST /ecms-ws01/service2 HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: text/xml\r\nContent-Length: 10000000000\r\n\r\n<a>")
        start = time.monotonic()
        data = b""
        while b"</SOAP-ENV:Envelope>" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    assert time.monotonic() - start < 5
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert codes(ecms.parse_message(body)) == ["xml_too_large"]


def test_relay_endpoint_is_idempotent(pair: tuple[NodeProc, NodeProc]) -> None:
    _, b = pair
    body = {"v": 1, "origin": "test-origin", "origin_url": "http://127.0.0.1:9",
            "relay_id": "r-1", "kind": "delete_document", "sender": A, "receiver": B,
            "letter_id": "nothing", "date_text": DATE}

    def post(data: dict[str, object]) -> tuple[int, dict[str, object]]:
        req = urllib.request.Request(b.url + "/ecms-relay/v1", method="POST",
                                     data=json.dumps(data).encode(),
                                     headers={"Content-Type": "application/json"})
        try:
            with _OPENER.open(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    assert post(body) == (200, {"ok": True, "result": "dropped: unknown_letter"})
    assert post(body)[1].get("repeat") is True
    assert post({**body, "relay_id": "r-2", "kind": "letter", "receiver": "9999999999",
                 "digest": "x", "subject": "s", "document_xml": ""})[0] == 409
    assert post({"kind": "letter"})[0] == 400
    # A document that is not the letter the relay names does not get into a queue.
    doc = base64.b64encode(ecms.government_document(letter("จริง 1"))).decode()
    lying = {**body, "relay_id": "r-3", "kind": "letter", "letter_id": "อื่น 1",
             "digest": "x", "subject": "s", "document_xml": doc}
    status, answer = post(lying)
    assert (status, answer["code"]) == (409, "bad_document")
    assert b.poll().is_empty_queue


def test_concurrent_clients(pair: tuple[NodeProc, NodeProc]) -> None:
    """Sixteen clients at once, and one that opened a connection and went silent."""
    from concurrent.futures import ThreadPoolExecutor

    a, b = pair
    with socket.create_connection(("127.0.0.1", a.port), timeout=10) as silent:
        silent.sendall(b"POST /ecms-ws01/service2 HTTP/1.1\r\nContent-Length: 100\r\n\r\n<")
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(
                lambda i: a.ask(ecms.letter_request(letter(f"พร้อมกัน {i}", sender=C)), C),
                range(16)))
    assert all(x.process_id for x in answers), [codes(x) for x in answers]
    got = set()
    for _ in range(16):
        item = b.wait_item()
        assert item.letter is not None
        got.add(item.letter.letter_id)
        b.delete(item.process_id)
    assert got == {f"พร้อมกัน {i}" for i in range(16)}
    assert b.poll().is_empty_queue


def test_a_hanging_peer_holds_back_only_its_own_items(tmp_path: Path) -> None:
    with socket.socket() as hang:   # accepts connections, never answers
        hang.bind(("127.0.0.1", 0))
        hang.listen(16)
        dead = f"http://127.0.0.1:{hang.getsockname()[1]}"
        b = NodeProc(tmp_path, "b", {B: "กรม ข"})
        a = NodeProc(tmp_path, "a", {A: "กรม ก"}, peers={B: b.url, C: dead})
        try:   # b names no peer: its answers go back to where the letter came from
            a.start()
            b.start()
            stuck = a.ask(ecms.letter_request(letter("ค้าง 1", receiver=C)))
            lt = letter("ไป 1")
            sent = a.ask(ecms.letter_request(lt))
            item = b.wait_item(timeout=5)
            assert item.letter is not None and item.letter.letter_id == "ไป 1"
            wait_for(lambda: a.status()[sent.process_id] == "relayed", 5, "relayed")
            assert a.status()[stuck.process_id] == "queued"
            b.ask(ecms.notifier_request(notifier(ecms.NotifierKind.ACCEPT, lt, "7")))
            back = a.wait_item(timeout=5)
            assert back.notifier is not None and back.notifier.accept_id == "7"
        finally:
            a.close()
            b.close()


# --- SIGKILL and restart -----------------------------------------------------------------------


def test_kill_and_restart_loses_nothing(tmp_path: Path) -> None:
    a = NodeProc(tmp_path, "a", {A: "กรม ก"})
    b = NodeProc(tmp_path, "b", {B: "กรม ข"})
    a.peers, b.peers = {B: b.url}, {A: a.url}
    try:
        a.start()   # b is down: the letters wait in a's relay outbox
        sent = [a.ask(ecms.letter_request(letter(f"ทดสอบ {i}/2569"))) for i in range(3)]
        assert all(s.process_id for s in sent), [codes(s) for s in sent]
        a.kill()    # SIGKILL with the outbox full
        a.start()
        assert set(a.status()) == {s.process_id for s in sent}
        b.start()
        first = b.wait_item()
        assert first.letter is not None and first.letter.letter_id == "ทดสอบ 0/2569"
        wait_for(lambda: set(a.status().values()) == {"relayed"}, 15, "all relayed")
        b.kill()    # SIGKILL with three letters queued at b
        b.start()
        got = []
        for _ in range(3):
            item = b.wait_item()
            assert item.letter is not None
            got.append(item.letter.letter_id)
            b.delete(item.process_id)
        assert got == [f"ทดสอบ {i}/2569" for i in range(3)]
        assert b.poll().is_empty_queue
        assert a.kill(signal.SIGTERM) == 0   # a clean stop
        b.close()
        with (b.log).open() as f:
            assert "Traceback" not in f.read()
    finally:
        a.close()
        b.close()


def test_bad_configuration_exits_2(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-c", _MAIN, "--data", str(tmp_path)],
                         capture_output=True, timeout=30, check=False)
    assert run.returncode == 2 and b"no department" in run.stderr


def test_configuration_is_kept_and_merged(tmp_path: Path) -> None:
    from saraban.ecms.node._config import ConfigError, base_url, load_config

    data = str(tmp_path / "n")
    first = load_config(["--data", data, "--department", f"{A}=กรม ก",
                         "--peer", f"{B}=http://10.0.0.2:8780 กรม ข", "--ministry", "15=มท"])
    again = load_config(["--data", data, "--department", f"{C}=กรม ค",
                         "--peer", f"{B}=http://10.0.0.3:8780/{B}/ecms-ws01/service2"])
    assert again.node_id == first.node_id
    assert list(again.departments) == [A, C] and again.first_department == A
    assert again.peers[B].base_url == "http://10.0.0.3:8780"
    assert again.peers[B].relay_url == "http://10.0.0.3:8780/ecms-relay/v1"
    assert again.ministries == {"15": "มท"}
    moved = load_config(["--data", data, "--peer", f"{C}=http://10.0.0.4:1"])
    assert list(moved.departments) == [A] and C in moved.peers
    assert base_url("http://h:1/ecms-ws01/service2") == "http://h:1"
    with pytest.raises(ConfigError):
        load_config(["--data", data, "--peer", f"{B}=ftp://x"])
    with pytest.raises(ConfigError):
        load_config(["--data", data, "--department", "../etc=x"])
