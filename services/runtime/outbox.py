"""The outbox writer: an event is stored in the same transaction as the change it announces."""

from __future__ import annotations

from typing import Any

import asyncpg

from schemas.envelope import Envelope


def encode(envelope: Envelope[Any]) -> bytes:
    return envelope.model_dump_json().encode()


async def enqueue_many(
    conn: asyncpg.Connection, topic: str, keyed: list[tuple[Envelope[Any], str | None]]
) -> None:
    """Store many envelopes for `topic` in one statement, in order; each with its key (see `enqueue`)."""
    if not keyed:
        return
    keys = [
        (key if key is not None else str(e.request_id) if e.request_id is not None else None)
        for e, key in keyed
    ]
    await conn.execute(
        """insert into outbox (producer, topic, key, value, event_id, event_type, request_id)
           select p, $1, k, v, e, et, r
           from unnest($2::text[], $3::bytea[], $4::bytea[], $5::uuid[], $6::text[], $7::uuid[])
                with ordinality as t(p, k, v, e, et, r, n)
           order by n""",
        topic,
        [e.producer for e, _ in keyed],
        [k.encode() if k is not None else None for k in keys],
        [encode(e) for e, _ in keyed],
        [e.event_id for e, _ in keyed],
        [e.event_type for e, _ in keyed],
        [e.request_id for e, _ in keyed],
    )


async def enqueue(
    conn: asyncpg.Connection, topic: str, envelope: Envelope[Any], *, key: str | None = None
) -> None:
    """Store `envelope` for publication on `topic` (its logical name); call inside a transaction.

    The key defaults to the request id so that every event of one request lands on one partition.
    """
    if key is None and envelope.request_id is not None:
        key = str(envelope.request_id)
    await conn.execute(
        """insert into outbox (producer, topic, key, value, event_id, event_type, request_id)
           values ($1, $2, $3, $4, $5, $6, $7)""",
        envelope.producer,
        topic,
        key.encode() if key is not None else None,
        encode(envelope),
        envelope.event_id,
        envelope.event_type,
        envelope.request_id,
    )
