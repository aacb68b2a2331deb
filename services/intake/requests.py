"""Reading requests: a stored request as the API shows it, found by id, idempotency key or event."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from schemas.requests import TERMINAL_STATUSES, RequestView
from services.intake.errors import NotFound
from services.runtime.ledger import lock_request

TERMINAL = [s.value for s in TERMINAL_STATUSES]


def view(row: asyncpg.Record) -> RequestView:
    return RequestView(
        id=str(row["id"]),
        reference=row["reference"],
        type=row["type"],
        channel=row["channel"],
        status=row["status"],
        received_at=row["received_at"],
        due_date=row["due_date"].isoformat(),
        paused_days=row["paused_days"],
        extended=row["extended"],
    )


async def find_by_key(conn: asyncpg.Connection, scope: str, key: str) -> RequestView | None:
    """The request a submission with this key was answered with (the original, for a duplicate)."""
    row = await conn.fetchrow(
        "select * from requests where idempotency_scope = $1 and idempotency_key = $2", scope, key
    )
    return (await as_answered(conn, row))[0] if row else None


async def find_for_event(
    conn: asyncpg.Connection, producer: str, idempotency_key: str | None, correlation_id: str
) -> tuple[RequestView, str | None] | None:
    """The request a submission event created, and the reference of the original it joined."""
    if idempotency_key is not None:
        row = await conn.fetchrow(
            "select * from requests where idempotency_scope = $1 and idempotency_key = $2",
            producer,
            idempotency_key,
        )
    else:
        row = await conn.fetchrow(
            "select * from requests where correlation_id = $1 order by created_at limit 1", correlation_id
        )
    return None if row is None else await as_answered(conn, row)


async def as_answered(conn: asyncpg.Connection, row: asyncpg.Record) -> tuple[RequestView, str | None]:
    """A linked duplicate is answered with the open request it joined, as on its first submission."""
    if row["duplicate_of"] is None:
        return view(row), None
    original = await conn.fetchrow("select * from requests where id = $1", row["duplicate_of"])
    return view(original), original["reference"]


async def find(
    conn: asyncpg.Connection, request_id: uuid.UUID
) -> tuple[RequestView, list[dict[str, Any]]] | None:
    row = await conn.fetchrow("select * from requests where id = $1", request_id)
    if row is None:
        return None
    history = await conn.fetch(
        "select status, at, actor, reason from request_status_history where request_id = $1 order by id",
        request_id,
    )
    return view(row), [dict(h) for h in history]


async def locked(conn: asyncpg.Connection, request_id: uuid.UUID) -> asyncpg.Record:
    row = await lock_request(conn, request_id)
    if row is None:
        raise NotFound(str(request_id))
    return row
