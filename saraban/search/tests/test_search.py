"""Searching a generated corpus of Thai letters: number, compound, digit and OCR variants, and
the access rule in results and counts. The suite runs on SQLite and on PostgreSQL; every
expectation here is the exact set of letters, so both backends must give identical results.
"""

from __future__ import annotations

import datetime as dt

import pytest

from saraban.agencies.actors import resolve_actor
from saraban.agencies.sample import make_person
from saraban.letters.models import Secrecy
from saraban.letters.services import LetterDetails, letter_register_incoming
from saraban.search.index import index_dirty, reindex
from saraban.search.models import SearchDirty, SearchEntry
from saraban.search.query import Filters, search

ZW = "\u200b"


def _incoming(org, subject, *, number="", body="", secrecy=0, readers=(), urgency=0,
              sender="กรมการปกครอง", letter_date=None):
    return letter_register_incoming(
        actor=resolve_actor(org.clerk), registry=org.central,
        details=LetterDetails(kind="external", subject=subject, number=number, body=body,
                              sender_text=sender, secrecy=secrecy, urgency=urgency,
                              secret_readers=list(readers), letter_date=letter_date),
    ).letter


@pytest.fixture
def corpus(org):
    """Letters whose matches are known by construction."""
    letters = {
        "circular": _incoming(org, "การใช้ระบบสารบรรณอิเล็กทรอนิกส์", number="มท 0210.3/ว 1795",
                              letter_date=dt.date(2026, 10, 1)),
        "plain": _incoming(org, "ขอเชิญประชุมคณะทำงาน", number="มท 0210.3/1796",
                           letter_date=dt.date(2026, 10, 2)),
        "governor": _incoming(org, "ผู้ว่าราชการจังหวัดเชียงใหม่ขอความร่วมมือ",
                              number="ชม 0017.1/4410", sender="จังหวัดเชียงใหม่",
                              letter_date=dt.date(2025, 12, 1)),
        "thai_digits": _incoming(org, "กำหนดส่งรายงานผลการดำเนินงาน",
                                 body="ขอให้ส่งรายงานภายในวันที่ ๑๕ ธันวาคม ๒๕๖๙", urgency=2),
        "arabic_digits": _incoming(org, "แจ้งกำหนดการอบรม",
                                   body="อบรมในวันที่ 15 ธันวาคม 2569 ณ ศาลากลางจังหวัด"),
        # Text as OCR leaves it: tone marks lost, decomposed sara am, zero-width spaces.
        "ocr": _incoming(org, "หนังสือจากภาพสแกน",
                         body=f"ผูวาราชการจังหวัดลําปาง ขอเชิญ{ZW}ประชุมเรือง การจัดทํา{ZW}แผน"),
        "secret": _incoming(org, "เรื่องลับ การสอบสวนข้าราชการ", secrecy=Secrecy.SECRET,
                            readers=[org.director], number="มท 0210.3/ลับ 7"),
    }
    index_dirty()
    return letters


def _found(person, text, **filters):
    results = search(person, text, Filters(**filters), page_size=100)
    return {hit.letter.pk for hit in results.hits}, results.total


def _ids(corpus, *names):
    return {corpus[n].pk for n in names}


@pytest.mark.parametrize("query", [
    "มท 0210.3/ว 1795", "มท 0210.3/ว1795", "มท0210.3/ว1795", "0210.3/1795", "0210.3/ว1795",
    "มท ๐๒๑๐.๓/ว ๑๗๙๕", "๐๒๑๐.๓/๑๗๙๕", "มท. 0210.3 / ว. 1795",
])
def test_a_number_is_found_however_it_is_typed(org, corpus, query) -> None:
    assert _found(org.clerk, query)[0] == _ids(corpus, "circular")


def test_other_numbers_do_not_match(org, corpus) -> None:
    assert _found(org.clerk, "0210.3/1796")[0] == _ids(corpus, "plain")
    assert _found(org.clerk, "0210.3/1797")[0] == set()
    assert _found(org.clerk, "ชม 0017.1/4410")[0] == _ids(corpus, "governor")


