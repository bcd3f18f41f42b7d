"""Thai text for the search index: normalising, word segmentation, sub-words, index terms.

The same functions make the terms of a letter and of a query, so a query finds what the
index holds on every backend. The steps:

1. ``normalise``: NFC, the decomposed sara am (U+0E4D U+0E32, as OCR and some PDFs write
   it) as one ำ, two sara e as sara ae, zero-width characters removed, Thai digits as Arabic,
   Latin case folded, whitespace collapsed.
2. ``words``: dictionary word segmentation (newmm, as implemented by nlpo3 over PyThaiNLP's
   dictionary).
3. ``subwords``: newmm keeps compounds such as "ผู้ว่าราชการจังหวัด" as one word; a second,
   finer pass adds every dictionary word of two or more characters found inside a word at
   Thai character cluster boundaries ("ราชการ", "จังหวัด", …), so a part of a compound is found.
4. ``skeleton``: OCR drops tone marks and other upper marks; the text is segmented a second
   time with those marks removed, against a dictionary with them removed, and those words are
   indexed apart (prefixed "~"), so "ผูวาราชการ" read from a scan still matches a query for
   "ผู้ว่าราชการ". Skeleton words are indexed for intact text too (most are the same as the
   plain words): a query's skeleton alternative is then about as common as the word itself,
   which keeps the index from driving a search by a rare alternative, visiting scattered
   letters one by one.

Terms are stored as short ASCII codes (``code``): every backend's own tokenizer then sees
one opaque word per term, whatever its script (SQLite's FTS5 would split Thai at vowel
marks, PostgreSQL's parser depends on the locale).
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import re
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Final

__all__ = [
    "code",
    "day_terms",
    "index_terms",
    "normalise",
    "period_terms",
    "query_alternatives",
    "skeleton",
    "subwords",
    "text_terms",
    "words",
]

_ZERO_WIDTH: Final = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
_THAI_DIGITS: Final = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
#: ไม้ไต่คู้, the four tone marks and ทัณฑฆาต: what OCR most often loses.
_UPPER_MARKS: Final = dict.fromkeys(range(0x0E47, 0x0E4D))
_SPACES: Final = re.compile(r"\s+")
MIN_SUBWORD: Final = 2  # characters


def normalise(text: str) -> str:
    """Text as the index and the queries see it (see the module docstring)."""
    text = unicodedata.normalize("NFC", text).translate(_ZERO_WIDTH)
    text = text.replace("\u0e4d\u0e32", "\u0e33").replace("\u0e40\u0e40", "\u0e41")
    text = text.translate(_THAI_DIGITS).casefold()
    return _SPACES.sub(" ", text).strip()


def skeleton(text: str) -> str:
    """``text`` without tone marks, ไม้ไต่คู้ and ทัณฑฆาต."""
    return text.translate(_UPPER_MARKS)


# --- dictionaries ---------------------------------------------------------------------------


@functools.cache
def _dictionary() -> frozenset[str]:
    from pythainlp.corpus import thai_words

    return frozenset(normalise(w) for w in thai_words())


@functools.cache
def _skeleton_dictionary() -> frozenset[str]:
    return frozenset(skeleton(w) for w in _dictionary())


@functools.cache
def _loaded(name: str) -> str:
    """Load a word list into nlpo3 once per process; returns the name to segment with."""
    import nlpo3

    words = _dictionary() if name == "th" else _skeleton_dictionary()
    content = "\n".join(sorted(words)).encode()
    digest = hashlib.sha256(content).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"saraban-words-{name}-{digest}.txt"
    if not path.exists():
        partial = path.with_suffix(f".{digest}.part")
        partial.write_bytes(content)
        partial.replace(path)
    message, ok = nlpo3.load_dict(str(path), f"saraban-{name}")
    if not ok:
        raise RuntimeError(f"could not load the word list for search: {message}")
    return f"saraban-{name}"


def _segment(text: str, dictionary: str) -> Iterator[str]:
    import nlpo3

    for token in nlpo3.segment(text, _loaded(dictionary)):
        word = _trim(token)
        if word:
            yield word


def _trim(token: str) -> str:
    """``token`` without punctuation, symbols and spaces at either end (marks stay)."""
    start, end = 0, len(token)
    while start < end and unicodedata.category(token[start])[0] in "PSZC":
        start += 1
    while end > start and unicodedata.category(token[end - 1])[0] in "PSZC":
        end -= 1
    return token[start:end]


def words(text: str) -> list[str]:
    """The words of ``text`` (normalised first), in order."""
    return list(_segment(normalise(text), "th"))


def _clusters(word: str) -> list[str]:
    from pythainlp.tokenize import tcc

    return list(tcc.segment(word))


def subwords(word: str) -> frozenset[str]:
    """Dictionary words of at least ``MIN_SUBWORD`` characters inside ``word``, at character
    cluster boundaries, other than ``word`` itself."""
    return _subwords(word, skeletal=False)


@functools.lru_cache(maxsize=400_000)
def _subwords(word: str, *, skeletal: bool) -> frozenset[str]:
    if len(word) <= MIN_SUBWORD or not _is_thai(word):
        return frozenset()
    clusters = _clusters(word)
    bounds = [0]
    for cluster in clusters:
        bounds.append(bounds[-1] + len(cluster))
    found = set()
    dictionary = _skeleton_dictionary() if skeletal else _dictionary()
    for i, start in enumerate(bounds[:-1]):
        for end in bounds[i + 1:]:
            if end - start >= MIN_SUBWORD and (start, end) != (0, len(word)):
                piece = word[start:end]
                if piece in dictionary:
                    found.add(piece)
    return frozenset(found)


@functools.lru_cache(maxsize=200_000)
def parts(word: str) -> tuple[str, ...]:
    """``word`` split into dictionary words other than itself, if it can be ("" otherwise):
    the longest piece first, left to right. A query for a compound also finds the same
    words written apart."""
    pieces = subwords(word)
    if not pieces:
        return ()
    result: list[str] = []
    rest = word
    while rest:
        match = max((p for p in pieces if rest.startswith(p)), key=len, default=None)
        if match is None:
            return ()
        result.append(match)
        rest = rest[len(match):]
    return tuple(result) if len(result) > 1 else ()


def _is_thai(word: str) -> bool:
    return any("\u0e00" <= ch <= "\u0e7f" for ch in word)


# --- terms ----------------------------------------------------------------------------------


def code(term: str) -> str:
    """A term as a short ASCII word: 'x' and 10 base-32 characters (50 bits) of its BLAKE2b
    digest. Two terms sharing a code is unlikely at millions of distinct terms, and would
    only let one of them find the other's letters."""
    digest = hashlib.blake2b(term.encode(), digest_size=8).digest()
    return "x" + base64.b32encode(digest).decode()[:10].lower()


