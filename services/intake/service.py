"""Intake's flow, shared by HTTP and Kafka: validate, store, decide assurance, announce.

Everything runs inside the caller's transaction, so the request, its history, its audit events
and its outbox events commit together or not at all.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from schemas.envelope import Envelope
from schemas.events import RequestReceived, RequestVerified, VerificationRequested
from schemas.registry import REQUESTS
from schemas.requests import RequestStatus, RequestSubmission, RequestView
from services.intake.domain.assurance import REQUIRED, assess, sufficient
from services.intake.domain.deadline import due_date
from services.runtime.ledger import audit, change_status
from services.runtime.outbox import enqueue

NAME = "intake"


@dataclass(frozen=True)
class Submitted:
    view: RequestView
    created: bool


def _view(row: asyncpg.Record) -> RequestView:
    return RequestView(
        id=str(row["id"]),
        reference=row["reference"],
        type=row["type"],
        channel=row["channel"],
        status=row["status"],
        received_at=row["received_at"],
        due_date=row["due_date"].isoformat(),
        paused_days=row["paused_days"],
        extended=row["extended"],
    )


async def find_by_key(conn: asyncpg.Connection, scope: str, key: str) -> RequestView | None:
    row = await conn.fetchrow(
        "select * from requests where idempotency_scope = $1 and idempotency_key = $2", scope, key
    )
    return _view(row) if row else None


async def find(
    conn: asyncpg.Connection, request_id: uuid.UUID
) -> tuple[RequestView, list[dict[str, Any]]] | None:
    row = await conn.fetchrow("select * from requests where id = $1", request_id)
    if row is None:
        return None
    history = await conn.fetch(
        "select status, at, actor, reason from request_status_history where request_id = $1 order by id",
        request_id,
    )
    return _view(row), [dict(h) for h in history]


async def submit(
    conn: asyncpg.Connection,
    submission: RequestSubmission,
    *,
    actor: str,
    idempotency_key: str | None = None,
    correlation_id: str | None = None,
    now: datetime | None = None,
) -> Submitted:
    now = now or datetime.now(UTC)
    if idempotency_key:
        existing = await find_by_key(conn, actor, idempotency_key)
        if existing:
            return Submitted(existing, created=False)
    request_id = uuid.uuid4()
    received_at = submission.received_at or now
    due = due_date(received_at)
    number = await conn.fetchval("select nextval('request_reference_seq')")
    reference = f"DSR-{now.year}-{number:06d}"
    correlation_id = correlation_id or str(request_id)
    inserted = await conn.fetchrow(
        """insert into requests (id, reference, type, channel, status, received_at, due_date, subject, details,
                                 language, correlation_id, idempotency_scope, idempotency_key)
           values ($1, $2, $3, $4, 'received', $5, $6, $7, $8, $9, $10, $11, $12)
           on conflict (idempotency_scope, idempotency_key) where idempotency_key is not null do nothing
           returning *""",
        request_id,
        reference,
        submission.type.value,
        submission.channel.value,
        received_at,
        due,
        submission.subject.model_dump(exclude_none=True),
        submission.details.model_dump(exclude_none=True, mode="json"),
        submission.details.language.value,
        correlation_id,
        actor if idempotency_key else None,
        idempotency_key,
    )
    if inserted is None:  # a concurrent retry with the same key won the race
        assert idempotency_key is not None
        original = await find_by_key(conn, actor, idempotency_key)
        assert original is not None
        return Submitted(original, created=False)
    await conn.execute(
        "insert into request_status_history (request_id, status, actor) values ($1, 'received', $2)",
        request_id,
        actor,
    )
    await audit(
        conn,
        request_id,
        actor,
        "received",
        {"type": submission.type.value, "channel": submission.channel.value},
    )
    received = Envelope[RequestReceived](
        event_type="request.received",
        producer=NAME,
        request_id=request_id,
        correlation_id=correlation_id,
        idempotency_key=idempotency_key,
        payload=RequestReceived(
            reference=reference,
            type=submission.type,
            channel=submission.channel,
            status=RequestStatus.received,
            due_date=due,
        ),
    )
    await enqueue(conn, REQUESTS, received)
    await _decide_assurance(conn, request_id, reference, submission, actor, due, correlation_id)
    row = await conn.fetchrow("select * from requests where id = $1", request_id)
    return Submitted(_view(row), created=True)


async def _decide_assurance(
    conn: asyncpg.Connection,
    request_id: uuid.UUID,
    reference: str,
    submission: RequestSubmission,
    actor: str,
    due: Any,
    correlation_id: str,
) -> RequestStatus:
    level = assess(submission.channel, submission.verification)
    if submission.verification is not None:
        await audit(
            conn,
            request_id,
            actor,
            "verification_recorded",
            {
                "method": submission.verification.method.value,
                "checks": [c.value for c in submission.verification.checks],
                "verified_by": submission.verification.verified_by,
                "assurance": level.name,
            },
        )
    if sufficient(submission.type, level):
        await change_status(
            conn, request_id, RequestStatus.verified, actor=actor, reason=f"assurance {level.name}"
        )
        event: Envelope[Any] = Envelope[RequestVerified](
            event_type="request.verified",
            producer=NAME,
            request_id=request_id,
            correlation_id=correlation_id,
            payload=RequestVerified(reference=reference, type=submission.type, due_date=due),
        )
        status = RequestStatus.verified
    else:
        required = REQUIRED[submission.type].name
        await change_status(
            conn,
            request_id,
            RequestStatus.awaiting_verification,
            actor=actor,
            reason=f"assurance {level.name} < {required}",
        )
        event = Envelope[VerificationRequested](
            event_type="request.verification_requested",
            producer=NAME,
            request_id=request_id,
            correlation_id=correlation_id,
            payload=VerificationRequested(reference=reference, due_date=due, required_assurance=required),
        )
        status = RequestStatus.awaiting_verification
    await enqueue(conn, REQUESTS, event)
    return status
