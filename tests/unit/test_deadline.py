"""The GDPR one-month deadline: same date next month, on the Oslo calendar, moved to a working day."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.intake.domain.deadline import add_months, due_date, is_working_day, next_working_day

OSLO = ZoneInfo("Europe/Oslo")
NORWAY = holidays.country_holidays("NO", years=range(1999, 2102))

DATES = st.dates(date(2000, 1, 1), date(2099, 10, 31))
MOMENTS = st.datetimes(datetime(2000, 1, 1), datetime(2099, 10, 31), timezones=st.just(UTC))
EXTENSIONS = st.integers(0, 2)
PAUSES = st.integers(0, 120)


def at_noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=OSLO)


def month_later(day: date, months: int = 1) -> date:
    """Independent oracle for add_months: same day-of-month, else the month's last day."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def is_norwegian_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in NORWAY


# --- properties ------------------------------------------------------------------------------------


@settings(deadline=None)
@given(MOMENTS, EXTENSIONS, PAUSES)
def test_the_due_date_is_always_a_norwegian_working_day(
    received: datetime, extension: int, paused: int
) -> None:
    due = due_date(received, extension_months=extension, paused_days=paused)
    assert due.weekday() < 5
    assert due not in NORWAY, NORWAY.get(due)


@settings(deadline=None)
@given(MOMENTS, EXTENSIONS)
def test_the_due_date_is_never_before_the_same_date_next_month(received: datetime, extension: int) -> None:
    local = received.astimezone(OSLO).date()
    due = due_date(received, extension_months=extension)
    earliest = month_later(local, 1 + extension)
    assert due >= earliest
    # ...and only as late as it takes to reach a working day.
    assert all(
        not is_norwegian_working_day(earliest + timedelta(days=n)) for n in range((due - earliest).days)
    )


@settings(deadline=None)
@given(MOMENTS, EXTENSIONS, PAUSES)
def test_paused_days_shift_the_end_of_the_period_forward(
    received: datetime, extension: int, paused: int
) -> None:
    local = received.astimezone(OSLO).date()
    due = due_date(received, extension_months=extension, paused_days=paused)
    assert due == next_working_day(month_later(local, 1 + extension) + timedelta(days=paused))
    assert due >= due_date(received, extension_months=extension)


@settings(deadline=None)
@given(MOMENTS, MOMENTS, EXTENSIONS, PAUSES)
def test_the_due_date_never_moves_back_for_a_later_receipt(
    first: datetime, second: datetime, extension: int, paused: int
) -> None:
    earlier, later = sorted((first, second))
    assert due_date(earlier, extension_months=extension, paused_days=paused) <= due_date(
        later, extension_months=extension, paused_days=paused
    )


@settings(deadline=None)
@given(MOMENTS)
def test_each_extension_month_never_brings_the_due_date_forward(received: datetime) -> None:
    dues = [due_date(received, extension_months=n) for n in range(3)]
    assert dues == sorted(dues)


@given(st.integers(2000, 2099))
def test_received_31_january_is_due_at_the_end_of_february_or_the_next_working_day(year: int) -> None:
    last_of_february = date(year, 2, 29 if calendar.isleap(year) else 28)
    due = due_date(at_noon(date(year, 1, 31)))
    assert due == next_working_day(last_of_february)
    assert last_of_february <= due <= last_of_february + timedelta(days=3)


@given(DATES, st.integers(0, 36))
def test_add_months_keeps_the_day_or_clamps_to_month_end(day: date, months: int) -> None:
    result = add_months(day, months)
    assert result == month_later(day, months)
    assert (result.year * 12 + result.month) - (day.year * 12 + day.month) == months


@given(st.dates(date(2000, 1, 1), date(2099, 12, 31)))
def test_is_working_day_agrees_with_the_norwegian_holiday_calendar(day: date) -> None:
    assert is_working_day(day) == is_norwegian_working_day(day)


# --- explicit calendar cases -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("received", "due"),
    [
        ("2024-01-31", "2024-02-29"),  # leap year, Thursday
        ("2028-01-31", "2028-02-29"),  # leap year, Tuesday
        ("2025-01-31", "2025-02-28"),  # Friday
        ("2026-01-31", "2026-03-02"),  # 28 Feb 2026 is a Saturday
        ("2027-01-31", "2027-03-01"),  # 28 Feb 2027 is a Sunday
        ("2026-03-31", "2026-04-30"),  # 30-day month
        ("2026-08-31", "2026-09-30"),
        ("2026-12-15", "2027-01-15"),  # across the year end
    ],
)
def test_month_end_and_year_end_cases(received: str, due: str) -> None:
    assert due_date(at_noon(date.fromisoformat(received))) == date.fromisoformat(due)


