"""e-CMS end to end on one Saraban database: two agencies, each with its e-CMS account on
real local e-CMS node processes (``saraban.ecms.node``), nothing mocked.

moi (department 1500100000) and the province (1507000000) talk only to their own node URL;
the nodes relay (two nodes) or route locally (one node serving both departments).
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from saraban.agencies.actors import resolve_actor
from saraban.core.audit import audit_verify
from saraban.core.errors import ValidationFailed
from saraban.ecms import (
    Binary,
    Dialect,
    Header,
    Letter,
    Notifier,
    NotifierKind,
    Operation,
    Party,
    letter_request,
    notifier_request,
    parse_message,
    simple_request,
)
from saraban.exchange.ecms.accounts import ecms_account_set, ecms_entry_add
from saraban.exchange.ecms.client import call, post_raw
from saraban.exchange.ecms.poll import PollResult, poll_now, store_letter
from saraban.exchange.inbox import exchange_inbox_register, exchange_inbox_reject
from saraban.exchange.models import (
    DirectoryEntry,
    EcmsAccount,
    EcmsUnmatched,
    InboxMessage,
    InState,
    MessageType,
    OutboxMessage,
    OutState,
)
from saraban.exchange.outbox import (
    exchange_dispute_accept_id,
    exchange_resend,
    exchange_withdraw,
)
from saraban.exchange.worker import drain
from saraban.letters.services import LetterDetails, Recipient, Upload, letter_register_outgoing
from saraban.letters.tests.test_register import tiny_pdf

MOI = "1500100000"
PROVINCE = "1507000000"
OTHER = "2100300000"  # a department of another vendor's system, unknown to Saraban
LAO = "1507100000"

READY = "e-CMS node listening on"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Node:
    """One ``saraban.ecms.node`` process on its own data directory."""

    def __init__(self, root: Path, departments: dict[str, str],
                 peers: dict[str, str] | None = None, port: int = 0) -> None:
        self.root = root
        self.port = port or _free_port()
        self.departments = departments
        self.peers = peers or {}
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, department: str) -> str:
        return f"{self.base}/{department}/ecms-ws01/service2"

    def start(self) -> Node:
        args = ["--host", "127.0.0.1", "--port", str(self.port), "--data", str(self.root)]
        for dept, name in self.departments.items():
            args += ["--department", f"{dept}={name}"]
        for dept, url in self.peers.items():
            args += ["--peer", f"{dept}={url}"]
        log = (self.root.parent / f"{self.root.name}.log").open("ab")
        env = {k: v for k, v in os.environ.items() if not k.startswith("SARABAN_")}
        self.proc = subprocess.Popen(
            [sys.executable, "-c",
             "import sys; from saraban.ecms.node import main; sys.exit(main(sys.argv[1:]))",
             *args],
            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + 30
        path = self.root.parent / f"{self.root.name}.log"
        while READY not in path.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(path.read_text(errors="replace")[-2000:])
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    """One node serving both departments (and a third, another vendor's)."""
    n = Node(tmp_path / "ecms", {MOI: "สป.มท.", PROVINCE: "จังหวัดเชียงใหม่",
                                 OTHER: "หน่วยงานอื่น", LAO: "เทศบาลนครเชียงใหม่"}).start()
    yield n
    n.stop()


@pytest.fixture
def fast(settings):
    settings.SARABAN_ECMS_POLL_SECONDS = 0
    settings.SARABAN_ECMS_TIMEOUT_SECONDS = 10
    settings.SARABAN_EXCHANGE_RETRY_BASE_SECONDS = 0.05
    return settings


def connect(org, moi_url: str, province_url: str) -> None:
    ecms_account_set(agency=org.ministry, department=MOI, node_url=moi_url)
    ecms_account_set(agency=org.province, department=PROVINCE, node_url=province_url)


def pump(until: Callable[[], bool], timeout: float = 15) -> None:
    """Run the worker's deliveries and polls until ``until()`` holds."""
    deadline = time.monotonic() + timeout
    while not until():
        if time.monotonic() > deadline:
            raise TimeoutError("e-CMS exchange did not settle")
        drain(timeout=5)
        time.sleep(0.02)


def send(org, subject="ขอเชิญประชุมเชิงปฏิบัติการ", **kw):
    return letter_register_outgoing(
        actor=resolve_actor(org.clerk), registry=org.central,
        details=LetterDetails(kind="external", subject=subject, urgency=2,
                              enclosures=["กำหนดการ 1 ชุด"], **kw),
        recipients=[Recipient(channel="ecms", agency=org.province)],
        main_file=Upload("letter.pdf", tiny_pdf()),
        attachments=[Upload("program.png", _png())],
    )


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 10, 10)).save(out, format="PNG")
    return out.getvalue()


