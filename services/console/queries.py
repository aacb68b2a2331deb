"""What the console's pages show, read from the ledger (one function per page)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import asyncpg

from schemas.requests import TERMINAL_STATUSES
from services.tracker.deadlines import SlaState, sla_state

_TERMINAL = [s.value for s in TERMINAL_STATUSES]


@dataclass(frozen=True)
class QueueItem:
    request_id: uuid.UUID
    reference: str
    type: str
    status: str
    kind: str  # "review", "manual" (a search by hand) or "manual_erasure" (an erasure by hand)
    system: str | None
    due: date
    days_left: int
    sla: SlaState


async def work_queue(conn: asyncpg.Connection, *, today: date, at_risk_days: int) -> list[QueueItem]:
    """Every request in `needs_review` and every open manual task (searches and erasures by hand),
    soonest due first."""
    rows = await conn.fetch(
        """select id, reference, type, status, 'review' as kind, null::text as system, due_date as due
           from requests where status = 'needs_review'
           union all
           select r.id, r.reference, r.type, r.status,
                  case t.kind when 'erasure' then 'manual_erasure' else 'manual' end, t.system,
                  least(r.due_date, (t.due_at at time zone 'Europe/Oslo')::date)
           from manual_tasks t join requests r on r.id = t.request_id
           where t.status = 'open' and r.status <> all($1::text[])
           order by due, reference""",
        _TERMINAL,
    )
    return [
        QueueItem(
            row["id"],
            row["reference"],
            row["type"],
            row["status"],
            row["kind"],
            row["system"],
            row["due"],
            (row["due"] - today).days,
            sla_state(row["due"], today, at_risk_days=at_risk_days),
        )
        for row in rows
    ]


async def search(conn: asyncpg.Connection, kind: str, value: str) -> list[asyncpg.Record]:
    """Requests by reference, or by one of the subject's normalised identifiers."""
    if kind == "reference":
        where, args = "r.reference = $1", [value.strip().upper()]
    else:
        where = "r.id in (select request_id from request_identifiers where kind = $1 and value = $2)"
        args = [kind, value]
    return list(
        await conn.fetch(
            f"""select r.id, r.reference, r.type, r.channel, r.status, r.due_date, r.received_at
                from requests r where {where} order by r.received_at desc limit 50""",
            *args,
        )
    )


@dataclass(frozen=True)
class Detail:
    request: asyncpg.Record
    history: list[asyncpg.Record]
    findings: list[asyncpg.Record]
    audit: list[asyncpg.Record]
    tasks: list[asyncpg.Record]
    """Manual searches."""
    review: asyncpg.Record | None
    days_left: int
    sla: SlaState
    erasure_tasks: list[asyncpg.Record] = field(default_factory=list)
    """Manual erasures: what to erase or keep by hand, and who confirmed it."""


async def detail(
    conn: asyncpg.Connection, request_id: uuid.UUID, *, today: date, at_risk_days: int
) -> Detail | None:
    request = await conn.fetchrow("select * from requests where id = $1", request_id)
    if request is None:
        return None
    history = await conn.fetch(
        "select status, at, actor, reason from request_status_history where request_id = $1 order by id",
        request_id,
    )
    findings = await conn.fetch(
        """select f.system, count(*) as rows,
                  (select array_agg(distinct c order by c) from findings g, unnest(g.categories) as c
                   where g.request_id = $1 and g.system = f.system) as categories
           from findings f where f.request_id = $1 group by f.system order by f.system""",
        request_id,
    )
    audit = await conn.fetch(
        "select at, actor, action, detail from audit_events where request_id = $1 order by seq",
        request_id,
    )
    tasks = await conn.fetch(
        """select id, system, status, due_at, answered_by, answered_at from manual_tasks
           where request_id = $1 and kind = 'search' order by id""",
        request_id,
    )
    erasure_tasks = await conn.fetch(
        """select id, system, status, due_at, answered_by, answered_at, answer, instructions,
                  due_at <= now() as overdue
           from manual_tasks where request_id = $1 and kind = 'erasure' order by due_at, id""",
        request_id,
    )
    review = await conn.fetchrow(
        "select candidates, resolution from locator_reviews where request_id = $1", request_id
    )
    due: date = request["due_date"]
    return Detail(
        request,
        list(history),
        list(findings),
        list(audit),
        list(tasks),
        review,
        (due - today).days,
        sla_state(due, today, at_risk_days=at_risk_days),
        list(erasure_tasks),
    )


def audit_summary(detail: dict[str, Any]) -> str:
    """A short line for the audit table: the detail's keys and plain values, no nesting."""
    parts = []
    for key, value in detail.items():
        if isinstance(value, dict | list):
            value = (
                ", ".join(f"{k}: {v}" for k, v in value.items())
                if isinstance(value, dict)
                else ", ".join(map(str, value))
            )
        if value is not None and value != "":
            parts.append(f"{key}: {value}")
    return "; ".join(parts)


@dataclass(frozen=True)
class Letter:
    """A letter in the print-and-post queue, as the console lists it: no address, no content."""

    letter_id: int
    request_id: uuid.UUID
    reference: str
    template: str
    language: str
    created_at: datetime
    posted_at: datetime | None
    posted_by: str | None


_LETTER = """select l.id, l.request_id, r.reference, n.template, n.language,
                     l.created_at at time zone 'Europe/Oslo', l.posted_at at time zone 'Europe/Oslo',
                     l.posted_by
              from letters l join notices n on n.id = l.notice_id join requests r on r.id = l.request_id"""


async def letters(conn: asyncpg.Connection, *, posted_days: int = 30) -> tuple[list[Letter], list[Letter]]:
    """The letters waiting for the post (oldest first), and those posted in the last `posted_days`
    (latest first, at most 50). Times in Norwegian time."""
    queued = await conn.fetch(f"{_LETTER} where l.posted_at is null order by l.created_at, l.id")
    posted = await conn.fetch(
        f"""{_LETTER} where l.posted_at > now() - make_interval(days => $1)
            order by l.posted_at desc, l.id desc limit 50""",
        posted_days,
    )
    return [Letter(*row) for row in queued], [Letter(*row) for row in posted]
