"""An event is published if and only if its database change committed."""

import asyncio
import json
import uuid

from schemas.registry import REQUESTS
from services.runtime.kafka import create_producer
from services.runtime.outbox import enqueue
from services.runtime.relay import OutboxRelay
from tests.support.kafka import eventually, read_all
from tests.support.ledger import verified_event


async def test_committed_events_are_published_and_rolled_back_ones_are_not(settings, pool) -> None:  # type: ignore[no-untyped-def]
    committed, rolled_back = verified_event(uuid.uuid4()), verified_event(uuid.uuid4())
    async with pool.acquire() as conn:
        async with conn.transaction():
            await enqueue(conn, REQUESTS, committed)
        tx = conn.transaction()
        await tx.start()
        await enqueue(conn, REQUESTS, rolled_back)
        await tx.rollback()

    producer = create_producer(settings, "test")
    await producer.start()
    relay = OutboxRelay("intake", pool, producer, settings)
    relay.start()
    try:
        messages = await read_all(settings, REQUESTS, expect=1)
        await asyncio.sleep(0.5)  # give a wrongly published second event the chance to show up
        messages = await read_all(settings, REQUESTS, expect=2, timeout=1)
    finally:
        await relay.stop()
        await producer.stop()
    ids = [json.loads(m)["event_id"] for m in messages]
    assert ids == [str(committed.event_id)]
    assert await pool.fetchval("select count(*) from outbox where published_at is null") == 0


async def test_notify_wakes_the_relay_long_before_the_poll_interval(settings, pool) -> None:  # type: ignore[no-untyped-def]
    settings = settings.model_copy(update={"outbox_poll_seconds": 30.0})
    producer = create_producer(settings, "test")
    await producer.start()
    relay = OutboxRelay("intake", pool, producer, settings)
    relay.start()
    try:
        await eventually(lambda: asyncio.sleep(0, relay.active))
        event = verified_event(uuid.uuid4())
        async with pool.acquire() as conn, conn.transaction():
            await enqueue(conn, REQUESTS, event)
        messages = await read_all(settings, REQUESTS, expect=1, timeout=5)
    finally:
        await relay.stop()
        await producer.stop()
    assert [json.loads(m)["event_id"] for m in messages] == [str(event.event_id)]


async def test_only_one_relay_per_producer_is_active(settings, pool) -> None:  # type: ignore[no-untyped-def]
    producer = create_producer(settings, "test")
    await producer.start()
    first, second = (OutboxRelay("intake", pool, producer, settings) for _ in range(2))
    first.start()
    await eventually(lambda: asyncio.sleep(0, first.active))
    second.start()
    try:
        await asyncio.sleep(1.0)
        assert (first.active, second.active) == (True, False)
        await first.stop()
        await eventually(lambda: asyncio.sleep(0, second.active), timeout=5)
    finally:
        await second.stop()
        await producer.stop()


async def test_events_keep_their_commit_order(settings, pool) -> None:  # type: ignore[no-untyped-def]
    request_id = uuid.uuid4()
    events = [verified_event(request_id) for _ in range(50)]
    for event in events:
        async with pool.acquire() as conn, conn.transaction():
            await enqueue(conn, REQUESTS, event)
    producer = create_producer(settings, "test")
    await producer.start()
    relay = OutboxRelay("intake", pool, producer, settings)
    relay.start()
    try:
        messages = await read_all(settings, REQUESTS, expect=50)
    finally:
        await relay.stop()
        await producer.stop()
    assert [json.loads(m)["event_id"] for m in messages] == [str(e.event_id) for e in events]