def _raw_letter(letter_id: str, *, sender: str, receiver: str, main: bytes,
                subject: str = "หนังสือจากระบบอื่น") -> bytes:
    """A letter as mil-doc writes it (another vendor's client, unsigned)."""
    return letter_request(Letter(
        letter_id=letter_id, date_text="2026-12-01", subject=subject,
        sender=Party("สมปอง", "ใจงาม", "ผู้อำนวยการ", sender[:2], sender),
        receiver=Party("", "", "ผู้ว่าราชการจังหวัดเชียงใหม่", receiver[:2], receiver),
        attachment_text="-", send_date="2026-12-01T10:15:42", description="ทดสอบ",
        main=Binary("application/pdf", main),
    ), header=Header(message_id="Test"), dialect=Dialect.MILDOC)


# ---- the whole exchange through two relaying nodes -----------------------------------------


def test_letter_goes_through_two_nodes_is_registered_and_the_number_comes_back(
        org, province_clerk, fast, tmp_path):
    a_port, b_port = _free_port(), _free_port()
    a = Node(tmp_path / "a", {MOI: "สป.มท."}, {PROVINCE: f"http://127.0.0.1:{b_port}"},
             port=a_port).start()
    b = Node(tmp_path / "b", {PROVINCE: "จังหวัดเชียงใหม่"}, {MOI: f"http://127.0.0.1:{a_port}"},
             port=b_port).start()
    try:
        connect(org, a.url(MOI), b.url(PROVINCE))
        entry = send(org)
        out = OutboxMessage.objects.get(letter=entry.letter)
        assert out.dispatch is not None
        assert (out.state, out.dispatch.channel) == (OutState.QUEUED, "ecms")

        pump(lambda: InboxMessage.objects.filter(recipient=org.province).exists())
        out.refresh_from_db()
        assert out.state == OutState.SENT and out.transport_receipt is not None
        assert out.transport_receipt["channel"] == "ecms"
        assert out.transport_receipt["process_id"]
        wire = out.payload["ecms"]
        assert wire["letter_id"] == entry.formatted and wire["receiver"] == PROVINCE
        assert wire["date_text"] == entry.letter.letter_date.isoformat()  # CE on the wire
        assert wire["signed"] is True

        arrived = InboxMessage.objects.get(recipient=org.province)
        assert arrived.sender_code == "moi"  # the department is moi's own directory entry
        letter = arrived.envelope["letter"]
        assert (letter["number"], letter["urgency"], letter["subject"]) == (
            entry.formatted, 2, "ขอเชิญประชุมเชิงปฏิบัติการ")
        assert letter["enclosures"] == ["กำหนดการ 1 ชุด"]
        assert arrived.envelope["ecms"]["signature"] == "valid"
        assert sorted(f.role for f in arrived.files.all()) == ["attachment", "main"]
        main = arrived.files.get(role="main")
        assert main.blob_id == entry.letter.files.get(role="main").blob_id

        # The province's ReceiveLetterNotifier: arrived, still "sent".
        pump(lambda: "arrived" in (OutboxMessage.objects.get(pk=out.pk).transport_receipt
                                   or {}))
        their = exchange_inbox_register(actor=province_clerk, message=arrived)
        pump(lambda: OutboxMessage.objects.get(pk=out.pk).state == OutState.REGISTERED)
        out.refresh_from_db()
        assert out.receipt_number == their.formatted
        from saraban.exchange.ecms.accounts import ecms_outbound_status

        [status] = ecms_outbound_status(agency_id=org.ministry.pk)
        assert (status["process_id"], status["letter_id"]) == (
            out.transport_receipt["process_id"], entry.formatted)
        assert their.letter.number == entry.formatted
        answers = OutboxMessage.objects.filter(sender=org.province, type=MessageType.RECEIPT)
        assert sorted(answers.values_list("payload__status", "state")) == [
            ("received", "sent"), ("registered", "sent")]
        assert all(problem is None for _a, _n, problem in audit_verify())
    finally:
        a.stop()
        b.stop()


