"""Small value builders shared by the showcase and the random population. Pure.

Dates are relative to a fixed AS_OF day, not today's date, so a seed gives the same rows on any day.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

AS_OF = date(2026, 6, 30)
"""The demo's "today": the newest data is from this day."""

CONSENT_TEXT = "Jeg samtykker til å motta nyhetsbrev på e-post. Jeg kan melde meg av når som helst."


def money(ore: int) -> Decimal:
    """An amount in kroner from øre (NOK 1 = 100 øre)."""
    return Decimal(ore).scaleb(-2)


def days_before(days: int) -> date:
    return AS_OF - timedelta(days=days)


def at(day: date, hour: int, minute: int) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def moment(rng: random.Random, day: date) -> datetime:
    """A time during office hours on `day` (UTC)."""
    return datetime.combine(day, time(rng.randint(6, 17), rng.randint(0, 59), rng.randint(0, 59)), tzinfo=UTC)


def case_number(opened_on: date, case_id: int) -> str:
    return f"{opened_on.year}-{case_id:07d}"


def invoice_number(issued_on: date, serial: int) -> str:
    return f"{issued_on.year}{serial:08d}"


def customer_number(client_id: int, person_serial: int) -> str:
    return f"K{client_id:03d}-{person_serial:07d}"


def voucher_number(entry_id: int) -> str:
    return f"B{entry_id:09d}"
