"""Erasure's Prometheus metrics, labelled by source system only (the catalogue's names).

`dsr_erasure_plans_waiting` is read from the ledger each round, so every fulfilment worker
exports the same value: aggregate with `max`, not `sum`."""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg
from prometheus_client import Counter, Gauge

PLANS_WAITING = Gauge(
    "dsr_erasure_plans_waiting",
    "Approved erasure plans waiting for a source system that could not be reached",
    ["system"],
)
UNREACHABLE_ROUNDS = Counter(
    "dsr_erasure_unreachable_total",
    "Erasure plan runs that found a source system unreachable (each is retried with backoff)",
    ["system"],
)
MANUAL_TASKS_OPEN = Gauge(
    "dsr_erasure_manual_tasks_open",
    "Open manual erasure tasks (an agent erases by hand in a system without an interface)",
    ["state"],
)


def known(systems: Iterable[str]) -> None:
    """Export every system's series at 0, so a rule sees them before the first outage."""
    for system in systems:
        PLANS_WAITING.labels(system)
        UNREACHABLE_ROUNDS.labels(system)
    for state in ("on_time", "overdue"):
        MANUAL_TASKS_OPEN.labels(state)


async def refresh(pool: asyncpg.Pool, systems: Iterable[str]) -> None:
    """Set the gauges from the ledger."""
    waiting = {
        row["unreachable_system"]: row["plans"]
        for row in await pool.fetch(
            """select unreachable_system, count(*) as plans from erasure_plans
               where status = 'approved' and unreachable_system is not null group by 1"""
        )
    }
    for system in {*systems, *waiting}:
        PLANS_WAITING.labels(system).set(waiting.get(system, 0))
    tasks = await pool.fetchrow(
        """select count(*) filter (where due_at > now()) as on_time, count(*) filter (where due_at <= now()) as overdue
           from manual_tasks where kind = 'erasure' and status = 'open'"""
    )
    MANUAL_TASKS_OPEN.labels("on_time").set(tasks["on_time"])
    MANUAL_TASKS_OPEN.labels("overdue").set(tasks["overdue"])