# ---- reject, withdraw, resend the same number; dispute the AcceptID ------------------------


def test_rejected_letter_is_withdrawn_from_the_node_and_sent_again_under_its_number(
        org, province_clerk, fast, node):
    connect(org, node.url(MOI), node.url(PROVINCE))
    entry = send(org)
    pump(lambda: InboxMessage.objects.filter(recipient=org.province).exists())
    first = InboxMessage.objects.get(recipient=org.province)
    exchange_inbox_reject(actor=province_clerk, message=first, reason="สิ่งที่ส่งมาด้วยไม่ครบ")
    out = OutboxMessage.objects.get(letter=entry.letter, type=MessageType.LETTER)
    pump(lambda: OutboxMessage.objects.get(pk=out.pk).state == OutState.REJECTED)

    clerk = resolve_actor(org.clerk)
    exchange_withdraw(actor=clerk, out=out)
    command = OutboxMessage.objects.get(type=MessageType.COMMAND)
    assert command.payload["ecms_op"] == "delete_document"
    fresh = exchange_resend(actor=clerk, out=out)
    pump(lambda: InboxMessage.objects.filter(recipient=org.province,
                                             state=InState.WAITING).exists())
    command.refresh_from_db()
    fresh.refresh_from_db()
    assert command.state == OutState.SENT and fresh.state == OutState.SENT
    assert fresh.payload["ecms"]["letter_id"] == entry.formatted  # the same number
    second = InboxMessage.objects.get(recipient=org.province, state=InState.WAITING)
    assert second.message_id != first.message_id  # a new generation, not a duplicate
    their = exchange_inbox_register(actor=province_clerk, message=second)
    pump(lambda: OutboxMessage.objects.get(pk=fresh.pk).state == OutState.REGISTERED)
    fresh.refresh_from_db()
    assert fresh.receipt_number == their.formatted

    # The sender finds the AcceptID wrong: InvalidAcceptIDNotifier; the province answers with
    # a fresh AcceptLetterNotifier carrying its number.
    exchange_dispute_accept_id(actor=clerk, out=fresh, reason="เลขรับไม่ตรง")
    pump(lambda: OutboxMessage.objects.filter(
        sender=org.province, type=MessageType.RECEIPT, payload__answers__isnull=False,
        state=OutState.SENT).exists())
    fresh.refresh_from_db()
    assert fresh.state == OutState.REGISTERED and fresh.receipt_number == their.formatted
    assert all(problem is None for _a, _n, problem in audit_verify())


def test_one_letter_to_two_departments_gets_each_one_its_own_number(org, province_clerk,
                                                                   fast, node):
    from saraban.agencies.models import Role, RoleGrant
    from saraban.agencies.sample import make_person

    connect(org, node.url(MOI), node.url(PROVINCE))
    ecms_account_set(agency=org.lao, department=LAO, node_url=node.url(LAO))
    lao_person = make_person("lao-clerk", "มานี มีนา", agency=org.lao, password=None)
    RoleGrant.objects.create(person=lao_person, unit=org.lao, role=Role.REGISTRY_CLERK)
    entry = letter_register_outgoing(
        actor=resolve_actor(org.clerk), registry=org.central,
        details=LetterDetails(kind="external", subject="แจ้งเวียนสองหน่วยงาน"),
        recipients=[Recipient(channel="ecms", agency=org.province),
                    Recipient(channel="ecms", agency=org.lao)],
        main_file=Upload("letter.pdf", tiny_pdf()),
    )
    pump(lambda: InboxMessage.objects.filter(state=InState.WAITING).count() == 2)
    numbers = {}
    for clerk, agency in ((province_clerk, org.province), (resolve_actor(lao_person), org.lao)):
        their = exchange_inbox_register(actor=clerk, message=InboxMessage.objects.get(
            recipient=agency))
        numbers[agency.exchange_code] = their.formatted
    rows = OutboxMessage.objects.filter(letter=entry.letter)
    pump(lambda: all(r.state == OutState.REGISTERED for r in rows.all()))
    assert {r.recipient_code: r.receipt_number for r in rows.all()} == numbers


# ---- deduplication and idempotence --------------------------------------------------------


