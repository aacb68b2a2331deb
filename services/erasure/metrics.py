"""Erasure's Prometheus metrics. Labels are low-cardinality and never personal data: the
catalogue's system names, the plan's scope, a record's outcome, the reason code of a kept record
(`KEPT_REASONS`), a re-scan's outcome.

Every known label set is exported at 0 from start-up (`known`), so `rate()`, `increase()` and
`absent()` see the series before the first event. The counters count in the worker that made the
effect: aggregate with `sum`. `dsr_erasure_plans_waiting`, `dsr_erasure_plans_open` and
`dsr_erasure_manual_tasks_open` are read from the ledger each round, so every fulfilment worker
exports the same value: aggregate those with `max`, not `sum`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import asyncpg
from prometheus_client import Counter, Gauge, Histogram

from services.erasure.retention import Action
from services.erasure.scopes import Scope

if TYPE_CHECKING:
    from services.erasure.certificate import Rescan
    from services.erasure.plan import ErasurePlan, PlannedRecord

SCHEDULED = "scheduled"
"""The scope label of a plan the scheduler made (records kept until a date that has come)."""
PLAN_SCOPES = (*(scope.value for scope in Scope), SCHEDULED)
PLAN_STATUSES = ("approved", "needs_review")
RECORD_OUTCOMES = ("erased", "anonymised", "kept", "referred")
KEPT_REASONS = (
    "hold:case_open",
    "hold:legal_claim",
    "hold:hold",
    "hold:review",
    "legal_obligation",
    "no_rule",
    "manual_system",
    "other_basis",
    "other",
)
"""The reason codes of a kept record (`services/erasure/reasons.py`, `retention.decide`;
`other_basis`: a withdrawn consent stopped its consent purposes, another basis keeps it); any
other code is counted as `other`, so a catalogue change cannot grow the label set."""
RESCAN_OUTCOMES = ("clean", "found_records", "incomplete")
PLAN_STATES = ("on_time", "overdue")

_CHANGED = {Action.erase: "erased", Action.anonymise: "anonymised"}

PLANS = Counter(
    "dsr_erasure_plans_total",
    "Erasure plans stored, by scope (or `scheduled`) and whether they run at once or need a person",
    ["scope", "status"],
)
RECORDS = Counter(
    "dsr_erasure_records_total",
    "Records an executed erasure plan erased, anonymised, kept or referred to their controller",
    ["system", "outcome"],
)
RECORDS_KEPT = Counter(
    "dsr_erasure_records_kept_total",
    "Records an executed erasure plan kept (retained or restricted), by reason code",
    ["reason"],
)
SYSTEM_SECONDS = Histogram(
    "dsr_erasure_system_seconds",
    "Time to apply one system's part of an erasure plan and record it in the ledger",
    ["system"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
RESCANS = Counter(
    "dsr_erasure_rescans_total",
    "Re-scans at the end of an erasure plan: clean, found records the plan did not keep, or could not finish",
    ["outcome"],
)
PLANS_WAITING = Gauge(
    "dsr_erasure_plans_waiting",
    "Approved erasure plans waiting for a source system that could not be reached",
    ["system"],
)
PLANS_OPEN = Gauge(
    "dsr_erasure_plans_open",
    "Erasure plans of open requests not executed yet (approved, awaiting manual steps or in review), "
    "by whether the request's due date has passed",
    ["state"],
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
    """Export every known label set at 0, so a rule sees the series before the first event."""
    for scope in PLAN_SCOPES:
        for status in PLAN_STATUSES:
            PLANS.labels(scope, status)
    for system in systems:
        PLANS_WAITING.labels(system)
        UNREACHABLE_ROUNDS.labels(system)
        SYSTEM_SECONDS.labels(system)
        for outcome in RECORD_OUTCOMES:
            RECORDS.labels(system, outcome)
    for reason in KEPT_REASONS:
        RECORDS_KEPT.labels(reason)
    for outcome in RESCAN_OUTCOMES:
        RESCANS.labels(outcome)
    for state in PLAN_STATES:
        PLANS_OPEN.labels(state)
        MANUAL_TASKS_OPEN.labels(state)


def planned(scope: str, status: str) -> None:
    """A plan was stored (`scope`: the plan's scope, or `SCHEDULED`)."""
    PLANS.labels(scope if scope in PLAN_SCOPES else "other", status).inc()


def system_done(system: str, records: Sequence[PlannedRecord], seconds: float) -> None:
    """One system's part was applied and recorded: its time, and the records it erased or anonymised."""
    SYSTEM_SECONDS.labels(system).observe(seconds)
    for record in records:
        outcome = _CHANGED.get(record.decision.action)
        if outcome is not None:
            RECORDS.labels(system, outcome).inc()


def plan_executed(plan: ErasurePlan, rescan: Rescan | None) -> None:
    """A plan ended: the records it kept or referred (and those it erased without changing a
    system: already gone), and its re-scan's outcome. Systems an agent erases by hand are left out."""
    by_hand = set(plan.manual_systems)
    for record in plan.records:
        if record.system in by_hand:
            continue
        decision = record.decision
        changed = _CHANGED.get(decision.action)
        if changed is not None:
            if not decision.changes_source:  # counted by `system_done` otherwise
                RECORDS.labels(record.system, changed).inc()
        elif decision.action is Action.refer:
            RECORDS.labels(record.system, "referred").inc()
        else:
            RECORDS.labels(record.system, "kept").inc()
            code = decision.reason.code
            RECORDS_KEPT.labels(code if code in KEPT_REASONS else "other").inc()
    if rescan is not None:
        RESCANS.labels(rescan_outcome(rescan)).inc()


def rescan_outcome(rescan: Rescan) -> str:
    if not rescan.searched:
        return "incomplete"
    return "clean" if rescan.clean else "found_records"


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
    plans = await pool.fetchrow(
        """select count(*) filter (where r.due_date >= (now() at time zone 'Europe/Oslo')::date) as on_time,
                  count(*) filter (where r.due_date < (now() at time zone 'Europe/Oslo')::date) as overdue
           from erasure_plans p join requests r on r.id = p.request_id
           where p.kind = 'request' and p.status in ('approved', 'awaiting_manual', 'needs_review')
             and r.status not in ('completed', 'refused', 'referred', 'cancelled')"""
    )
    PLANS_OPEN.labels("on_time").set(plans["on_time"])
    PLANS_OPEN.labels("overdue").set(plans["overdue"])
    tasks = await pool.fetchrow(
        """select count(*) filter (where due_at > now()) as on_time, count(*) filter (where due_at <= now()) as overdue
           from manual_tasks where kind = 'erasure' and status = 'open'"""
    )
    MANUAL_TASKS_OPEN.labels("on_time").set(tasks["on_time"])
    MANUAL_TASKS_OPEN.labels("overdue").set(tasks["overdue"])
