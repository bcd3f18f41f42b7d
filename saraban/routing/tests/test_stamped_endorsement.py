"""An endorsement is part of the letter's record and printed on its stamped copy."""

from __future__ import annotations

import io
import unicodedata

from pypdf import PdfReader

from saraban.agencies.actors import resolve_actor
from saraban.core.thai import be_year
from saraban.letters import files
from saraban.letters.services import LetterDetails, Upload, letter_register_incoming
from saraban.letters.stamping import stamped_copy
from saraban.letters.tests.test_register import tiny_pdf
from saraban.routing.services import routing_endorse


def _plain(text: str) -> str:
    """Thai text as pypdf extracts it loses and moves marks: compare base letters only."""
    return "".join(c for c in text if unicodedata.category(c) not in {"Mn", "Cc", "Cf"})


def test_the_stamped_copy_carries_each_endorsement_on_an_added_page(org):
    entry = letter_register_incoming(
        actor=resolve_actor(org.clerk), registry=org.central,
        details=LetterDetails(kind="external", subject="ขอเชิญประชุม", sender_text="กรมการปกครอง"),
        main_file=Upload("scan.pdf", tiny_pdf()),
    )
    before = stamped_copy(entry)
    assert before is not None
    assert len(PdfReader(io.BytesIO(files.read_blob(before.blob))).pages) == 1

    endorsement = routing_endorse(actor=resolve_actor(org.director), letter=entry.letter,
                                  text="ทราบ มอบ ศสป. ดำเนินการ")
    after = stamped_copy(entry)
    assert after is not None and after.blob_id != before.blob_id
    reader = PdfReader(io.BytesIO(files.read_blob(after.blob)))
    assert len(reader.pages) == 2
    page = _plain(reader.pages[1].extract_text())
    assert _plain("ศสป") in page
    assert _plain("สมชาย") in page  # the director's name
    assert str(be_year(endorsement.created_at)) in page
    # The original file is untouched and the copy is reused until the next endorsement.
    assert entry.letter.files.get().blob.sha256 == files.blob_path(
        entry.letter.files.get().blob.sha256).name
    assert stamped_copy(entry) == after