def test_an_item_stored_but_not_deleted_is_absorbed_on_the_next_poll(org, fast, node):
    connect(org, node.url(MOI), node.url(PROVINCE))
    send(org)
    drain()  # delivers the letter; the province's poll in the same drain stores it
    account = EcmsAccount.objects.get(agency=org.province)
    # Whatever drain polled, the queue may be empty now: post the same letter as a raw
    # client would, read the head, store it, and "crash" before the delete.
    post_raw(node.url(OTHER), _raw_letter("อื่น 1/2569", sender=OTHER, receiver=PROVINCE,
                                          main=tiny_pdf()))
    head = call(node.url(PROVINCE), simple_request(Operation.INBOUND))
    while head.letter is not None and head.letter.letter_id != "อื่น 1/2569":
        store_letter(account, head)
        call(node.url(PROVINCE), _delete(head.process_id))
        head = call(node.url(PROVINCE), simple_request(Operation.INBOUND))
    assert store_letter(account, head) == "letters"
    before = InboxMessage.objects.count()
    [result] = poll_now(agency_id=org.province.pk)
    assert (result.duplicates, result.letters, result.error) == (1, 0, "")
    assert InboxMessage.objects.count() == before
    assert call(node.url(PROVINCE), simple_request(Operation.INBOUND)).is_empty_queue
    # The unknown department was listed as an e-CMS entry named after its id.
    entry = DirectoryEntry.objects.get(ecms_department_id=OTHER)
    assert (entry.code, entry.channels, entry.certificate_pem) == (OTHER, ["ecms"], "")


def _delete(process_id: str) -> bytes:
    from saraban.ecms import delete_request

    return delete_request(process_id)


def test_a_letter_delivered_twice_is_queued_once_and_a_notifier_applies_once(org, fast, node):
    connect(org, node.url(MOI), node.url(PROVINCE))
    entry = send(org)
    out = OutboxMessage.objects.get(letter=entry.letter)
    from saraban.exchange.outbox import deliver

    OutboxMessage.objects.filter(pk=out.pk).update(attempts=1)
    assert deliver(out.pk) == OutState.SENT
    first = _process_id(out.pk)
    OutboxMessage.objects.filter(pk=out.pk).update(state=OutState.QUEUED)  # answer "lost"
    assert deliver(out.pk) == OutState.SENT
    assert _process_id(out.pk) == first
    [result] = poll_now(agency_id=org.province.pk)
    assert result.letters == 1 and InboxMessage.objects.count() == 1

    wire = OutboxMessage.objects.get(pk=out.pk).payload["ecms"]
    accept = Notifier(NotifierKind.ACCEPT, wire["letter_id"], wire["date_text"],
                      wire["subject"], accept_id="ชม 77/2569")
    for _ in range(2):  # the same notifier posted twice (the node queues it once)
        call(node.url(PROVINCE), notifier_request(accept))
    from saraban.core.models import AuditEvent

    results: list[PollResult] = []
    for _ in range(2):
        results += poll_now(agency_id=org.ministry.pk)
    out.refresh_from_db()
    assert (out.state, out.receipt_number) == (OutState.REGISTERED, "ชม 77/2569")
    assert AuditEvent.objects.filter(
        agency=org.ministry, action="exchange_business_receipt_registered").count() == 1
    # Applying the same notifier again changes nothing.
    from saraban.exchange.ecms.poll import apply_notifier

    again = parse_message(_inbound_with(accept))
    assert apply_notifier(EcmsAccount.objects.get(agency=org.ministry), again) == "notifiers"
    out.refresh_from_db()
    assert (out.state, out.receipt_number) == (OutState.REGISTERED, "ชม 77/2569")
    assert AuditEvent.objects.filter(
        agency=org.ministry, action="exchange_business_receipt_registered").count() == 1


def _process_id(pk: int) -> str:
    receipt = OutboxMessage.objects.get(pk=pk).transport_receipt
    assert receipt is not None
    return str(receipt["process_id"])


def _inbound_with(notifier: Notifier) -> bytes:
    from saraban.ecms import inbound_response

    return inbound_response(process_id="P-again", process_time="2026-12-01T10:00:00",
                            notifier=Notifier(notifier.kind, notifier.letter_id,
                                              notifier.date_text, notifier.subject,
                                              notifier.accept_id, "2026-12-01", PROVINCE))