@pytest.mark.parametrize("query", ["ราชการ", "จังหวัด", "ผู้ว่าราชการ", "ว่าราชการ",
                                   "ผู้ว่าราชการ จังหวัด"])
def test_part_of_a_compound_word_is_found(org, corpus, query) -> None:
    assert _ids(corpus, "governor") <= _found(org.clerk, query)[0]


def test_compound_query_finds_the_words_written_apart(org) -> None:
    apart = _incoming(org, "ผู้ว่าราชการ จังหวัดน่าน ขอเชิญประชุม")
    index_dirty()
    assert apart.pk in _found(org.clerk, "ผู้ว่าราชการจังหวัด")[0]


@pytest.mark.parametrize("query", ["15 ธันวาคม", "๑๕ ธันวาคม"])
def test_thai_and_arabic_digits_are_one(org, corpus, query) -> None:
    assert _found(org.clerk, query)[0] == _ids(corpus, "thai_digits", "arabic_digits")


@pytest.mark.parametrize("query", ["ผู้ว่าราชการจังหวัดลำปาง", "ลำปาง", "การจัดทำแผน",
                                   "ขอเชิญประชุม"])
def test_ocr_damaged_words_are_found(org, corpus, query) -> None:
    assert corpus["ocr"].pk in _found(org.clerk, query)[0]


def test_words_must_all_match(org, corpus) -> None:
    assert _found(org.clerk, "ประชุม คณะทำงาน")[0] == _ids(corpus, "plain")
    assert _found(org.clerk, "ประชุม ไม่มีคำนี้ในหนังสือใดเลยzz")[0] == set()


def test_secret_letters_are_neither_found_nor_counted_without_the_right(org, corpus) -> None:
    outsider = make_person("searcher", "ผู้ค้น", agency=org.ministry, password=None)
    for person in (outsider, org.officer):
        found, total = _found(person, "ข้าราชการ")
        assert corpus["secret"].pk not in found
        assert total == len(found)
    # The named reader and the clerk who registered it (a reader by registering) find it.
    for person in (org.director, org.clerk):
        found, total = _found(person, "ข้าราชการ")
        assert corpus["secret"].pk in found and total == len(found)
    # The other tenant sees nothing of the ministry's letters.
    lao_person = make_person("lao_reader", "อปท.", agency=org.lao, password=None)
    assert _found(lao_person, "ราชการ") == (set(), 0)


def test_filters(org, corpus) -> None:
    assert _found(org.clerk, "", year_be=2568)[0] == _ids(corpus, "governor")
    assert _found(org.clerk, "", urgency=2)[0] == _ids(corpus, "thai_digits")
    assert _found(org.clerk, "0210.3", date_from=dt.date(2026, 10, 2),
                  date_to=dt.date(2026, 10, 31))[0] >= _ids(corpus, "plain")
    assert _found(org.clerk, "", registry_id=org.ict_registry.pk) == (set(), 0)


def test_newest_first_and_pages(org, corpus) -> None:
    results = search(org.clerk, "", page_size=2)
    assert results.total == 7 and results.pages == 4  # the clerk registered the secret one
    letters = [hit.letter for hit in results.hits]
    assert letters == sorted(letters, key=lambda x: (x.created_at, x.pk), reverse=True)
    second = search(org.clerk, "", page=2, page_size=2)
    assert not {h.letter.pk for h in second.hits} & {x.pk for x in letters}


def test_relevance_order_puts_the_best_match_first(org, corpus) -> None:
    results = search(org.clerk, "ประชุม", order="relevance")
    assert {h.letter.pk for h in results.hits} == _ids(corpus, "plain", "ocr")


