"""A source system away while a plan runs: the plan waits, longer each time, and after long enough
the request goes to a person with the system named.

Nothing is lost meanwhile: the plan stays approved with its wait in `erasure_plans` (attempts,
since when, until when), so any worker picks it up when it is due.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

import asyncpg

from schemas.requests import RequestStatus
from services.erasure import metrics
from services.erasure.settings import ErasureSettings
from services.runtime.ledger import audit, change_status
from services.systems.contract import SystemUnknown

NAME = "fulfilment"
log = logging.getLogger(__name__)

UNREACHABLE = "system_unreachable"
"""The review reason (plan) and reason code (status history) of a system away too long."""
CLEAR_WAIT = "attempts = 0, next_attempt_at = null, unreachable_since = null, unreachable_system = null"
"""The `set` list that ends a plan's wait for a system."""


class RescanWaiting(SystemUnknown):
    """The re-scan could not read a system (down, or timing out): the plan stays approved and the
    worker tries its end again later, as it does when a system cannot be changed."""

    def __init__(self, systems: Sequence[str]) -> None:
        named = sorted(systems) or ["unknown"]
        super().__init__(named[0], "rescan_unreadable")
        self.systems = tuple(named)


async def wait_for_system(
    conn: asyncpg.Connection,
    settings: ErasureSettings,
    plan_id: uuid.UUID,
    request_id: uuid.UUID | None,
    exc: SystemUnknown,
) -> None:
    """Record the wait: doubling, capped; once the system has been away
    `erasure_unreachable_review_seconds` the request goes to review with the system named. A
    person's approval runs it again (`review.approve_plan`)."""
    system, cause = exc.system, exc.cause
    systems = getattr(exc, "systems", (system,))
    metrics.UNREACHABLE_ROUNDS.labels(system).inc()
    log.warning(
        "erasure plan waits for a source system",
        extra={"plan_id": str(plan_id), "system": system, "error": cause},
    )
    async with conn.transaction():
        row = await conn.fetchrow(
            """update erasure_plans set
                   attempts = case when unreachable_system = $2 then attempts + 1 else 1 end,
                   unreachable_since = case when unreachable_system = $2
                                            then coalesce(unreachable_since, now()) else now() end,
                   unreachable_system = $2
               where id = $1 and status = 'approved'
               returning attempts, unreachable_since, now() as now""",
            plan_id,
            system,
        )
        if row is None:
            return
        attempts, since, now = row["attempts"], row["unreachable_since"], row["now"]
        away = (now - since).total_seconds()
        detail = {
            "plan_id": str(plan_id),
            "system": system,
            "systems": list(systems),
            "cause": cause,
            "attempts": attempts,
            "since": since.isoformat(),
        }
        # A scheduled plan has no request to review: it goes on waiting at the longest interval
        # (the metric and its alert show it).
        if away >= settings.erasure_unreachable_review_seconds and request_id is not None:
            await _to_review(conn, plan_id, request_id, detail, system, away, attempts)
            return
        wait = min(
            settings.erasure_retry_initial_seconds * 2 ** (attempts - 1),
            settings.erasure_retry_max_seconds,
        )
        await conn.execute(
            "update erasure_plans set next_attempt_at = now() + make_interval(secs => $2) where id = $1",
            plan_id,
            wait,
        )
        if attempts == 1:  # the first round of an outage; the columns count the rest
            await audit(conn, request_id, NAME, "erasure.system_unreachable", detail)


async def _to_review(
    conn: asyncpg.Connection,
    plan_id: uuid.UUID,
    request_id: uuid.UUID,
    detail: dict[str, object],
    system: str,
    away: float,
    attempts: int,
) -> None:
    await conn.execute(
        """update erasure_plans set status = 'needs_review', review_reasons = $2,
                  next_attempt_at = null where id = $1""",
        plan_id,
        [UNREACHABLE],
    )
    await audit(conn, request_id, NAME, "erasure.system_unreachable_review", detail)
    current = await conn.fetchval("select status from requests where id = $1", request_id)
    if current == RequestStatus.fulfilling.value:
        await change_status(
            conn,
            request_id,
            RequestStatus.needs_review,
            actor=NAME,
            reason=f"{UNREACHABLE}: {system} could not be reached for "
            f"{int(away)} s ({attempts} attempts); approve the plan again once it is back",
        )
