"""Proposing the registration fields from OCR text, damaged the way Tesseract damages it."""

from __future__ import annotations

import datetime as dt

import pytest

from saraban.intake.fields import AgencyMatcher, KnownAgency, ProposedFields, propose_fields
from saraban.intake.text import loose, normalise_ocr

TODAY = dt.date(2026, 11, 23)

# An external letter as Tesseract read it: tone marks lost on ที่ and เรื่อง, the sara am
# decomposed, a stray "|" before the first paragraph, the number and the agency on one line.
EXTERNAL = """ด่วนมาก

ที ตย 0017.1/ว 1795            ศาลากลางจังหวัดตัวอย่าง
ถนนราชดําเนิน อําเภอเมือง จังหวัด
ตัวอย่าง 10200

23 พฤศจิกายน 2569

เรือง การใช้ระบบสารบรรณอิเล็กทรอนิกส์
เรียน นายกองค์การบริหารส่วนจังหวัดตัวอย่าง
อ้างถึง หนังสือจังหวัดตัวอย่าง ที่ ตย 0017.1/ว 1000 ลงวันที่ 1 ตุลาคม 2569
สิงทีส่งมาด้วย 1. กําหนดการอบรม จํานวน 1 ชุด

|     ด้วยจังหวัดตัวอย่างได้จัดทําระบบสารบรรณอิเล็กทรอนิกส์
กําหนดเริ่มใช้งานตั้งแต่วันที่ 1 มกราคม 2570 เป็นต้นไป
"""

MEMO = """บันทึกข้อความ           ด่วนที่สุด

ส่วนราชการ กรมการปกครอง กองการเจ้าหน้าที่ โทร. 0 2123 4567
ที มท ๐๓๐๗.๒/๔๑๒                 วันที ๑๕ กรกฎาคม ๒๕๖๙
เรื่อง ขอเชิญประชุมคณะทำงานระบบสารบรรณ
อิเล็กทรอนิกส์ ครั้งที่ ๒

เรียน ผู้ว่าราชการจังหวัดเชียงใหม่
"""

# A หนังสือประทับตรา: no subject, ถึง instead of เรียน, the agency and date at the foot.
STAMPED = """ด่วน
ที่ ชม 0017.3/ว 310

ถึง ส่วนราชการทุกแห่งในจังหวัดเชียงใหม่

ด้วยจังหวัดเชียงใหม่ขอส่งกำหนดการอบรม รายละเอียดตามสิ่งที่ส่งมาด้วย

ศาลากลางจังหวัดเชียงใหม่
ตราชื่อส่วนราชการ
2 ตุลาคม 2569
"""

AGENCIES = AgencyMatcher([
    KnownAgency(pk=1, name="จังหวัดตัวอย่าง"),
    KnownAgency(pk=2, name="กรมการปกครอง", code="มท 0307"),
    KnownAgency(pk=3, name="ศาลากลางจังหวัดเชียงใหม่"),
    KnownAgency(pk=4, name="กระทรวงมหาดไทย", code="มท 0200"),
])


def propose(text: str) -> ProposedFields:
    return propose_fields(normalise_ocr(text), agencies=AGENCIES, today=TODAY)


def test_an_external_letter_gives_every_field():
    found = propose(EXTERNAL)
    assert found.number == "ตย 0017.1/ว 1795"
    assert found.letter_date == dt.date(2026, 11, 23)
    assert found.subject == "การใช้ระบบสารบรรณอิเล็กทรอนิกส์"
    assert found.salutation == "นายกองค์การบริหารส่วนจังหวัดตัวอย่าง"
    assert found.urgency == 2
    # "ศาลากลางจังหวัดตัวอย่าง" contains the known agency's name.
    assert found.sender_agency_id == 1
    assert found.kind == "external"


def test_a_memo_with_thai_digits_and_a_wrapped_subject():
    found = propose(MEMO)
    assert found.number == "มท ๐๓๐๗.๒/๔๑๒"
    assert found.letter_date == dt.date(2026, 7, 15)
    assert found.subject == "ขอเชิญประชุมคณะทำงานระบบสารบรรณอิเล็กทรอนิกส์ ครั้งที่ ๒"
    assert found.salutation == "ผู้ว่าราชการจังหวัดเชียงใหม่"
    assert found.urgency == 3
    assert found.sender_agency_id == 2  # "ส่วนราชการ กรมการปกครอง …" (the phone left out)
    assert found.kind == "internal"


def test_a_stamped_letter_has_its_addressee_date_and_agency_at_the_foot():
    found = propose(STAMPED)
    assert found.number == "ชม 0017.3/ว 310"
    assert found.recipient_text == "ส่วนราชการทุกแห่งในจังหวัดเชียงใหม่"
    assert found.salutation == ""
    assert found.subject == ""
    assert found.letter_date == dt.date(2026, 10, 2)
    assert found.urgency == 1
    assert found.sender_agency_id == 3


def test_the_reference_date_and_number_are_not_taken_for_the_letters_own():
    text = EXTERNAL.replace("ที ตย 0017.1/ว 1795", "").replace("23 พฤศจิกายน 2569", "")
    found = propose(text)
    assert found.number == ""
    assert found.letter_date is None


