"""The outbox relay: publishes a service's committed outbox rows to Kafka, in order.

It wakes on `NOTIFY dsr_outbox` (sent by a trigger when a row commits) and polls as a fallback.
Only one relay per producer is active at a time (an advisory lock), which keeps each
producer's events in commit order; a second worker's relay waits as a hot standby.
Publishing and stamping `published_at` are not atomic: a crash in between republishes,
which consumers absorb (they are idempotent).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import zlib

import asyncpg
from aiokafka import AIOKafkaProducer

from services.runtime import metrics
from services.runtime.db import TRANSIENT_ERRORS
from services.runtime.settings import Settings

log = logging.getLogger(__name__)

_PURGE_AFTER = "7 days"


def _lock_key(producer: str) -> int:
    return 0x6F757400 + zlib.crc32(producer.encode()) % 0xFFFF  # "out" + producer


class OutboxRelay:
    def __init__(
        self, producer_name: str, pool: asyncpg.Pool, producer: AIOKafkaProducer, settings: Settings
    ):
        self.name = producer_name
        metrics.producer_known(producer_name)
        self.pool = pool
        self.producer = producer
        self.settings = settings
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.active = False
        self._pending_measured = 0.0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"outbox-relay-{self.name}")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        if payload == self.name:
            self._wake.set()

    async def _run(self) -> None:
        backoff = 0.2
        while True:
            try:
                await self._lead()
            except asyncio.CancelledError:
                raise
            except TRANSIENT_ERRORS as exc:
                log.warning("outbox relay lost its connection; retrying", extra={"error": type(exc).__name__})
            except Exception:
                log.exception("outbox relay failed; retrying")
            self.active = False
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)

    async def _lead(self) -> None:
        """Hold the producer's lock on one connection and publish until cancelled."""
        async with self.pool.acquire() as conn:
            # a standby polls for the lock: PostgreSQL has no notification for its release
            while not await conn.fetchval("select pg_try_advisory_lock($1)", _lock_key(self.name)):  # noqa: ASYNC110
                await asyncio.sleep(self.settings.outbox_poll_seconds)
            await conn.add_listener("dsr_outbox", self._on_notify)
            self.active = True
            try:
                rounds = 0
                while True:
                    self._wake.clear()
                    published = await self.publish_pending(conn)
                    rounds += 1
                    if rounds % 600 == 0:
                        await self._purge(conn)
                    if published < self.settings.outbox_batch:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(self._wake.wait(), self.settings.outbox_poll_seconds)
            finally:
                self.active = False
                with contextlib.suppress(Exception):
                    await conn.remove_listener("dsr_outbox", self._on_notify)
                    await conn.execute("select pg_advisory_unlock($1)", _lock_key(self.name))

    async def publish_pending(self, conn: asyncpg.Connection) -> int:
        rows = await conn.fetch(
            """select id, topic, key, value, created_at from outbox
               where producer = $1 and published_at is null order by id limit $2""",
            self.name,
            self.settings.outbox_batch,
        )
        if not rows:
            metrics.OUTBOX_PENDING.labels(self.name).set(0)
            return 0
        sends = [
            await self.producer.send(self.settings.topic(r["topic"]), value=r["value"], key=r["key"])
            for r in rows
        ]
        await asyncio.gather(*sends)
        await conn.execute(
            "update outbox set published_at = now() where id = any($1::bigint[])", [r["id"] for r in rows]
        )
        metrics.OUTBOX_PUBLISHED.labels(self.name).inc(len(rows))
        now = time.monotonic()
        if now - self._pending_measured > 1.0:  # counting is not free under load: once a second
            self._pending_measured = now
            pending = await conn.fetchval(
                "select count(*) from outbox where producer = $1 and published_at is null", self.name
            )
            metrics.OUTBOX_PENDING.labels(self.name).set(pending)
        return len(rows)

    async def _purge(self, conn: asyncpg.Connection) -> None:
        await conn.execute(
            f"delete from outbox where producer = $1 and published_at < now() - interval '{_PURGE_AFTER}'",
            self.name,
        )
