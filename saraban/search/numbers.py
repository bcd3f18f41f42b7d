"""Letter numbers in the index and in queries, however they are typed.

"มท 0210.3/ว 1795", "มท0210.3/ว1795", "0210.3/1795", "๐๒๑๐.๓/๑๗๙๕" all name the same letter. A
number is indexed under several terms — with and without its letter code, with and without
the circular's ว — and a number in a query becomes the one term that says as much as the
query does.
"""

from __future__ import annotations

import re
from typing import Final

from .text import normalise

__all__ = ["number_terms", "split_query"]

_NUMBER: Final = re.compile(
    r"(?:(?P<code>[ก-ฮ]{1,4})\.?\s*)?"
    r"(?P<office>\d[\d.]*\d|\d)\s*/\s*"
    r"(?:(?P<circular>ว)\.?\s*)?"
    r"(?P<n>\d+)"
)


def number_terms(number: str) -> set[str]:
    """The terms a letter's number is indexed under."""
    terms: set[str] = set()
    for m in _NUMBER.finditer(normalise(number)):
        code, office, n = m["code"] or "", m["office"], m["n"]
        terms.add(f"#{office}/{n}")
        if code:
            terms.add(f"#{code}{office}/{n}")
            if m["circular"]:
                terms.add(f"#{code}{office}/ว{n}")
    return terms


def split_query(query: str) -> tuple[list[str], str]:
    """The number terms in ``query`` and the rest of it (the words)."""
    text = normalise(query)
    terms = []
    for m in _NUMBER.finditer(text):
        code, office, n = m["code"] or "", m["office"], m["n"]
        if code:
            terms.append(f"#{code}{office}/{'ว' if m['circular'] else ''}{n}")
        else:
            terms.append(f"#{office}/{n}")
    return terms, _NUMBER.sub(" ", text).strip()
