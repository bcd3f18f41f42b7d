"""The content-addressed file store.

Each file is kept once, under its SHA-256, and never rewritten. The type is decided by the
content, never by the name: the first bytes name a type, and the file is then read as that
type in a resource-limited child (``saraban.core.sandbox`` running ``filecheck``): a PDF by
pypdf, an image by Pillow, an Office or OpenDocument file as a zip and its XML. A file that
is too big, of a type not allowed, unreadable, or a bomb (it inflates past the limits, holds
an image of absurd size, nests too deep) is refused before anything is kept. Bytes already
kept (the same SHA-256) are not read again.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings

from saraban.core import sandbox
from saraban.core.errors import FileRejected

from .models import Blob

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
TIFF = "image/tiff"
ZIP_OFFICE = "application/vnd.openxmlformats-officedocument"
ODF = "application/vnd.oasis.opendocument"
ZIP = "application/zip"  # what the first bytes of an Office or OpenDocument file claim
EML = "message/rfc822"  # an e-mail kept exactly as it arrived (never read as a document)

MAIN_TYPES = frozenset({PDF, PNG, JPEG, TIFF})
ATTACHMENT_TYPES = MAIN_TYPES | {ZIP_OFFICE, ODF}

TYPE_NAMES_TH = {
    PDF: "PDF", PNG: "PNG", JPEG: "JPEG", TIFF: "TIFF", ZIP_OFFICE: "Office", ODF: "ODF"
}

_CHUNK = 1024 * 1024


def sniff(head: bytes) -> str | None:
    """The content type a file's first bytes claim (a zip is checked further by ``inspect``)."""
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return TIFF
    if head.startswith(b"PK\x03\x04"):
        return ZIP  # an Office or an OpenDocument file, or neither: inspect() tells
    return None


def file_limits() -> dict[str, int]:
    """The limits on what a file may contain (``SARABAN_FILE_LIMITS`` overrides any of them)."""
    from .filecheck import DEFAULT_LIMITS

    return {**DEFAULT_LIMITS, **dict(getattr(settings, "SARABAN_FILE_LIMITS", {}) or {})}


def inspect(path: Path, content_type: str) -> dict[str, Any]:
    """Read a file of the claimed type in the sandbox; its facts, or ``FileRejected``.

    The answer has ``"type"``: the type decided by content (an Office or an OpenDocument
    file for a zip).
    """
    limits = file_limits()
    if content_type == PDF:
        facts = sandbox.run("saraban.letters.filecheck:inspect_pdf", str(path), limits)
    elif content_type in (PNG, JPEG, TIFF):
        facts = sandbox.run("saraban.letters.filecheck:inspect_image", str(path),
                            content_type, limits)
    else:
        facts = sandbox.run("saraban.letters.filecheck:inspect_zip", str(path), limits)
        content_type = facts["type"]
    return {**facts, "type": content_type}


def blob_path(sha256: str) -> Path:
    root = Path(settings.SARABAN_FILES_DIR)
    return root / sha256[:2] / sha256[2:4] / sha256


@dataclass(frozen=True, slots=True)
class CheckedFile:
    """A file that passed every check and waits, in the store's scratch folder, to be kept."""

    tmp: Path
    sha256: str
    size: int
    content_type: str

    def keep(self) -> Blob:
        """Move it into the store under its SHA-256 (once) and answer its ``Blob`` row."""
        final = blob_path(self.sha256)
        if not final.exists():
            final.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(self.tmp, 0o444)
            os.replace(self.tmp, final)
        blob, _ = Blob.objects.get_or_create(
            sha256=self.sha256, defaults={"size": self.size, "content_type": self.content_type}
        )
        return blob


def store_file(
    source: IO[bytes] | bytes,
    *,
    allowed: Iterable[str] = MAIN_TYPES,
    max_bytes: int | None = None,
) -> Blob:
    """Check and keep a file; the same content stored twice is kept once.

    Raises ``FileRejected`` (nothing written) when the file is empty, too large, of a type
    not in ``allowed`` (decided by content) or an unreadable PDF.
    """
    with check_file(source, allowed=allowed, max_bytes=max_bytes) as checked:
        return checked.keep()


