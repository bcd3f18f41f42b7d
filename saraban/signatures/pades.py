"""PAdES signing and verification of PDF files with pyHanko.

``sign_pdf`` adds one signature to a PDF as an incremental update: the given bytes are kept
as they are and the signature appended, so earlier signatures stay valid. The level is
PAdES B-B (signature only), B-T (plus an RFC 3161 timestamp from ``SARABAN_TSA_URL``) or
B-LTA (plus the revocation information in the document security store and a document
timestamp over all of it).

``verify_pdf`` checks every signature of a PDF: whether the signed bytes are intact, whether
the signer's certificate chains to a root the tenant trusts (its ``TrustRoot`` rows, the
node's, and the files in ``SARABAN_TRUST_ROOTS``), and what was added after each signature.
A later signature, a document timestamp or validation data are allowed and reported; any
other change makes the file "modified".

>>> signed = sign_pdf(pdf, identity, secret="...", appearance=Appearance(
...     page=-1, box=(350, 80, 550, 150), lines=("ลงนามโดย นายสมชาย ใจดี", "ผู้อำนวยการ")))
>>> verify_pdf(signed, tenant=agency).status
'valid'
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import logging
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal, get_args

from django.conf import settings
from django.utils import timezone

from saraban.core import sandbox
from saraban.core.errors import Conflict, FileRejected, SarabanError, ValidationFailed

from .errors import ServiceUnavailable

if TYPE_CHECKING:
    from pyhanko.sign.validation.status import PdfSignatureStatus
    from pyhanko_certvalidator import ValidationContext

    from saraban.agencies.models import Agency

    from .models import SigningIdentity

__all__ = [
    "Appearance",
    "Level",
    "SignatureInfo",
    "Status",
    "Verdict",
    "add_overlay",
    "sign_pdf",
    "verify_pdf",
]

logger = logging.getLogger(__name__)

#: What ``verify_file`` imports, for the sandbox's helper to import once (not per file).
SANDBOX_PRELOAD: Final = (
    "asn1crypto.x509",
    "pyhanko_certvalidator",
    "pyhanko.pdf_utils.reader",
    "pyhanko.sign.ades.report",
    "pyhanko.sign.diff_analysis",
    "pyhanko.sign.validation",
    "pyhanko.sign.validation.settings",
    "pyhanko.sign.validation.status",
    "saraban.signatures._overlays",
)

Level = Literal["B-B", "B-T", "B-LTA"]
Status = Literal["unsigned", "valid", "untrusted", "modified", "invalid", "unreadable", "not_pdf"]

_LEVELS: Final = frozenset(get_args(Level))
_UNREADABLE: Final = "อ่านไฟล์ PDF ไม่ได้ ไฟล์อาจเสียหายหรือไม่ใช่ไฟล์ PDF"
_ENCRYPTED: Final = "ไฟล์ PDF นี้ตั้งรหัสผ่านไว้ จึงลงนามไม่ได้"


@dataclass(frozen=True)
class Appearance:
    """Where the visible signature block goes and what it says.

    ``page`` is 0-based (-1 is the last page); ``box`` is (x1, y1, x2, y2) in PDF points with
    the origin at the bottom left; ``lines`` are printed centred, the first in bold.
    """

    page: int
    box: tuple[float, float, float, float]
    lines: Sequence[str]


# --- signing -----------------------------------------------------------------------------


def sign_pdf(
    pdf: bytes,
    identity: SigningIdentity,
    *,
    secret: str | None = None,
    appearance: Appearance | None = None,
    reason: str = "",
    level: Level | None = None,
    field_name: str | None = None,
) -> bytes:
    """Sign ``pdf`` with ``identity`` and return the signed file (the input plus an update).

    ``secret`` is the passphrase or PIN; it may be left out when the identity stores its
    own (an agency seal). ``level`` defaults to B-T when a TSA is configured, else B-B.
    Raises ``SarabanError`` subclasses with stable codes; nothing is written anywhere.
    """
    tsa_url = str(getattr(settings, "SARABAN_TSA_URL", "") or "")
    chosen: str = level or ("B-T" if tsa_url else "B-B")
    if chosen not in _LEVELS:
        raise ValidationFailed("ระดับลายมือชื่อไม่ถูกต้อง", code="bad_level", field="level")
    if chosen != "B-B" and not tsa_url:
        raise Conflict(
            "ยังไม่ได้ตั้งค่าหน่วยงานประทับรับรองเวลา (TSA) จึงลงนามระดับนี้ไม่ได้",
            code="tsa_not_configured",
        )
    check_identity_usable(identity)
    if appearance is not None:
        _check_appearance(appearance)

    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        encrypted = writer.prev.encrypted
        existing = {name for name, _, _ in fields.enumerate_sig_fields(writer.prev)}
        pages = int(writer.root["/Pages"]["/Count"])
    except SarabanError:
        raise
    except Exception as exc:  # pyHanko fails on bad input with many exception types
        raise ValidationFailed(_UNREADABLE, code="pdf_unreadable", field="file") from exc
    if encrypted:
        raise ValidationFailed(_ENCRYPTED, code="pdf_encrypted", field="file")
    if appearance is not None and not -pages <= appearance.page < pages:
        raise ValidationFailed("ไม่มีหน้าที่กำหนดสำหรับลายมือชื่อ", code="bad_appearance",
                               field="appearance")
    name = field_name or _free_field_name(existing)
    if name in existing:
        raise Conflict("มีช่องลายมือชื่อชื่อนี้อยู่แล้ว", code="field_exists", field="field_name")

    from ._appearance import stamp_style
    from ._signers import open_signer

    spec = fields.SigFieldSpec(sig_field_name=name)
    style = None
    if appearance is not None:
        x1, y1, x2, y2 = appearance.box
        spec = fields.SigFieldSpec(
            sig_field_name=name, on_page=appearance.page,
            box=(round(min(x1, x2)), round(min(y1, y2)), round(max(x1, x2)), round(max(y1, y2))),
        )
        style = stamp_style(appearance.lines, abs(x2 - x1), abs(y2 - y1))
    lta = chosen == "B-LTA"
    vc = None
    if lta:
        from ._trust import validation_context

        vc = validation_context(identity.tenant, fetch=True)
    meta = signers.PdfSignatureMetadata(
        field_name=name,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason.strip() or None,
        embed_validation_info=lta,
        use_pades_lta=lta,
        validation_context=vc,
        signer_key_usage={"non_repudiation", "digital_signature"},
    )
    timestamper = None
    if chosen != "B-B":
        from pyhanko.sign.timestamps import HTTPTimeStamper

        timestamper = HTTPTimeStamper(  # type: ignore[no-untyped-call]
            tsa_url, timeout=_tsa_timeout()
        )
    with open_signer(identity, secret) as signer:
        pdf_signer = signers.PdfSigner(
            meta, signer, timestamper=timestamper, stamp_style=style, new_field_spec=spec
        )
        try:
            out = pdf_signer.sign_pdf(writer, output=io.BytesIO())
        except Exception as exc:
            raise _signing_error(exc) from exc
    signed: bytes = out.getvalue()
    return signed


def check_identity_usable(identity: SigningIdentity, *, at: dt.datetime | None = None) -> None:
    """Refuse an inactive identity, or one whose certificate is not valid now."""
    now = at or timezone.now()
    if not identity.active:
        raise Conflict("ใบรับรองนี้ถูกระงับการใช้งานแล้ว", code="identity_inactive")
    if identity.not_after <= now:
        raise Conflict("ใบรับรองสำหรับลงนามหมดอายุแล้ว กรุณาต่ออายุใบรับรอง",
                       code="identity_expired")
    if identity.not_before > now:
        raise Conflict("ใบรับรองสำหรับลงนามยังไม่ถึงวันเริ่มใช้", code="identity_not_yet_valid")


def _check_appearance(appearance: Appearance) -> None:
    x1, y1, x2, y2 = appearance.box
    if abs(x2 - x1) < 20 or abs(y2 - y1) < 10 or not appearance.lines:
        raise ValidationFailed("กรอบลายมือชื่อเล็กเกินไปหรือไม่มีข้อความ", code="bad_appearance",
                               field="appearance")


def _free_field_name(existing: set[str]) -> str:
    n = len(existing) + 1
    while f"Signature{n}" in existing:
        n += 1
    return f"Signature{n}"


def _tsa_timeout() -> float:
    return float(getattr(settings, "SARABAN_TSA_TIMEOUT_SECONDS", 10))


def _signing_error(exc: Exception) -> SarabanError:
    """A pyHanko failure while signing, as a domain error with a stable code."""
    from pyhanko.sign.general import SigningError
    from pyhanko.sign.timestamps.common_utils import TimestampRequestError
    from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError

    chain = [exc]
    while chain[-1].__cause__ is not None and len(chain) < 8:
        cause = chain[-1].__cause__
        assert isinstance(cause, BaseException)
        if not isinstance(cause, Exception):
            break
        chain.append(cause)
    if any(isinstance(e, TimestampRequestError) for e in chain):
        return ServiceUnavailable(
            "ติดต่อหน่วยงานประทับรับรองเวลา (TSA) ไม่ได้ กรุณาลองใหม่ภายหลัง",
            code="tsa_unreachable",
        )
    if any(isinstance(e, (PathBuildingError, PathValidationError)) for e in chain):
        return Conflict(
            "ตรวจสอบใบรับรองของผู้ลงนามไม่ผ่าน (ไม่อยู่ในรายการที่เชื่อถือหรือถูกเพิกถอน)",
            code="identity_untrusted",
        )
    if isinstance(exc, SarabanError):
        return exc
    if isinstance(exc, SigningError):
        logger.warning("Signing failed: %s", exc)
        return Conflict("ลงนามไม่สำเร็จ", code="signing_failed", details={"reason": str(exc)})
    logger.exception("Unexpected error while signing")
    return Conflict("ลงนามไม่สำเร็จ", code="signing_failed")


def add_overlay(
    pdf: bytes, overlay: bytes, *, page: int, box: tuple[float, float, float, float],
    note: str = "",
) -> bytes:
    """Lay the first page of ``overlay`` (a small PDF, e.g. a receipt stamp) over ``box`` on
    ``page`` of a signed ``pdf``, as an incremental update that keeps its signatures valid.

    ``verify_pdf`` reports such a stamp as added after signing, not as a modification.
    Raises ``ValidationFailed`` (``pdf_unreadable``) when either file cannot be read.
    """
    from ._overlays import add_overlay as _add

    try:
        return _add(pdf, overlay, page=page, box=box, note=note)
    except Exception as exc:  # pyHanko fails on bad input with many exception types
        raise ValidationFailed(_UNREADABLE, code="pdf_unreadable", field="file") from exc


# --- verification ------------------------------------------------------------------------


@dataclass(frozen=True)
class SignatureInfo:
    """What verification found about one signature of a file."""

    field_name: str
    signer_name: str
    signer_subject: str
    issuer: str
    serial: str
    signing_time: dt.datetime | None
    timestamp_time: dt.datetime | None
    intact: bool
    trusted: bool
    covers_whole_file: bool
    modified_after: bool
    level: str
    problem: str  # Thai; "" when this signature is fine
    # The signer's certificate has lapsed since, and was checked at the time of the
    # signature's trusted timestamp (proof that it was signed while the certificate was valid).
    checked_at_timestamp: bool = False

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        for key in ("signing_time", "timestamp_time"):
            value = data[key]
            data[key] = value.isoformat() if value is not None else None
        return data


@dataclass(frozen=True)
class Verdict:
    """The verdict on a whole file: the worst of its signatures, and each of them."""

    status: Status
    signatures: tuple[SignatureInfo, ...] = field(default=())
    label_th: str = ""

    @property
    def is_red(self) -> bool:
        return self.status in ("invalid", "modified", "untrusted")

    def as_dict(self) -> dict[str, object]:
        return {
            "status": self.status,
            "label_th": self.label_th,
            "signatures": [s.as_dict() for s in self.signatures],
        }


_LABELS: Final[dict[str, str]] = {
    "unsigned": "ไม่มีลายมือชื่ออิเล็กทรอนิกส์",
    "unreadable": "อ่านไฟล์ PDF ไม่ได้ จึงตรวจลายมือชื่อไม่ได้",
    "not_pdf": "ไม่ใช่ไฟล์ PDF จึงไม่มีลายมือชื่ออิเล็กทรอนิกส์",
}

PROBLEM_DIGEST: Final = "ข้อมูลที่ลงนามถูกแก้ไข (ค่าแฮชไม่ตรงกับที่ลงนามไว้)"
PROBLEM_CRYPTO: Final = "ลายมือชื่อไม่ถูกต้องตามกุญแจของใบรับรอง"
PROBLEM_MODIFIED: Final = "มีการแก้ไขเนื้อหาเอกสารหลังลงนาม"
PROBLEM_UNTRUSTED: Final = "ผู้ออกใบรับรองไม่อยู่ในรายการที่เชื่อถือ"
PROBLEM_REVOKED: Final = "ใบรับรองของผู้ลงนามถูกเพิกถอน"
PROBLEM_EXPIRED: Final = "ใบรับรองของผู้ลงนามหมดอายุหรือยังไม่ถึงวันเริ่มใช้"
PROBLEM_TIMESTAMP: Final = "ตราประทับเวลาไม่ถูกต้องหรือไม่อยู่ในรายการที่เชื่อถือ"
PROBLEM_BROKEN: Final = "อ่านลายมือชื่อนี้ไม่ได้"


def verify_pdf(pdf: bytes, *, tenant: Agency | None) -> Verdict:
    """Check every signature of ``pdf`` against the roots ``tenant`` trusts.

    Revocation is checked from what the file carries; with ``SARABAN_VERIFY_REVOCATION``
    the CRLs and OCSP responders named in the certificates are asked as well (slower, and
    a responder that does not answer is not held against the signature).

    The file came from outside, so pyHanko reads it in the sandbox
    (``saraban.core.sandbox``); a file that goes over its limits is "unreadable".
    """
    if not looks_like_pdf(pdf):
        return Verdict(status="not_pdf", label_th=_LABELS["not_pdf"])
    digest = hashlib.sha256(pdf).hexdigest()
    known = _PLAIN_VERDICTS.get(digest)
    if known is not None:
        return known
    from ._trust import trusted_roots

    roots = [base64.b64encode(cert.dump()).decode() for cert in trusted_roots(tenant)]
    fetch = bool(getattr(settings, "SARABAN_VERIFY_REVOCATION", False))
    with tempfile.TemporaryDirectory(prefix="saraban-verify-") as tmp:
        path = Path(tmp) / "signed.pdf"
        path.write_bytes(pdf)
        try:
            data = sandbox.run("saraban.signatures.pades:verify_file", str(path), roots, fetch)
        except FileRejected as exc:
            logger.warning("verify_pdf: refused by the sandbox (%s)", exc.code)
            return Verdict(status="unreadable", label_th=_LABELS["unreadable"])
    verdict = _verdict_from(data)
    if verdict.status in ("unsigned", "unreadable"):  # the bytes alone decide these
        if len(_PLAIN_VERDICTS) >= 1024:
            _PLAIN_VERDICTS.pop(next(iter(_PLAIN_VERDICTS)))
        _PLAIN_VERDICTS[digest] = verdict
    return verdict


#: Verdicts that depend on the bytes only (no signature, or none readable), by SHA-256: one
#: file arriving for many agencies is parsed once per process.
_PLAIN_VERDICTS: dict[str, Verdict] = {}


def verify_file(path: str, roots: list[str], fetch: bool) -> dict[str, object]:
    """The sandbox's side of ``verify_pdf``: the verdict on the file at ``path`` as a dict,
    trusting ``roots`` (base64 DER certificates)."""
    from asn1crypto import x509 as asn1_x509  # type: ignore[import-untyped]
    from pyhanko_certvalidator import ValidationContext

    certs = [asn1_x509.Certificate.load(base64.b64decode(r)) for r in roots]

    def vc(moment: dt.datetime | None = None) -> ValidationContext:
        # A fresh context per check (they keep state); ``moment``: validate as of then.
        return ValidationContext(trust_roots=certs, allow_fetching=fetch,
                                 revocation_mode="soft-fail", moment=moment)

    return _verify(Path(path).read_bytes(), vc).as_dict()


def _verdict_from(data: dict[str, object]) -> Verdict:
    def when(value: object) -> dt.datetime | None:
        return dt.datetime.fromisoformat(value) if isinstance(value, str) else None

    signatures = tuple(
        SignatureInfo(**{**item, "signing_time": when(item["signing_time"]),
                         "timestamp_time": when(item["timestamp_time"])})
        for item in data["signatures"]  # type: ignore[attr-defined]
    )
    status: Status = data["status"]  # type: ignore[assignment]
    return Verdict(status=status, signatures=signatures, label_th=str(data["label_th"]))


def _verify(pdf: bytes, vc: Callable[[], ValidationContext]) -> Verdict:
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        if reader.encrypted:
            reader.decrypt("")
        regular = list(reader.embedded_regular_signatures)
        stamps = list(reader.embedded_timestamp_signatures)
    except Exception:  # pyHanko fails on bad input with many exception types
        logger.info("verify_pdf: unreadable PDF", exc_info=True)
        return Verdict(status="unreadable", label_th=_LABELS["unreadable"])
    if not regular:
        return Verdict(status="unsigned", label_th=_LABELS["unsigned"])

    has_dss = _has_validation_data(reader)
    sig_names = {s.field_name for s in regular} | {s.field_name for s in stamps}
    stamp_problems: list[str] = []
    stamp_revisions: list[int] = []
    for stamp in stamps:
        problem, ok_revision = _check_doc_timestamp(stamp, vc(), sig_names)
        if problem:
            stamp_problems.append(problem)
        if ok_revision is not None:
            stamp_revisions.append(ok_revision)
    infos = tuple(
        _check_signature(sig, vc, has_dss=has_dss, stamp_revisions=stamp_revisions,
                         sig_names=sig_names)
        for sig in regular
    )
    status = _overall(infos, stamp_problems)
    return Verdict(status=status, signatures=infos, label_th=_label(status, infos, stamp_problems))


def looks_like_pdf(data: bytes) -> bool:
    """A PDF header within the first kilobyte, as readers accept it."""
    return b"%PDF-" in data[:1024]


def _overall(infos: Sequence[SignatureInfo], stamp_problems: Sequence[str]) -> Status:
    problems = [i.problem for i in infos] + list(stamp_problems)
    if any(not i.intact for i in infos) or any(
        p in (PROBLEM_REVOKED, PROBLEM_BROKEN, PROBLEM_DIGEST, PROBLEM_CRYPTO) for p in problems
    ):
        return "invalid"
    if any(p == PROBLEM_MODIFIED for p in problems):
        return "modified"
    if any(not i.trusted for i in infos) or any(stamp_problems):
        return "untrusted"
    return "valid"


def _label(status: Status, infos: Sequence[SignatureInfo], stamp_problems: Sequence[str]) -> str:
    names = ", ".join(dict.fromkeys(i.signer_name for i in infos if i.signer_name))
    if status == "valid":
        label = f"ลายมือชื่ออิเล็กทรอนิกส์ถูกต้อง ลงนามโดย {names}"
        if any(i.checked_at_timestamp for i in infos):
            label += " (ลงนามขณะใบรับรองยังไม่หมดอายุ ยืนยันด้วยตราประทับเวลา)"
        if any(i.modified_after for i in infos):
            label += " (มีการเพิ่มลายมือชื่อ ตราประทับเวลา หรือข้อมูลตรวจสอบภายหลังการลงนาม)"
        return label
    if status == "modified":
        return "เอกสารถูกแก้ไขหลังลงนาม ลายมือชื่อไม่รับรองเนื้อหาที่เปลี่ยนไป"
    if status == "untrusted":
        return f"ลายมือชื่อไม่เสียหาย แต่ไม่อาจยืนยันผู้ออกใบรับรองของ {names}"
    if status == "invalid":
        first = next((i.problem for i in infos if i.problem), "")
        first = first or next((p for p in stamp_problems if p), "")
        return f"ลายมือชื่ออิเล็กทรอนิกส์ไม่ถูกต้อง: {first}" if first else (
            "ลายมือชื่ออิเล็กทรอนิกส์ไม่ถูกต้อง"
        )
    return _LABELS.get(status, "")


def _has_validation_data(reader: object) -> bool:
    from pyhanko.sign.validation import DocumentSecurityStore

    try:
        dss = DocumentSecurityStore.read_dss(reader)  # type: ignore[arg-type]
    except Exception:  # no /DSS, or one pyHanko cannot read
        return False
    return bool(dss.crls or dss.ocsps)


def _check_doc_timestamp(
    stamp: object, vc: object, sig_names: set[str]
) -> tuple[str, int | None]:
    """The problem with a document timestamp ("" if none), and its revision when intact."""
    from pyhanko.sign.validation import validate_pdf_timestamp

    from ._overlays import diff_policy

    try:
        status = validate_pdf_timestamp(
            stamp, validation_context=vc, diff_policy=diff_policy()  # type: ignore[arg-type]
        )
    except Exception:
        logger.info("verify_pdf: unreadable document timestamp", exc_info=True)
        return PROBLEM_BROKEN, None
    revision: int = stamp.signed_revision  # type: ignore[attr-defined]
    if not (status.intact and status.valid):
        return PROBLEM_DIGEST, None
    if not _allowed_after(status, sig_names):
        return PROBLEM_MODIFIED, revision
    if not status.trusted:
        return PROBLEM_TIMESTAMP, revision
    return "", revision


def _allowed_after(status: object, sig_names: set[str]) -> bool:
    """Whether what was added after a signature is only later signatures, LTA maintenance
    (validation data, document timestamps) and Saraban's own stamp overlays."""
    from pyhanko.sign.diff_analysis import DiffResult, ModificationLevel
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    coverage = getattr(status, "coverage", None)
    if coverage == SignatureCoverageLevel.ENTIRE_FILE:
        return True
    if coverage != SignatureCoverageLevel.ENTIRE_REVISION:
        return False
    if getattr(status, "docmdp_ok", None) is False:
        return False
    diff = getattr(status, "diff_result", None)
    if not isinstance(diff, DiffResult):
        return False
    level = diff.modification_level
    if level in (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES):
        return True
    if level in (ModificationLevel.FORM_FILLING, ModificationLevel.ANNOTATIONS):
        # FORM_FILLING: later signatures. ANNOTATIONS: Saraban's own stamps (only OverlayRule
        # clears at that level; pyHanko's rules never do). Either way no field other than a
        # signature field may have been filled in.
        return all(_field_leaf(name) in sig_names or name in sig_names
                   for name in diff.changed_form_fields)
    return False


