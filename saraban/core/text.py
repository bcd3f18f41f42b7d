"""Text a database can hold, and JSON that is safe to parse: shared by every input path.

PostgreSQL refuses NUL characters in text and JSON (``\\u0000``), and no database driver can
encode a lone surrogate (``\\ud800``) to UTF-8: such input must be refused at the door with
a clear code, not reach a query and fail there. JSON nested thousands deep exhausts the
parser's recursion, so its depth is measured before it is parsed.

>>> storable("สวัสดี"), storable("a\\x00b"), storable("\\ud800")
(True, False, False)
>>> too_deep(b'[[["x]]]"]]]', 2), too_deep(b'[[["x]]]"]]]', 3)
(True, False)
"""

from __future__ import annotations

import re
from collections.abc import Iterator

__all__ = ["first_unstorable", "storable", "too_deep"]

_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def storable(text: str) -> bool:
    """Whether a database can hold ``text``: no NUL character, no lone surrogate."""
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _strings(data: object) -> Iterator[str]:
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)


def first_unstorable(data: object) -> str | None:
    """The first string (key or value) in decoded JSON that ``storable`` refuses, or None."""
    return next((s for s in _strings(data) if not storable(s)), None)


def too_deep(body: bytes, limit: int) -> bool:
    """Whether the JSON in ``body`` nests arrays and objects more than ``limit`` deep.

    Strings are cut out, everything but brackets dropped, then innermost pairs peeled off
    ``limit`` times: all in C, so a body of a million brackets costs milliseconds.
    Unbalanced brackets answer ``False``: the parser refuses those itself.
    """
    brackets = _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    for _ in range(limit):
        if not brackets:
            return False
        peeled = brackets.replace(b"[]", b"").replace(b"{}", b"")
        if len(peeled) == len(brackets):
            return False
        brackets = peeled
    return bool(brackets)
