"""The idempotent consumer: an event's effect and the record that it was handled commit together."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import asyncpg

Effect = Callable[[asyncpg.Connection], Awaitable[None]]


async def process_once(
    pool: asyncpg.Pool,
    consumer: str,
    event_id: uuid.UUID,
    effect: Effect,
    *,
    topic: str = "",
    partition: int | None = None,
    offset: int | None = None,
) -> bool:
    """Run `effect` in a transaction unless `consumer` already handled `event_id`.

    Returns False for a duplicate. If `effect` raises, nothing is recorded and the event can be
    handled again.
    """
    async with pool.acquire() as conn, conn.transaction():
        fresh = await conn.fetchval(
            """insert into processed_events (consumer, event_id, topic, partition, "offset")
               values ($1, $2, $3, $4, $5) on conflict do nothing returning true""",
            consumer,
            event_id,
            topic,
            partition,
            offset,
        )
        if not fresh:
            return False
        await effect(conn)
    return True
