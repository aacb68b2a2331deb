"""Helpers for the pipeline tests: valid national ids, intake envelopes, topic taps, service processes.

Everything here talks to the services the way an integrator or an operator would: plain Kafka
clients on the (prefixed) topics, and HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from stdnum.no import fodselsnummer

from services.runtime.settings import Settings
from tests.support.processes import ServiceProcess

SYSTEM_KEY = "system-secret-0123456789"
AGENT_KEY = "agent-secret-0123456789"
OPS_KEY = "ops-secret-01234567890"

_K1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_K2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def _check_digit(digits: str, weights: tuple[int, ...]) -> int | None:
    digit = (11 - sum(w * int(d) for w, d in zip(weights, digits, strict=True)) % 11) % 11
    return None if digit == 10 else digit


def national_ids(count: int, *, seed: int) -> list[str]:
    """`count` distinct valid fødselsnummer (born 1950-1999, individual numbers 000-499)."""
    rng = random.Random(seed)
    found: dict[str, None] = {}
    while len(found) < count:
        base = f"{rng.randint(1, 28):02d}{rng.randint(1, 12):02d}{rng.randint(50, 99):02d}{rng.randint(0, 499):03d}"
        k1 = _check_digit(base, _K1)
        if k1 is None:
            continue
        k2 = _check_digit(f"{base}{k1}", _K2)
        if k2 is None:
            continue
        number = f"{base}{k1}{k2}"
        assert fodselsnummer.is_valid(number), number  # python-stdnum is the reference
        found[number] = None
    return list(found)


def with_bad_check_digit(number: str) -> str:
    """The same number with its second check digit off by one: never valid."""
    bad = f"{number[:10]}{(int(number[10]) + 1) % 10}"
    assert not fodselsnummer.is_valid(bad)
    return bad


def submission(national_id: str, request_type: str = "access", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": request_type,
        "channel": "plan_and_pay",
        "subject": {"national_id": national_id},
    }
    if request_type == "rectification":
        body["details"] = {"corrections": {"address": "Storgata 1, 0155 Oslo"}}
    elif request_type == "objection":
        body["details"] = {"objection_grounds": "I object to direct marketing based on my debt case."}
    body.update(extra)
    return body


def submitted_event(
    payload: dict[str, Any],
    *,
    idempotency_key: str,
    producer: str = "plan-and-pay",
    event_id: str | None = None,
) -> dict[str, Any]:
    """A `request.submitted` envelope as Plan & Pay would publish it."""
    return {
        "event_id": event_id or str(uuid.uuid4()),
        "event_type": "request.submitted",
        "schema_version": "1.0",
        "occurred_at": datetime.now(UTC).isoformat(),
        "producer": producer,
        "correlation_id": f"pp-session-{uuid.uuid4().hex[:12]}",
        "idempotency_key": idempotency_key,
        "payload": payload,
    }


def to_bytes(envelope: dict[str, Any]) -> bytes:
    return json.dumps(envelope).encode()


async def publish(settings: Settings, topic: str, messages: list[tuple[bytes | None, bytes]]) -> None:
    """Publish (key, value) pairs in order, pipelined, and wait for every ack."""
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, enable_idempotence=False, acks="all", linger_ms=5
    )
    await producer.start()
    try:
        futures = [
            await producer.send(settings.topic(topic), value=value, key=key) for key, value in messages
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


@dataclass(frozen=True)
class Received:
    key: bytes | None
    value: bytes
    at: float  # time.monotonic() when the tap fetched it

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.value)
        return data


@dataclass
class TopicTap:
    """Reads a topic from the beginning in the background, remembering when each message arrived."""

    settings: Settings
    topic: str
    received: list[Received] = field(default_factory=list)
    _consumer: AIOKafkaConsumer | None = None
    _task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> TopicTap:
        self._consumer = AIOKafkaConsumer(
            self.settings.topic(self.topic),
            bootstrap_servers=self.settings.kafka_bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            group_id=None,
        )
        await self._consumer.start()
        self._task = asyncio.create_task(self._run())
        return self

    async def _run(self) -> None:
        assert self._consumer is not None
        while True:
            batch = await self._consumer.getmany(timeout_ms=100)
            now = time.monotonic()
            for records in batch.values():
                self.received.extend(Received(r.key, r.value, now) for r in records)

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()

    async def wait_until(self, condition: Callable[[list[Received]], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not condition(self.received):
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True


@contextlib.asynccontextmanager
async def services(settings: Settings, log_dir: Path, *names: str) -> AsyncIterator[list[ServiceProcess]]:
    """Start the named services as real processes (in parallel), wait until each is ready."""
    processes = [ServiceProcess(name, settings, log_dir).start() for name in names]
    try:
        for process in processes:
            await asyncio.to_thread(process.wait_ready, 60.0)
        yield processes
    except BaseException:
        for process in processes:
            print(f"--- {process.service} log (tail) ---\n{process.logs()[-4000:]}")
        raise
    finally:
        for process in processes:
            await asyncio.to_thread(process.stop)


def client(process: ServiceProcess, secret: str = AGENT_KEY) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=process.url, headers={"Authorization": f"Bearer {secret}"}, timeout=10.0
    )


class MissingRedeliveryOutcome(AssertionError):
    """A second delivery of an already handled `request.submitted` got no outcome (see the xfail reasons)."""


REDELIVERY_BUG = (
    "BUG: a redelivered request.submitted (same event_id) gets no outcome: the inbox skips it before the "
    "intake handler runs (services/runtime/inbox.py process_once, lines 38-39 at HEAD; "
    "services/runtime/consumer.py EventConsumer._handle_with_retries line 134 at HEAD, and the batch "
    "path's `fresh` set), so services/intake/agents.py:52 enqueues request.accepted only for the first "
    "delivery of an event"
)


async def consumed(process: ServiceProcess, consumer: str) -> dict[tuple[str, str], float]:
    """`dsr_events_consumed_total` of one consumer, by (event_type, outcome), from the process's /metrics;
    the series exported at 0 from start-up (every known label set) are left out."""
    async with httpx.AsyncClient(timeout=5.0) as http:
        text = (await http.get(f"{process.url}/metrics")).text
    prefix = f'dsr_events_consumed_total{{consumer="{consumer}",'
    counts: dict[tuple[str, str], float] = {}
    for line in text.splitlines():
        if line.startswith(prefix):
            labels, value = line[len(prefix) :].rsplit(" ", 1)
            parts = dict(p.split("=", 1) for p in labels.rstrip("}").split(","))
            if float(value):
                counts[(parts["event_type"].strip('"'), parts["outcome"].strip('"'))] = float(value)
    return counts


async def outbox_drained(pool: Any) -> bool:
    return await pool.fetchval("select count(*) from outbox where published_at is null") == 0
