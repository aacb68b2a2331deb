"""Ledger writes shared by every service: status changes with their history and audit events."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from schemas.requests import RequestStatus
from services.runtime.lifecycle import check_transition

ANSWERED_BY_POST = "(channel = 'letter' or details->>'reply_by' = 'post')"
"""SQL over `requests`: the answer goes by post, so its documents are also rendered as PDF (the
letter's content)."""


class RequestNotFound(Exception):
    pass


async def lock_request(conn: asyncpg.Connection, request_id: uuid.UUID) -> asyncpg.Record | None:
    """Lock a request's row against other writers until the transaction ends, and return it (None:
    no such request). Every writer that changes a request takes this lock first.

    `for no key update`, not `for update`: writers still wait for each other, but an insert that
    only references the request (an audit event, a history row: their foreign key check takes a
    key-share lock) does not wait for a writer. With `for update` it did, and a console page view
    deadlocked with a writer: the view's `console.viewed` event holds the request's audit-chain lock
    (the `audit_chain` trigger) while its foreign key check waits for the row, and the writer, which
    locked the row first, then waits for the chain lock to write its own event. PostgreSQL ended
    one of them after `deadlock_timeout`: the page answered 500, or the writer's event was retried."""
    return await conn.fetchrow("select * from requests where id = $1 for no key update", request_id)


async def change_status(
    conn: asyncpg.Connection,
    request_id: uuid.UUID,
    wanted: RequestStatus,
    *,
    actor: str,
    reason: str | None = None,
) -> RequestStatus:
    """Move a request to `wanted` (checked against the status machine); returns the old status."""
    row = await lock_request(conn, request_id)
    if row is None:
        raise RequestNotFound(str(request_id))
    old = RequestStatus(row["status"])
    check_transition(old, wanted)
    await conn.execute(
        "update requests set status = $2, updated_at = now() where id = $1", request_id, wanted.value
    )
    await conn.execute(
        "insert into request_status_history (request_id, status, actor, reason) values ($1, $2, $3, $4)",
        request_id,
        wanted.value,
        actor,
        reason,
    )
    await audit(
        conn, request_id, actor, "status_changed", {"from": old.value, "to": wanted.value, "reason": reason}
    )
    return old


async def audit(
    conn: asyncpg.Connection, request_id: uuid.UUID | None, actor: str, action: str, detail: dict[str, Any]
) -> None:
    await conn.execute(
        "insert into audit_events (request_id, actor, action, detail) values ($1, $2, $3, $4)",
        request_id,
        actor,
        action,
        detail,
    )
