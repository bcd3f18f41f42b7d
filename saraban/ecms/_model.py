"""The e-CMS messages as plain values (no XML here): what the parser returns and the
builders take. Field names follow the wire elements (``ram:ID`` → ``letter_id``).

Text that the other side echoes back byte for byte (``LetterID``, ``CorrespondenceDate``,
``Subject``, department codes) is kept exactly as it was on the wire, never normalised;
``Letter.date`` is the parsed CE date beside ``date_text``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum


class Dialect(StrEnum):
    """How a client writes its requests (ecms.md §2, §9)."""

    SARABAN = "saraban"  # what Saraban writes: mil-doc's correct form, with the signature
    MILDOC = "mildoc"    # mil-doc 2020: www. namespace, wsa:To, no XML declaration, reversed lists
    BOI = "boi"          # BOI-DMS eCMS2: namespace without www., wsa:to, declarations, no escaping


class Operation(StrEnum):
    """Local names of the Body's first element (requests and responses)."""

    OUTBOUND = "CorrespondenceLetterOutboundRequest"
    OUTBOUND_RESPONSE = "CorrespondenceLetterOutboundResponse"
    INBOUND = "CorrespondenceLetterInboundRequest"
    INBOUND_RESPONSE = "CorrespondenceLetterInboundResponse"
    DELETE = "CorrespondenceLetterDeleteRequest"
    DELETE_RESPONSE = "CorrespondenceLetterDeleteResponse"
    DELETE_DOCUMENT = "CorrespondenceDeleteGovernmentDocumentRequest"
    DELETE_DOCUMENT_RESPONSE = "CorrespondenceDeleteGovernmentDocumentResponse"
    SPECIAL = "CorrespondenceLetterInboundSpecialRequest"
    MINISTRIES = "GetMinistryOrganizationList"
    ORGANIZATIONS = "GetOrganizationList"
    SECRET_CODES = "GetSecretCodes"  # noqa: S105 (an operation name)
    SPEED_CODES = "GetSpeedCodes"
    MIME_CODES = "GetMimeCodes"
    OUTBOUND_STATUS = "OutboundStatusRequest"
    OUTBOUND_STATUS_RESPONSE = "OutboundStatusResponse"
    TIME_CHECK = "TimeCheckRequest"
    # Responses whose element names the clients read (ecms.md §5.11-5.16; added by H1).
    SPECIAL_RESPONSE = "CorrespondenceLetterInboundSpecialResponse"
    MINISTRIES_RESPONSE = "GetMinistryOrganizationListResponse"
    ORGANIZATIONS_RESPONSE = "OrganizationList"
    SECRET_CODES_RESPONSE = "SecretCodes"  # noqa: S105 (an element name)
    SPEED_CODES_RESPONSE = "SpeedCodes"
    MIME_CODES_RESPONSE = "MimeCodes"
    TIME_CHECK_RESPONSE = "TimeCheckResponse"
    ERROR = "ErrorResponse"


class NotifierKind(StrEnum):
    RECEIVE = "ReceiveLetterNotifier"            # arrived (หนังสือตอบรับ)
    ACCEPT = "AcceptLetterNotifier"              # registered, AcceptID = their number
    REJECT = "RejectLetterNotifier"              # refused
    INVALID = "InvalidLetterNotifier"            # wrong letter / wrong addressee
    INVALID_ACCEPT_ID = "InvalidAcceptIDNotifier"  # sent by the original sender


@dataclass(frozen=True, slots=True)
class Party:
    """``ram:SenderParty`` / ``ram:ReceiverParty``."""

    given_name: str = ""
    family_name: str = ""
    job_title: str = ""
    ministry_id: str = ""
    department_id: str = ""


@dataclass(frozen=True, slots=True)
class Reference:
    """``ram:ReferenceCorrespondence`` (อ้างถึง)."""

    letter_id: str
    date_text: str
    subject: str


@dataclass(frozen=True, slots=True)
class Binary:
    """A base64 object: ``mimeCode`` and the decoded bytes."""

    mime_code: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Signer:
    """``ram:GovernmentSignature`` without the ``ds:Signature`` (not covered by it)."""

    type_code: str = ""
    given_name: str = ""
    family_name: str = ""
    title: str = ""
    ministry_code: str = ""
    department_code: str = ""


class SignatureVerdict(StrEnum):
    ABSENT = "absent"
    VALID = "valid"          # digest and signature check, and the certificate is trusted
    UNTRUSTED = "untrusted"  # they check, but the certificate is not among the trusted ones
    INVALID = "invalid"      # the letter was changed after signing, or the signature is broken


