"""Thai dates, Buddhist years and Thai digits, as the official forms write them."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from saraban.core.thai import (
    MONTHS,
    MONTHS_SHORT,
    arabic_digits,
    be_year,
    parse_be_year,
    thai_date,
    thai_datetime,
    thai_digits,
    thai_form_date,
)

BANGKOK = ZoneInfo("Asia/Bangkok")
THAI_DIGITS = "๐๑๒๓๔๕๖๗๘๙"

dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 12, 31))
text_without_thai_digits = st.text(
    alphabet=st.characters(exclude_characters=THAI_DIGITS, codec="utf-8")
)
text_without_arabic_digits = st.text(
    alphabet=st.characters(exclude_characters="0123456789", codec="utf-8")
)


@given(text_without_thai_digits)
def test_thai_digits_round_trip(text):
    thai = thai_digits(text)
    assert not any(c in "0123456789" for c in thai)
    assert arabic_digits(thai) == text


@given(text_without_arabic_digits)
def test_arabic_digits_round_trip(text):
    arabic = arabic_digits(text)
    assert not any(c in THAI_DIGITS for c in arabic)
    assert thai_digits(arabic) == text


@given(dates)
def test_thai_date_writes_the_buddhist_year_and_a_thai_month(day):
    number, month, year = thai_date(day).split(" ")
    assert (int(number), int(year)) == (day.day, day.year + 543)
    assert month == MONTHS[day.month - 1]
    short_month = thai_date(day, style="short").split(" ")[1]
    assert short_month == MONTHS_SHORT[day.month - 1]
    assert be_year(day) == day.year + 543


@given(dates)
def test_thai_digit_dates_are_the_arabic_ones_with_thai_digits(day):
    assert thai_date(day, digits="thai") == thai_digits(thai_date(day))
    assert arabic_digits(thai_date(day, digits="thai")) == thai_date(day)


# Bangkok has kept +07:00 since 1 April 1920 (before that, mean time at +06:42).
plus_seven_dates = st.dates(min_value=dt.date(1920, 4, 1), max_value=dt.date(2200, 12, 30))


@given(plus_seven_dates)
def test_five_pm_utc_is_already_the_next_day_in_bangkok(day):
    moment = dt.datetime(day.year, day.month, day.day, 17, 0, tzinfo=dt.UTC)
    assert thai_date(moment) == thai_date(day + dt.timedelta(days=1))
    just_before = moment - dt.timedelta(microseconds=1)
    assert thai_date(just_before) == thai_date(day)
    assert be_year(moment) == (day + dt.timedelta(days=1)).year + 543


@given(st.integers(min_value=0, max_value=23), st.integers(min_value=0, max_value=59), dates)
def test_thai_datetime_shows_bangkok_time(hour, minute, day):
    local = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=BANGKOK)
    text = thai_datetime(local.astimezone(dt.UTC))
    assert text == f"{thai_date(day, style='short')} เวลา {hour:02d}:{minute:02d} น."


@given(st.integers(min_value=2400, max_value=2999), st.sampled_from(["", " ", "\t"]))
def test_parse_be_year_reads_thai_and_arabic_digits(year, pad):
    assert parse_be_year(f"{pad}{thai_digits(str(year))}{pad}") == year
    assert parse_be_year(str(year)) == year


@given(st.integers(min_value=1000, max_value=2399))
def test_parse_be_year_converts_a_christian_year(year):
    assert parse_be_year(str(year)) == year + 543
    assert parse_be_year(thai_digits(str(year))) == year + 543


def test_new_year_in_bangkok_comes_while_utc_is_still_in_the_old_year():
    assert be_year(dt.datetime(2026, 12, 31, 23, 59, tzinfo=BANGKOK)) == 2569
    new_year = dt.datetime(2027, 1, 1, 0, 0, tzinfo=BANGKOK)
    assert new_year.astimezone(dt.UTC).date() == dt.date(2026, 12, 31)
    assert be_year(new_year) == 2570
    assert thai_date(new_year) == "1 มกราคม 2570"


@pytest.mark.parametrize(
    "call",
    [
        lambda m: thai_date(m),
        lambda m: thai_datetime(m),
        lambda m: thai_form_date(m),
        lambda m: be_year(m),
    ],
)
def test_naive_datetimes_are_refused(call):
    with pytest.raises(ValueError, match="naive"):
        call(dt.datetime(2026, 6, 5, 9, 0))


@pytest.mark.parametrize(
    ("value", "kwargs", "expected"),
    [
        (dt.date(2009, 6, 5), {"digits": "thai"}, "๕ มิถุนายน ๒๕๕๒"),
        (dt.date(2009, 6, 5), {}, "5 มิถุนายน 2552"),
        (dt.date(2009, 6, 5), {"style": "short"}, "5 มิ.ย. 2552"),
        (dt.date(2026, 1, 1), {"style": "short"}, "1 ม.ค. 2569"),
        (dt.date(2026, 12, 31), {"style": "short", "digits": "thai"}, "๓๑ ธ.ค. ๒๕๖๙"),
        (dt.date(2024, 2, 29), {}, "29 กุมภาพันธ์ 2567"),
    ],
)
def test_thai_date_examples(value, kwargs, expected):
    assert thai_date(value, **kwargs) == expected


def test_thai_datetime_example():
    moment = dt.datetime(2009, 6, 5, 7, 5, tzinfo=dt.UTC)  # 14:05 in Bangkok
    assert thai_datetime(moment) == "5 มิ.ย. 2552 เวลา 14:05 น."
    assert thai_datetime(moment, digits="thai") == "๕ มิ.ย. ๒๕๕๒ เวลา ๑๔:๐๕ น."


def test_parse_be_year_examples():
    assert parse_be_year("๒๕๖๙") == 2569
    assert parse_be_year("2026") == 2569
    assert parse_be_year(" 2569 ") == 2569


@given(plus_seven_dates, st.sampled_from(["arabic", "thai"]))
def test_the_register_forms_date_line_is_the_thai_date_in_words(day, digits):
    line = thai_form_date(day, digits=digits)
    assert line == thai_form_date(dt.datetime.combine(day, dt.time(23, 59), tzinfo=BANGKOK),
                                  digits=digits)
    words = arabic_digits(line).split(" ")
    assert words[0::2] == ["วันที่", "เดือน", "พ.ศ."]
    assert " ".join(words[1::2]) == thai_date(day)
    assert (digits == "thai") == (line != arabic_digits(line))


def test_the_register_forms_date_line_examples():
    assert thai_form_date(dt.date(2009, 6, 5)) == "วันที่ 5 เดือน มิถุนายน พ.ศ. 2552"
    assert thai_form_date(dt.date(2026, 1, 15), digits="thai") == (
        "วันที่ ๑๕ เดือน มกราคม พ.ศ. ๒๕๖๙")
    # 17:00 UTC on 31 December is already new year's day in Bangkok
    new_year = dt.datetime(2025, 12, 31, 17, 0, tzinfo=dt.UTC)
    assert thai_form_date(new_year) == "วันที่ 1 เดือน มกราคม พ.ศ. 2569"
