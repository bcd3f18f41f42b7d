"""A structural pre-scan of the raw bytes: the limits that protect the parser itself.

:mod:`email`'s feed parser nests one generator per MIME level and tests every line against
every open boundary, so its cost is lines × depth, and a deep enough mail exhausts the
stack. Before the parser runs, this scan follows the same structure cheaply (a regex jumps
from one ``--`` line to the next; only header blocks are read line by line) and refuses a
mail that is too deep, has too many parts or too many header fields.
"""

from __future__ import annotations

import re

from ._errors import MailRefused
from ._headers import parse_params
from ._model import MailLimits

_LINE = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n|\Z)")
_DELIM = re.compile(rb"(?:\A|(?<=[\r\n]))--([^\r\n]*)")
_HEADER = re.compile(rb"[\x21-\x39\x3b-\x7e]*:|From ")
#: Physical lines one header block may have (folded lines included).
LINES_PER_HEADER = 20


class _Scan:
    def __init__(self, raw: bytes, limits: MailLimits) -> None:
        self.raw = raw
        self.limits = limits
        self.stack: list[tuple[bytes, int]] = []
        self.parts = 0
        self.top_headers = 0

    def refuse_depth(self) -> MailRefused:
        return MailRefused(
            "mail_too_deep", f"ส่วนของจดหมายซ้อนกันเกิน {self.limits.max_depth} ชั้น"
        )

    def headers(self, pos: int) -> tuple[int, bytes, int]:
        """Read a header block; return the position after it, the Content-Type value and
        how many fields it had."""
        raw = self.raw
        count = physical = 0
        ctype = b""
        in_ctype = False
        limit = self.limits.max_headers
        while pos < len(raw):
            m = _LINE.match(raw, pos)
            assert m is not None
            line = m.group(0)
            if not line:
                break
            body = line.rstrip(b"\r\n")
            if not body:
                pos = m.end()
                break
            physical += 1
            if physical > limit * LINES_PER_HEADER:
                raise MailRefused("mail_too_many_headers", "ส่วนหัวของจดหมายยาวเกินกำหนด")
            if body[:1] in (b" ", b"\t"):
                if in_ctype and len(ctype) < 65536:
                    ctype += b" " + body.strip()
                pos = m.end()
                continue
            if not _HEADER.match(body):
                break  # the body begins without a blank line (the parser does the same)
            count += 1
            if count > limit:
                raise MailRefused(
                    "mail_too_many_headers", f"จดหมายมีส่วนหัวเกิน {limit} รายการ"
                )
            name, _, value = body.partition(b":")
            in_ctype = name.strip().lower() == b"content-type" and not ctype
            if in_ctype:
                ctype = value.strip()
            pos = m.end()
        return pos, ctype, count

    def entity(self, pos: int, depth: int) -> int:
        """Read an entity's headers (and those of the messages it encloses)."""
        while True:
            if depth > self.limits.max_depth:
                raise self.refuse_depth()
            self.count_part()
            pos, ctype, count = self.headers(pos)
            if not self.parts - 1:
                self.top_headers = count
            main, params = parse_params(ctype) if ctype else ("", {})
            if main.startswith("multipart/") and params.get("boundary"):
                boundary = params["boundary"].encode("utf-8", "surrogateescape").rstrip()
                self.stack.append((boundary, depth))
                return pos
            if main.startswith("message/") and main not in {
                "message/delivery-status", "message/disposition-notification",
                "message/external-body",
            }:
                depth += 1
                continue
            return pos

    def count_part(self) -> None:
        self.parts += 1
        if self.parts > self.limits.max_parts:
            raise MailRefused(
                "mail_too_many_parts", f"จดหมายมีส่วนประกอบเกิน {self.limits.max_parts} ส่วน"
            )

    def run(self) -> None:
        pos = self.entity(0, 0)
        raw = self.raw
        while self.stack:
            m = _DELIM.search(raw, pos)
            if m is None:
                return
            pos = m.end()
            rest = m.group(1).rstrip(b" \t")
            index = close = None
            for i in range(len(self.stack) - 1, -1, -1):
                boundary = self.stack[i][0]
                if rest == boundary:
                    index, close = i, False
                    break
                if rest == boundary + b"--":
                    index, close = i, True
                    break
            if index is None:
                continue
            if close:
                del self.stack[index:]
                continue
            del self.stack[index + 1 :]
            line_end = _LINE.match(raw, m.start())
            assert line_end is not None
            pos = self.entity(line_end.end(), self.stack[index][1] + 1)


def prescan(raw: bytes, limits: MailLimits) -> None:
    """Refuse (``MailRefused``) a mail too large, too deep, with too many parts or header
    fields, before any parsing."""
    if len(raw) > limits.max_bytes:
        raise MailRefused(
            "mail_too_large",
            f"จดหมายมีขนาด {len(raw):,} ไบต์ เกินกำหนด {limits.max_bytes:,} ไบต์",
        )
    _Scan(raw, limits).run()