def test_a_line_read_with_a_space_after_every_character_is_joined():
    spaced = (
        "ด ่ ว น ม า ก\n\n"
        "ท ี ต ย 0 0 1 7 . 1 / ว 1 7 9 5\n"
        "๒ ๓ พ ฤ ศ จ ิ ก า ย น ๒ ๕ ๖ ๙\n"
        "เร ื ่ อ ง ก า ร ใช ้ ร ะ บ บ ส า ร บ ร ร ณ\n"
        "เร ี ย น ผู ้ ว ่ า ร า ช ก า ร จ ั ง ห ว ั ด\n"
    )
    found = propose(spaced)
    assert found.urgency == 2
    assert found.letter_date == dt.date(2026, 11, 23)
    assert found.subject == "การใช้ระบบสารบรรณ"
    assert found.salutation == "ผู้ว่าราชการจังหวัด"


def test_a_misread_label_still_gives_the_subject_above_the_salutation():
    text = EXTERNAL.replace("เรือง การใช้", "Gos การใช้")
    assert propose(text).subject == "การใช้ระบบสารบรรณอิเล็กทรอนิกส์"


def test_a_number_without_its_label_is_found_by_its_shape():
    text = EXTERNAL.replace("ที ตย 0017.1/ว 1795", "NAY ตย 0017.1/ว 1795")
    assert propose(text).number == "ตย 0017.1/ว 1795"


def test_an_order_number_without_a_letter_code():
    text = "คำสั่งจังหวัดตัวอย่าง\nที่ 12/2569\nเรื่อง แต่งตั้งคณะทำงาน\n"
    assert propose(text).number == "12/2569"


@pytest.mark.parametrize(
    ("printed", "expected"),
    [
        ("๒๓ พฤศจิกายน ๒๕๖๙", dt.date(2026, 11, 23)),
        ("23 พฤศจิกายน 2569", dt.date(2026, 11, 23)),
        ("23 พฤศจกายน 2569", dt.date(2026, 11, 23)),  # a lost vowel in the month
        ("5 มิ.ย. 2569", dt.date(2026, 6, 5)),
        ("1 มกราคม พ.ศ. 2569", dt.date(2026, 1, 1)),
        ("9 กุมภาพันธ 2026", dt.date(2026, 2, 9)),
        # ๖ read as ๐: 2505 is not the year of a letter received in 2569; of the years the
        # Thai digits may have been, the one closest to the day it came is taken.
        ("๒๓ ตุลาคม ๒๕๐๙", dt.date(2026, 10, 23)),
        ("31 กุมภาพันธ์ 2569", None),
    ],
)
def test_thai_dates(printed, expected):
    found = propose(f"ที่ มท 0200/1\n{printed}\nเรื่อง ทดสอบ\n")
    assert found.letter_date == expected


@pytest.mark.parametrize(
    ("stamp", "level"),
    [("ด่วนที่สุด", 3), ("ดวนทีสุด", 3), ("ด่วนมาก", 2), ("ดวนมาก", 2), ("ด่วน", 1), ("", 0)],
)
def test_the_urgency_stamp_with_or_without_its_marks(stamp, level):
    assert propose(f"{stamp}\nที่ มท 0200/1\nเรื่อง ทดสอบ\n").urgency == level


def test_urgent_words_in_the_body_are_not_a_stamp():
    text = "ที่ มท 0200/1\nเรื่อง ทดสอบ\nเรียน อธิบดี\nขอให้ดำเนินการโดยด่วนที่สุด\n"
    assert propose(text).urgency == 0


def test_an_unknown_sender_is_proposed_as_text():
    text = "ที่ กษ 1001/55      กรมส่งเสริมการเกษตร\n1 ตุลาคม 2569\nเรื่อง ทดสอบ\n"
    found = propose(text)
    assert found.sender_agency_id is None
    assert found.sender_text == "กรมส่งเสริมการเกษตร"


def test_a_sender_name_misread_slightly_still_matches_the_agency():
    text = "ที่ มท 0307/55      กรมการปกครอ\n1 ตุลาคม 2569\nเรื่อง ทดสอบ\n"
    assert propose(text).sender_agency_id == 2


def test_the_number_prefix_names_the_sender_when_nothing_else_does():
    text = "ที่ มท 0307.2/55\n1 ตุลาคม 2569\nเรื่อง ทดสอบ\n"
    assert propose(text).sender_agency_id == 2


def test_text_with_no_letter_in_it_proposes_nothing():
    found = propose("ภาพถ่าย\nไม่มีข้อความของหนังสือ\n")
    assert found.as_json() == {}


def test_the_proposal_survives_json():
    found = propose(EXTERNAL)
    again = ProposedFields.from_json(found.as_json())
    assert again == found
    assert found.as_json()["letter_date"] == "2026-11-23"


def test_normalise_composes_sara_am_and_drops_zero_width_characters():
    assert normalise_ocr("ทํางาน\u200bสํานัก") == "ทำงานสำนัก"
    assert normalise_ocr("เเละ") == "และ"
    assert loose("เรื่อง") == loose("เรือง") == loose("เรี่อง")