@pytest.mark.parametrize(
    ("received", "due", "why"),
    [
        ("2027-02-25", "2027-03-30", "Maundy Thursday, Good Friday, weekend, Easter Monday 2027"),
        ("2027-02-26", "2027-03-30", "Good Friday, weekend, Easter Monday 2027"),
        ("2026-03-02", "2026-04-07", "2 Apr 2026 is Maundy Thursday ... 6 Apr Easter Monday"),
        ("2028-03-13", "2028-04-18", "13 Apr 2028 is Maundy Thursday ... 17 Apr Easter Monday"),
        ("2028-04-17", "2028-05-18", "17 May (Constitution Day) 2028 is a Wednesday"),
        ("2027-04-17", "2027-05-18", "17 May 2027 is Constitution Day and Whit Monday"),
        ("2026-04-01", "2026-05-04", "1 May 2026 (Labour Day) is a Friday"),
        ("2026-04-14", "2026-05-15", "14 May 2026 is Ascension Day"),
        ("2028-11-25", "2028-12-27", "25 and 26 December 2028 are Monday and Tuesday"),
        ("2025-11-25", "2025-12-29", "25-26 December 2025 then a weekend"),
        ("2026-11-26", "2026-12-28", "26 December 2026 is a Saturday"),
        ("2025-12-01", "2026-01-02", "1 January 2026 is a Thursday"),
        ("2026-12-01", "2027-01-04", "1 January 2027 is a Friday"),
    ],
)
def test_a_due_date_on_a_public_holiday_moves_to_the_next_working_day(
    received: str, due: str, why: str
) -> None:
    assert due_date(at_noon(date.fromisoformat(received))) == date.fromisoformat(due), why


def test_christmas_eve_is_an_ordinary_working_day() -> None:
    # 24 December is not a public holiday in Norway.
    assert due_date(at_noon(date(2025, 11, 24))) == date(2025, 12, 24)


@pytest.mark.parametrize(
    ("received_utc", "due"),
    [
        # Winter (UTC+1): 23:30 UTC is 00:30 the next day in Oslo.
        (datetime(2026, 3, 14, 23, 30, tzinfo=UTC), date(2026, 4, 15)),
        (datetime(2026, 3, 14, 22, 59, tzinfo=UTC), date(2026, 4, 14)),
        # Summer (UTC+2): 22:30 UTC is 00:30 the next day in Oslo.
        (datetime(2026, 7, 14, 22, 30, tzinfo=UTC), date(2026, 8, 17)),  # 15 Aug is a Saturday
        (datetime(2026, 7, 14, 21, 59, tzinfo=UTC), date(2026, 8, 14)),
        # New Year's Eve in UTC is already New Year's Day in Oslo.
        (datetime(2026, 12, 31, 23, 15, tzinfo=UTC), date(2027, 2, 1)),
    ],
)
def test_the_day_of_receipt_is_the_oslo_date_not_the_utc_date(received_utc: datetime, due: date) -> None:
    assert due_date(received_utc) == due


def test_the_same_instant_in_any_offset_gives_the_same_due_date() -> None:
    instant = datetime(2026, 3, 14, 23, 30, tzinfo=UTC)
    for hours in (-10, -5, 0, 1, 2, 9, 14):
        assert due_date(instant.astimezone(timezone(timedelta(hours=hours)))) == date(2026, 4, 15)


# --- arguments -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("months", "due"),
    [(0, date(2026, 4, 10)), (1, date(2026, 5, 11)), (2, date(2026, 6, 10))],  # 10 May 2026 is a Sunday
)
def test_an_extension_of_up_to_two_months_is_allowed(months: int, due: date) -> None:
    assert due_date(at_noon(date(2026, 3, 10)), extension_months=months) == due


@pytest.mark.parametrize("months", [-1, 3, 12])
def test_an_extension_outside_zero_to_two_months_raises(months: int) -> None:
    with pytest.raises(ValueError):
        due_date(at_noon(date(2026, 3, 10)), extension_months=months)


def test_paused_days_move_the_due_date_forward() -> None:
    # 10 Apr 2026 is a Friday; 5 paused days land on Wednesday 15 Apr.
    assert due_date(at_noon(date(2026, 3, 10)), paused_days=5) == date(2026, 4, 15)


def test_negative_paused_days_raise() -> None:
    with pytest.raises(ValueError):
        due_date(at_noon(date(2026, 3, 10)), paused_days=-1)
