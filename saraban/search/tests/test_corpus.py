"""A generated corpus of Thai letters, and the letters each query must find, known by
construction: numbers typed four ways, parts of compound words, Thai and Arabic digits,
and bodies damaged the way OCR damages them. The suite runs this on SQLite and on
PostgreSQL; both must return exactly the expected letters, so their results are identical.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import pytest

from saraban.agencies.actors import resolve_actor
from saraban.letters.models import Letter
from saraban.letters.services import LetterDetails, letter_register_incoming
from saraban.search.index import index_dirty
from saraban.search.query import Filters, search

#: Compound words and the parts of them a query may use; no part appears anywhere else.
COMPOUNDS = {
    "ผู้ว่าราชการจังหวัด": ("ราชการ", "จังหวัด"),
    "เทคโนโลยีสารสนเทศ": ("เทคโนโลยี", "สารสนเทศ"),
    "โรงพยาบาลส่งเสริมสุขภาพตำบล": ("พยาบาล", "สุขภาพ"),
    "คณะกรรมการตรวจรับพัสดุ": ("กรรมการ", "พัสดุ"),
    "สถานีตำรวจภูธร": ("ตำรวจ", "ภูธร"),
}
ACTIONS = ("ขอเชิญประชุม", "ขอความร่วมมือ", "แจ้งแนวทาง", "ขอส่งรายงาน")
PROVINCES = ("ลำปาง", "น่าน", "แพร่", "พะเยา", "อุตรดิตถ์")
MONTHS = ("มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน")
THAI = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")
ZW = "\u200b"


def ocr_damage(text: str, rng: random.Random) -> str:
    """What tesseract does to Thai: tone marks and ไม้ไต่คู้ lost, ำ written as ํ + า, and
    zero-width spaces between words."""
    text = "".join(ch for ch in text if not 0x0E47 <= ord(ch) <= 0x0E4B)
    text = text.replace("ำ", "\u0e4d\u0e32")
    return text.replace(" ", f" {ZW}") if rng.random() < 0.5 else text


@dataclass
class Spec:
    number: str
    number_digits: str  # "thai" or "arabic": how the number is stored
    compound: str
    province: str
    day: int
    month: str
    date_digits: str
    damaged: bool
    letter: Letter | None = field(default=None)

    @property
    def numbers(self) -> tuple[str, str, str]:
        code, rest = self.number.split(" ", 1)
        office, n = rest.split("/")
        return code, office, n.removeprefix("ว ")


def generate(org, count: int = 36, seed: int = 2569) -> list[Spec]:
    rng = random.Random(seed)
    specs = []
    clerk = resolve_actor(org.clerk)
    for i in range(count):
        code = rng.choice(("มท", "ชม", "ลป"))
        circular = rng.random() < 0.4
        number = f"{code} 0{rng.randint(100, 999)}.{rng.randint(1, 9)}/" \
                 f"{'ว ' if circular else ''}{1000 + i}"
        spec = Spec(
            number=number, number_digits=rng.choice(("thai", "arabic")),
            compound=rng.choice(list(COMPOUNDS)), province=rng.choice(PROVINCES),
            day=rng.randint(1, 28), month=rng.choice(MONTHS),
            date_digits=rng.choice(("thai", "arabic")), damaged=rng.random() < 0.4,
        )
        stored_number = number.translate(THAI) if spec.number_digits == "thai" else number
        date = f"{spec.day} {spec.month}"
        if spec.date_digits == "thai":
            date = date.translate(THAI)
        body = (f"ด้วย{spec.compound}ใน{spec.province}ขอให้ดำเนินการ"
                f" ภายในวันที่ {date} ตามแนวทางที่กำหนด")
        if spec.damaged:
            body = ocr_damage(body, rng)
        spec.letter = letter_register_incoming(
            actor=clerk, registry=org.central,
            details=LetterDetails(kind="external", number=stored_number,
                                  subject=rng.choice(ACTIONS), body=body,
                                  sender_text="สำนักงานสถิติ"),
        ).letter
        specs.append(spec)
    index_dirty()
    return specs


@pytest.fixture
def specs(org):
    return generate(org)


def _found(org, text: str) -> set[int]:
    results = search(org.clerk, text, Filters(), page_size=100)
    assert not results.more
    return {hit.letter.pk for hit in results.hits}


def _pks(specs, predicate) -> set[int]:
    return {s.letter.pk for s in specs if predicate(s) and s.letter is not None}


def test_numbers_typed_four_ways(org, specs) -> None:
    for spec in specs[:12]:
        code, office, n = spec.numbers
        circular = "/ว " in spec.number
        expected = {spec.letter.pk}
        typed = [spec.number, spec.number.replace(" ", ""), f"{office}/{n}",
                 spec.number.translate(THAI)]
        for query in typed:
            assert _found(org, query) == expected, (spec.number, query)
        if circular:
            assert _found(org, f"{code} {office}/{n}") == expected  # the ว left out


def test_parts_of_compound_words(org, specs) -> None:
    for compound, parts in COMPOUNDS.items():
        expected = _pks(specs, lambda s, c=compound: s.compound == c)
        assert _found(org, compound) == expected, compound
        for part in parts:
            assert _found(org, part) == expected, part


def test_thai_and_arabic_digits(org, specs) -> None:
    receipt = {s.letter.pk: s.letter.entries.get().number for s in specs if s.letter}
    for spec in specs[:10]:
        # The day, or the receipt number (also searchable) equal to it, with the month.
        expected = _pks(specs, lambda s, d=spec.day, m=spec.month: s.month == m and (
            s.day == d or receipt[s.letter.pk] == d))
        for query in (f"{spec.day} {spec.month}", f"{spec.day} {spec.month}".translate(THAI)):
            assert _found(org, query) == expected, query


def test_ocr_damaged_bodies_are_found_by_clean_words(org, specs) -> None:
    assert any(s.damaged for s in specs)
    for province in PROVINCES:
        expected = _pks(specs, lambda s, p=province: s.province == p)
        assert _found(org, province) == expected, province
        assert _found(org, f"ดำเนินการ {province}") == expected, province
