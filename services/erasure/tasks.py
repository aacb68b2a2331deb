"""Manual erasure tasks in the ledger: an agent erases (or restricts) by hand in a system without
an interface, and confirms it in the console.

They live in `manual_tasks` beside the locator's manual searches (`kind = 'erasure'`, one per
request and system, tied to the plan): the console's work queue and a request's page list both
kinds, soonest due first. The plan opens them once its automated systems are done and then waits
in `awaiting_manual` (the request stays `fulfilling`); the last confirmation approves it again, and
the erasure worker ends it as any other plan (re-scan, certificate, completion). A task past its
due date sends the request to `needs_review`, the system named; confirming it later brings the
request back to `fulfilling` and the plan ends.

Lock order, the same everywhere: the plan's row, then the task's, then the request's.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta

import asyncpg

from schemas.requests import RequestStatus
from services.erasure.certificate import ManualConfirmation
from services.erasure.plan import ErasurePlan
from services.runtime.ledger import audit, change_status

NAME = "fulfilment"
OVERDUE = "manual_erasure_overdue"
"""The reason code in the status history when a task's due date passes."""
COUNTS = ("erased", "kept")


class TaskConflict(Exception):
    """No such open erasure task, or its request is finished."""


async def open_tasks(
    conn: asyncpg.Connection,
    plan_id: uuid.UUID,
    request_id: uuid.UUID,
    plan: ErasurePlan,
    *,
    now: datetime,
    days: int,
) -> list[str]:
    """Open each manual step's task (once) and return the systems whose task is still open. Call
    in a transaction holding the plan's row. A task is due in `days`, never after the end of the
    request's due date (Norwegian time)."""
    due_date = await conn.fetchval("select due_date from requests where id = $1", request_id)
    await conn.executemany(
        """insert into manual_tasks (request_id, system, kind, plan_id, instructions, due_at)
           values ($1, $2, 'erasure', $3, $4,
                   least($5::timestamptz, (($6::date + 1)::timestamp at time zone 'Europe/Oslo')))
           on conflict (request_id, system, kind) do nothing""",
        [
            (request_id, step.system, plan_id, step.to_json(), now + timedelta(days=days), due_date)
            for step in plan.manual
        ],
    )
    rows = await conn.fetch(
        """select system from manual_tasks
           where plan_id = $1 and kind = 'erasure' and status = 'open' order by system""",
        plan_id,
    )
    return [row["system"] for row in rows]


async def confirmations(conn: asyncpg.Connection, plan_id: uuid.UUID) -> list[ManualConfirmation]:
    """The plan's confirmed tasks, for the certificate."""
    rows = await conn.fetch(
        """select system, instructions, answered_by, answered_at, answer from manual_tasks
           where plan_id = $1 and kind = 'erasure' and status = 'done' order by system""",
        plan_id,
    )
    return [
        ManualConfirmation(
            row["system"],
            (row["instructions"] or {}).get("action", "erase"),
            row["answered_by"],
            row["answered_at"],
            {k: int(v) for k, v in ((row["answer"] or {}).get("counts") or {}).items()},
        )
        for row in rows
    ]


async def confirm_task(
    conn: asyncpg.Connection,
    task_id: int,
    *,
    actor: str,
    note: str,
    counts: Mapping[str, int] | None = None,
) -> uuid.UUID:
    """Record that an agent carried out a manual erasure task (call in a transaction). The last
    open task of a plan approves it again, so the worker ends it; a request a task's overdue sent
    to review returns to `fulfilling`. Returns the task's request."""
    task = await conn.fetchrow(
        "select plan_id, request_id from manual_tasks where id = $1 and kind = 'erasure'", task_id
    )
    if task is None:
        raise TaskConflict(str(task_id))
    plan_id, request_id = task["plan_id"], task["request_id"]
    plan_status = await conn.fetchval("select status from erasure_plans where id = $1 for update", plan_id)
    request_status = await conn.fetchval("select status from requests where id = $1", request_id)
    if RequestStatus(request_status).terminal:
        raise TaskConflict(str(task_id))
    given = {k: int(v) for k, v in (counts or {}).items() if k in COUNTS}
    system = await conn.fetchval(
        """update manual_tasks set status = 'done', answered_at = now(), answered_by = $2, answer = $3
           where id = $1 and status = 'open' returning system""",
        task_id,
        actor,
        {"note": note, "counts": given},
    )
    if system is None:
        raise TaskConflict(str(task_id))
    await audit(
        conn,
        request_id,
        actor,
        "erasure.manual_confirmed",
        {"plan_id": str(plan_id), "system": system, "note": note, "counts": given},
    )
    still_open = await conn.fetchval(
        "select count(*) from manual_tasks where plan_id = $1 and kind = 'erasure' and status = 'open'",
        plan_id,
    )
    if still_open:
        return request_id  # type: ignore[no-any-return]
    if plan_status == "awaiting_manual":
        await conn.execute(
            "update erasure_plans set status = 'approved', next_attempt_at = null where id = $1", plan_id
        )
        await conn.execute("select pg_notify('dsr_erasure', $1)", str(plan_id))
    was_overdue = await conn.fetchval(
        "select bool_or(overdue_at is not null) from manual_tasks where plan_id = $1 and kind = 'erasure'",
        plan_id,
    )
    if request_status == RequestStatus.needs_review.value and was_overdue:
        await change_status(
            conn,
            request_id,
            RequestStatus.fulfilling,
            actor=actor,
            reason=f"manual erasure confirmed: {system}",
        )
    return request_id  # type: ignore[no-any-return]


async def mark_overdue(pool: asyncpg.Pool, *, limit: int = 100) -> int:
    """Send the request of every open erasure task past its due date to `needs_review`, the system
    named (once per task); returns how many. Safe with several workers (`skip locked`)."""
    done = 0
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            """select t.id, t.request_id, t.system, t.due_at from manual_tasks t
               join requests r on r.id = t.request_id
               where t.kind = 'erasure' and t.status = 'open' and t.overdue_at is null
                 and t.due_at <= now() and r.status = 'fulfilling'
               order by t.due_at limit $1 for update of t skip locked""",
            limit,
        )
        for row in rows:
            await conn.execute("update manual_tasks set overdue_at = now() where id = $1", row["id"])
            await audit(
                conn,
                row["request_id"],
                NAME,
                "erasure.manual_task_overdue",
                {"system": row["system"], "due_at": row["due_at"].isoformat()},
            )
            current = await conn.fetchval("select status from requests where id = $1", row["request_id"])
            if current == RequestStatus.fulfilling.value:  # two tasks of one request: one review
                await change_status(
                    conn,
                    row["request_id"],
                    RequestStatus.needs_review,
                    actor=NAME,
                    reason=f"{OVERDUE}: the manual erasure task for {row['system']} is past its due date",
                )
            done += 1
    return done
