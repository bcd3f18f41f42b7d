"""The content-addressed file store.

Each file is kept once, under its SHA-256, and never rewritten. The type is decided by the
content (magic bytes, and a parse for PDFs), never by the name; a file that is too big, of a
type not allowed, or unreadable is refused before anything is written.
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
from typing import IO

from django.conf import settings

from saraban.core.errors import FileRejected

from .models import Blob

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
TIFF = "image/tiff"
ZIP_OFFICE = "application/vnd.openxmlformats-officedocument"
ODF = "application/vnd.oasis.opendocument"

MAIN_TYPES = frozenset({PDF, PNG, JPEG, TIFF})
ATTACHMENT_TYPES = MAIN_TYPES | {ZIP_OFFICE, ODF}

TYPE_NAMES_TH = {
    PDF: "PDF", PNG: "PNG", JPEG: "JPEG", TIFF: "TIFF", ZIP_OFFICE: "Office", ODF: "ODF"
}

_CHUNK = 1024 * 1024


def sniff(head: bytes, path: Path) -> str | None:
    """The content type of a file from its first bytes (and, for zips, its members)."""
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return TIFF
    if head.startswith(b"PK\x03\x04"):
        import zipfile

        try:
            with zipfile.ZipFile(path) as zf:
                names = set(zf.namelist())
                if "[Content_Types].xml" in names:
                    return ZIP_OFFICE
                if "mimetype" in names and zf.read("mimetype").startswith(ODF.encode()):
                    return ODF
        except zipfile.BadZipFile:
            return None
    return None


def _check_pdf(path: Path) -> None:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(str(path), strict=False)
        if len(reader.pages) < 1:
            raise FileRejected("ไฟล์ PDF ไม่มีหน้าเอกสาร", code="pdf_empty")
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise FileRejected("ไฟล์ PDF เสียหายหรืออ่านไม่ได้", code="pdf_unreadable") from exc


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
        content_type = sniff(head, tmp)
        allowed_set = frozenset(allowed)
        if content_type is None or content_type not in allowed_set:
            names = ", ".join(sorted(TYPE_NAMES_TH[t] for t in allowed_set))
            raise FileRejected(
                f"ชนิดของไฟล์ไม่ถูกต้อง (ตรวจจากเนื้อไฟล์) รับเฉพาะ {names}",
                code="file_type_not_allowed",
                details={"detected": content_type or "unknown"},
            )
        if content_type == PDF:
            _check_pdf(tmp)
        yield CheckedFile(tmp=tmp, sha256=digest.hexdigest(), size=size,
                          content_type=content_type)
    finally:
        tmp.unlink(missing_ok=True)


def open_blob(blob: Blob) -> IO[bytes]:
    return blob_path(blob.sha256).open("rb")


def read_blob(blob: Blob) -> bytes:
    return blob_path(blob.sha256).read_bytes()