@dataclass(frozen=True, slots=True)
class Letter:
    """``ram:CorrespondenceLetter`` with its files, in the user's order (a mil-doc
    request's reversed references and attachments are put back in order by the parser)."""

    letter_id: str
    date_text: str                 # as on the wire, ``yyyy-MM-dd`` CE
    subject: str
    secret_code: str = "001"  # noqa: S105 (ปกติ: not secret)
    speed_code: str = "001"
    sender: Party = field(default_factory=Party)
    receiver: Party = field(default_factory=Party)
    references: tuple[Reference, ...] = ()
    attachment_text: str = ""      # ram:Attachment (สิ่งที่ส่งมาด้วย, free text)
    send_date: str = ""
    description: str = ""
    main: Binary | None = None
    attachments: tuple[Binary, ...] = ()

    @property
    def date(self) -> dt.date | None:
        """The CE date of ``date_text`` (``None`` when it is not ``yyyy-MM-dd``)."""
        try:
            return dt.date.fromisoformat(self.date_text.strip()[:10])
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class Notifier:
    """One of the five notifiers; the response/queue forms add the ``accept_*`` fields."""

    kind: NotifierKind
    letter_id: str
    date_text: str
    subject: str
    accept_id: str = ""
    accept_date: str = ""
    accept_department: str = ""


@dataclass(frozen=True, slots=True)
class DocumentKey:
    """What names a letter inside a node: ``…DeleteGovernmentDocumentRequest`` and the
    special re-request carry it."""

    letter_id: str
    date_text: str
    sender_department: str
    accept_department: str


@dataclass(frozen=True, slots=True)
class Organization:
    organization_id: str
    th_name: str
    en_name: str = ""
    ecms_url: str = ""


@dataclass(frozen=True, slots=True)
class Code:
    value: str
    description: str


@dataclass(frozen=True, slots=True)
class OutboundStatus:
    process_id: str
    letter_id: str
    status: str


@dataclass(frozen=True, slots=True)
class ErrorDetail:
    code: str
    description: str


@dataclass(frozen=True, slots=True)
class Header:
    """The WS-Addressing header as the client wrote it (informational only)."""

    message_id: str = ""
    to: str = ""
    wsa_namespace: str = ""


@dataclass(frozen=True, slots=True)
class Limits:
    """What :func:`parse_message` accepts at most (callers pass the ``SARABAN_ECMS_MAX_*``
    settings)."""

    max_bytes: int = 64 * 1024 * 1024       # the whole message
    max_depth: int = 64                     # element nesting
    max_file_bytes: int = 40 * 1024 * 1024  # one decoded base64 object
    max_files: int = 100                    # main letter + attachments
    max_elements: int = 200_000             # elements in the message (added by H1)


@dataclass(frozen=True, slots=True)
class Message:
    """One SOAP message, request or response, as understood.

    ``operation`` is the local name of the Body's first element. Exactly the parts that
    operation carries are filled; the rest stay empty.
    """

    operation: str
    header: Header = field(default_factory=Header)
    letter: Letter | None = None
    signer: Signer | None = None
    signature: SignatureVerdict = SignatureVerdict.ABSENT
    signer_certificate_pem: str = ""
    # The rsm:GovernmentDocument as a standalone document (its own namespace declarations),
    # byte for byte as signed: a node relays and hands out exactly these bytes.
    document_xml: bytes = b""
    notifier: Notifier | None = None
    process_id: str = ""
    process_time: str = ""
    document_key: DocumentKey | None = None
    special_kind: str = ""  # for SPECIAL: "GovernmentDocument" or a NotifierKind value
    ministries: tuple[Organization, ...] = ()
    organizations: tuple[Organization, ...] = ()
    codes: tuple[Code, ...] = ()                # secret or speed codes
    mime_codes: tuple[Code, ...] = ()           # value = File-Extension, description = type
    outbound: tuple[OutboundStatus, ...] = ()
    ecms_time: str = ""
    errors: tuple[ErrorDetail, ...] = ()
    repaired: tuple[str, ...] = ()  # what tolerant parsing repaired, e.g. "bare_ampersand"
    # Added by H1: which client wrote the request, guessed from its header and XML declaration
    # (None for responses and header-less messages); why a signature is INVALID/UNTRUSTED;
    # whether the message began with an XML declaration.
    dialect: Dialect | None = None
    signature_detail: str = ""
    xml_declaration: bool = False

    @property
    def is_empty_queue(self) -> bool:
        """An inbound response with no item (no ProcessID)."""
        return self.operation == Operation.INBOUND_RESPONSE and not self.process_id
