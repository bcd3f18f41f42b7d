"""Every request of the reference corpus, byte for byte as mil-doc and BOI-DMS write it, posted
to a real local e-CMS node (``saraban.ecms.node`` in its own process), in an order that makes
each one meaningful; every answer is read with :func:`saraban.ecms.parse_message` and checked
against what the protocol (``docs/ecms.md`` §5 and §8) says it must be.

One node hosts the four departments the corpus names (mil-doc's กห 0201.3, กรมการปกครอง, BOI's
สกท. and กรมควบคุมโรค), so every letter between them stays on it. The counterparties no corpus
client plays (กรมการปกครอง, กรมควบคุมโรค) speak through ``saraban.ecms``'s own builders.
``test_corpus.py`` holds the table of what each file carries; this file reuses its values.
``other/`` (a BOM, other prefixes, base64 in lines) is posted too, and every ``transcript/``
answer is posted as a request (it is not one: ``unknown_operation``).

The corpus bodies are posted as stored (``read_bytes``) with the Content-Type each client
sends: mil-doc ``text/xml; encoding='utf-8'``, BOI ``text/xml``.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from saraban.ecms import (
    Dialect,
    Header,
    Letter,
    Message,
    Notifier,
    NotifierKind,
    Operation,
    Party,
    SignatureVerdict,
    codes,
    delete_request,
    letter_request,
    notifier_request,
    parse_message,
    simple_request,
)

from .test_corpus import (
    B_DATE,
    B_ID,
    B_SUBJ,
    BOI_DEPT,
    CORPUS,
    DDC_DEPT,
    IN_DATE,
    IN_ID,
    KEYS,
    L1,
    L1_PLAIN,
    L2,
    L3,
    L4,
    L_TESTED,
    MD_DEPT,
    MD_OWN,
    MOI_DEPT,
)

K = NotifierKind
MD_CTYPE = "text/xml; encoding='utf-8'"
BOI_CTYPE = "text/xml"
SARABAN_CTYPE = "text/xml; charset=utf-8"
DEPARTMENTS = {
    MD_DEPT: "กองกลาง สำนักงานปลัดกระทรวงกลาโหม",
    MOI_DEPT: "กรมการปกครอง",
    BOI_DEPT: "สำนักงานคณะกรรมการส่งเสริมการลงทุน",
    DDC_DEPT: "กรมควบคุมโรค",
}
MINISTRIES = {"01": "สำนักนายกรัฐมนตรี", "02": "กระทรวงกลาโหม", "15": "กระทรวงมหาดไทย",
              "21": "กระทรวงสาธารณสุข"}
_MAIN = "from saraban.ecms.node import main; import sys; sys.exit(main(sys.argv[1:]))"
READY = b"e-CMS node listening on http://"
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

# Every corpus file posted to the node (checked against the directories at the end).
POSTED: set[str] = set()


# --------------------------------------------------------------------------- the node


class Node:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.log = root / "node.log"
        args = ["--host", "127.0.0.1", "--port", "0", "--data", str(root / "data")]
        for d, n in DEPARTMENTS.items():
            args += ["--department", f"{d}={n}"]
        for m, n in MINISTRIES.items():
            args += ["--ministry", f"{m}={n}"]
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen([sys.executable, "-c", _MAIN, *args], stdout=log,
                                         stderr=subprocess.STDOUT,
                                         env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + 20
        while True:
            text = self.log.read_bytes()
            if READY in text:
                line = text[text.index(READY):].split(b"\n", 1)[0].decode()
                self.url = line.split()[4]  # http://127.0.0.1:PORT
                return
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise AssertionError(f"the node did not start:\n{text.decode()}")
            time.sleep(0.05)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def service(self, dept: str) -> str:
        return f"{self.url}/{dept}/ecms-ws01/service2"

    def post_raw(self, dept: str, body: bytes, ctype: str) -> bytes:
        req = urllib.request.Request(self.service(dept), data=body, method="POST",
                                     headers={"Content-Type": ctype})
        with _OPENER.open(req, timeout=20) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"].startswith("text/xml")
            data: bytes = resp.read()
        return data

    def post(self, dept: str, body: bytes, ctype: str) -> Message:
        return parse_message(self.post_raw(dept, body, ctype))

    def send_raw(self, name: str, dept: str) -> bytes:
        """Post corpus file ``name`` as the department ``dept`` (byte for byte as stored)."""
        POSTED.add(name)
        ctype = MD_CTYPE if name.startswith("mildoc/") else BOI_CTYPE
        return self.post_raw(dept, (CORPUS / name).read_bytes(), ctype)

    def send(self, name: str, dept: str) -> Message:
        return parse_message(self.send_raw(name, dept))


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    n = Node(tmp_path_factory.mktemp("corpus-node"))
    try:
        yield n
    finally:
        n.close()


# --------------------------------------------------------------------------- helpers


def corpus(name: str) -> Message:
    return parse_message((CORPUS / name).read_bytes())


def filled_time(text: str) -> None:
    """ProcessTime, AcceptDate: assigned by the node, their format seen in no source
    (reference, field table): filled with a date-time the clients can store."""
    assert text.strip(), "empty"
    dt.datetime.fromisoformat(text)


def error_codes(msg: Message) -> list[str]:
    return [e.code for e in msg.errors]


def expect_error(msg: Message, code: str) -> None:
    assert error_codes(msg) == [code], (msg.operation, msg.errors)


def ok(msg: Message, operation: str) -> Message:
    assert not msg.errors, msg.errors
    assert msg.operation == operation
    return msg


def expect_letter_accepted(name: str, raw: bytes) -> str:
    """A letter: CorrespondenceLetterOutboundResponse, a ProcessID, the document echoed
    byte for byte (the transcripts' ``ProcessID``)."""
    sent = corpus(name)
    answer = ok(parse_message(raw), Operation.OUTBOUND_RESPONSE)
    assert b"<ProcessID>" in raw
    assert answer.process_id.strip()
    filled_time(answer.process_time)
    assert answer.letter == letter_of(name)
    assert answer.signer == sent.signer
    assert answer.document_xml == sent.document_xml
    return answer.process_id


def expect_notifier_accepted(name: str, raw: bytes, accept_department: str) -> Notifier:
    """A notifier for a known letter: OutboundResponse with ``processID`` (the transcripts'
    spelling for notifier answers) and the notifier echoed with AcceptDate (when the node
    took it) and AcceptDepartment (the department that received the letter)."""
    sent = corpus(name).notifier
    assert sent is not None
    answer = ok(parse_message(raw), Operation.OUTBOUND_RESPONSE)
    assert b"<processID>" in raw
    assert answer.process_id.strip()
    got = answer.notifier
    assert got is not None
    assert (got.kind, got.letter_id, got.date_text, got.subject, got.accept_id) == \
        (sent.kind, sent.letter_id, sent.date_text, sent.subject, sent.accept_id)
    filled_time(got.accept_date)
    assert got.accept_department == accept_department
    return got


class Client:
    """How one department polls and deletes: the corpus's own inbound request and a delete
    built by ``saraban.ecms`` in the same dialect (the corpus delete files carry fixed
    ProcessIDs the node never issued)."""

    def __init__(self, node: Node, dept: str, dialect: Dialect) -> None:
        self.node, self.dept, self.dialect = node, dept, dialect

    def poll(self) -> Message:
        if self.dialect is Dialect.MILDOC:
            return self.node.send("mildoc/inbound_request.xml", self.dept)
        if self.dialect is Dialect.BOI:
            return self.node.send("boi/inbound_request.xml", self.dept)
        return self.node.post(self.dept, simple_request(Operation.INBOUND), SARABAN_CTYPE)

    def delete(self, process_id: str) -> None:
        if self.dialect is Dialect.MILDOC:
            body = delete_request(process_id, header=Header("scp 2 ลบหนังสือ", MD_OWN),
                                  dialect=Dialect.MILDOC)
            ctype = MD_CTYPE
        elif self.dialect is Dialect.BOI:
            body, ctype = delete_request(process_id, dialect=Dialect.BOI), BOI_CTYPE
        else:
            body, ctype = delete_request(process_id), SARABAN_CTYPE
        answer = ok(self.node.post(self.dept, body, ctype), Operation.DELETE_RESPONSE)
        assert answer.process_id == process_id
        assert answer.process_time.strip()

    def take(self) -> Message:
        """The head of the queue (which must not be empty), then deleted by its ProcessID."""
        item = ok(self.poll(), Operation.INBOUND_RESPONSE)
        assert not item.is_empty_queue, f"{self.dept}: the queue is empty"
        self.delete(item.process_id)
        return item

    def take_letter(self, expected: Letter, name: str = "") -> Message:
        item = self.take()
        assert item.letter is not None, item.notifier
        assert item.letter == expected
        if name:
            sent = corpus(name)
            assert item.signer == sent.signer
            assert item.document_xml == sent.document_xml  # handed out unchanged
        return item

    def take_notifier(self, kind: NotifierKind, letter_id: str, date_text: str, subject: str,
                      accept_id: str, accept_department: str) -> Notifier:
        item = self.take()
        n = item.notifier
        assert n is not None, item.letter
        assert (n.kind, n.letter_id, n.date_text, n.subject, n.accept_id,
                n.accept_department) == (kind, letter_id, date_text, subject, accept_id,
                                         accept_department)
        filled_time(n.accept_date)
        return n

    def empty(self) -> None:
        assert ok(self.poll(), Operation.INBOUND_RESPONSE).is_empty_queue

    # the builders, for the departments no corpus client plays
    def post_letter(self, letter: Letter) -> str:
        answer = ok(self.node.post(self.dept, letter_request(letter), SARABAN_CTYPE),
                    Operation.OUTBOUND_RESPONSE)
        assert answer.letter == letter
        return answer.process_id

    def notify(self, kind: NotifierKind, letter: Letter, accept_id: str = "") -> Notifier:
        body = notifier_request(Notifier(kind, letter.letter_id, letter.date_text,
                                         letter.subject, accept_id))
        answer = ok(self.node.post(self.dept, body, SARABAN_CTYPE), Operation.OUTBOUND_RESPONSE)
        assert answer.process_id.strip()
        assert answer.notifier is not None
        return answer.notifier


def party(dept: str, given: str = "", family: str = "", job: str = "") -> Party:
    return Party(given, family, job, dept[:2], dept)


# --------------------------------------------------------------------------- mil-doc


def _mildoc(node: Node) -> None:
    md = Client(node, MD_DEPT, Dialect.MILDOC)
    moi = Client(node, MOI_DEPT, Dialect.SARABAN)

    # --- mil-doc sends: two letters to กรมการปกครอง --------------------------------------
    pid_l1 = expect_letter_accepted("mildoc/outbound_letter.xml",
                                    node.send_raw("mildoc/outbound_letter.xml", MD_DEPT))
    pid_plain = expect_letter_accepted("mildoc/outbound_letter_plain.xml",
                                       node.send_raw("mildoc/outbound_letter_plain.xml", MD_DEPT))
    assert pid_l1 != pid_plain
    # Posted again (a client retrying): the same ProcessID, queued once.
    assert expect_letter_accepted("mildoc/outbound_letter.xml",
                                  node.send_raw("mildoc/outbound_letter.xml", MD_DEPT)) == pid_l1
    l1 = letter_of("mildoc/outbound_letter.xml")
    moi.take_letter(l1, "mildoc/outbound_letter.xml")
    assert l1.letter_id == L1.id and l1.subject == L1.subject
    plain = moi.take_letter(letter_of("mildoc/outbound_letter_plain.xml"),
                            "mildoc/outbound_letter_plain.xml")
    assert plain.letter is not None and plain.letter.letter_id == L1_PLAIN.id
    moi.empty()

    # กรมการปกครอง answers L1: arrived, registered as "1O24" (a letter O: the number mil-doc
    # will dispute), then refused and called invalid (so that every kind of notifier exists
    # for the special re-requests below).
    for kind, acc in ((K.RECEIVE, ""), (K.ACCEPT, "1O24")):
        moi.notify(kind, l1, acc)
        md.take_notifier(kind, L1.id, L1.date_text, L1.subject, acc, MOI_DEPT)
    # mil-doc, the sender, disputes the AcceptID.
    expect_notifier_accepted("mildoc/notifier_invalid_accept_id.xml",
                             node.send_raw("mildoc/notifier_invalid_accept_id.xml", MD_DEPT),
                             MOI_DEPT)
    moi.take_notifier(K.INVALID_ACCEPT_ID, L1.id, L1.date_text, L1.subject, "1O24", MOI_DEPT)
    for kind in (K.REJECT, K.INVALID):
        moi.notify(kind, l1)
        md.take_notifier(kind, L1.id, L1.date_text, L1.subject, "", MOI_DEPT)
    md.empty()

    # Special re-requests of the notifiers that came to mil-doc about L1: each queues a
    # fresh copy that the next poll hands out.
    for name, kind, acc in (("receive", K.RECEIVE, ""), ("accept", K.ACCEPT, "1O24"),
                            ("reject", K.REJECT, ""), ("invalid", K.INVALID, "")):
        answer = ok(node.send(f"mildoc/special_{name}.xml", MD_DEPT),
                    Operation.SPECIAL_RESPONSE)
        assert answer.process_id.strip()
        md.take_notifier(kind, L1.id, L1.date_text, L1.subject, acc, MOI_DEPT)
    md.empty()

    # --- mil-doc receives: กรมการปกครอง's signed letter (the transcript's GovernmentDocument,
    # signed by the test CA's agency certificate), spliced byte for byte into a request.
    signed_doc = (CORPUS / "signed/government_document.xml").read_bytes()
    transcript = corpus("transcript/inbound_response_letter.xml")
    in_letter = transcript.letter
    assert in_letter is not None and in_letter.letter_id == IN_ID
    plain_request = letter_request(in_letter)
    body = plain_request.replace(parse_message(plain_request).document_xml, signed_doc, 1)
    answer = ok(node.post(MOI_DEPT, body, SARABAN_CTYPE), Operation.OUTBOUND_RESPONSE)
    assert answer.document_xml == signed_doc
    # mil-doc's poll: the signature still verifies against the CA in the node's answer.
    raw = node.send_raw("mildoc/inbound_request.xml", MD_DEPT)
    trusted = parse_message(raw, trust=[(KEYS / "ca.pem").read_text()])
    assert trusted.signature == SignatureVerdict.VALID, trusted.signature_detail
    assert trusted.letter == in_letter
    assert trusted.document_xml == signed_doc
    md.delete(trusted.process_id)

    # mil-doc's four notifiers about it, each fetched by กรมการปกครอง in order.
    for name, kind, acc in (("receive", K.RECEIVE, ""), ("accept", K.ACCEPT, "1024")):
        expect_notifier_accepted(f"mildoc/notifier_{name}.xml",
                                 node.send_raw(f"mildoc/notifier_{name}.xml", MD_DEPT), MD_DEPT)
        moi.take_notifier(kind, IN_ID, IN_DATE, in_letter.subject, acc, MD_DEPT)
    # The same notifier posted twice is queued once (same processID).
    first = node.send("mildoc/notifier_receive.xml", MD_DEPT)
    assert node.send("mildoc/notifier_receive.xml", MD_DEPT).process_id == first.process_id
    moi.empty()
    # กรมการปกครอง disputes mil-doc's AcceptID; mil-doc gets it, then asks for it again.
    moi.notify(K.INVALID_ACCEPT_ID, in_letter, "1024")
    md.take_notifier(K.INVALID_ACCEPT_ID, IN_ID, IN_DATE, in_letter.subject, "1024", MD_DEPT)
    ok(node.send("mildoc/special_invalid_accept_id.xml", MD_DEPT), Operation.SPECIAL_RESPONSE)
    md.take_notifier(K.INVALID_ACCEPT_ID, IN_ID, IN_DATE, in_letter.subject, "1024", MD_DEPT)
    # …and the letter itself again.
    ok(node.send("mildoc/special_government_document.xml", MD_DEPT),
       Operation.SPECIAL_RESPONSE)
    again = md.take_letter(in_letter)
    assert again.document_xml == signed_doc
    md.empty()
    for name, kind in (("reject", K.REJECT), ("invalid", K.INVALID)):
        expect_notifier_accepted(f"mildoc/notifier_{name}.xml",
                                 node.send_raw(f"mildoc/notifier_{name}.xml", MD_DEPT), MD_DEPT)
        moi.take_notifier(kind, IN_ID, IN_DATE, in_letter.subject, "", MD_DEPT)
    moi.empty()

    # --- delete: the corpus ProcessID was never issued by this node -----------------------
    expect_error(node.send("mildoc/delete_request.xml", MD_DEPT), "unknown_process")

    # --- DeleteGovernmentDocument of L1 after it was refused --------------------------------
    gone = ok(node.send("mildoc/delete_document_request.xml", MD_DEPT),
              Operation.DELETE_DOCUMENT_RESPONSE)
    assert gone.process_id.strip()
    assert gone.document_key is not None and gone.document_key.letter_id == L1.id
    # Deleted again: the same answer.
    assert node.send("mildoc/delete_document_request.xml", MD_DEPT).process_id == \
        gone.process_id
    # The receiver can no longer answer it, nor the sender re-request about it.
    body = notifier_request(Notifier(K.ACCEPT, L1.id, L1.date_text, L1.subject, "1025"))
    expect_error(node.post(MOI_DEPT, body, SARABAN_CTYPE), "letter_deleted")
    expect_error(node.send("mildoc/special_reject.xml", MD_DEPT), "unknown_letter")
    # The number can be sent again.
    pid_again = expect_letter_accepted("mildoc/outbound_letter.xml",
                                       node.send_raw("mildoc/outbound_letter.xml", MD_DEPT))
    assert pid_again != pid_l1
    moi.take_letter(l1)
    moi.empty()

    # --- OutboundStatus: mil-doc's letters in the order sent --------------------------------
    status = ok(node.send("mildoc/outbound_status_request.xml", MD_DEPT),
                Operation.OUTBOUND_STATUS_RESPONSE)
    assert [(s.process_id, s.letter_id, s.status) for s in status.outbound] == [
        (pid_l1, L1.id, "deleted"), (pid_plain, L1_PLAIN.id, "queued"),
        (pid_again, L1.id, "queued")]

    # --- other/: the well-formed variants no client was seen writing ----------------------
    # base64 broken into lines: a mil-doc letter like any other.
    expect_letter_accepted("other/letter_wrapped_base64.xml",
                           node.send_raw("other/letter_wrapped_base64.xml", MD_DEPT))
    moi.take_letter(letter_of("other/letter_wrapped_base64.xml"),
                    "other/letter_wrapped_base64.xml")
    # A BOM, other prefixes: polls like the others (the queues are empty here).
    for name in ("other/inbound_request_bom.xml", "other/inbound_request_prefixes.xml"):
        assert ok(node.send(name, MOI_DEPT), Operation.INBOUND_RESPONSE).is_empty_queue

    # --- look-ups -------------------------------------------------------------------------
    _lookups(node, "mildoc", MD_DEPT)
    time_answer = ok(node.send("mildoc/time_check_request.xml", MD_DEPT),
                     Operation.TIME_CHECK_RESPONSE)
    node_time = dt.datetime.fromisoformat(time_answer.ecms_time)
    assert node_time.tzinfo is not None
    assert abs((node_time - dt.datetime.now(dt.UTC)).total_seconds()) < 60
    md.empty()


def letter_of(name: str) -> Letter:
    """The corpus letter as a node's answer reads: a letter inside an answer carries no
    client header, so it is read in the order written (ecms.md §2) — mil-doc's references
    and attachments in its reversed wire order."""
    msg = corpus(name)
    letter = msg.letter
    assert letter is not None, name
    if msg.dialect is Dialect.MILDOC:
        letter = replace(letter, references=letter.references[::-1],
                         attachments=letter.attachments[::-1])
    return letter


def _lookups(node: Node, client: str, dept: str) -> None:
    names = ["ministries_request", "organizations_request", "secret_codes_request",
             "speed_codes_request", "mime_codes_request"]
    if client == "boi":
        names.append("organizations_request_tabs")
    for name in names:
        answer = node.send(f"{client}/{name}.xml", dept)
        assert not answer.errors, (name, answer.errors)
        if name == "ministries_request":
            assert answer.operation == Operation.MINISTRIES_RESPONSE
            assert [(m.organization_id, m.th_name) for m in answer.ministries] == \
                sorted(MINISTRIES.items())
        elif name.startswith("organizations_request"):
            assert answer.operation == Operation.ORGANIZATIONS_RESPONSE
            assert [(o.organization_id, o.th_name, o.ecms_url) for o in answer.organizations] \
                == [(d, n, node.service(d)) for d, n in DEPARTMENTS.items()]
        elif name == "secret_codes_request":
            assert answer.operation == Operation.SECRET_CODES_RESPONSE
            assert answer.codes == codes.SECRET_CODES
            assert [c.value for c in answer.codes] == ["001", "002", "003", "004"]
        elif name == "speed_codes_request":
            assert answer.operation == Operation.SPEED_CODES_RESPONSE
            assert answer.codes == codes.SPEED_CODES
            assert [c.value for c in answer.codes] == ["001", "002", "003", "004"]
        else:
            assert answer.operation == Operation.MIME_CODES_RESPONSE
            assert answer.mime_codes == codes.MIME_CODES
            assert ("pdf", "application/pdf") in [(c.value, c.description)
                                                  for c in answer.mime_codes]


# --------------------------------------------------------------------------- BOI-DMS


def _boi(node: Node) -> None:
    boi = Client(node, BOI_DEPT, Dialect.BOI)
    moi = Client(node, MOI_DEPT, Dialect.SARABAN)
    ddc = Client(node, DDC_DEPT, Dialect.SARABAN)

    # --- BOI sends four letters ------------------------------------------------------------
    pids: dict[str, str] = {}
    for name in ("outbound_letter", "outbound_letter_full", "outbound_letter_ampersand",
                 "outbound_letter_tested"):
        pids[name] = expect_letter_accepted(f"boi/{name}.xml",
                                            node.send_raw(f"boi/{name}.xml", BOI_DEPT))
    # The receivers fetch them with the same fields as the corpus letters.
    for name, exp in (("outbound_letter", L2), ("outbound_letter_ampersand", L4),
                      ("outbound_letter_tested", L_TESTED)):
        got = moi.take_letter(letter_of(f"boi/{name}.xml"), f"boi/{name}.xml").letter
        assert got is not None
        assert (got.letter_id, got.date_text, got.subject, got.description) == \
            (exp.id, exp.date_text, exp.subject, exp.description)
        # BOI wrote the receiver's department code as its ministry id: the ministry is 15.
        assert (got.receiver.ministry_id, got.receiver.department_id) == ("15", MOI_DEPT)
    moi.empty()
    # The bare-& letter was accepted with the & kept (repaired to &amp; on the wire).
    assert "&" in L4.subject and "bare_ampersand" in corpus(
        "boi/outbound_letter_ampersand.xml").repaired
    l3 = letter_of("boi/outbound_letter_full.xml")
    got3 = ddc.take_letter(l3, "boi/outbound_letter_full.xml").letter
    assert got3 is not None and (got3.letter_id, got3.subject) == (L3.id, L3.subject)
    ddc.empty()

    # กรมควบคุมโรค answers L3: arrived, registered as 2560/00045.
    for kind, acc in ((K.RECEIVE, ""), (K.ACCEPT, "2560/00045")):
        ddc.notify(kind, l3, acc)
        boi.take_notifier(kind, L3.id, L3.date_text, L3.subject, acc, DDC_DEPT)
    # BOI disputes the AcceptID.
    expect_notifier_accepted("boi/notifier_invalid_accept_id.xml",
                             node.send_raw("boi/notifier_invalid_accept_id.xml", BOI_DEPT),
                             DDC_DEPT)
    ddc.take_notifier(K.INVALID_ACCEPT_ID, L3.id, L3.date_text, L3.subject, "2560/00045",
                      DDC_DEPT)
    # กรมควบคุมโรค then refuses it; BOI deletes it (DeleteGovernmentDocument after reject).
    ddc.notify(K.REJECT, l3)
    boi.take_notifier(K.REJECT, L3.id, L3.date_text, L3.subject, "", DDC_DEPT)
    gone = ok(node.send("boi/delete_document_request.xml", BOI_DEPT),
              Operation.DELETE_DOCUMENT_RESPONSE)
    assert gone.process_id.strip()
    assert gone.document_key is not None and gone.document_key.letter_id == L3.id
    ddc.empty()

    # --- eCMS 1's six-child InvalidAcceptIDNotifier names a letter ("นร 1302/0311" of
    # 2016-03-02) that was never sent through this node: unknown_letter, nothing stored. ----
    ecms1 = "boi/ecms1_notifier_invalid_accept_id.xml"
    expect_error(node.send(ecms1, BOI_DEPT), "unknown_letter")
    # Once BOI has sent that letter and กรมการปกครอง registered it as 1559, the same bytes are
    # a meaningful dispute (the node fills AcceptDate/AcceptDepartment itself).
    n1 = corpus(ecms1).notifier
    assert n1 is not None
    old = Letter(n1.letter_id, n1.date_text, n1.subject, sender=party(BOI_DEPT),
                 receiver=party(MOI_DEPT))
    ok(node.post(BOI_DEPT, letter_request(old, dialect=Dialect.BOI), BOI_CTYPE),
       Operation.OUTBOUND_RESPONSE)
    moi.take_letter(old)
    moi.notify(K.ACCEPT, old, "1559")
    boi.take_notifier(K.ACCEPT, old.letter_id, old.date_text, old.subject, "1559", MOI_DEPT)
    expect_notifier_accepted(ecms1, node.send_raw(ecms1, BOI_DEPT), MOI_DEPT)
    moi.take_notifier(K.INVALID_ACCEPT_ID, old.letter_id, old.date_text, old.subject, "1559",
                      MOI_DEPT)
    moi.empty()

    # --- BOI receives: a letter from กรมการปกครอง, then its four notifiers ------------------
    b_letter = Letter(B_ID, B_DATE, B_SUBJ, sender=party(MOI_DEPT, "สมหญิง", "รักงาน"),
                      receiver=party(BOI_DEPT, job="เลขาธิการคณะกรรมการส่งเสริมการลงทุน"))
    moi.post_letter(b_letter)
    boi.take_letter(b_letter)
    boi.empty()
    for name, kind, acc in (("receive", K.RECEIVE, ""), ("accept", K.ACCEPT, "00123"),
                            ("reject", K.REJECT, ""), ("invalid", K.INVALID, "")):
        expect_notifier_accepted(f"boi/notifier_{name}.xml",
                                 node.send_raw(f"boi/notifier_{name}.xml", BOI_DEPT), BOI_DEPT)
        moi.take_notifier(kind, B_ID, B_DATE, B_SUBJ, acc, BOI_DEPT)
    moi.empty()

    # --- delete by the corpus's fixed ProcessIDs: never issued here --------------------------
    expect_error(node.send("boi/delete_request.xml", BOI_DEPT), "unknown_process")
    expect_error(node.send("boi/delete_request_placeholders.xml", BOI_DEPT), "unknown_process")

    # --- the OutboundStatusRequest BOI writes never declares SOAP-ENV: not XML ---------------
    expect_error(node.send("boi/outbound_status_request.xml", BOI_DEPT), "xml_malformed")

    # --- look-ups -------------------------------------------------------------------------
    _lookups(node, "boi", BOI_DEPT)
    boi.empty()
    assert set(pids.values()) and len(set(pids.values())) == 4


# --------------------------------------------------------------------------- the test


def test_every_client_request_of_the_corpus_against_the_node(node: Node) -> None:
    POSTED.clear()
    _mildoc(node)
    _boi(node)
    for d in DEPARTMENTS:
        Client(node, d, Dialect.SARABAN).empty()
    on_disk = {str(p.relative_to(CORPUS)) for d in ("mildoc", "boi", "other")
               for p in (CORPUS / d).glob("*.xml")}
    assert len(on_disk) >= 47
    assert on_disk == POSTED, (on_disk - POSTED, POSTED - on_disk)


def test_responses_are_not_requests(node: Node) -> None:
    """Every answer form of the transcripts, posted as a request: unknown_operation (the
    typo'd MimeCodes answer is not XML: xml_malformed)."""
    names = sorted(str(p.relative_to(CORPUS)) for p in (CORPUS / "transcript").glob("*.xml"))
    assert len(names) >= 29
    got = {name: error_codes(node.send(name, MOI_DEPT)) for name in names}
    expected = {name: ["xml_malformed" if name.endswith("_typo.xml") else "unknown_operation"]
                for name in names}
    assert got == expected
    # Nothing was queued or stored by them.
    Client(node, MOI_DEPT, Dialect.SARABAN).empty()
