"""What a file that arrives really is, checked inside the sandbox (``saraban.core.sandbox``).

These functions run in a resource-limited child, never in a web or worker process: each takes
the path of the file and a dictionary of limits, returns a small JSON answer, and raises
``FileRejected`` with a stable code for a file it refuses. They import nothing from Django.

- ``inspect_pdf``: pypdf opens it; pages, objects, the size every Flate stream inflates to
  (counted as it streams, never held), and the declared pixels of every image are bounded.
- ``inspect_image``: Pillow reads the headers of each frame (PNG, JPEG, TIFF); pixels and
  frames bounded; nothing is decoded (OCR decodes it later, under its own limits).
- ``inspect_zip``: an Office (OOXML) or OpenDocument file: entries, names, sizes and ratios
  bounded, every member read once (CRC checked), zips inside zips counted against the same
  budget, ``[Content_Types].xml`` and the relationships parsed with entity resolution off and
  no DTD, and the main part of the declared kind present.

Codes: ``pdf_unreadable``, ``pdf_empty``, ``image_unreadable``, ``office_invalid``,
``zip_unsafe_name``, ``file_too_complex`` (pages, objects, entries, nesting), ``file_bomb``
(inflated size, pixels, compression ratio).
"""

from __future__ import annotations

import io
import math
import struct
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any, Final, TypedDict

from saraban.core.errors import FileRejected

__all__ = ["DEFAULT_LIMITS", "FileLimits", "inspect_image", "inspect_pdf", "inspect_zip"]


class FileLimits(TypedDict):
    max_pages: int  # pages of a PDF, frames of a TIFF
    max_pdf_objects: int
    max_pixels: int  # declared width x height of one image
    max_stream_bytes: int  # what one PDF stream may inflate to
    max_inflated_bytes: int  # what all streams of a PDF, or all members of a zip, inflate to
    max_zip_entries: int
    max_zip_ratio: int  # inflated / compressed, for a member over 1 MiB
    max_zip_depth: int  # zips inside zips (an xlsx chart inside a docx is 1)


DEFAULT_LIMITS: Final[FileLimits] = {
    "max_pages": 2000,
    "max_pdf_objects": 500_000,
    "max_pixels": 200_000_000,
    "max_stream_bytes": 256 * 1024 * 1024,
    "max_inflated_bytes": 1024 * 1024 * 1024,
    "max_zip_entries": 10_000,
    "max_zip_ratio": 200,
    "max_zip_depth": 1,
}

PDF_UNREADABLE: Final = "ไฟล์ PDF เสียหายหรืออ่านไม่ได้"
_CHUNK: Final = 1024 * 1024


def _limits(given: dict[str, Any] | None) -> FileLimits:
    merged = dict(DEFAULT_LIMITS)
    merged.update({k: int(v) for k, v in (given or {}).items() if k in DEFAULT_LIMITS})
    return merged  # type: ignore[return-value]


def _bomb(message: str, **details: Any) -> FileRejected:
    return FileRejected(message, code="file_bomb", details=details)


def _complex(message: str, **details: Any) -> FileRejected:
    return FileRejected(message, code="file_too_complex", details=details)


# --- PDF ------------------------------------------------------------------------------------