# ---- what the queue may hold --------------------------------------------------------------


def test_a_refused_letter_and_an_unmatched_notifier_do_not_stop_the_queue(org, fast, node):
    connect(org, node.url(MOI), node.url(PROVINCE))
    # 1. a letter whose "PDF" is not one; 2. a good letter; both from another vendor.
    post_raw(node.url(OTHER), _raw_letter("อื่น 2/2569", sender=OTHER, receiver=PROVINCE,
                                          main=b"MZ\x90\x00 not a pdf at all"))
    post_raw(node.url(OTHER), _raw_letter("อื่น 3/2569", sender=OTHER, receiver=PROVINCE,
                                          main=tiny_pdf()))
    [result] = poll_now(agency_id=org.province.pk)
    assert (result.refused, result.letters, result.error) == (1, 1, "")
    refused = InboxMessage.objects.get(envelope__letter__number="อื่น 2/2569")
    assert refused.state == InState.RETURNED and refused.reason.startswith("file_rejected")
    assert not refused.files.exists()
    good = InboxMessage.objects.get(envelope__letter__number="อื่น 3/2569")
    assert good.state == InState.WAITING and good.sender_code == OTHER
    assert good.envelope["ecms"]["signature"] == "absent"
    # The refusal is answered with InvalidLetterNotifier (a "returned" answer).
    answer = OutboxMessage.objects.get(payload__for=str(refused.message_id))
    assert answer.payload["status"] == "returned"
    drain()
    answer.refresh_from_db()
    assert answer.state == OutState.SENT

    # A notifier about a letter Saraban never sent: kept aside, deleted from the queue.
    post_raw(node.url(MOI), _raw_letter("มท ปลอม/1", sender=MOI, receiver=PROVINCE,
                                        main=tiny_pdf()))
    call(node.url(PROVINCE), notifier_request(Notifier(
        NotifierKind.REJECT, "มท ปลอม/1", "2026-12-01", "หนังสือจากระบบอื่น")))
    [result] = poll_now(agency_id=org.ministry.pk)
    assert (result.unmatched, result.error) == (1, "")
    assert EcmsUnmatched.objects.get().letter_id == "มท ปลอม/1"
    assert call(node.url(MOI), simple_request(Operation.INBOUND)).is_empty_queue


# ---- refusals before anything is written ---------------------------------------------------


def test_ecms_dispatch_refusals(org, node):
    clerk = resolve_actor(org.clerk)
    details = LetterDetails(kind="external", subject="ทดสอบ")
    with pytest.raises(ValidationFailed) as exc:  # no e-CMS account yet
        letter_register_outgoing(actor=clerk, registry=org.central, details=details,
                                 recipients=[Recipient(channel="ecms", agency=org.province)],
                                 main_file=Upload("a.pdf", tiny_pdf()))
    assert exc.value.code == "sender_not_in_ecms"
    connect(org, node.url(MOI), node.url(PROVINCE))
    with pytest.raises(ValidationFailed) as exc:
        letter_register_outgoing(actor=clerk, registry=org.central, details=details,
                                 recipients=[Recipient(channel="ecms", agency=org.province)])
    assert exc.value.code == "ecms_main_required"
    with pytest.raises(ValidationFailed) as exc:
        letter_register_outgoing(
            actor=clerk, registry=org.central,
            details=LetterDetails(kind="external", subject="ลับที่สุด", secrecy=3),
            recipients=[Recipient(channel="ecms", agency=org.province)],
            main_file=Upload("a.pdf", tiny_pdf()))
    assert exc.value.code == "top_secret_not_electronic"
    with pytest.raises(ValidationFailed) as exc:
        letter_register_outgoing(actor=clerk, registry=org.central, details=details,
                                 recipients=[Recipient(channel="ecms", code="nowhere", text="ไม่มี")],
                                 main_file=Upload("a.pdf", tiny_pdf()))
    assert exc.value.code == "unknown_ecms_recipient"
    with pytest.raises(ValidationFailed) as exc:
        ecms_entry_add(department="12345", name="x")
    assert exc.value.code == "bad_ecms_department"
    with pytest.raises(ValidationFailed) as exc:
        ecms_entry_add(department=PROVINCE, name="ชม")  # hosted here
    assert exc.value.code == "local_agency"
    from saraban.letters.models import Letter as SarabanLetter

    assert SarabanLetter.objects.count() == 0 and OutboxMessage.objects.count() == 0


