"""The locator's flow: `request.verified` in, the search, `request.located` out.

Walking skeleton: the data catalogue and connectors arrive with the locator issue; until then
the search covers no systems and finds nothing, but every step is recorded in the ledger.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from schemas.envelope import Envelope
from schemas.events import RequestVerified, SubjectLocated
from schemas.registry import LOCATED, REQUESTS
from schemas.requests import RequestStatus
from services.runtime.consumer import EventConsumer
from services.runtime.host import Runtime, ServiceSpec
from services.runtime.ledger import change_status
from services.runtime.outbox import enqueue

NAME = "locator"


async def on_verified(conn: asyncpg.Connection, event: Envelope[Any]) -> None:
    payload: RequestVerified = event.payload
    assert event.request_id is not None
    await change_status(conn, event.request_id, RequestStatus.locating, actor=NAME)
    located = Envelope[SubjectLocated](
        event_type="request.located",
        producer=NAME,
        request_id=event.request_id,
        correlation_id=event.correlation_id,
        payload=SubjectLocated(type=payload.type, finding_count=0, systems_searched=0),
    )
    await enqueue(conn, LOCATED, located)


def consumers(runtime: Runtime) -> list[EventConsumer]:
    return [
        EventConsumer(
            NAME,
            REQUESTS,
            {"request.verified": on_verified},
            pool=runtime.pool,
            dead_letters=runtime.dead_letters,
            settings=runtime.settings,
        )
    ]


SPEC = ServiceSpec(NAME, consumers=consumers, title="DSR locator")
