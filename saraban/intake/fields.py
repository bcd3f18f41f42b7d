"""Proposing registration fields from the OCR text of a Thai official letter.

The official forms put the parts of a letter in a fixed order: the urgency stamp at the top,
then ``ที่`` (the number) with the agency's name beside it, the date, ``เรื่อง`` (subject),
``เรียน`` (salutation) or ``ถึง`` (the addressee of a หนังสือประทับตรา), and on a
บันทึกข้อความ ``ส่วนราชการ`` (the sending unit). ``propose_fields`` reads them from the text
Tesseract wrote, which drops tone marks, confuses the upper vowels and sometimes the label
itself, so labels are matched on their consonants (``text.loose``) and the number by its
shape. Everything proposed is for the clerk to check; nothing is guessed when the text does
not say it.

>>> fields = propose_fields("ด่วนมาก\\nที ตย 0017.1/ว 1795   จังหวัดตัวอย่าง\\n"
...                         "23 พฤศจิกายน 2569\\nเรือง การใช้ระบบสารบรรณ\\nเรียน ผู้ว่าราชการ")
>>> fields.number, fields.letter_date, fields.subject, fields.urgency
('ตย 0017.1/ว 1795', datetime.date(2026, 11, 23), 'การใช้ระบบสารบรรณ', 2)
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from difflib import SequenceMatcher
from typing import Any, Final

from saraban.core.thai import BE_OFFSET, MONTHS, MONTHS_SHORT, arabic_digits, today_bangkok

from .text import is_thai, loose

__all__ = ["AgencyMatcher", "KnownAgency", "ProposedFields", "propose_fields"]

# Marks that may follow a base character (vowels above and below, tone marks, …).
_MARKS: Final = "[\u0e31\u0e34-\u0e3a\u0e47-\u0e4e]*"
_D: Final = "[0-9\u0e50-\u0e59]"
# A digit as Tesseract may misread a Thai one (๗ comes out as ฒ).
_DX: Final = "[0-9\u0e50-\u0e59\u0e12]"

_NUMBER: Final = re.compile(
    rf"(?:(?<![ก-ฮ])(?P<code>[ก-ฮ](?:\.?[ก-ฮ]){{1,3}}\.?)\s?)?"
    rf"(?P<office>{_D}{_DX}{{0,6}}(?:\s?\.\s?{_DX}{{1,4}}){{0,3}})\s?/\s?"
    # ว (a circular's series) is sometimes read as a lone 2 before the serial.
    rf"(?P<series>ว\.?\s?|[2๒]\s(?={_D}{{2}}))?(?P<serial>{_D}{_DX}{{0,6}})"
)
_DATE: Final = re.compile(
    rf"(?<![0-9\u0e50-\u0e59])(?P<day>{_D}{{1,2}})\s*"
    r"(?P<month>[\u0e01-\u0e4e][\u0e01-\u0e4e.\s]{1,16}?)\s*"
    rf"(?:พ\s?\.\s?ศ\s?\.\s?)?(?P<year>{_D}{{4}})(?![0-9\u0e50-\u0e59])"
)
_URGENCY: Final = (("ด่วนที่สุด", 3), ("ด่วนมาก", 2), ("ด่วน", 1))
_MONTHS_LOOSE: Final = [(loose(name), i + 1) for i, name in enumerate(MONTHS)]
_MONTHS_SHORT_LOOSE: Final = {loose(name).replace(".", ""): i + 1
                              for i, name in enumerate(MONTHS_SHORT)}


def _label(word: str, *, apart: bool = False) -> re.Pattern[str]:
    """A pattern for a label at the start of a line, tolerant of lost or confused marks.

    Only the base characters must be there (in order, a stray space allowed between them);
    any vowel or tone marks may follow each. Up to three characters of noise may come first.
    ``apart``: a short label must not run on into a word (``ถึง`` is not ``ถึงแม้``).
    """
    bases = [c for c in word if not re.match(_MARKS.rstrip("*"), c)]
    body = r"\s?".join(re.escape(c) + _MARKS for c in bases)
    end = r"(?![\u0e01-\u0e2e])" if apart else ""
    return re.compile(rf"^[^\u0e01-\u0e5bA-Za-z0-9]{{0,3}}{body}{end}\s*[:：]?\s*")


_SUBJECT: Final = _label("เรื่อง")
_SALUTATION: Final = _label("เรียน")
_ADDRESSEE: Final = _label("ถึง", apart=True)
_REFERENCE: Final = _label("อ้างถึง")
_ENCLOSURE: Final = _label("สิ่งที่ส่งมาด้วย")
_UNIT: Final = _label("ส่วนราชการ")
_PHONE: Final = re.compile(r"\s*โทร\S*\s*[.:]?.*$")
_STOP_LABELS: Final = (_SALUTATION, _ADDRESSEE, _REFERENCE, _ENCLOSURE)


@dataclass(frozen=True, slots=True)
class KnownAgency:
    """An agency the sender may be: its id, Thai name and its number prefix (``มท 0212``)."""

    pk: int
    name: str
    code: str = ""


class AgencyMatcher:
    """Finds the agency a printed name (or a letter number's prefix) belongs to."""

    def __init__(self, agencies: Iterable[KnownAgency]) -> None:
        known = list(agencies)
        self._names: list[tuple[str, KnownAgency]] = sorted(
            ((loose(a.name), a) for a in known if len(loose(a.name)) >= 4),
            key=lambda item: -len(item[0]),
        )
        self._codes: list[tuple[str, KnownAgency]] = sorted(
            ((_code_key(a.code), a) for a in known if a.code),
            key=lambda item: -len(item[0]),
        )

    @classmethod
    def from_db(cls) -> AgencyMatcher:
        """Every active agency of this node's directory, with its registry's number prefix."""
        from saraban.agencies.models import Agency
        from saraban.letters.models import Registry

        prefixes = dict(Registry.objects.values_list("unit_id", "number_prefix"))
        rows = Agency.objects.filter(is_active=True).values_list("pk", "name_th")
        return cls(KnownAgency(pk=pk, name=name, code=prefixes.get(pk, "")) for pk, name in rows)

    def by_name(self, text: str, *, whole: bool = False) -> KnownAgency | None:
        """The agency named in ``text`` (the longest name found, else a close spelling).

        ``whole`` asks for a line that is mostly the name (not a sentence mentioning it).
        """
        line = loose(text)
        if len(line) < 4:
            return None
        for name, agency in self._names:
            if name in line and (not whole or len(name) >= 0.6 * len(line)):
                return agency
        best: tuple[float, KnownAgency | None] = (0.0, None)
        for name, agency in self._names:
            if abs(len(name) - len(line)) > max(3, len(name) // 4):
                continue
            ratio = SequenceMatcher(None, name, line, autojunk=False).ratio()
            if ratio > best[0]:
                best = (ratio, agency)
        return best[1] if best[0] >= 0.85 else None

    def by_number(self, number: str) -> KnownAgency | None:
        """The agency whose number prefix starts the letter number (``มท 0212/…``)."""
        key = _code_key(number.split("/")[0])
        if not key:
            return None
        for code, agency in self._codes:
            if key == code or key.startswith(code + "."):
                return agency
        return None


def _code_key(text: str) -> str:
    return re.sub(r"\s+", "", arabic_digits(text)).rstrip(".")


@dataclass(slots=True)
class ProposedFields:
    """What the text of a scan says about the letter; empty where it says nothing."""

    number: str = ""
    letter_date: dt.date | None = None
    subject: str = ""
    salutation: str = ""
    recipient_text: str = ""
    sender_text: str = ""
    sender_agency_id: int | None = None
    urgency: int = 0
    kind: str = ""  # external, internal (บันทึกข้อความ) or stamped

    def as_json(self) -> dict[str, Any]:
        """The non-empty fields, JSON-ready (the date as ISO ``yyyy-mm-dd``)."""
        data = asdict(self)
        if self.letter_date is not None:
            data["letter_date"] = self.letter_date.isoformat()
        return {k: v for k, v in data.items() if v not in ("", None, 0)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ProposedFields:
        values = dict(data)
        if values.get("letter_date"):
            values["letter_date"] = dt.date.fromisoformat(str(values["letter_date"]))
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in values.items() if k in known})


@dataclass(frozen=True, slots=True)
class _Line:
    index: int
    text: str


def _lines(text: str) -> list[_Line]:
    return [_Line(i, line.strip()) for i, line in enumerate(text.split("\n"))]


def _after(pattern: re.Pattern[str], line: str) -> str | None:
    match = pattern.match(line)
    return line[match.end():].strip() if match else None


def _join(parts: Sequence[str]) -> str:
    """Wrapped lines back into one: Thai words continue without a space."""
    out = ""
    for part in parts:
        part = part.strip()
        if not part:
            continue
        if out and not (is_thai(out[-1]) and is_thai(part[0])):
            out += " "
        out += part
    return out


# Words after which a lone digit belongs to the text (ครั้งที่ 2, ฉบับที่ 4, ข้อ 5).
_COUNTED: Final = ("ที่", "ที", "ข้อ", "ฉบับ", "ครั้ง", "ชุด", "รุ่น")


def _clean_value(text: str) -> str:
    """A value without the specks Tesseract reads as a lone character at its end."""
    tokens = re.sub(r"\s+", " ", text).strip(" .,:;|_-—'\"").split(" ")
    while len(tokens) > 1 and len(tokens[-1]) == 1 and not (
        tokens[-1].isdigit() and tokens[-2].endswith(_COUNTED)
    ):
        tokens.pop()
    return " ".join(tokens).strip(" .,:;|_-—'\"")


def _first_column(line: str) -> str:
    """The left column of a line Tesseract read across two columns (a wide gap)."""
    return re.split(r"\s{3,}", line, maxsplit=1)[0]


def _labelled(lines: Sequence[_Line], pattern: re.Pattern[str], *, more: int = 2) -> str:
    """The text after ``pattern`` on its line, with up to ``more`` wrapped lines."""
    for pos, line in enumerate(lines):
        value = _after(pattern, line.text)
        if value is None:
            continue
        parts = [_first_column(value)]
        for nxt in lines[pos + 1: pos + 1 + more]:
            if not nxt.text or any(p.match(nxt.text) for p in (_SUBJECT, *_STOP_LABELS)):
                break
            if _DATE.search(nxt.text) or _NUMBER.search(nxt.text):
                break
            parts.append(_first_column(nxt.text))
        return _clean_value(_join(parts))
    return ""


def _month(word: str) -> int | None:
    key = loose(word).replace(".", "")
    if key in _MONTHS_SHORT_LOOSE:
        return _MONTHS_SHORT_LOOSE[key]
    best, month = 0.0, None
    for name, number in _MONTHS_LOOSE:
        ratio = SequenceMatcher(None, name, key, autojunk=False).ratio()
        if ratio > best:
            best, month = ratio, number
    return month if best >= 0.72 else None


# What Tesseract reads a Thai digit as, and what the printed digit may have been.
_THAI_DIGIT_READS: Final = {
    "๐": "๐๖", "๒": "๒๖", "๑": "๑๗", "๕": "๕๔๘๙", "\u0e12": "๗",
}


def _year_readings(year: str) -> list[int]:
    """Every year a Thai-digit year may have been, given the digits Tesseract confuses."""
    readings = [""]
    for char in year:
        readings = [r + c for r in readings for c in _THAI_DIGIT_READS.get(char, char)]
    return [int(arabic_digits(r)) for r in readings]


def _plausible_date(day: int, month: int, year_text: str, today: dt.date) -> dt.date | None:
    """The date as read, or, when its year is implausible for a letter received ``today``
    and was printed in Thai digits, the reading of the year that puts it closest to today
    (and not in the future)."""

    def make(year: int) -> dt.date | None:
        if year >= 2400:
            year -= BE_OFFSET
        try:
            return dt.date(year, month, day) if 1900 <= year <= 2200 else None
        except ValueError:
            return None

    read = make(int(arabic_digits(year_text)))
    recent = dt.timedelta(days=5 * 366)
    if read is not None and today - recent <= read <= today + dt.timedelta(days=366):
        return read
    if not re.search("[\u0e50-\u0e59]", year_text):
        return read
    candidates = [d for y in _year_readings(year_text) if (d := make(y)) is not None
                  and today - recent <= d <= today + dt.timedelta(days=31)]
    if not candidates:
        return read
    return min(candidates, key=lambda d: abs((today - d).days))


def _date_in(line: str, today: dt.date) -> tuple[dt.date, int] | None:
    """The first Thai date in ``line`` and the length of text it covers."""
    for match in _DATE.finditer(line):
        month = _month(match["month"])
        if month is None:
            continue
        date = _plausible_date(int(arabic_digits(match["day"])), month, match["year"], today)
        if date is not None:
            return date, len(match[0])
    return None


def _header(lines: Sequence[_Line]) -> list[_Line]:
    """The lines above the subject (or the salutation, or ถึง): number, date, sender."""
    for pos, line in enumerate(lines):
        if any(p.match(line.text) for p in (_SUBJECT, _SALUTATION, _ADDRESSEE)):
            return list(lines[:pos])
    return list(lines[:15])


def _number(header: Sequence[_Line]) -> tuple[str, _Line | None, int]:
    for line in header:
        text = line.text
        if _REFERENCE.match(text):
            continue
        match = _NUMBER.search(text)
        if match is None:
            continue
        code = re.sub(r"\s+", "", match["code"] or "")
        office = re.sub(r"\s+", "", match["office"])
        series = "ว " if match["series"] else ""
        value = f"{code} {office}/{series}{match['serial']}".strip()
        return value, line, match.end()
    return "", None, 0


def _urgency(top: Sequence[_Line]) -> int:
    """The urgency stamp, printed above the number (the closest of the three words)."""
    for line in top:
        best, level = 0.0, 0
        for token in line.text.split():
            for word, value in _URGENCY:
                ratio = SequenceMatcher(None, loose(word), loose(token)).ratio()
                if ratio > best:
                    best, level = ratio, value
        if best >= 0.8:
            return level
        key = loose(line.text)
        for word, value in _URGENCY:
            if loose(word) in key:
                return value
    return 0


def _sender(header: Sequence[_Line], number_line: _Line | None, number_end: int) -> str:
    """The printed name of the sending agency, as read."""
    unit = _labelled(header, _UNIT, more=0)
    if unit:
        return _clean_value(_PHONE.sub("", unit))
    if number_line is not None:
        rest = _clean_value(number_line.text[number_end:])
        if sum(1 for c in rest if is_thai(c)) >= 4:
            return rest
    # The number was not readable: the right column of a line whose left one has digits.
    for line in header:
        left, *right = re.split(r"\s{3,}", line.text, maxsplit=1)
        if right and re.search(_D, left):
            rest = _clean_value(right[0])
            if sum(1 for c in rest if is_thai(c)) >= 4:
                return rest
    return ""


def propose_fields(
    text: str, *, agencies: AgencyMatcher | None = None, today: dt.date | None = None
) -> ProposedFields:
    """Read the registration fields from the normalised OCR text of a letter.

    ``agencies`` finds the sending agency by its printed name (or the number's prefix);
    ``today`` (Bangkok) is the day the letter was received, for reading a misread year.
    """
    today = today or today_bangkok()
    lines = _lines(text)
    header = _header(lines)
    found = ProposedFields()
    found.number, number_line, number_end = _number(header)
    # The date: in the header (memo: after วันที่), else a line that is only a date (the
    # foot of a หนังสือประทับตรา).
    for line in header:
        date = _date_in(line.text, today)
        if date:
            found.letter_date = date[0]
            break
    else:
        for line in reversed(lines):
            date = _date_in(line.text, today)
            if date and date[1] >= 0.7 * len(line.text):
                found.letter_date = date[0]
                break
    found.subject = _labelled(lines, _SUBJECT)
    if not found.subject:
        found.subject = _subject_before_salutation(lines, header)
    found.salutation = _labelled(lines, _SALUTATION, more=1)
    if not found.salutation:
        found.recipient_text = _labelled(lines[:len(header) + 1], _ADDRESSEE, more=1)
    top = header[:number_line.index] if number_line is not None else header[:4]
    found.urgency = _urgency(top)
    found.kind = _kind(lines, found)
    found.sender_text = _sender(header, number_line, number_end)
    if agencies is not None:
        agency = agencies.by_name(found.sender_text) if found.sender_text else None
        if agency is None and not found.sender_text:
            agency = next((a for line in header for column in re.split(r"\s{3,}", line.text)
                           if (a := agencies.by_name(column, whole=True))), None)
        if agency is None and found.number:
            agency = agencies.by_number(found.number)
        if agency is None and not found.sender_text:
            agency = next((a for line in lines[-14:]
                           if (a := agencies.by_name(line.text, whole=True))), None)
        if agency is not None:
            found.sender_agency_id = agency.pk
            found.sender_text = agency.name
    return found


_MEMO_TITLE: Final = loose("บันทึกข้อความ")


def _kind(lines: Sequence[_Line], found: ProposedFields) -> str:
    """The kind of letter its layout shows: a memo's title, a stamped letter's ถึง."""
    if any(_MEMO_TITLE in loose(line.text) for line in lines[:4]):
        return "internal"
    if found.recipient_text and not found.subject:
        return "stamped"
    if found.subject and (found.salutation or found.number):
        return "external"
    return ""


def _subject_before_salutation(lines: Sequence[_Line], header: Sequence[_Line]) -> str:
    """The subject when its label was misread: the line above ``เรียน``, minus the label."""
    for pos, line in enumerate(lines):
        if not _SALUTATION.match(line.text):
            continue
        above = next((x.text for x in reversed(lines[:pos]) if x.text), "")
        if not above or _DATE.search(above) or _NUMBER.search(above):
            return ""
        label, _, rest = above.partition(" ")
        looks_like_label = (
            SequenceMatcher(None, loose("เรื่อง"), loose(label)).ratio() >= 0.5
            or not any(is_thai(c) for c in label)
        )
        return _clean_value(rest) if looks_like_label and rest else ""
    return ""
