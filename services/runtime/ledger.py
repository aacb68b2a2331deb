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


async def change_status(
    conn: asyncpg.Connection,
    request_id: uuid.UUID,
    wanted: RequestStatus,
    *,
    actor: str,
    reason: str | None = None,
) -> RequestStatus:
    """Move a request to `wanted` (checked against the status machine); returns the old status."""
    current = await conn.fetchval("select status from requests where id = $1 for update", request_id)
    if current is None:
        raise RequestNotFound(str(request_id))
    old = RequestStatus(current)
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
