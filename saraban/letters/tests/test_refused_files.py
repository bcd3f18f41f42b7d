"""A registration whose files are refused stores no file at all, on disk or in the database.

Files are checked before any is kept: a good main file followed by a refused attachment must
not leave the main file behind in the content-addressed store.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from saraban.agencies.actors import resolve_actor
from saraban.core.errors import FileRejected
from saraban.letters.models import Blob, Letter, LetterFile, RegisterEntry
from saraban.letters.services import (
    LetterDetails,
    Recipient,
    Upload,
    letter_register_incoming,
    letter_register_outgoing,
)
from saraban.letters.tests.test_register import tiny_pdf

EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64


def stored_files() -> set[Path]:
    """Files kept in the store (the scratch ``tmp`` folder does not count)."""
    root = Path(settings.SARABAN_FILES_DIR)
    if not root.exists():
        return set()
    return {p for p in root.rglob("*") if p.is_file() and "tmp" not in p.relative_to(root).parts}


def leftovers() -> list[Path]:
    root = Path(settings.SARABAN_FILES_DIR) / "tmp"
    return sorted(root.iterdir()) if root.exists() else []


def assert_nothing_stored() -> None:
    assert stored_files() == set()
    assert leftovers() == []
    assert Blob.objects.count() == 0
    assert LetterFile.objects.count() == 0
    assert Letter.objects.count() == 0
    assert RegisterEntry.objects.count() == 0


def test_refused_attachment_leaves_no_main_file_on_disk(org):
    with pytest.raises(FileRejected) as exc:
        letter_register_incoming(
            actor=resolve_actor(org.clerk), registry=org.central,
            details=LetterDetails(kind="external", subject="ขอเชิญประชุม",
                                  sender_text="กรมการปกครอง"),
            main_file=Upload("letter.pdf", tiny_pdf()),
            attachments=[Upload("table.xlsx", EXE)],
        )
    assert exc.value.code == "file_type_not_allowed"
    assert exc.value.field == "attachments"
    assert exc.value.details["filename"] == "table.xlsx"
    assert_nothing_stored()


def test_refused_second_attachment_leaves_no_earlier_file(org):
    with pytest.raises(FileRejected):
        letter_register_outgoing(
            actor=resolve_actor(org.clerk), registry=org.central,
            details=LetterDetails(kind="external", subject="แจ้งผล"),
            recipients=[Recipient(channel="post", text="บริษัท ก")],
            main_file=Upload("letter.pdf", tiny_pdf()),
            attachments=[Upload("a.pdf", tiny_pdf() + b"%a"), Upload("b.bin", b"")],
        )
    assert_nothing_stored()


def test_refused_main_file_keeps_an_earlier_letters_file(org):
    """A file some letter already holds stays, even when the same content is refused with
    another letter's bad attachment."""
    actor = resolve_actor(org.clerk)
    details = LetterDetails(kind="external", subject="เรื่องแรก", sender_text="กรมการปกครอง")
    letter_register_incoming(actor=actor, registry=org.central, details=details,
                             main_file=Upload("first.pdf", tiny_pdf()))
    before = stored_files()
    assert len(before) == 1
    with pytest.raises(FileRejected):
        letter_register_incoming(
            actor=actor, registry=org.central,
            details=LetterDetails(kind="external", subject="เรื่องสอง",
                                  sender_text="กรมการปกครอง"),
            main_file=Upload("again.pdf", tiny_pdf()),
            attachments=[Upload("x.exe", EXE)],
        )
    assert stored_files() == before
    assert Blob.objects.count() == 1
    assert leftovers() == []
