"""One SOAP request to ``/ecms-ws01/service2`` → one SOAP answer (ecms.md §5).

The caller is the department whose URL was posted to; every refusal is an ``ErrorDetail``
with a stable code and nothing stored.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging

from saraban import ecms
from saraban.ecms import codes

from ._config import SERVICE_PATH, NodeConfig
from ._store import NewLetter, NodeError, NotifierValues, Store, node_now, now_text

log = logging.getLogger("saraban.ecms.node")


def content_digest(letter: ecms.Letter) -> str:
    """The letter's content, independent of dialect, element order of the wire, of a
    (randomised, e.g. ECDSA) signature and of ``SendDate`` (when it was posted): a client
    re-posting the same letter, re-built, re-signed or retried later, gets the same
    ProcessID back."""
    def party(p: ecms.Party) -> list[str]:
        return [p.given_name, p.family_name, p.job_title, p.ministry_id, p.department_id]

    def binary(b: ecms.Binary | None) -> list[str] | None:
        return None if b is None else [b.mime_code, hashlib.sha256(b.data).hexdigest()]

    value = [
        letter.letter_id, letter.date_text, letter.subject, letter.secret_code,
        letter.speed_code, party(letter.sender), party(letter.receiver),
        [[r.letter_id, r.date_text, r.subject] for r in letter.references],
        letter.attachment_text, letter.description,
        binary(letter.main), [binary(b) for b in letter.attachments],
    ]
    return hashlib.sha256(json.dumps(value, ensure_ascii=False).encode()).hexdigest()


def _notifier(v: NotifierValues) -> ecms.Notifier:
    return ecms.Notifier(kind=ecms.NotifierKind(v.kind), letter_id=v.letter_id,
                         date_text=v.date_text, subject=v.subject, accept_id=v.accept_id,
                         accept_date=v.accept_date, accept_department=v.accept_department)


def error(code: str, description: str) -> bytes:
    return ecms.error_response([ecms.ErrorDetail(code, description)])


class Service:
    def __init__(self, cfg: NodeConfig, store: Store) -> None:
        self.cfg = cfg
        self.store = store
        self.public_url = ""  # set once listening

    def handle(self, caller: str, body: bytes) -> bytes:
        """Answer one request body posted by department ``caller`` (always a SOAP body)."""
        try:
            msg = ecms.parse_message(body, limits=ecms.Limits(max_bytes=self.cfg.max_bytes))
        except ecms.EcmsRefused as exc:
            log.info("refused from %s: %s", caller, exc)
            return error(exc.code, exc.message)
        try:
            return self._dispatch(caller, msg)
        except NodeError as exc:
            log.info("refused %s from %s: %s", msg.operation, caller, exc)
            return error(exc.code, exc.description)
        except ecms.EcmsRefused as exc:  # a value the builders will not write
            return error(exc.code, exc.message)

    def _dispatch(self, caller: str, msg: ecms.Message) -> bytes:
        op = msg.operation
        ops = ecms.Operation
        if op == ops.OUTBOUND:
            if msg.letter is not None:
                return self._letter(caller, msg)
            if msg.notifier is not None:
                return self._post_notifier(caller, msg.notifier)
            raise NodeError("missing_element", "the request holds neither a letter nor a notifier")
        if op == ops.INBOUND:
            item = self.store.poll(caller)
            if item is None:
                return ecms.inbound_response()
            if item.notifier is not None:
                return ecms.inbound_response(process_id=item.process_id,
                                             process_time=item.queued_at,
                                             notifier=_notifier(item.notifier))
            return ecms.inbound_response(process_id=item.process_id,
                                         process_time=item.queued_at,
                                         document_xml=item.document_xml)
        if op == ops.DELETE:
            if not msg.process_id.strip():
                raise NodeError("missing_element", "ProcessID is empty")
            pid, at = self.store.delete_item(caller, msg.process_id)
            return ecms.delete_response(process_id=pid, process_time=at)
        if op == ops.DELETE_DOCUMENT:
            key = self._key(msg)
            pid, letter_id, at = self.store.delete_document(
                caller, key.letter_id, key.date_text, key.sender_department,
                key.accept_department)
            return ecms.delete_document_response(process_id=pid, letter_id=letter_id,
                                                 process_time=at)
        if op == ops.SPECIAL:
            key = self._key(msg)
            pid, at = self.store.special(caller, msg.special_kind, key.letter_id,
                                         key.date_text, key.sender_department,
                                         key.accept_department)
            return ecms.special_response(process_id=pid, process_time=at)
        if op == ops.MINISTRIES:
            return ecms.ministries_response(self.ministries())
        if op == ops.ORGANIZATIONS:
            return ecms.organizations_response(self.organizations())
        if op == ops.SECRET_CODES:
            return ecms.codes_response("SecretCodes", codes.SECRET_CODES)
        if op == ops.SPEED_CODES:
            return ecms.codes_response("SpeedCodes", codes.SPEED_CODES)
        if op == ops.MIME_CODES:
            return ecms.mime_codes_response(codes.MIME_CODES)
        if op == ops.OUTBOUND_STATUS:
            return ecms.outbound_status_response(
                [ecms.OutboundStatus(p, lid, s) for p, lid, s in
                 self.store.outbound_status(caller)])
        if op == ops.TIME_CHECK:
            return ecms.time_check_response(
                node_now().isoformat(timespec="seconds"))
        raise NodeError("unknown_operation", f"{op} is not a request this node serves")

    @staticmethod
    def _key(msg: ecms.Message) -> ecms.DocumentKey:
        key = msg.document_key
        if key is None or not key.letter_id.strip() or not key.date_text.strip():
            raise NodeError("missing_element", "LetterID and CorrespondenceDate are required")
        return key

    def _letter(self, caller: str, msg: ecms.Message) -> bytes:
        letter = msg.letter
        assert letter is not None
        if msg.signature == ecms.SignatureVerdict.INVALID:
            raise NodeError("signature_invalid",
                            "the letter was changed after it was signed (XML-DSig does not "
                            f"verify): {msg.signature_detail}".rstrip(": "))
        if not letter.letter_id.strip():
            raise NodeError("missing_element", "the letter has no number (ram:ID)")
        if letter.date is None:
            raise NodeError("bad_value",
                            f"CorrespondenceDate {letter.date_text!r} is not yyyy-MM-dd")
        if not letter.receiver.department_id.strip():
            raise NodeError("missing_element",
                            "ReceiverParty/DepartmentOrganization/ID is empty")
        if not msg.document_xml:
            raise NodeError("missing_element", "no rsm:GovernmentDocument")
        accepted = self.store.post_letter(caller, NewLetter(
            sender_dept=letter.sender.department_id.strip(),
            receiver_dept=letter.receiver.department_id.strip(),
            letter_id=letter.letter_id, date_text=letter.date_text, subject=letter.subject,
            digest=content_digest(letter), document_xml=msg.document_xml))
        return ecms.outbound_response(process_id=accepted.process_id,
                                      process_time=accepted.process_time,
                                      document_xml=accepted.document_xml)

    def _post_notifier(self, caller: str, n: ecms.Notifier) -> bytes:
        if not n.letter_id.strip():
            raise NodeError("missing_element", f"{n.kind} has no LetterID")
        if n.kind == ecms.NotifierKind.ACCEPT and not n.accept_id.strip():
            raise NodeError("missing_element", "AcceptLetterNotifier has no AcceptID")
        accepted = self.store.post_notifier(caller, NotifierValues(
            str(n.kind), n.letter_id, n.date_text, n.subject, n.accept_id))
        assert accepted.notifier is not None
        return ecms.outbound_response(process_id=accepted.process_id,
                                      process_time=accepted.process_time,
                                      notifier=_notifier(accepted.notifier))

    def check_relayed(self, data: dict[str, object]) -> None:
        """A relayed letter's document must read as a letter with the identity the relay
        names (a broken or lying peer cannot put anything else in a queue)."""
        fields = ("sender", "receiver", "letter_id", "date_text", "document_xml", "digest")
        if data.get("kind") != "letter" or not all(isinstance(data.get(f), str)
                                                   for f in fields):
            return  # not a letter, or a malformed relay (answered 400 by the store)
        try:
            doc = base64.b64decode(str(data.get("document_xml") or ""), validate=True)
            msg = ecms.parse_message(
                ecms.inbound_response(process_id="relay", process_time="", document_xml=doc),
                limits=ecms.Limits(max_bytes=self.cfg.max_bytes + 4096),
                verify_signature=False)
        except (ValueError, ecms.EcmsRefused) as exc:
            raise NodeError("bad_document", f"the relayed document does not read: {exc}") \
                from None
        lt = msg.letter
        if lt is None:
            raise NodeError("bad_document", "the relayed document holds no letter")
        named = (data.get("sender"), data.get("receiver"), data.get("letter_id"),
                 data.get("date_text"))
        found = (lt.sender.department_id.strip(), lt.receiver.department_id.strip(),
                 lt.letter_id, lt.date_text)
        if named != found:
            raise NodeError("bad_document",
                            f"the relayed document is letter {found!r}, not {named!r}")

    # --- look-ups --------------------------------------------------------------------------

    def department_url(self, dept: str) -> str:
        return f"{self.public_url}/{dept}{SERVICE_PATH}"

    def organizations(self) -> list[ecms.Organization]:
        orgs = [ecms.Organization(d, name, "", self.department_url(d))
                for d, name in self.cfg.departments.items()]
        orgs += [ecms.Organization(p.department_id, p.name, "", p.service_url)
                 for p in self.cfg.peers.values()]
        return orgs

    def ministries(self) -> list[ecms.Organization]:
        out = dict(self.cfg.ministries)
        for dept in [*self.cfg.departments, *self.cfg.peers]:
            if len(dept) == 10 and dept.isdigit():
                out.setdefault(dept[:2], "")
        return [ecms.Organization(m, name) for m, name in sorted(out.items())]


def health_text(cfg: NodeConfig, store: Store, caller: str | None, public_url: str) -> str:
    counts = store.counts()
    lines = ["Saraban e-CMS node (TH e-GIF GovernmentDocument, SOAP 1.1)",
             f"time: {now_text()}"]
    if caller is not None:
        lines.append(f"department: {caller} {cfg.departments.get(caller, '')}".rstrip())
        lines.append("POST SOAP requests (text/xml) to this URL.")
    else:
        for d, name in cfg.departments.items():
            lines.append(f"department: {d} {name} {public_url}/{d}{SERVICE_PATH}")
    lines.append(f"queued: {counts['queued']}  letters: {counts['letters']}  "
                 f"relay pending: {counts['relay_pending']}")
    return "\n".join(lines) + "\n"
