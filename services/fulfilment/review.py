"""A person's decision on what an access extract held back: special-category data (Art. 9) and
free text that may name another person (Art. 15(4)).

The request waits in `needs_review` (reason `special_category`, `other_person_in_free_text`, or
both joined by `+`) until a person decides: `release` puts the special-category fields in the
extract and releases the free text (other people's identifiers in it stay withheld: those need no
judgement), `withhold` leaves them out and lists them (a withheld free text is replaced by a marker
saying why). Either way the decision, who made it and why are recorded, and the extract is then
built, stored and the request completed in the same transaction. The API's review endpoint and the
DPO console call `decide`.
"""

from __future__ import annotations

import uuid

import asyncpg

from schemas.requests import RequestStatus
from services.fulfilment.access import (
    FREE_TEXT_REVIEW,
    REVIEW_REASONS,
    SPECIAL_CATEGORY_REVIEW,
    AccessFulfilment,
)
from services.fulfilment.extract import SpecialRelease
from services.runtime.ledger import RequestNotFound, audit, change_status, lock_request


class NotAwaitingRelease(Exception):
    """The request is not waiting for a decision on its extract (decided already, or another review)."""


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
    if status != RequestStatus.needs_review or waiting_for not in REVIEW_REASONS:
        raise NotAwaitingRelease(str(request_id))
    await conn.execute(
        "insert into extract_reviews (request_id, decision, reason, decided_by) values ($1, $2, $3, $4)",
        request_id,
        decision.value,
        reason,
        actor,
    )
    covers = waiting_for.split("+")
    special = SPECIAL_CATEGORY_REVIEW in covers
    action = "special_category_reviewed" if special else "free_text_reviewed"
    await audit(conn, request_id, actor, action, {"decision": decision.value, "review": waiting_for})
    await change_status(
        conn, request_id, RequestStatus.fulfilling, actor=actor, reason=f"{waiting_for}_{decision.value}"
    )
    # What the review did not cover (data that appeared since) is withheld, never released unseen.
    await access.fulfil(
        conn,
        request_id,
        actor=actor,
        special=decision if special else SpecialRelease.withhold,
        free_text=decision if FREE_TEXT_REVIEW in covers else SpecialRelease.withhold,
    )
    return RequestStatus(await conn.fetchval("select status from requests where id = $1", request_id))
