"""The one-month deadline of GDPR Art. 12(3), counted per Regulation 1182/71 Art. 3. Pure."""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

OSLO = ZoneInfo("Europe/Oslo")


@lru_cache(maxsize=64)
def _norwegian_holidays(year: int) -> holidays.HolidayBase:
    # Sundays are not holidays here: they are handled as weekend days.
    return holidays.country_holidays("NO", years=year, include_sundays=False)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _norwegian_holidays(day.year)


def add_months(day: date, months: int) -> date:
    """The same date `months` later, or that month's last day when the date does not exist."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def next_working_day(day: date) -> date:
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def due_date(received_at: datetime, *, extension_months: int = 0, paused_days: int = 0) -> date:
    """The last day to answer a request received at `received_at` (Oslo calendar).

    The day of receipt is not counted; the period ends on the same date of the month after
    (plus any extension), is pushed by days the clock was paused, and moves off weekends and
    Norwegian public holidays.
    """
    if not 0 <= extension_months <= 2:
        raise ValueError("an extension is at most two further months")
    if paused_days < 0:
        raise ValueError("paused_days cannot be negative")
    if received_at.tzinfo is None:
        raise ValueError("received_at must carry a time zone")
    received = received_at.astimezone(OSLO).date()
    end = add_months(received, 1 + extension_months) + timedelta(days=paused_days)
    return next_working_day(end)