def _field_leaf(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _check_signature(
    sig: object,
    vc_factory: object,
    *,
    has_dss: bool,
    stamp_revisions: Sequence[int],
    sig_names: set[str],
) -> SignatureInfo:
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.settings import KeyUsageConstraints

    from ._overlays import diff_policy

    name = str(getattr(sig, "field_name", "") or "")

    def validate(moment: dt.datetime | None = None) -> PdfSignatureStatus:
        return validate_pdf_signature(
            sig,  # type: ignore[arg-type]
            signer_validation_context=vc_factory(moment),  # type: ignore[operator]
            ts_validation_context=vc_factory(),  # type: ignore[operator]
            diff_policy=diff_policy(),
            key_usage_settings=KeyUsageConstraints(
                key_usage={"non_repudiation", "digital_signature"}
            ),
        )

    try:
        status: PdfSignatureStatus = validate()
    except Exception:
        logger.info("verify_pdf: signature %s could not be validated", name, exc_info=True)
        return _broken_signature(sig, name)
    ts = status.timestamp_validity
    timestamp_ok = ts is None or bool(ts.intact and ts.valid and ts.trusted)
    at_timestamp = False
    if (ts is not None and timestamp_ok and status.intact and status.valid
            and not status.trusted and _trust_problem(status) == PROBLEM_EXPIRED):
        # The certificate lapsed after signing: the trusted timestamp proves the signature
        # existed while it was valid, so the signer is checked as of that time.
        try:
            then = validate(ts.timestamp)
        except Exception:
            logger.info("verify_pdf: signature %s at its timestamp", name, exc_info=True)
        else:
            if then.trusted and then.intact and then.valid:
                status, at_timestamp = then, True
    cert = status.signing_cert
    intact = bool(status.intact and status.valid)
    trusted = bool(status.trusted) and timestamp_ok
    whole = _coverage_is_whole(status)
    allowed = _allowed_after(status, sig_names)
    revision: int = sig.signed_revision  # type: ignore[attr-defined]
    level = "B-B"
    if ts is not None:
        level = "B-T"
    if ts is not None and has_dss:
        level = "B-LT"
    if ts is not None and has_dss and any(r > revision for r in stamp_revisions):
        level = "B-LTA"
    problem = ""
    if not status.intact:
        problem = PROBLEM_DIGEST
    elif not status.valid:
        problem = PROBLEM_CRYPTO
    elif not allowed:
        problem = PROBLEM_MODIFIED
    elif status.revoked:
        problem = PROBLEM_REVOKED
    elif not status.trusted:
        problem = _trust_problem(status)
    elif not timestamp_ok:
        problem = PROBLEM_TIMESTAMP
    return SignatureInfo(
        field_name=name,
        signer_name=_common_name(cert.subject) or cert.subject.human_friendly,
        signer_subject=cert.subject.human_friendly,
        issuer=_common_name(cert.issuer) or cert.issuer.human_friendly,
        serial=format(cert.serial_number, "X"),
        signing_time=status.signer_reported_dt,
        timestamp_time=ts.timestamp if ts is not None else None,
        intact=intact,
        trusted=trusted,
        covers_whole_file=whole,
        modified_after=not whole,
        level=level,
        problem=problem,
        checked_at_timestamp=at_timestamp,
    )


def _coverage_is_whole(status: object) -> bool:
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    return getattr(status, "coverage", None) == SignatureCoverageLevel.ENTIRE_FILE


def _trust_problem(status: object) -> str:
    from pyhanko.sign.ades.report import AdESFailure, AdESIndeterminate

    indic = getattr(status, "trust_problem_indic", None)
    if indic in (AdESFailure.REVOKED, AdESIndeterminate.REVOKED_NO_POE,
                 AdESIndeterminate.REVOKED_CA_NO_POE):
        return PROBLEM_REVOKED
    if indic in (AdESIndeterminate.EXPIRED, AdESIndeterminate.NOT_YET_VALID,
                 AdESFailure.NOT_YET_VALID, AdESIndeterminate.OUT_OF_BOUNDS_NO_POE,
                 AdESIndeterminate.OUT_OF_BOUNDS_NOT_REVOKED):
        return PROBLEM_EXPIRED
    return PROBLEM_UNTRUSTED


def _broken_signature(sig: object, name: str) -> SignatureInfo:
    subject = issuer = signer = serial = ""
    try:
        cert = sig.signer_cert  # type: ignore[attr-defined]
        signer = _common_name(cert.subject)
        subject = cert.subject.human_friendly
        issuer = _common_name(cert.issuer)
        serial = format(cert.serial_number, "X")
    except Exception:  # the CMS object itself is unreadable
        logger.debug("verify_pdf: no certificate in signature %s", name, exc_info=True)
    return SignatureInfo(
        field_name=name, signer_name=signer, signer_subject=subject, issuer=issuer,
        serial=serial, signing_time=None, timestamp_time=None, intact=False, trusted=False,
        covers_whole_file=False, modified_after=False, level="", problem=PROBLEM_BROKEN,
    )


def _common_name(name: object) -> str:
    try:
        native = name.native  # type: ignore[attr-defined]
    except Exception:
        return ""
    value = native.get("common_name", "") if isinstance(native, dict) else ""
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value)
