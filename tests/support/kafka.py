"""Plain Kafka clients for tests: what an integrator or an operator would use."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from services.runtime.settings import Settings


async def produce(settings: Settings, topic: str, values: list[bytes], key: bytes | None = None) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, enable_idempotence=False)
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(settings.topic(topic), value=value, key=key)
    finally:
        await producer.stop()


async def read_all(settings: Settings, topic: str, *, expect: int, timeout: float = 20.0) -> list[bytes]:
    """Read `topic` from the beginning until `expect` messages arrived (or `timeout`)."""
    consumer = AIOKafkaConsumer(
        settings.topic(topic),
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    found: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while len(found) < expect and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for records in batch.values():
                found.extend(r.value for r in records)
        return found
    finally:
        await consumer.stop()


def decoded(values: list[bytes]) -> list[dict[str, Any]]:
    return [json.loads(v) for v in values]


async def eventually(check: Any, timeout: float = 20.0, interval: float = 0.1) -> Any:
    """Await `check()` until it returns something truthy; fail with the last value after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result or time.monotonic() > deadline:
            assert result, f"condition not met within {timeout} s (last: {result!r})"
            return result
        await asyncio.sleep(interval)
