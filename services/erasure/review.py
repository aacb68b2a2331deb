"""An agent's decision on an erasure plan that waits for one: approve (it runs) or reject (the
request is refused with the agent's reason). Service functions, so the console and the API share
them; every decision is audited with the deciding key's name."""

from __future__ import annotations

import uuid

import asyncpg

from schemas.requests import RequestStatus, RequestType
from services.erasure.ending import finish_request
from services.runtime.ledger import audit, change_status


class NoPlanToDecide(Exception):
    """The request has no plan waiting for a decision."""


async def _waiting_plan(conn: asyncpg.Connection, request_id: uuid.UUID) -> uuid.UUID:
    plan_id = await conn.fetchval(
        """select id from erasure_plans where request_id = $1 and kind = 'request' and status = 'needs_review'
           for update""",
        request_id,
    )
    if plan_id is None:
        raise NoPlanToDecide(str(request_id))
    return plan_id  # type: ignore[no-any-return]


async def approve_plan(
    conn: asyncpg.Connection, request_id: uuid.UUID, *, actor: str, note: str | None = None
) -> uuid.UUID:
    """Approve the waiting plan; the erasure worker runs it at once. Call inside a transaction.

    A plan sent to review because a system could not be reached (`system_unreachable`) is approved
    the same way once the system is back: its wait starts afresh, and the systems it had finished
    are not changed again (`erasure_plan_systems`)."""
    plan_id = await _waiting_plan(conn, request_id)
    await conn.execute(
        """update erasure_plans set status = 'approved', decided_by = $2, decided_at = now(),
                  attempts = 0, next_attempt_at = null, unreachable_since = null, unreachable_system = null
           where id = $1""",
        plan_id,
        actor,
    )
    await audit(conn, request_id, actor, "erasure_plan_approved", {"plan_id": str(plan_id), "note": note})
    await change_status(
        conn, request_id, RequestStatus.fulfilling, actor=actor, reason="erasure plan approved"
    )
    await conn.execute("select pg_notify('dsr_erasure', $1)", str(plan_id))
    return plan_id


async def reject_plan(
    conn: asyncpg.Connection, request_id: uuid.UUID, *, actor: str, reason: str
) -> uuid.UUID:
    """Reject the waiting plan: nothing is erased and the request is refused with `reason`."""
    plan_id = await _waiting_plan(conn, request_id)
    await conn.execute(
        "update erasure_plans set status = 'rejected', decided_by = $2, decided_at = now() where id = $1",
        plan_id,
        actor,
    )
    await audit(conn, request_id, actor, "erasure_plan_rejected", {"plan_id": str(plan_id), "reason": reason})
    kind = await conn.fetchval("select type from requests where id = $1", request_id)
    await finish_request(conn, request_id, RequestType(kind), RequestStatus.refused, reason, actor=actor)
    return plan_id