def inspect_pdf(path: str, limits: dict[str, Any] | None = None) -> dict[str, int]:
    """Check a PDF; returns its pages, objects, inflated bytes and largest page (pt²)."""
    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError, PyPdfError
    from pypdf.generic import IndirectObject, StreamObject

    lim = _limits(limits)
    try:
        reader = PdfReader(path, strict=False)
        pages = len(reader.pages)
    except LimitReachedError as exc:
        raise _bomb("ไฟล์ PDF ขยายตัวเกินกำหนดเมื่อเปิดอ่าน จึงไม่รับไฟล์") from exc
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError,
            IndexError, AssertionError, zlib.error, RecursionError) as exc:
        if _too_deep(exc):
            raise _complex(_TOO_DEEP) from exc
        raise FileRejected(PDF_UNREADABLE, code="pdf_unreadable") from exc
    if pages < 1:
        raise FileRejected("ไฟล์ PDF ไม่มีหน้าเอกสาร", code="pdf_empty")
    if pages > lim["max_pages"]:
        raise _complex(f"ไฟล์ PDF มีเกิน {lim['max_pages']:,} หน้า จึงไม่รับไฟล์",
                       pages=pages, max_pages=lim["max_pages"])
    largest = 0.0
    for page in reader.pages:
        try:
            box = page.mediabox
            area = abs(float(box.width) * float(box.height))
        except Exception:  # noqa: S112  (a page without a usable box: readers use A4)
            continue
        if math.isfinite(area):
            largest = max(largest, area)
        else:
            largest = float("1e12")  # an absurd box: too large to rasterise
    numbers = _object_numbers(reader)
    if len(numbers) > lim["max_pdf_objects"]:
        raise _complex("ไฟล์ PDF มีจำนวนวัตถุภายในมากเกินกำหนด จึงไม่รับไฟล์",
                       objects=len(numbers))
    inflated = 0
    for num, gen in numbers:
        try:
            obj = reader.get_object(IndirectObject(num, gen, reader))
        except LimitReachedError as exc:
            raise _bomb("ไฟล์ PDF ขยายตัวเกินกำหนดเมื่อเปิดอ่าน จึงไม่รับไฟล์") from exc
        except Exception as exc:  # a broken object: readers skip it too
            if _too_deep(exc):
                raise _complex(_TOO_DEEP) from exc
            continue
        if not isinstance(obj, StreamObject):
            continue
        if _value(obj, "/Subtype") == "/Image":
            _check_pixels(_value(obj, "/Width"), _value(obj, "/Height"), lim)
        size = _stream_size(obj, lim)
        if size > lim["max_stream_bytes"]:
            raise _bomb("ไฟล์ PDF มีข้อมูลที่ขยายตัวเกินกำหนด (อาจเป็นไฟล์อันตรายประเภท bomb)",
                        object=num, max_stream_bytes=lim["max_stream_bytes"])
        inflated += size
        if inflated > lim["max_inflated_bytes"]:
            raise _bomb("ไฟล์ PDF ขยายตัวรวมเกินกำหนด (อาจเป็นไฟล์อันตรายประเภท bomb)",
                        max_inflated_bytes=lim["max_inflated_bytes"])
    return {"pages": pages, "objects": len(numbers), "inflated": inflated,
            "largest_page_area": round(largest)}


_TOO_DEEP: Final = "โครงสร้างภายในไฟล์ PDF ซ้อนกันลึกเกินกำหนด จึงไม่รับไฟล์"


def _too_deep(exc: BaseException) -> bool:
    """Whether the parser gave up on nesting (pypdf wraps ``RecursionError`` in its own)."""
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, RecursionError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _object_numbers(reader: Any) -> list[tuple[int, int]]:
    """Every (number, generation) the file's cross-reference tables name."""
    found: dict[int, int] = {}
    for gen, table in reader.xref.items():
        for num in table:
            found[int(num)] = int(gen)
    for num in reader.xref_objStm:
        found.setdefault(int(num), 0)
    return sorted(found.items())


def _value(obj: Any, key: str) -> Any:
    """A dictionary's entry, resolved if it is a reference to another object."""
    value = obj.get(key)
    try:
        return value.get_object() if value is not None else None
    except Exception:  # a dangling reference
        return None


def _check_pixels(width: object, height: object, lim: FileLimits) -> None:
    try:
        w, h = int(width), int(height)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return
    if w * h > lim["max_pixels"]:
        raise _bomb(
            f"ภาพในไฟล์มีขนาด {w:,} x {h:,} จุด เกินกำหนด {lim['max_pixels']:,} จุด จึงไม่รับไฟล์",
            width=w, height=h, max_pixels=lim["max_pixels"],
        )


