"""The Kafka intake: `request.submitted` events from Plan & Pay and integrated systems."""

from __future__ import annotations

from typing import Any

import asyncpg

from schemas.envelope import Envelope
from schemas.events import RequestAccepted
from schemas.registry import INTAKE, INTAKE_OUTCOMES
from services.intake import service
from services.runtime.consumer import EventConsumer
from services.runtime.host import Runtime
from services.runtime.outbox import enqueue


async def on_submitted(conn: asyncpg.Connection, event: Envelope[Any]) -> None:
    result = await service.submit(
        conn,
        event.payload,
        actor=event.producer,
        idempotency_key=event.idempotency_key,
        correlation_id=event.correlation_id,
    )
    view = result.view
    outcome = Envelope[RequestAccepted](
        event_type="request.accepted",
        producer=service.NAME,
        request_id=view.id,
        correlation_id=event.correlation_id,
        idempotency_key=event.idempotency_key,
        payload=RequestAccepted(
            request_id=view.id, reference=view.reference, status=view.status, due_date=view.due_date
        ),
    )
    await enqueue(conn, INTAKE_OUTCOMES, outcome, key=event.idempotency_key or view.id)


def consumers(runtime: Runtime) -> list[EventConsumer]:
    return [
        EventConsumer(
            "intake",
            INTAKE,
            {"request.submitted": on_submitted},
            pool=runtime.pool,
            dead_letters=runtime.dead_letters,
            settings=runtime.settings,
        )
    ]