# ---- XML-DSig against the directory ---------------------------------------------------------


def _ca_and_leaf() -> tuple[str, str, str, str]:
    """A CA certificate, a leaf certificate it issued, the leaf's key, and a stranger's
    self-signed certificate (PEM)."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("Test CA")).issuer_name(name("Test CA"))
          .public_key(ca_key.public_key()).serial_number(1)
          .not_valid_before(now - dt.timedelta(days=1))
          .not_valid_after(now + dt.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder().subject_name(name(OTHER)).issuer_name(name("Test CA"))
            .public_key(key.public_key()).serial_number(2)
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30)).sign(ca_key, hashes.SHA256()))
    other_key = ec.generate_private_key(ec.SECP256R1())
    stranger = (x509.CertificateBuilder().subject_name(name("x")).issuer_name(name("x"))
                .public_key(other_key.public_key()).serial_number(3)
                .not_valid_before(now - dt.timedelta(days=1))
                .not_valid_after(now + dt.timedelta(days=30)).sign(other_key, hashes.SHA256()))

    def pem(cert: x509.Certificate) -> str:
        return cert.public_bytes(serialization.Encoding.PEM).decode()

    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return pem(ca), pem(leaf), key_pem, pem(stranger)


def test_a_signed_letter_is_checked_against_the_senders_directory_certificate(org, fast, node):
    ca, leaf, key, stranger = _ca_and_leaf()
    connect(org, node.url(MOI), node.url(PROVINCE))
    ecms_entry_add(department=OTHER, name="หน่วยงานอื่น", certificate_pem=ca)
    for n in (1, 2):
        body = letter_request(Letter(
            letter_id=f"อื่น {n}0/2569", date_text="2026-12-02", subject=f"ลงนามแล้ว {n}",
            sender=Party("สมปอง", "ใจงาม", "ผู้อำนวยการ", OTHER[:2], OTHER),
            receiver=Party("", "", "", PROVINCE[:2], PROVINCE),
            main=Binary("application/pdf", tiny_pdf()),
        ), sign_key_pem=key, sign_cert_pem=leaf)
        post_raw(node.url(OTHER), body)
        if n == 1:
            [result] = poll_now(agency_id=org.province.pk)
            assert result.letters == 1
            # Then the directory holds another certificate: the same key is not trusted.
            DirectoryEntry.objects.filter(ecms_department_id=OTHER).update(
                certificate_pem=stranger)
    poll_now(agency_id=org.province.pk)
    verdicts = {m.envelope["letter"]["subject"]: m.envelope["ecms"]["signature"]
                for m in InboxMessage.objects.all()}
    assert verdicts == {"ลงนามแล้ว 1": "valid", "ลงนามแล้ว 2": "untrusted"}


def test_a_letter_changed_after_signing_is_returned_without_its_files(org, fast, node):
    """The node refuses such a letter at its door; one that reached the queue anyway (an
    older node, another vendor's) is refused on arrival here."""
    from saraban.ecms import government_document, inbound_response

    _ca, leaf, key, _stranger = _ca_and_leaf()
    connect(org, node.url(MOI), node.url(PROVINCE))
    document = government_document(Letter(
        letter_id="อื่น 99/2569", date_text="2026-12-03", subject="ต้นฉบับ",
        sender=Party("", "", "", OTHER[:2], OTHER), receiver=Party("", "", "", "15", PROVINCE),
        main=Binary("application/pdf", tiny_pdf()),
    ), sign_key_pem=key, sign_cert_pem=leaf)
    tampered = document.replace("ต้นฉบับ".encode(), "แก้ไขแล้ว".encode())
    message = parse_message(inbound_response(process_id="P-99", process_time="t",
                                             document_xml=tampered))
    assert message.signature == "invalid"
    account = EcmsAccount.objects.get(agency=org.province)
    assert store_letter(account, message) == "refused"
    assert store_letter(account, message) == "duplicates"  # the same queue item again
    row = InboxMessage.objects.get()
    assert row.state == InState.RETURNED and row.reason.startswith("bad_signature")
    assert not row.files.exists()
    answer = OutboxMessage.objects.get(type=MessageType.RECEIPT)
    assert (answer.payload["status"], answer.recipient_code) == ("returned", OTHER)
