"""Systems without an interface: an agent searches them by hand.

The system's adapter (`services.systems.manual`) cannot answer in a round, so it says the answer
is pending; the service then opens a task (one per request and system, with its own due date) and the request waits like it does for a
system that is down, until the agent answers or the task is overdue (then a human reviews).

These are the `search` tasks of `manual_tasks`; the erasure's tasks there (`kind = 'erasure'`,
`services/erasure/tasks.py`) are an agent's changes by hand after the subject was found.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import asyncpg

from services.runtime.ledger import audit


async def open_task(
    conn: asyncpg.Connection, request_id: uuid.UUID, system: str, *, now: datetime, days: int
) -> datetime:
    """Open the agent's task for `system` (once per request); returns its due time."""
    due: datetime = await conn.fetchval(
        """insert into manual_tasks (request_id, system, kind, due_at) values ($1, $2, 'search', $3)
           on conflict (request_id, system, kind) do update set system = excluded.system
           returning due_at""",
        request_id,
        system,
        now + timedelta(days=days),
    )
    return due


class TaskConflict(Exception):
    """No such open task."""


async def answer_task(
    conn: asyncpg.Connection, task_id: int, *, found: bool, note: str, actor: str
) -> uuid.UUID:
    """Record an agent's answer to a manual search; the waiting search runs again at once and counts
    the system as searched. Returns the task's request."""
    row = await conn.fetchrow(
        """update manual_tasks set status = 'answered', answered_at = now(), answered_by = $2, answer = $3
           where id = $1 and kind = 'search' and status = 'open' returning request_id, system""",
        task_id,
        actor,
        {"found": found, "note": note},
    )
    if row is None:
        raise TaskConflict(str(task_id))
    await audit(
        conn,
        row["request_id"],
        actor,
        "locator.manual_task_answered",
        {"system": row["system"], "found": found},
    )
    await conn.execute(
        "update locator_waits set next_attempt_at = now() where request_id = $1", row["request_id"]
    )
    return row["request_id"]  # type: ignore[no-any-return]


async def answered_systems(conn: asyncpg.Connection, request_id: uuid.UUID) -> set[str]:
    """The manual systems an agent has dealt with by hand for this request: searched (a search
    task answered) or erased in (an erasure task confirmed). A search, and the erasure's re-scan,
    counts them as searched."""
    rows = await conn.fetch(
        """select system from manual_tasks where request_id = $1
           and ((kind = 'search' and status = 'answered') or (kind = 'erasure' and status = 'done'))""",
        request_id,
    )
    return {row["system"] for row in rows}
