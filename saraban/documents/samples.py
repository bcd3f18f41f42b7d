"""Sample Thai letters for each official form, for the preview command and the tests."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from saraban.documents.render import FormData

__all__ = ["sample_form_data"]

_BODY = (
    "ด้วยจังหวัดตัวอย่างได้จัดทำระบบสารบรรณอิเล็กทรอนิกส์ เพื่อใช้รับส่งหนังสือราชการระหว่าง"
    "ส่วนราชการในจังหวัด ตามระเบียบสำนักนายกรัฐมนตรีว่าด้วยงานสารบรรณ (ฉบับที่ 4) พ.ศ. 2564 "
    "โดยกำหนดเริ่มใช้งานตั้งแต่วันที่ 1 มกราคม 2570 เป็นต้นไป",
    "จึงเรียนมาเพื่อโปรดทราบ และแจ้งเจ้าหน้าที่ผู้เกี่ยวข้องเข้ารับการอบรมการใช้งานระบบ "
    "ณ ห้องประชุมศาลากลางจังหวัดตัวอย่าง ตามวันและเวลาที่กำหนดในสิ่งที่ส่งมาด้วย",
)


def sample_form_data(form: str) -> FormData:
    """A filled-in letter in ``form``, with Thai text long enough to wrap and justify."""
    common = FormData(
        date=dt.date(2026, 11, 23),
        agency_name="ศาลากลางจังหวัดตัวอย่าง",
        agency_address="ถนนราชดำเนิน อำเภอเมือง จังหวัดตัวอย่าง 10200",
        signer_name="นายสมชาย ใจดี",
        signer_position="ผู้ว่าราชการจังหวัดตัวอย่าง",
        owning_unit="สำนักงานจังหวัด กลุ่มงานบริหารทั่วไป",
        phone="0 2123 4567",
        email="saraban@example.go.th",
        body=_BODY,
    )
    if form == "memo":
        return replace(
            common,
            number="ตย 0017.1/245",
            subject="ขอเชิญประชุมคณะทำงานระบบสารบรรณอิเล็กทรอนิกส์",
            salutation="ผู้ว่าราชการจังหวัดตัวอย่าง",
            closing="",
            urgency="ด่วน",
        )
    if form == "order":
        return replace(
            common,
            number="12/2569",
            subject="แต่งตั้งคณะทำงานระบบสารบรรณอิเล็กทรอนิกส์",
        )
    if form == "announcement":
        return replace(
            common,
            subject="การใช้ระบบสารบรรณอิเล็กทรอนิกส์ของจังหวัด",
        )
    if form == "certificate":
        return replace(
            common,
            body=(
                "หนังสือฉบับนี้ให้ไว้เพื่อรับรองว่า นางสาวสมหญิง รักงาน ตำแหน่งนักจัดการงานทั่วไป"
                "ชำนาญการ สังกัดสำนักงานจังหวัดตัวอย่าง เป็นข้าราชการพลเรือนสามัญ ได้รับเงินเดือน"
                "เดือนละ 32,500 บาท",
            ),
            number="ตย 0017.1/888",
        )
    if form == "stamped":
        return replace(
            common,
            number="ตย 0017.1/ว 310",
            addressee="ส่วนราชการทุกแห่งในจังหวัดตัวอย่าง",
            enclosures=("กำหนดการอบรม จำนวน 1 ชุด",),
            urgency="ด่วนที่สุด",
        )
    return replace(
        common,
        number="ตย 0017.1/ว 1795",
        subject="การใช้ระบบสารบรรณอิเล็กทรอนิกส์",
        salutation="นายกองค์การบริหารส่วนจังหวัดตัวอย่าง",
        references=("หนังสือจังหวัดตัวอย่าง ที่ ตย 0017.1/ว 1000 ลงวันที่ 1 ตุลาคม 2569",),
        enclosures=("กำหนดการอบรม จำนวน 1 ชุด", "แบบตอบรับ จำนวน 1 ฉบับ"),
        closing="ขอแสดงความนับถือ",
        copies_to=("สำนักงานท้องถิ่นจังหวัดตัวอย่าง",),
        urgency="ด่วนมาก",
    )
