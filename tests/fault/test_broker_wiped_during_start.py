"""A service whose broker goes away while its consumers start, and comes back empty (every topic and
offset forgotten, as the fault suite's `wipe_broker` does), becomes ready again by itself, without a
restart by the supervisor, and handles the events that come after exactly once.

Found by the fault suite on a loaded machine: fulfilment, restarted just before the wipe, was past
its producer and in Faust's start when the broker died; the start raised, nobody heard it, and the
service answered "starting" until the test gave up.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from schemas.registry import REQUESTS
from services.launcher.embedded_broker import EmbeddedBroker
from services.launcher.ports import free_port
from services.locator.service import SPEC
from services.runtime import host
from services.runtime.host import Runtime, Startup, readiness, start_runtime, stop_runtime
from services.runtime.kafka import ensure_topics
from services.runtime.outbox import encode
from services.runtime.settings import Settings
from tests.support.kafka import eventually, produce
from tests.support.ledger import insert_verified_request, verified_event

pytestmark = pytest.mark.slow

READY_WITHIN_SECONDS = 30.0
"""How soon after the broker (and its topics) are back the service must be ready again."""


@pytest.fixture
async def own_broker(tmp_path: Path) -> AsyncIterator[EmbeddedBroker]:
    """A broker of this test's own, on a fixed port, so that it can be stopped and started empty."""
    broker = EmbeddedBroker(tmp_path / "broker", port=free_port())
    await asyncio.to_thread(broker.start)
    yield broker
    await asyncio.to_thread(broker.stop)


def _settings(database_url: str, broker: EmbeddedBroker, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        kafka_bootstrap=broker.bootstrap,
        topic_prefix=f"w{uuid.uuid4().hex[:8]}.",
        data_dir=tmp_path / "data",
        api_keys="test-agent:agent:agent-secret-0123456789",
        artifact_keys="k1:" + "A" * 43,
        outbox_poll_seconds=0.5,
        consumer_commit_interval=0.5,
    )


async def _consumers_stage(startup: Startup, starting: asyncio.Task[Runtime]) -> None:
    """Return at the first turn of the event loop after the service began starting its consumers:
    its pool, migrations, topics, producer and relay are up, Faust's start has just begun."""
    async with asyncio.timeout(60):
        while startup.waiting_for != "kafka consumers":
            assert not starting.done(), "the service started before its consumers stage was seen"
            await asyncio.sleep(0)


async def _ready(runtime: Runtime) -> None:
    async with asyncio.timeout(READY_WITHIN_SECONDS):
        while not all((await readiness(runtime)).values()):
            await asyncio.sleep(0.1)


async def _handles_new_events_once(settings: Settings, pool: asyncpg.Pool) -> None:
    """An event published to the re-created topic is handled, and only once."""
    async with pool.acquire() as conn:
        request_id = await insert_verified_request(conn)
    await produce(settings, REQUESTS, [encode(verified_event(request_id))])

    async def located() -> bool:
        status = await pool.fetchval("select status from requests where id = $1", request_id)
        return bool(status == "locating")

    await eventually(located, timeout=READY_WITHIN_SECONDS)
    await asyncio.sleep(1.0)  # a second delivery, if any, would land meanwhile
    assert await pool.fetchval("select count(*) from outbox where event_type = 'request.located'") == 1
    assert await pool.fetchval("select count(*) from processed_events") == 1


@contextlib.asynccontextmanager
async def _starting(settings: Settings, startup: Startup) -> AsyncIterator[asyncio.Task[Runtime]]:
    starting = asyncio.create_task(start_runtime(SPEC, settings, startup))
    try:
        yield starting
    finally:
        if starting.done() and not starting.cancelled() and starting.exception() is None:
            await stop_runtime(starting.result())
        else:
            starting.cancel()
            with contextlib.suppress(BaseException):
                await starting


async def test_a_broker_wiped_while_the_consumers_start_is_waited_for_and_the_service_becomes_ready(
    database_url: str, pool: asyncpg.Pool, own_broker: EmbeddedBroker, tmp_path: Path
) -> None:
    settings = _settings(database_url, own_broker, tmp_path)
    startup = Startup()
    async with _starting(settings, startup) as starting:
        await _consumers_stage(startup, starting)
        # The wipe: the broker dies at once (SIGKILL), stays down a second, comes back empty.
        assert own_broker.process is not None
        own_broker.process.send_signal(signal.SIGKILL)
        await asyncio.to_thread(own_broker.stop)
        await asyncio.sleep(1.0)
        await asyncio.to_thread(own_broker.start)
        await ensure_topics(settings)
        back = time.monotonic()
        async with asyncio.timeout(READY_WITHIN_SECONDS):
            runtime = await asyncio.shield(starting)
        await _ready(runtime)
        assert time.monotonic() - back < READY_WITHIN_SECONDS
        assert startup.waiting_for is None and startup.error is None
        await _handles_new_events_once(settings, pool)


async def test_a_consumers_start_that_hangs_on_a_silent_broker_is_given_up_and_tried_afresh(
    database_url: str,
    pool: asyncpg.Pool,
    own_broker: EmbeddedBroker,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A broker that stops answering (SIGSTOP: connections open, no replies) holds Faust's start
    for as long as its requests' timeouts (90 s); each attempt is bounded and the next is a fresh
    app, so the service is ready soon after the broker answers again."""
    monkeypatch.setattr(host, "CONSUMERS_START_SECONDS", 1.5)
    settings = _settings(database_url, own_broker, tmp_path)
    startup = Startup()
    async with _starting(settings, startup) as starting:
        await _consumers_stage(startup, starting)
        assert own_broker.process is not None
        own_broker.process.send_signal(signal.SIGSTOP)
        try:
            async with asyncio.timeout(30):
                while startup.attempts < 2:  # two attempts timed out (1.5 s, then 3 s)
                    assert not starting.done(), "the consumers started against a frozen broker"
                    await asyncio.sleep(0.1)
        finally:
            own_broker.process.send_signal(signal.SIGCONT)
        assert startup.waiting_for == "kafka consumers" and startup.error == "TimeoutError"
        back = time.monotonic()
        async with asyncio.timeout(READY_WITHIN_SECONDS):
            runtime = await asyncio.shield(starting)
        await _ready(runtime)
        assert time.monotonic() - back < READY_WITHIN_SECONDS
        await _handles_new_events_once(settings, pool)
