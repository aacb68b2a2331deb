"""Email confirmation: following the link confirms control of the address (intake decides what
that is worth); a request whose link went unanswered past the configured time is refused, with
the reason, and the subject is told (the `request.refused` event the notifier turns into a notice).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from schemas.envelope import Envelope
from schemas.events import RequestRefused
from schemas.registry import REQUESTS
from schemas.requests import RequestStatus, RequestView
from services.intake import events, lifecycle
from services.public.settings import PublicSettings
from services.public.tokens import LinkRefused, spend_verification
from services.runtime.db import TRANSIENT_ERRORS
from services.runtime.host import Runtime
from services.runtime.ledger import audit, change_status
from services.runtime.outbox import enqueue

ACTOR = "public-email-link"
NOT_CONFIRMED = "identity_not_confirmed"
log = logging.getLogger(__name__)


async def confirm(conn: asyncpg.Connection, token: str, *, now: datetime) -> RequestView | LinkRefused:
    """Spend the link and record the confirmation; call inside a transaction. Raises intake's
    `Conflict` when the request no longer waits for it."""
    request_id = await spend_verification(conn, token, now=now)
    if isinstance(request_id, LinkRefused):
        return request_id
    return await lifecycle.confirm_email(conn, request_id, actor=ACTOR, now=now)


async def refuse_unconfirmed(conn: asyncpg.Connection, *, now: datetime, after: timedelta) -> list[uuid.UUID]:
    """Refuse requests that were sent a confirmation link and stayed unconfirmed longer than `after`."""
    rows = await conn.fetch(
        """select r.id, r.reference, r.correlation_id from requests r
           where r.status = 'awaiting_verification' and r.paused_since < $1
             and exists (select from email_verifications v where v.request_id = r.id)
           order by r.paused_since limit 100 for no key update of r skip locked""",
        now - after,
    )
    for row in rows:
        days = round(after.total_seconds() / 86400, 1)
        await change_status(
            conn,
            row["id"],
            RequestStatus.refused,
            actor=events.NAME,
            reason=f"identity not confirmed within {days:g} days",
        )
        await audit(conn, row["id"], events.NAME, "refused_unconfirmed", {"days": days})
        await enqueue(
            conn,
            REQUESTS,
            Envelope[RequestRefused](
                event_type="request.refused",
                producer=events.NAME,
                request_id=row["id"],
                correlation_id=row["correlation_id"],
                payload=RequestRefused(reference=row["reference"], reason_code=NOT_CONFIRMED),
            ),
        )
    return [row["id"] for row in rows]


async def expiry_loop(pool: asyncpg.Pool, settings: PublicSettings, every: float = 60.0) -> None:
    after = timedelta(days=settings.verification_timeout_days)
    while True:
        try:
            async with pool.acquire() as conn, conn.transaction():
                refused = await refuse_unconfirmed(conn, now=datetime.now(UTC), after=after)
            if refused:
                log.info("refused unconfirmed requests", extra={"count": len(refused)})
        except TRANSIENT_ERRORS as exc:
            log.warning("verification expiry: ledger unavailable", extra={"error": type(exc).__name__})
        except Exception:
            log.exception("verification expiry failed; going on")
        await asyncio.sleep(every)


def background(runtime: Runtime) -> list[Coroutine[Any, Any, None]]:
    """The expiry loop, run by the API process beside the public pages."""
    return [expiry_loop(runtime.pool, PublicSettings())]
