"""The Kafka intake: `request.submitted` events from Plan & Pay and integrated systems.

Every intake event gets an outcome on `dsr.intake-outcomes.v1`, keyed by its idempotency key:
accepted (with the reference and due date) or rejected (a reason code and a field path).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from schemas.envelope import Envelope
from schemas.events import RequestAccepted, RequestRejected
from schemas.registry import INTAKE, INTAKE_OUTCOMES
from schemas.requests import RequestView
from services.intake import admission, requests
from services.intake.domain.identifiers import REASON_CODES, InvalidIdentifier
from services.intake.events import NAME as PRODUCER
from services.runtime.consumer import EventConsumer, EventFailed, Unprocessable, Unusable
from services.runtime.host import Runtime
from services.runtime.outbox import enqueue, enqueue_many
from services.runtime.settings import Settings


def _handler(settings: Settings) -> Any:
    async def on_submitted(conn: asyncpg.Connection, event: Envelope[Any]) -> None:
        try:
            result = await admission.submit(
                conn,
                event.payload,
                actor=event.producer,
                idempotency_key=event.idempotency_key,
                correlation_id=event.correlation_id,
                accept_synthetic=settings.accept_synthetic_ids,
            )
        except InvalidIdentifier as exc:
            raise Unprocessable(exc.reason_code, f"payload.{exc.field}") from None
        await _accept(conn, event, result.view, result.duplicate_of)

    return on_submitted


def _batch_handler(settings: Settings) -> Any:
    async def on_submitted_many(conn: asyncpg.Connection, events: Sequence[Envelope[Any]]) -> None:
        """The same flow set-based: every event of the batch stored and answered in a few round trips."""
        pending = [
            admission.Pending(event.payload, event.producer, event.idempotency_key, event.correlation_id)
            for event in events
        ]
        results = await admission.submit_many(conn, pending, accept_synthetic=settings.accept_synthetic_ids)
        for index, result in enumerate(results):
            if isinstance(result, InvalidIdentifier):
                raise EventFailed(index, Unprocessable(result.reason_code, f"payload.{result.field}"))
        await enqueue_many(
            conn,
            INTAKE_OUTCOMES,
            [
                (_outcome(event, result.view, result.duplicate_of), event.idempotency_key or result.view.id)
                for event, result in zip(events, results, strict=True)
                if not isinstance(result, InvalidIdentifier)
            ],
        )

    return on_submitted_many


async def _accept(
    conn: asyncpg.Connection, event: Envelope[Any], view: RequestView, duplicate_of: str | None
) -> None:
    await enqueue(
        conn, INTAKE_OUTCOMES, _outcome(event, view, duplicate_of), key=event.idempotency_key or view.id
    )


def _outcome(event: Envelope[Any], view: RequestView, duplicate_of: str | None) -> Envelope[RequestAccepted]:
    return Envelope[RequestAccepted](
        event_type="request.accepted",
        producer=PRODUCER,
        request_id=view.id,
        correlation_id=event.correlation_id,
        idempotency_key=event.idempotency_key,
        payload=RequestAccepted(
            request_id=view.id,
            reference=view.reference,
            status=view.status,
            due_date=view.due_date,
            duplicate_of=duplicate_of,
        ),
    )


async def on_redelivered(conn: asyncpg.Connection, event: Envelope[Any]) -> None:
    """The same event again: answer again with what the first delivery created."""
    found = await requests.find_for_event(conn, event.producer, event.idempotency_key, event.correlation_id)
    if found is not None:
        await _accept(conn, event, *found)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= 200 else None


async def on_rejected(conn: asyncpg.Connection, unusable: Unusable) -> None:
    """Answer a submission that cannot be used; echo only its own opaque keys, never its content."""
    raw = unusable.envelope or {}
    idempotency_key = _text(raw.get("idempotency_key"))
    key = idempotency_key or (unusable.key.decode("utf-8", "replace")[:200] if unusable.key else None)
    outcome = Envelope[RequestRejected](
        event_type="request.rejected",
        producer=PRODUCER,
        correlation_id=_text(raw.get("correlation_id")) or _text(raw.get("event_id")) or "unknown",
        idempotency_key=idempotency_key,
        payload=RequestRejected(reason_code=unusable.reason_code, field_path=unusable.field_path),
    )
    await enqueue(conn, INTAKE_OUTCOMES, outcome, key=key)


def consumers(runtime: Runtime) -> list[EventConsumer]:
    return [
        EventConsumer(
            "intake",
            INTAKE,
            {"request.submitted": _handler(runtime.settings)},
            pool=runtime.pool,
            dead_letters=runtime.dead_letters,
            settings=runtime.settings,
            on_rejected=on_rejected,
            on_duplicate=on_redelivered,
            batch_handlers={"request.submitted": _batch_handler(runtime.settings)},
            reason_codes=REASON_CODES,
        )
    ]
