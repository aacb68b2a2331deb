"""A person's release of special-category data (Art. 9) held back from an access extract.

The request waits in `needs_review` (reason `special_category`) until an agent or the DPO decides:
`release` puts the special-category fields in the extract, `withhold` leaves them out and lists
them. Either way the decision, who made it and why are recorded, and the extract is then built,
stored and the request completed in the same transaction. The API's review endpoint calls
`decide`; the DPO console will call it too.
"""

from __future__ import annotations

import uuid

import asyncpg

from schemas.requests import RequestStatus
from services.fulfilment.access import SPECIAL_CATEGORY_REVIEW, AccessFulfilment
from services.fulfilment.extract import SpecialRelease
from services.runtime.ledger import RequestNotFound, audit, change_status, lock_request


class NotAwaitingRelease(Exception):
    """The request is not waiting for a special-category release (decided already, or another review)."""


async def decide(
    conn: asyncpg.Connection,
    access: AccessFulfilment,
    request_id: uuid.UUID,
    *,
    decision: SpecialRelease,
    reason: str,
    actor: str,
) -> RequestStatus:
    """Record the decision and complete the extract with it; returns the request's final status.

    Call inside a transaction: the decision, the artifacts and the status commit together.
    """
    request = await lock_request(conn, request_id)
    if request is None:
        raise RequestNotFound(str(request_id))
    status = request["status"]
    waiting_for = await conn.fetchval(
        "select reason from request_status_history where request_id = $1 order by id desc limit 1",
        request_id,
    )
    if status != RequestStatus.needs_review or waiting_for != SPECIAL_CATEGORY_REVIEW:
        raise NotAwaitingRelease(str(request_id))
    await conn.execute(
        "insert into extract_reviews (request_id, decision, reason, decided_by) values ($1, $2, $3, $4)",
        request_id,
        decision.value,
        reason,
        actor,
    )
    await audit(conn, request_id, actor, "special_category_reviewed", {"decision": decision.value})
    await change_status(
        conn, request_id, RequestStatus.fulfilling, actor=actor, reason=f"special_category_{decision.value}"
    )
    await access.fulfil(conn, request_id, actor=actor, special=decision)
    return RequestStatus(await conn.fetchval("select status from requests where id = $1", request_id))