_FLATE: Final = frozenset({"/FlateDecode", "/Fl"})
_EXPANDING: Final = frozenset({"/LZWDecode", "/LZW", "/RunLengthDecode", "/RL"})


def _stream_size(obj: Any, lim: FileLimits) -> int:
    """What a stream inflates to, counted without keeping it (capped just over the limit)."""
    from pypdf.errors import LimitReachedError

    filters = _value(obj, "/Filter")
    names = [str(f) for f in filters] if isinstance(filters, list) else (
        [str(filters)] if filters is not None else [])
    raw: bytes = getattr(obj, "_data", b"") or b""
    if names and names[0] in _FLATE:
        return _inflated_size(raw, cap=lim["max_stream_bytes"] + 1)
    if any(n in _EXPANDING or n in _FLATE for n in names):
        try:
            return len(obj.get_data())  # pypdf's own decoders, with pypdf's output limits
        except LimitReachedError as exc:
            raise _bomb("ไฟล์ PDF ขยายตัวเกินกำหนดเมื่อเปิดอ่าน จึงไม่รับไฟล์") from exc
        except Exception:  # a stream pypdf cannot decode: readers show it broken
            return len(raw)
    return len(raw)


def _inflated_size(raw: bytes, *, cap: int) -> int:
    """Bytes a zlib stream inflates to, fed 64 KiB at a time, stopping past ``cap``."""
    inflater = zlib.decompressobj()
    total = 0
    view = memoryview(raw)
    try:
        for start in range(0, len(raw), 64 * 1024):
            data: bytes = view[start:start + 64 * 1024].tobytes()
            while data:
                total += len(inflater.decompress(data, _CHUNK))
                if total > cap:
                    return total
                data = inflater.unconsumed_tail
            if inflater.eof:
                break
    except zlib.error:
        pass  # a damaged stream inflates to what came before the damage
    return total


# --- images ---------------------------------------------------------------------------------

_IMAGE_FORMATS: Final = {"PNG": "image/png", "JPEG": "image/jpeg", "TIFF": "image/tiff"}


def inspect_image(path: str, expected: str, limits: dict[str, Any] | None = None) -> dict[str, int]:
    """Check a PNG, JPEG or TIFF by its headers; returns width, height and frames."""
    import warnings

    from PIL import Image, UnidentifiedImageError

    lim = _limits(limits)
    Image.MAX_IMAGE_PIXELS = lim["max_pixels"]
    unreadable = FileRejected("ไฟล์ภาพเสียหายหรืออ่านไม่ได้", code="image_unreadable")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(path) as im:
                if _IMAGE_FORMATS.get(im.format or "") != expected:
                    raise unreadable
                frames = int(getattr(im, "n_frames", 1))
                if frames > lim["max_pages"]:
                    raise _complex(f"ไฟล์ภาพมีเกิน {lim['max_pages']:,} หน้า จึงไม่รับไฟล์",
                                   frames=frames)
                width, height = im.size
                for index in range(frames):
                    if index:
                        im.seek(index)
                    _check_pixels(im.size[0], im.size[1], lim)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise _bomb("ภาพมีขนาดเกินกำหนด (อาจเป็นไฟล์อันตรายประเภท bomb) จึงไม่รับไฟล์",
                        max_pixels=lim["max_pixels"]) from exc
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError,
                struct.error) as exc:
            raise unreadable from exc
    return {"width": width, "height": height, "frames": frames}


# --- Office and OpenDocument ----------------------------------------------------------------

OOXML: Final = "application/vnd.openxmlformats-officedocument"
ODF: Final = "application/vnd.oasis.opendocument"
_CT_NS: Final = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_REL_NS: Final = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_OFFICE_DOCUMENT: Final = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
)
#: The main part of each kind of Office file accepted (macro-enabled kinds are not).
OOXML_MAIN: Final = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": "xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": "pptx",
}
ODF_KINDS: Final = {
    "application/vnd.oasis.opendocument.text": "odt",
    "application/vnd.oasis.opendocument.spreadsheet": "ods",
    "application/vnd.oasis.opendocument.presentation": "odp",
}
OFFICE_INVALID: Final = "ไฟล์ Office/OpenDocument ไม่ถูกต้องตามรูปแบบ หรือเสียหาย"
_MAX_XML: Final = 1024 * 1024


