"""The consumer helper against a real database and broker: once-only effects and dead letters."""

import json
import uuid

from schemas.registry import DEAD_LETTER, REQUESTS
from services.locator.service import on_verified
from services.runtime.consumer import EventConsumer
from services.runtime.deadletter import DeadLetters
from services.runtime.kafka import create_producer
from services.runtime.outbox import encode
from tests.support.kafka import decoded, read_all
from tests.support.ledger import insert_verified_request, verified_event


async def _consumer(settings, pool):  # type: ignore[no-untyped-def]
    producer = create_producer(settings, "test")
    await producer.start()
    consumer = EventConsumer(
        "locator",
        REQUESTS,
        {"request.verified": on_verified},
        pool=pool,
        dead_letters=DeadLetters(producer, settings, "locator"),
        settings=settings,
    )
    return consumer, producer


async def test_the_same_event_delivered_twice_has_one_effect(settings, pool) -> None:  # type: ignore[no-untyped-def]
    async with pool.acquire() as conn:
        request_id = await insert_verified_request(conn)
    message = encode(verified_event(request_id))
    consumer, producer = await _consumer(settings, pool)
    try:
        first = await consumer.handle_message(key=None, value=message, partition=0, offset=1)
        second = await consumer.handle_message(key=None, value=message, partition=0, offset=2)
    finally:
        await producer.stop()
    assert (first, second) == ("handled", "duplicate")
    assert await pool.fetchval("select status from requests where id = $1", request_id) == "locating"
    assert await pool.fetchval("select count(*) from outbox where event_type = 'request.located'") == 1
    assert (
        await pool.fetchval(
            "select count(*) from request_status_history where request_id = $1 and status = 'locating'",
            request_id,
        )
        == 1
    )


async def test_unusable_messages_are_dead_lettered_with_a_reason_and_the_consumer_goes_on(
    settings, pool
) -> None:  # type: ignore[no-untyped-def]
    async with pool.acquire() as conn:
        request_id = await insert_verified_request(conn)
    good = verified_event(request_id)
    wrong_version = json.loads(encode(verified_event(request_id)))
    wrong_version["schema_version"] = "2.0"
    unknown_type = json.loads(encode(verified_event(request_id)))
    unknown_type["event_type"] = "request.teleported"
    bad = [
        b"\xff\xfe\x00garbage",
        b'{"event_id": "not closed',
        json.dumps(unknown_type).encode(),
        json.dumps(wrong_version).encode(),
    ]
    consumer, producer = await _consumer(settings, pool)
    try:
        outcomes = [
            await consumer.handle_message(key=b"k", value=v, partition=0, offset=i) for i, v in enumerate(bad)
        ]
        outcomes.append(await consumer.handle_message(key=b"k", value=encode(good), partition=0, offset=9))
    finally:
        await producer.stop()
    assert outcomes == ["dead_lettered"] * 4 + ["handled"]
    letters = decoded(await read_all(settings, DEAD_LETTER, expect=4))
    assert [d["payload"]["reason_code"] for d in letters] == [
        "malformed.encoding",
        "malformed.json",
        "unknown_event_type",
        "unsupported_schema_version",
    ]
    assert all(
        d["event_type"] == "dead_letter.recorded" and d["payload"]["consumer"] == "locator" for d in letters
    )
    assert await pool.fetchval("select status from requests where id = $1", request_id) == "locating"


async def test_an_event_for_a_request_in_the_wrong_status_is_dead_lettered_not_applied(
    settings, pool
) -> None:  # type: ignore[no-untyped-def]
    async with pool.acquire() as conn:
        request_id = await insert_verified_request(conn)
        await conn.execute("update requests set status = 'completed' where id = $1", request_id)
    consumer, producer = await _consumer(settings, pool)
    try:
        outcome = await consumer.handle_message(
            key=None, value=encode(verified_event(request_id)), partition=0, offset=0
        )
    finally:
        await producer.stop()
    assert outcome == "dead_lettered"
    letters = decoded(await read_all(settings, DEAD_LETTER, expect=1))
    assert letters[0]["payload"]["reason_code"] == "illegal_transition"
    assert await pool.fetchval("select count(*) from outbox") == 0


async def test_an_event_for_an_unknown_request_is_dead_lettered(settings, pool) -> None:  # type: ignore[no-untyped-def]
    consumer, producer = await _consumer(settings, pool)
    try:
        outcome = await consumer.handle_message(
            key=None, value=encode(verified_event(uuid.uuid4())), partition=0, offset=0
        )
    finally:
        await producer.stop()
    assert outcome == "dead_lettered"
    assert (
        decoded(await read_all(settings, DEAD_LETTER, expect=1))[0]["payload"]["reason_code"]
        == "unknown_request"
    )


async def test_a_batch_with_a_duplicate_and_a_bad_event_applies_each_good_event_once(settings, pool) -> None:  # type: ignore[no-untyped-def]
    from services.runtime.consumer import Message

    async with pool.acquire() as conn:
        ids = [await insert_verified_request(conn) for _ in range(3)]
        await conn.execute(
            "update requests set status = 'completed' where id = $1", ids[2]
        )  # its event must fail
    first = encode(verified_event(ids[0]))
    messages = [
        Message(None, first, 0, 0),
        Message(None, first, 0, 1),
        Message(None, encode(verified_event(ids[1])), 0, 2),
        Message(None, encode(verified_event(ids[2])), 0, 3),
        Message(None, b"not json", 0, 4),
    ]
    consumer, producer = await _consumer(settings, pool)
    try:
        outcomes = await consumer.handle_batch(messages)
        again = await consumer.handle_batch(messages[:3])
    finally:
        await producer.stop()
    assert outcomes == ["handled", "duplicate", "handled", "dead_lettered", "dead_lettered"]
    assert again == ["duplicate"] * 3
    assert await pool.fetchval("select count(*) from outbox where event_type = 'request.located'") == 2
    reasons = [d["payload"]["reason_code"] for d in decoded(await read_all(settings, DEAD_LETTER, expect=2))]
    assert reasons == ["illegal_transition", "malformed.json"]


async def test_a_batch_of_fresh_events_commits_in_one_go(settings, pool) -> None:  # type: ignore[no-untyped-def]
    from services.runtime.consumer import Message

    async with pool.acquire() as conn:
        ids = [await insert_verified_request(conn) for _ in range(20)]
    consumer, producer = await _consumer(settings, pool)
    try:
        outcomes = await consumer.handle_batch(
            [Message(None, encode(verified_event(i)), 0, n) for n, i in enumerate(ids)]
        )
    finally:
        await producer.stop()
    assert outcomes == ["handled"] * 20
    assert await pool.fetchval("select count(*) from request_status_history where status = 'locating'") == 20
