"""Putting requests straight into the ledger, for tests that start mid-lifecycle."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg

from schemas.envelope import Envelope
from schemas.events import RequestVerified
from schemas.requests import RequestType


async def insert_verified_request(conn: asyncpg.Connection) -> uuid.UUID:
    request_id = uuid.uuid4()
    number = await conn.fetchval("select nextval('request_reference_seq')")
    await conn.execute(
        """insert into requests (id, reference, type, channel, status, received_at, due_date, subject, correlation_id)
           values ($1, $2, 'access', 'phone', 'verified', $3, $4, $5, $6)""",
        request_id,
        f"DSR-TEST-{number:06d}",
        datetime.now(UTC),
        datetime.now(UTC).date(),
        {"national_id": "01017012345"},
        str(request_id),
    )
    return request_id


def verified_event(request_id: uuid.UUID) -> Envelope[RequestVerified]:
    return Envelope[RequestVerified](
        event_type="request.verified",
        producer="intake",
        request_id=request_id,
        payload=RequestVerified(
            reference="DSR-TEST", type=RequestType.access, due_date=datetime.now(UTC).date()
        ),
    )