def text_terms(text: str) -> frozenset[str]:
    """The terms of one text: its words, their sub-words and its skeleton words ("~")."""
    terms: set[str] = set()
    clean = normalise(text)
    if not clean:
        return frozenset()
    for word in _segment(clean, "th"):
        terms.add(word)
        terms.update(subwords(word))
    for word in _segment(skeleton(clean), "skeleton"):
        terms.add("~" + word)
        terms.update("~" + piece for piece in _subwords(word, skeletal=True))
    return frozenset(terms)


def index_terms(texts: Iterable[str]) -> set[str]:
    """Every term of ``texts``: words, their sub-words and the skeleton words."""
    terms: set[str] = set()
    for text in texts:
        terms |= text_terms(text)
    return terms


def day_terms(day: dt.date) -> tuple[str, str, str]:
    """The terms a letter of ``day`` carries for its day, its week (by its Monday) and its
    month ("@d20261104", "@w20261102", "@m202611"), so a search can ask the index for the
    newest weeks first (``period_terms``); no query word can be one (words are trimmed of
    punctuation)."""
    monday = day - dt.timedelta(days=day.weekday())
    return f"@d{day:%Y%m%d}", f"@w{monday:%Y%m%d}", f"@m{day:%Y%m}"


def _month_end(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


def period_terms(first: dt.date, last: dt.date) -> list[str]:
    """Few terms that together select the letters of ``first`` to ``last`` (inclusive): a
    month term for each whole month, a week term for each whole week outside those, day
    terms for the rest. (The fewer the terms, the less work for the index per letter.)"""
    terms: list[str] = []
    day = first
    one = dt.timedelta(days=1)
    while day <= last:
        month_end = _month_end(day)
        if day.day == 1 and month_end <= last:
            terms.append(day_terms(day)[2])
            day = month_end + one
            continue
        sunday = day + dt.timedelta(days=6)
        # A week, unless it reaches into a month that could be taken whole.
        whole_next = sunday > month_end and _month_end(month_end + one) <= last
        if day.weekday() == 0 and sunday <= last and not whole_next:
            terms.append(day_terms(day)[1])
            day = sunday + one
        else:
            terms.append(day_terms(day)[0])
            day += one
    return terms


def query_alternatives(word: str) -> list[list[str]]:
    """What a query word may match, as alternatives each of which is a list of terms that
    must all be present: the word, its skeleton, and its parts written apart."""
    options: list[list[str]] = [[word], ["~" + skeleton(word)]]
    split = parts(word)
    if split:
        options.append(list(split))
    return options