def store_mail_original(raw: bytes) -> Blob:
    """Keep an arrived e-mail byte for byte (the original of a letter that came by e-mail).

    It is not read as a document (its parts were checked one by one by the mail intake), so
    only its size is limited (``SARABAN_MAIL_MAX_BYTES``); it is served only as a download.
    """
    limit = int(getattr(settings, "SARABAN_MAIL_MAX_BYTES", settings.SARABAN_MAX_FILE_BYTES))
    if not raw:
        raise FileRejected("ไฟล์ว่างเปล่า", code="file_empty")
    if len(raw) > limit:
        raise FileRejected(f"ไฟล์มีขนาดเกิน {limit // (1024 * 1024)} MB ที่กำหนด",
                           code="file_too_large", details={"max_bytes": limit})
    sha = hashlib.sha256(raw).hexdigest()
    root = Path(settings.SARABAN_FILES_DIR)
    (root / "tmp").mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=root / "tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(raw)
        return CheckedFile(tmp=tmp, sha256=sha, size=len(raw), content_type=EML).keep()
    finally:
        tmp.unlink(missing_ok=True)


def store_files(items: Sequence[tuple[IO[bytes] | bytes, Iterable[str]]]) -> list[Blob]:
    """Check every file first, then keep them all: when one is refused, none is kept.

    Each item is ``(content, allowed types)``. The ``FileRejected`` raised carries the
    index of the refused item in ``details["index"]``.
    """
    with contextlib.ExitStack() as stack:
        checked = []
        for index, (source, allowed) in enumerate(items):
            try:
                checked.append(stack.enter_context(check_file(source, allowed=allowed)))
            except FileRejected as exc:
                exc.details.setdefault("index", index)
                raise
        return [c.keep() for c in checked]


@contextlib.contextmanager
def check_file(
    source: IO[bytes] | bytes,
    *,
    allowed: Iterable[str] = MAIN_TYPES,
    max_bytes: int | None = None,
) -> Iterator[CheckedFile]:
    """Copy a file to the scratch folder and check it, without keeping it.

    Raises ``FileRejected`` when the file is empty, too large, of a type not in ``allowed``
    (decided by content) or unreadable; the scratch copy is removed when the block ends,
    unless ``CheckedFile.keep`` moved it into the store.
    """
    limit = max_bytes if max_bytes is not None else int(settings.SARABAN_MAX_FILE_BYTES)
    stream: IO[bytes] = io.BytesIO(source) if isinstance(source, bytes) else source
    if hasattr(stream, "seek"):
        stream.seek(0)
    root = Path(settings.SARABAN_FILES_DIR)
    (root / "tmp").mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    fd, tmp_name = tempfile.mkstemp(dir=root / "tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise FileRejected(
                        f"ไฟล์มีขนาดเกิน {limit // (1024 * 1024)} MB ที่กำหนด",
                        code="file_too_large",
                        details={"max_bytes": limit},
                    )
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise FileRejected("ไฟล์ว่างเปล่า", code="file_empty")
        with tmp.open("rb") as fh:
            head = fh.read(16)
        content_type = sniff(head)
        allowed_set = frozenset(allowed)
        sha = digest.hexdigest()
        known = Blob.objects.filter(sha256=sha).values_list("content_type", flat=True).first()
        if known is not None and known in allowed_set and blob_path(sha).exists():
            # These very bytes were read and kept before: reading them again would say the
            # same (a registration, an arrival and its registration often carry one file).
            yield CheckedFile(tmp=tmp, sha256=sha, size=size, content_type=known)
            return
        if content_type == ZIP and allowed_set & {ZIP_OFFICE, ODF}:
            content_type = inspect(tmp, content_type)["type"]
        if content_type is None or content_type not in allowed_set:
            names = ", ".join(sorted(TYPE_NAMES_TH[t] for t in allowed_set))
            raise FileRejected(
                f"ชนิดของไฟล์ไม่ถูกต้อง (ตรวจจากเนื้อไฟล์) รับเฉพาะ {names}",
                code="file_type_not_allowed",
                details={"detected": content_type or "unknown"},
            )
        if content_type in MAIN_TYPES:
            inspect(tmp, content_type)
        yield CheckedFile(tmp=tmp, sha256=sha, size=size, content_type=content_type)
    finally:
        tmp.unlink(missing_ok=True)


def open_blob(blob: Blob) -> IO[bytes]:
    return blob_path(blob.sha256).open("rb")


def read_blob(blob: Blob) -> bytes:
    return blob_path(blob.sha256).read_bytes()
