"""A running service whose stream app crashed (a Faust child failed: Faust then stops consuming for
good, where a Faust worker would exit) says so on `/readyz` and replaces it by a fresh app, without
a restart by the supervisor; events that come after are handled, once."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from schemas.registry import REQUESTS
from services.locator.service import SPEC
from services.runtime import host
from services.runtime.host import Runtime, readiness, start_runtime, stop_runtime
from services.runtime.outbox import encode
from services.runtime.settings import Settings
from tests.support.kafka import eventually, produce
from tests.support.ledger import insert_verified_request, verified_event

pytestmark = pytest.mark.slow


async def _consumers_ready(runtime: Runtime) -> bool:
    return (await readiness(runtime)).get("consumers") is True


async def test_a_stream_app_that_crashed_while_running_is_replaced_and_consuming_goes_on(
    settings: Settings, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(host, "CONSUMERS_CHECK_SECONDS", 0.5)
    # The crashed member leaves the group only when its session ends: a short one keeps the test short.
    settings = settings.model_copy(update={"consumer_session_timeout": 2.0, "consumer_heartbeat": 0.5})
    async with asyncio.timeout(60):
        runtime = await start_runtime(SPEC, settings)
    try:
        await eventually(lambda: _consumers_ready(runtime), timeout=30)
        crashed = runtime.stream_app
        assert crashed is not None
        await crashed.crash(RuntimeError("a Faust child failed"))  # Faust's own crash path
        assert (await readiness(runtime))["consumers"] is False

        async def replaced() -> bool:
            return runtime.stream_app is not crashed and await _consumers_ready(runtime)

        await eventually(replaced, timeout=30)

        async with pool.acquire() as conn:
            request_id = await insert_verified_request(conn)
        await produce(settings, REQUESTS, [encode(verified_event(request_id))])

        async def located() -> bool:
            status = await pool.fetchval("select status from requests where id = $1", request_id)
            return bool(status == "locating")

        await eventually(located, timeout=30)
        await asyncio.sleep(1.0)  # a second delivery, if any, would land meanwhile
        assert await pool.fetchval("select count(*) from processed_events") == 1
        assert await pool.fetchval("select count(*) from outbox where event_type = 'request.located'") == 1
    finally:
        await stop_runtime(runtime)
