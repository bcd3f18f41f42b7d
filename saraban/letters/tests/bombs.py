"""Hostile files, built in memory in a second or less: the tests' and ``bench/bombs.py``'s.

Nothing here is committed as a file: each builder writes its bomb from a recipe. The
deflate bombs are made without compressing gigabytes: after a full flush a deflate stream
forgets what came before, so the compressed form of one MiB of zeros can be repeated, and
only the checksum (Adler-32 or CRC-32) is computed over the whole length.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from typing import Final

GiB: Final = 1024 * 1024 * 1024
_CHUNK: Final = 1024 * 1024


def deflate_zeros(total: int, *, raw: bool = False) -> tuple[bytes, int]:
    """A deflate stream of ``total`` zero bytes (a multiple of 1 MiB) and the CRC-32 of them.

    ``raw`` gives a bare deflate stream (as in a zip); otherwise a zlib stream (as in a PDF's
    FlateDecode or a PNG's IDAT).
    """
    count = total // _CHUNK
    zeros = bytes(_CHUNK)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15 if raw else 15)
    first = packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH)
    block = packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH)
    again = packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH)
    assert block == again, "a full flush must make the blocks repeat"
    end = packer.flush()  # the last, empty block (and the zlib trailer for 3 MiB)
    body = first + block * (count - 1)
    if raw:
        return body + end, crc32_of_zeros(total)
    adler = ((total % 65521) << 16) | 1  # zeros leave the first sum at 1, the second at n
    return body + end[:-4] + struct.pack(">I", adler), 0


def crc32_of_zeros(length: int) -> int:
    """CRC-32 of ``length`` zero bytes, by doubling (zlib's crc32_combine), in microseconds."""
    result, piece, piece_len = 0, zlib.crc32(b"\0"), 1
    first = True
    while length:
        if length & 1:
            result = piece if first else _crc32_combine(result, piece, piece_len)
            first = False
        piece = _crc32_combine(piece, piece, piece_len)
        piece_len *= 2
        length >>= 1
    return result


def _gf2_times(matrix: list[int], vector: int) -> int:
    total, index = 0, 0
    while vector:
        if vector & 1:
            total ^= matrix[index]
        vector >>= 1
        index += 1
    return total


def _gf2_square(matrix: list[int]) -> list[int]:
    return [_gf2_times(matrix, matrix[n]) for n in range(32)]


def _crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    odd = [0xEDB88320] + [1 << n for n in range(31)]  # one zero bit
    even = _gf2_square(odd)  # two zero bits
    odd = _gf2_square(even)  # four zero bits
    while True:
        even = _gf2_square(odd)
        if len2 & 1:
            crc1 = _gf2_times(even, crc1)
        len2 >>= 1
        if not len2:
            break
        odd = _gf2_square(even)
        if len2 & 1:
            crc1 = _gf2_times(odd, crc1)
        len2 >>= 1
        if not len2:
            break
    return crc1 ^ crc2


def _pdf(objects: list[bytes]) -> bytes:
    """A PDF with these objects (1 is the catalogue) and a correct cross-reference table."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
              % (len(objects) + 1, xref))
    return out.getvalue()


def _stream(dictionary: bytes, data: bytes) -> bytes:
    return b"<< " + dictionary + b" /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


def _page_pdf(content: bytes, *, extra: bytes = b"", resources: bytes = b"<< >>",
              more: list[bytes] | None = None) -> bytes:
    return _pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources "
        + resources + extra + b" >>",
        content,
        *(more or []),
    ])


def plain_pdf() -> bytes:
    """A small, well-formed one-page PDF."""
    return _page_pdf(_stream(b"", b"BT /F1 12 Tf 72 720 Td (Hello) Tj ET"))


def pdf_flate_bomb(inflated: int = 2 * GiB) -> bytes:
    """A one-page PDF (about 2 MB) whose content stream inflates to ``inflated`` bytes."""
    data, _ = deflate_zeros(inflated)
    return _page_pdf(_stream(b"/Filter /FlateDecode", data))


def pdf_huge_image(width: int = 200_000, height: int = 200_000) -> bytes:
    """A PDF whose page shows an image that declares ``width`` x ``height`` pixels."""
    pixels, _ = deflate_zeros(_CHUNK)
    image = _stream(b"/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace "
                    b"/DeviceGray /BitsPerComponent 8 /Filter /FlateDecode" % (width, height),
                    pixels)
    return _page_pdf(_stream(b"", b"q 595 0 0 842 0 0 cm /Im0 Do Q"),
                     resources=b"<< /XObject << /Im0 5 0 R >> >>", more=[image])


def pdf_deeply_nested(depth: int = 100_000) -> bytes:
    """A PDF whose page carries an array nested ``depth`` levels deep."""
    nested = b"[" * depth + b"]" * depth
    return _page_pdf(_stream(b"", b"q Q"), extra=b" /Deep " + nested)


def pdf_unreadable_for_stamp() -> bytes:
    """A PDF that opens (one page), but whose page pypdf cannot lay a stamp on."""
    return _pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 1e999 (x)] /Contents 4 0 R >>",
        _stream(b"", b"q Q"),
    ])


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (struct.pack(">I", len(payload)) + kind + payload
            + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF))


def png_bomb(side: int = 60_000) -> bytes:
    """A PNG of ``side`` x ``side`` grey pixels, about 3.5 MB, that decodes to GiBs."""
    data, _ = deflate_zeros(((side + 1) * side) // _CHUNK * _CHUNK)
    return b"".join((
        b"\x89PNG\r\n\x1a\n",
        _png_chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)),
        _png_chunk(b"IDAT", data),
        _png_chunk(b"IEND", b""),
    ))


def tiff_bomb(side: int = 100_000) -> bytes:
    """A TIFF of ``side`` x ``side`` grey pixels in one Deflate strip of 16 MiB of zeros."""
    data, _ = deflate_zeros(16 * _CHUNK)
    entries = [
        (256, 4, side), (257, 4, side), (258, 3, 8), (259, 3, 8), (262, 3, 1),
        (273, 4, 0), (277, 3, 1), (278, 4, side), (279, 4, len(data)),
    ]
    ifd_size = 2 + 12 * len(entries) + 4
    strip_at = 8 + ifd_size
    ifd = struct.pack("<H", len(entries))
    for tag, kind, value in entries:
        value = strip_at if tag == 273 else value
        packed = struct.pack("<HHI", tag, kind, 1)
        packed += struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value)
        ifd += packed
    ifd += struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", 8) + ifd + data


_CONTENT_TYPES: Final = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    b'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    b'<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
    b'officedocument.wordprocessingml.document.main+xml"/></Types>'
)
_RELS: Final = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'relationships/officeDocument" Target="word/document.xml"/></Relationships>'
)
_DOCUMENT: Final = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    "<w:body><w:p><w:r><w:t>หนังสือทดสอบ</w:t></w:r></w:p></w:body></w:document>"
).encode()


def docx(extra: dict[str, bytes] | None = None) -> bytes:
    """A minimal, valid Word document (plus ``extra`` members)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", _CONTENT_TYPES)
        zf.writestr("_rels/.rels", _RELS)
        zf.writestr("word/document.xml", _DOCUMENT)
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return out.getvalue()


def odt() -> bytes:
    """A minimal, valid OpenDocument text."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), b"application/vnd.oasis.opendocument.text")
        zf.writestr("content.xml", '<?xml version="1.0" encoding="UTF-8"?>'
                    '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:'
                    'xmlns:office:1.0"><office:body/></office:document-content>')
        zf.writestr("META-INF/manifest.xml", '<?xml version="1.0" encoding="UTF-8"?>'
                    '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:'
                    'manifest:1.0"><manifest:file-entry manifest:full-path="/" manifest:'
                    'media-type="application/vnd.oasis.opendocument.text"/></manifest:manifest>')
    return out.getvalue()


def docx_zip_bomb(inflated: int = 2 * GiB) -> bytes:
    """A .docx (valid parts, ``[Content_Types].xml`` first) with a member of ``inflated``
    zeros, about 2 MB on disk."""
    members = [("[Content_Types].xml", _CONTENT_TYPES), ("_rels/.rels", _RELS),
               ("word/document.xml", _DOCUMENT)]
    out = io.BytesIO()
    central = io.BytesIO()
    count = 0

    def add(name: bytes, packed: bytes, crc: int, size: int) -> None:
        nonlocal count
        offset = out.tell()
        common = struct.pack("<HHHHHIIIHH", 20, 0, 8, 0, 0, crc, len(packed), size,
                             len(name), 0)
        out.write(b"PK\x03\x04" + common + name + packed)
        central.write(b"PK\x01\x02" + struct.pack("<H", 20) + common
                      + struct.pack("<HHHII", 0, 0, 0, 0, offset) + name)
        count += 1

    for name, data in members:
        packer = zlib.compressobj(9, zlib.DEFLATED, -15)
        add(name.encode(), packer.compress(data) + packer.flush(), zlib.crc32(data), len(data))
    packed, crc = deflate_zeros(inflated, raw=True)
    add(b"word/media/image1.bin", packed, crc, inflated)
    where = out.tell()
    directory = central.getvalue()
    out.write(directory)
    out.write(b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, count, count, len(directory),
                                          where, 0))
    return out.getvalue()


def _zip_of(name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(name, data)
    return out.getvalue()


def docx_with_nested_zips(depth: int = 3) -> bytes:
    """A .docx embedding a zip, in a zip, … ``depth`` levels deep."""
    inner = b"the end"
    for level in range(depth):
        inner = _zip_of(f"level{level}.bin", inner)
    return docx({"word/embeddings/package.zip": inner})


def docx_with_traversal() -> bytes:
    """A valid-looking .docx that also carries a member named ``../../evil.sh``."""
    return docx({"../../evil.sh": b"#!/bin/sh\necho owned\n"})


def docx_with_entities() -> bytes:
    """A .docx whose ``[Content_Types].xml`` declares entities (billion laughs)."""
    laughs = (b'<?xml version="1.0"?>\n<!DOCTYPE Types [<!ENTITY a "aaaaaaaaaa">'
              b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>\n'
              + _CONTENT_TYPES.split(b"\n", 1)[1].replace(b"</Types>", b"&b;</Types>"))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", laughs)
        zf.writestr("_rels/.rels", _RELS)
        zf.writestr("word/document.xml", _DOCUMENT)
    return out.getvalue()


def zip_with_content_types_only() -> bytes:
    """A zip that has ``[Content_Types].xml`` and nothing an Office file needs."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", b"<Types/>")
        zf.writestr("payload.exe", b"MZ" + bytes(100))
    return out.getvalue()