def test_matched_words_are_highlighted(org, corpus) -> None:
    [hit] = search(org.clerk, "ราชการ").hits[:1]
    assert "<mark>ราชการ</mark>" in hit.subject
    [hit] = search(org.clerk, "15 ธันวาคม", Filters(urgency=2)).hits
    assert "<mark>" in hit.snippet


def test_index_follows_changes_after_commit(org) -> None:
    letter = _incoming(org, "เรื่องเดิม")
    assert SearchDirty.objects.filter(letter_id=letter.pk).exists()
    index_dirty()
    assert not SearchDirty.objects.exists()
    assert _found(org.clerk, "เรื่องเดิม")[0] == {letter.pk}
    letter.subject = "เรื่องใหม่ทั้งหมด"
    letter.save()
    index_dirty()
    assert _found(org.clerk, "เรื่องเดิม")[0] == set()
    assert _found(org.clerk, "ใหม่ทั้งหมด")[0] == {letter.pk}


def test_endorsements_are_searchable(org, corpus) -> None:
    from saraban.routing.services import routing_endorse

    routing_endorse(actor=resolve_actor(org.director), letter=corpus["plain"],
                    text="มอบกองคลังพิจารณางบประมาณ")
    index_dirty()
    assert _found(org.clerk, "งบประมาณ")[0] == _ids(corpus, "plain")


def test_reindex_rebuilds_everything(org, corpus) -> None:
    SearchEntry.objects.all().delete()
    assert _found(org.clerk, "ราชการ")[0] == set()
    seen = []
    assert reindex(batch=3, progress=lambda done, total: seen.append((done, total))) == 7
    assert seen[-1] == (7, 7)
    assert _ids(corpus, "governor") <= _found(org.clerk, "ราชการ")[0]


def test_bad_queries_are_refused(org, corpus) -> None:
    from saraban.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as exc:
        search(org.clerk, "ก" * 501)
    assert exc.value.code == "query_too_long"
    # Characters with a meaning in FTS5 or tsquery syntax are just text.
    assert _found(org.clerk, 'ราชการ" * ( ) & | ! : -')[0] >= _ids(corpus, "governor")


def test_reindex_command_shows_progress(org, corpus) -> None:
    import io

    from django.core.management import call_command

    SearchEntry.objects.all().delete()
    out, err = io.StringIO(), io.StringIO()
    call_command("search", "reindex", "--batch", "2", stdout=out, stderr=err)
    assert "Indexed 7 letters" in out.getvalue()
    assert "7/7" in err.getvalue()
    out = io.StringIO()
    call_command("search", "query", "0210.3/1795", "--user", "clerk", stdout=out)
    assert "1 letters" in out.getvalue()


def test_unit_filter_includes_the_units_below(org, corpus) -> None:
    everything = _found(org.clerk, "")[0]
    assert _found(org.clerk, "", unit_id=org.ministry.pk)[0] == everything
    assert _found(org.clerk, "", unit_id=org.ops.pk)[0] == everything  # the central registry's
    assert _found(org.clerk, "", unit_id=org.ict.pk)[0] == set()


def test_ocr_text_of_a_scan_is_indexed_with_its_letter(org) -> None:
    from django.utils import timezone

    from saraban.documents.render import placeholder_emblem
    from saraban.intake.models import ScanIntake
    from saraban.letters.files import store_file

    letter = _incoming(org, "หนังสือกระดาษ")
    index_dirty()
    assert _found(org.clerk, "ลำปาง")[0] == set()
    # The OCR finishes after the letter was registered (tone marks lost, as tesseract does).
    ScanIntake.objects.create(
        tenant=org.ministry, registry=org.central, filename="scan.png",
        original=store_file(placeholder_emblem(16)), created_by=org.clerk,
        created_at=timezone.now(), letter=letter, state="done",
        ocr_text="ผูวาราชการจังหวัดลําปาง ขอเชิญประชุม",
    )
    index_dirty()
    assert _found(org.clerk, "ผู้ว่าราชการจังหวัดลำปาง")[0] == {letter.pk}
