"""The locator's flow: `request.verified` in; the search; findings and `request.located` out, or a
review, or a wait for a system that could not be read.

A waiting request does not hold its partition: the handler records the wait (the ledger's
`locator_waits`, with the next attempt's time) and returns; `RetryLoop` in the same process
searches again when it is due, and puts the request in `needs_review` when a system stays down
past `DSR_LOCATOR_UNAVAILABLE_REVIEW_SECONDS` (or an agent's task is overdue).
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
from schemas.events import RequestVerified, ReviewRequired, SubjectLocated
from schemas.registry import EVENTS, LOCATED, REQUESTS
from schemas.requests import RequestStatus, RequestType
from services.catalogue.drift.audit import note_drift
from services.catalogue.loader import load_catalogue
from services.locator.locate import Located, Locator, NeedsReview, Outcome, Waiting
from services.locator.manual import open_task
from services.locator.request_search import search_request
from services.locator.review import save_review
from services.locator.settings import LocatorSettings
from services.locator.store import (
    Wait,
    clear_wait,
    record_wait,
    save_findings,
    take_due_wait,
)
from services.runtime.consumer import EventConsumer
from services.runtime.db import TRANSIENT_ERRORS
from services.runtime.deadletter import DeadLetters
from services.runtime.host import Runtime, ServiceSpec
from services.runtime.ledger import audit, change_status, lock_request
from services.runtime.outbox import enqueue
from services.runtime.settings import Settings, get_settings

NAME = "locator"
log = logging.getLogger(__name__)


class LocatorFlow:
    """What happens to a request once searched; shared by the consumer and the retry loop."""

    def __init__(self, locator: Locator, settings: LocatorSettings) -> None:
        self.locator = locator
        self.settings = settings

    async def on_verified(self, conn: asyncpg.Connection, event: Envelope[Any]) -> None:
        payload: RequestVerified = event.payload
        assert event.request_id is not None
        outcome = await self._search(conn, event.request_id)
        reason = _waiting_reason(outcome) if isinstance(outcome, Waiting) else None
        await change_status(conn, event.request_id, RequestStatus.locating, actor=NAME, reason=reason)
        await self._conclude(conn, event.request_id, payload.type, event.correlation_id, outcome, None)

    async def retry(self, conn: asyncpg.Connection, wait: Wait) -> None:
        """Search a waiting request again (the wait row is locked by the caller's transaction)."""
        request = await lock_request(conn, wait.request_id)
        if request is None or request["status"] != RequestStatus.locating.value:
            await clear_wait(conn, wait.request_id)  # cancelled, or a human took it meanwhile
            return
        outcome = await self._search(conn, wait.request_id)
        await self._conclude(
            conn, wait.request_id, RequestType(request["type"]), request["correlation_id"], outcome, wait
        )

    async def _search(self, conn: asyncpg.Connection, request_id: uuid.UUID) -> Outcome:
        return await search_request(conn, self.locator, request_id)

    async def _conclude(
        self,
        conn: asyncpg.Connection,
        request_id: uuid.UUID,
        request_type: RequestType,
        correlation_id: str,
        outcome: Outcome,
        waited: Wait | None,
    ) -> None:
        if isinstance(outcome, Waiting):
            review = await self._wait(conn, request_id, outcome, waited)
            if review is None:
                return
            outcome = review
        await clear_wait(conn, request_id)
        if isinstance(outcome, NeedsReview):
            if outcome.candidates:
                await save_review(conn, request_id, outcome.candidates, outcome.shared)
            await change_status(
                conn, request_id, RequestStatus.needs_review, actor=NAME, reason=outcome.reason_code
            )
            await audit(
                conn,
                request_id,
                NAME,
                "locator.review_required",
                {
                    "reason_code": outcome.reason_code,
                    "counts": outcome.counts,
                    "systems": list(outcome.systems),
                },
            )
            review_payload = ReviewRequired(
                stage="locate",
                reason_code=outcome.reason_code,
                counts=outcome.counts,
                systems=list(outcome.systems),
            )
            await enqueue(
                conn,
                LOCATED,
                _envelope("request.review_required", request_id, correlation_id, review_payload),
            )
            return
        assert isinstance(outcome, Located)
        await save_findings(conn, request_id, outcome.findings)
        by_system = outcome.by_system
        await audit(
            conn,
            request_id,
            NAME,
            "locator.located",
            {
                "findings_by_system": by_system,
                "rounds": outcome.rounds,
                "systems_searched": outcome.systems_searched,
            },
        )
        await note_drift(conn, request_id, NAME, "locate")
        located = SubjectLocated(
            type=request_type,
            finding_count=len(outcome.findings),
            systems_searched=outcome.systems_searched,
            findings_by_system=by_system,
        )
        await enqueue(conn, LOCATED, _envelope("request.located", request_id, correlation_id, located))

    async def _wait(
        self, conn: asyncpg.Connection, request_id: uuid.UUID, outcome: Waiting, waited: Wait | None
    ) -> NeedsReview | None:
        """Record the wait, or the review it turned into (a system down too long, a task overdue)."""
        now = datetime.now(UTC)
        dues = [
            await open_task(conn, request_id, system, now=now, days=self.settings.locator_manual_task_days)
            for system in outcome.manual
        ]
        outages = set(outcome.systems) - set(outcome.manual)
        if outages:
            since = waited.waiting_since if waited else now
            deadline = since + timedelta(seconds=self.settings.locator_unavailable_review_seconds)
        else:
            deadline = max(dues)
        if now >= deadline:
            code = "system_unavailable" if outages else "manual_task_overdue"
            return NeedsReview(code, {"systems": len(outcome.systems)}, outcome.systems)
        attempts = waited.attempts if waited else 0
        retry_in = min(
            self.settings.locator_retry_initial_seconds * 2**attempts, self.settings.locator_retry_max_seconds
        )
        wait = await record_wait(conn, request_id, outcome.systems, retry_in=timedelta(seconds=retry_in))
        await audit(
            conn,
            request_id,
            NAME,
            "locator.waiting",
            {"systems": list(outcome.systems), "manual": list(outcome.manual), "attempt": wait.attempts},
        )
        return None


class RetryLoop:
    """Searches waiting requests again when due, one at a time, in its own transactions."""

    def __init__(self, flow: LocatorFlow, pool: asyncpg.Pool, settings: LocatorSettings) -> None:
        self.flow = flow
        self.pool = pool
        self.settings = settings

    async def run_due(self) -> int:
        """Retry every waiting search that is due now; returns how many were retried."""
        retried = 0
        while True:
            async with self.pool.acquire() as conn, conn.transaction():
                wait = await take_due_wait(conn)
                if wait is None:
                    return retried
                await self.flow.retry(conn, wait)
            retried += 1

    async def forever(self) -> None:
        """Run `run_due` every `DSR_LOCATOR_RETRY_POLL_SECONDS` (the host cancels it at shutdown)."""
        while True:
            try:
                await self.run_due()
            except TRANSIENT_ERRORS as exc:
                log.warning("locator retry loop: ledger unavailable", extra={"error": type(exc).__name__})
            except Exception:
                log.exception("locator retry loop failed; going on")
            await asyncio.sleep(self.settings.locator_retry_poll_seconds)


def _waiting_reason(outcome: Waiting) -> str:
    return "waiting for: " + ", ".join(outcome.systems)


def _envelope(event_type: str, request_id: uuid.UUID, correlation_id: str, payload: Any) -> Envelope[Any]:
    return Envelope[Any](
        event_type=event_type,
        schema_version=EVENTS[event_type].version,
        producer=NAME,
        request_id=request_id,
        correlation_id=correlation_id,
        payload=payload,
    )


def verified_consumer(
    flow: LocatorFlow, *, pool: asyncpg.Pool, dead_letters: DeadLetters, settings: Settings
) -> EventConsumer:
    return EventConsumer(
        NAME,
        REQUESTS,
        {"request.verified": flow.on_verified},
        pool=pool,
        dead_letters=dead_letters,
        settings=settings,
    )


_default: list[LocatorFlow] = []
_flows: dict[int, LocatorFlow] = {}


def build_flow(settings: Settings) -> LocatorFlow:
    """The flow over the catalogue's systems; connects to nothing until the first search."""
    locator_settings = LocatorSettings()
    locator = Locator.from_catalogue(
        load_catalogue(settings.catalogue_dir), server_url=settings.database_url, settings=locator_settings
    )
    return LocatorFlow(locator, locator_settings)


async def on_verified(conn: asyncpg.Connection, event: Envelope[Any]) -> None:
    """The `request.verified` handler over the configured catalogue (built on first use)."""
    if not _default:
        _default.append(build_flow(get_settings()))
    await _default[0].on_verified(conn, event)


def _runtime_flow(runtime: Runtime) -> LocatorFlow:
    """One flow (and so one set of source pools) per running service, shared by both hooks."""
    if id(runtime) not in _flows:
        _flows[id(runtime)] = build_flow(runtime.settings)
    return _flows[id(runtime)]


def consumers(runtime: Runtime) -> list[EventConsumer]:
    return [
        verified_consumer(
            _runtime_flow(runtime),
            pool=runtime.pool,
            dead_letters=runtime.dead_letters,
            settings=runtime.settings,
        )
    ]


def background(runtime: Runtime) -> list[Coroutine[Any, Any, None]]:
    """The retry loop of waiting searches."""
    flow = _runtime_flow(runtime)
    return [RetryLoop(flow, runtime.pool, flow.settings).forever()]


SPEC = ServiceSpec(NAME, consumers=consumers, background=background, title="DSR locator")