def inspect_zip(path: str, limits: dict[str, Any] | None = None) -> dict[str, Any]:
    """Check an Office (docx, xlsx, pptx) or OpenDocument (odt, ods, odp) file.

    Returns ``{"type": OOXML or ODF, "kind": "docx" …, "entries": n, "inflated": bytes}``.
    """
    lim = _limits(limits)
    budget = {"entries": 0, "bytes": 0}
    try:
        with zipfile.ZipFile(path) as zf:
            _check_archive(zf, lim, budget, depth=0)
            names = set(zf.namelist())
            if "[Content_Types].xml" in names:
                kind = _ooxml_kind(zf, names)
                content_type = OOXML
            elif "mimetype" in names:
                kind = _odf_kind(zf, names)
                content_type = ODF
            else:
                raise FileRejected(OFFICE_INVALID, code="office_invalid")
    except zipfile.BadZipFile as exc:
        raise FileRejected(OFFICE_INVALID, code="office_invalid") from exc
    return {"type": content_type, "kind": kind, "entries": budget["entries"],
            "inflated": budget["bytes"]}


def _unsafe(name: str) -> bool:
    if not name or "\x00" in name or "\\" in name or name.startswith("/"):
        return True
    parts = PurePosixPath(name).parts
    return ".." in parts or (":" in parts[0])


def _check_archive(zf: zipfile.ZipFile, lim: FileLimits, budget: dict[str, int],
                   *, depth: int) -> None:
    infos = zf.infolist()
    budget["entries"] += len(infos)
    if budget["entries"] > lim["max_zip_entries"]:
        raise _complex(f"ไฟล์บีบอัดมีเกิน {lim['max_zip_entries']:,} รายการ จึงไม่รับไฟล์",
                       max_zip_entries=lim["max_zip_entries"])
    seen: set[str] = set()
    declared = 0
    for info in infos:
        if _unsafe(info.filename) or info.filename in seen:
            raise FileRejected("ไฟล์บีบอัดมีชื่อรายการที่ไม่ปลอดภัย (เช่น ../ หรือชื่อซ้ำ) จึงไม่รับไฟล์",
                               code="zip_unsafe_name", details={"name": info.filename[:200]})
        seen.add(info.filename)
        if info.flag_bits & 0x1:
            raise FileRejected("ไฟล์ Office ที่ตั้งรหัสผ่านไว้ตรวจไม่ได้ จึงไม่รับไฟล์",
                               code="office_invalid")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise FileRejected(OFFICE_INVALID, code="office_invalid")
        declared += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > _CHUNK and ratio > lim["max_zip_ratio"]:
            raise _bomb("ไฟล์บีบอัดมีอัตราการขยายตัวผิดปกติ (อาจเป็น zip bomb) จึงไม่รับไฟล์",
                        name=info.filename[:200], ratio=round(ratio))
    if budget["bytes"] + declared > lim["max_inflated_bytes"]:
        raise _bomb("ไฟล์บีบอัดขยายตัวรวมเกินกำหนด (อาจเป็น zip bomb) จึงไม่รับไฟล์",
                    max_inflated_bytes=lim["max_inflated_bytes"])
    for info in infos:
        if info.is_dir():
            continue
        head = b""
        nested = bytearray()
        with zf.open(info) as member:  # stops at the declared size, checks the CRC
            while chunk := member.read(_CHUNK):
                budget["bytes"] += len(chunk)
                if budget["bytes"] > lim["max_inflated_bytes"]:
                    raise _bomb("ไฟล์บีบอัดขยายตัวรวมเกินกำหนด (อาจเป็น zip bomb) จึงไม่รับไฟล์",
                                max_inflated_bytes=lim["max_inflated_bytes"])
                if not head:
                    head = chunk[:4]
                if head == b"PK\x03\x04":
                    nested += chunk
        if nested:
            if depth + 1 > lim["max_zip_depth"]:
                raise _complex("ไฟล์บีบอัดซ้อนกันหลายชั้นเกินกำหนด จึงไม่รับไฟล์",
                               max_zip_depth=lim["max_zip_depth"])
            try:
                with zipfile.ZipFile(io.BytesIO(bytes(nested))) as inner:
                    _check_archive(inner, lim, budget, depth=depth + 1)
            except zipfile.BadZipFile:
                continue  # an embedded object that only looks like a zip


