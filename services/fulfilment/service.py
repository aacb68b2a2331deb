"""Fulfilment's flow: `request.located` in, the right fulfilled, `request.fulfilled` out.

Walking skeleton: the extract and erasure steps arrive with the fulfilment issues; until then
fulfilment records `fulfilling` and `completed` in the ledger.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from schemas.envelope import Envelope
from schemas.events import RequestFulfilled, SubjectLocated
from schemas.registry import FULFILLED, LOCATED
from schemas.requests import RequestStatus
from services.artifacts.sealing import ConfiguredKeys
from services.artifacts.store import ArtifactStore
from services.runtime.consumer import EventConsumer
from services.runtime.host import Runtime, ServiceSpec
from services.runtime.ledger import change_status
from services.runtime.outbox import enqueue

NAME = "fulfilment"
log = logging.getLogger(__name__)


async def on_located(conn: asyncpg.Connection, event: Envelope[Any]) -> None:
    payload: SubjectLocated = event.payload
    assert event.request_id is not None
    await change_status(conn, event.request_id, RequestStatus.fulfilling, actor=NAME)
    await change_status(
        conn, event.request_id, RequestStatus.completed, actor=NAME, reason="walking skeleton"
    )
    fulfilled = Envelope[RequestFulfilled](
        event_type="request.fulfilled",
        producer=NAME,
        request_id=event.request_id,
        correlation_id=event.correlation_id,
        payload=RequestFulfilled(type=payload.type, status=RequestStatus.completed),
    )
    await enqueue(conn, FULFILLED, fulfilled)


def consumers(runtime: Runtime) -> list[EventConsumer]:
    return [
        EventConsumer(
            NAME,
            LOCATED,
            {"request.located": on_located},
            pool=runtime.pool,
            dead_letters=runtime.dead_letters,
            settings=runtime.settings,
        )
    ]


async def purge_artifacts(runtime: Runtime) -> None:
    """Hourly: artifacts older than the retention period lose their content (audited)."""
    store = ArtifactStore(ConfiguredKeys.parse(runtime.settings.artifact_keys))
    while True:
        cutoff = datetime.now(UTC) - timedelta(days=runtime.settings.artifact_retention_days)
        try:
            async with runtime.pool.acquire() as conn, conn.transaction():
                await store.purge(conn, older_than=cutoff, actor=NAME)
        except Exception as exc:  # the database away: next hour
            log.warning("artifact purge failed", extra={"error": type(exc).__name__})
        await asyncio.sleep(3600)


SPEC = ServiceSpec(
    NAME, consumers=consumers, background=lambda runtime: [purge_artifacts(runtime)], title="DSR fulfilment"
)
