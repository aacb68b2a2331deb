"""Where a request stands against its due date. Pure."""

from __future__ import annotations

from datetime import date
from enum import StrEnum


class SlaState(StrEnum):
    on_track = "on_track"
    at_risk = "at_risk"
    overdue = "overdue"


# Upper bounds (days left, inclusive) of the buckets the dashboards show, nearest first.
BUCKETS: tuple[tuple[str, int], ...] = (("0-2", 2), ("3-7", 7), ("8-14", 14), ("15-31", 31))


def sla_state(due: date, today: date, *, at_risk_days: int) -> SlaState:
    """Overdue the day after the due date; at risk when at most `at_risk_days` days are left."""
    left = (due - today).days
    if left < 0:
        return SlaState.overdue
    if left <= at_risk_days:
        return SlaState.at_risk
    return SlaState.on_track


def days_left_bucket(due: date, today: date) -> str:
    left = (due - today).days
    if left < 0:
        return "overdue"
    for name, upper in BUCKETS:
        if left <= upper:
            return name
    return "32+"


# The order a request moves through: it is never moved back (an extension only stops the next step).
_RANK = {SlaState.on_track: 0, SlaState.at_risk: 1, SlaState.overdue: 2}


def escalates(old: SlaState, new: SlaState) -> bool:
    return _RANK[new] > _RANK[old]