def _safe_xml(zf: zipfile.ZipFile, name: str) -> Any:
    """Parse a small XML member with no DTD, no entities resolved and no network."""
    from lxml import etree  # type: ignore[import-untyped]

    info = zf.getinfo(name)
    if info.file_size > _MAX_XML:
        raise FileRejected(OFFICE_INVALID, code="office_invalid", details={"part": name})
    data = zf.read(info)
    if b"<!DOCTYPE" in data.upper() or b"<!ENTITY" in data.upper():
        raise FileRejected(OFFICE_INVALID, code="office_invalid", details={"part": name})
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             dtd_validation=False, huge_tree=False)
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise FileRejected(OFFICE_INVALID, code="office_invalid",
                           details={"part": name}) from exc


def _elements(root: Any, tag: str) -> Iterator[Any]:
    yield from root.iter(tag)


def _ooxml_kind(zf: zipfile.ZipFile, names: set[str]) -> str:
    root = _safe_xml(zf, "[Content_Types].xml")
    if root.tag != f"{_CT_NS}Types":
        raise FileRejected(OFFICE_INVALID, code="office_invalid")
    mains = [
        (el.get("PartName", "").lstrip("/"), OOXML_MAIN[el.get("ContentType", "")])
        for el in _elements(root, f"{_CT_NS}Override")
        if el.get("ContentType", "") in OOXML_MAIN
    ]
    if len(mains) != 1:
        raise FileRejected("ไฟล์ Office ไม่มีส่วนเนื้อหาหลักของเอกสาร Word, Excel หรือ PowerPoint",
                           code="office_invalid")
    part, kind = mains[0]
    if part not in names:
        raise FileRejected("ไฟล์ Office ไม่มีส่วนเนื้อหาหลักที่ประกาศไว้", code="office_invalid",
                           details={"part": part})
    if "_rels/.rels" not in names:
        raise FileRejected(OFFICE_INVALID, code="office_invalid", details={"part": "_rels/.rels"})
    rels = _safe_xml(zf, "_rels/.rels")
    targets = {
        el.get("Target", "").lstrip("/")
        for el in _elements(rels, f"{_REL_NS}Relationship")
        if el.get("Type") == _OFFICE_DOCUMENT
    }
    if part not in targets:
        raise FileRejected("ไฟล์ Office ไม่ได้อ้างถึงส่วนเนื้อหาหลักที่ประกาศไว้",
                           code="office_invalid", details={"part": part})
    return kind


def _odf_kind(zf: zipfile.ZipFile, names: set[str]) -> str:
    info = zf.getinfo("mimetype")
    if info.file_size > 200:
        raise FileRejected(OFFICE_INVALID, code="office_invalid")
    mimetype = zf.read(info).decode("ascii", "replace").strip()
    kind = ODF_KINDS.get(mimetype)
    if kind is None:
        raise FileRejected("รับเฉพาะไฟล์ OpenDocument ชนิดข้อความ ตารางคำนวณ หรืองานนำเสนอ",
                           code="office_invalid", details={"mimetype": mimetype[:100]})
    for required in ("content.xml", "META-INF/manifest.xml"):
        if required not in names:
            raise FileRejected(OFFICE_INVALID, code="office_invalid", details={"part": required})
    _safe_xml(zf, "META-INF/manifest.xml")
    return kind
