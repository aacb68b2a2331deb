"""The `/sla` page's figures: open requests by days left, at-risk and overdue lists, and
time-to-complete over the last 30 days as a server-rendered bar chart. The figures and the chart
geometry are pure; `snapshot` reads the ledger."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import asyncpg

from schemas.requests import TERMINAL_STATUSES
from services.tracker.deadlines import SlaState, days_left_bucket, sla_state

BUCKET_NAMES = ("overdue", "0-2", "3-7", "8-14", "15-31", "32+")
_TERMINAL = [s.value for s in TERMINAL_STATUSES]


@dataclass(frozen=True)
class Listed:
    reference: str
    due_date: date


@dataclass(frozen=True)
class Bar:
    day: date
    median_days: float
    count: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    top: float  # the y axis' highest value (days)
    ticks: list[tuple[float, float]]  # (value, y)


@dataclass(frozen=True)
class Snapshot:
    generated_at: datetime
    buckets: dict[str, int]
    at_risk: list[Listed]
    overdue: list[Listed]
    chart: Chart
    completed_30_days: int

    @property
    def open_total(self) -> int:
        return sum(self.buckets.values())


def chart(durations: list[tuple[date, float]], *, today: date, width: int = 720, height: int = 240) -> Chart:
    """One bar per day of the last 30 (median days from receipt to completion); empty days have none."""
    by_day: dict[date, list[float]] = {}
    for day, days in durations:
        by_day.setdefault(day, []).append(days)
    medians = {day: statistics.median(values) for day, values in by_day.items()}
    highest = max([*medians.values(), 0.0])
    top = float(max(4, 4 * math.ceil(highest / 4)))  # whole-day ticks
    left, bottom, plot_h = 40.0, height - 24.0, height - 40.0
    slot = (width - left - 8) / 30
    bars = []
    for index in range(30):
        day = today - timedelta(days=29 - index)
        if day not in medians:
            continue
        bar_h = max(plot_h * medians[day] / top, 2.0)  # a day with completions always shows
        bars.append(
            Bar(
                day,
                round(medians[day], 2),
                len(by_day[day]),
                round(left + index * slot + 1, 2),
                round(bottom - bar_h, 2),
                round(slot - 2, 2),
                round(bar_h, 2),
            )
        )
    ticks = [(top * i / 4, round(bottom - plot_h * i / 4, 2)) for i in range(5)]
    return Chart(width, height, bars, top, ticks)


def figures(
    open_rows: list[tuple[str, date, bool]],
    completions: list[tuple[date, float]],
    *,
    today: date,
    at_risk_days: int,
    now: datetime,
) -> Snapshot:
    """`open_rows`: (reference, due date, paused) of every open request. Pure."""
    buckets = dict.fromkeys(BUCKET_NAMES, 0)
    at_risk: list[Listed] = []
    overdue: list[Listed] = []
    for reference, due, paused in open_rows:
        buckets[days_left_bucket(due, today)] += 1
        if paused:
            continue
        state = sla_state(due, today, at_risk_days=at_risk_days)
        if state is SlaState.at_risk:
            at_risk.append(Listed(reference, due))
        elif state is SlaState.overdue:
            overdue.append(Listed(reference, due))
    key = lambda item: (item.due_date, item.reference)  # noqa: E731
    return Snapshot(
        now,
        buckets,
        sorted(at_risk, key=key),
        sorted(overdue, key=key),
        chart(completions, today=today),
        len(completions),
    )


async def snapshot(conn: asyncpg.Connection, *, today: date, at_risk_days: int, now: datetime) -> Snapshot:
    open_rows = await conn.fetch(
        """select reference, due_date, paused_since is not null as paused from requests
           where status <> all($1::text[]) and duplicate_of is null""",
        _TERMINAL,
    )
    done = await conn.fetch(
        """select (h.at at time zone 'Europe/Oslo')::date as day,
                  extract(epoch from h.at - r.received_at) / 86400.0 as days
           from request_status_history h join requests r on r.id = h.request_id
           where h.status = 'completed' and h.at >= $1""",
        now - timedelta(days=30),
    )
    return figures(
        [(r["reference"], r["due_date"], r["paused"]) for r in open_rows],
        [(r["day"], max(float(r["days"]), 0.0)) for r in done],
        today=today,
        at_risk_days=at_risk_days,
        now=now,
    )
