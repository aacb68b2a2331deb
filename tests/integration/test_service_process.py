"""A service as a real process on real topics: kill it, feed it garbage, feed it twice."""

import asyncio
import json
import signal

import pytest

from schemas.registry import DEAD_LETTER, REQUESTS
from services.runtime.outbox import encode
from tests.support.kafka import decoded, eventually, produce, read_all
from tests.support.ledger import insert_verified_request, verified_event
from tests.support.processes import ServiceProcess

pytestmark = pytest.mark.slow


async def _counts(pool) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    row = await pool.fetchrow(
        """select (select count(*) from requests where status = 'locating') as locating,
                  (select count(*) from request_status_history where status = 'locating') as history,
                  (select count(*) from outbox where event_type = 'request.located') as located"""
    )
    return row["locating"], row["history"], row["located"]


async def test_a_service_killed_after_its_commit_loses_nothing_and_applies_nothing_twice(
    settings, pool, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    async with pool.acquire() as conn:
        ids = [await insert_verified_request(conn) for _ in range(10)]
    await produce(settings, REQUESTS, [encode(verified_event(i)) for i in ids])

    doomed = ServiceProcess(
        "locator", settings, tmp_path, {"DSR_FAULT_CRASH_AT": "locator.after_commit:3"}
    ).start()
    assert doomed.wait_exit(60) == -signal.SIGKILL
    # Events are handled in batches: the crash comes after the commit that took the third one.
    handled_before_crash = await pool.fetchval("select count(*) from processed_events")
    assert 3 <= handled_before_crash <= 10

    survivor = ServiceProcess("locator", settings, tmp_path).start()
    try:
        survivor.wait_ready()
        await eventually(lambda: _done(pool, len(ids)), timeout=30)
    finally:
        survivor.stop()
    assert await _counts(pool) == (10, 10, 10)
    assert await pool.fetchval("select count(*) from processed_events") == 10


async def _done(pool, n: int) -> bool:  # type: ignore[no-untyped-def]
    return (await _counts(pool))[0] == n


async def test_a_running_service_dead_letters_garbage_and_keeps_consuming(settings, pool, tmp_path) -> None:  # type: ignore[no-untyped-def]
    async with pool.acquire() as conn:
        request_id = await insert_verified_request(conn)
    good = encode(verified_event(request_id))
    wrong_version = json.loads(good)
    wrong_version["schema_version"] = "9.0"
    unknown = json.loads(good)
    unknown["event_type"] = "request.beamed_up"
    service = ServiceProcess("locator", settings, tmp_path).start()
    try:
        service.wait_ready()
        await produce(
            settings,
            REQUESTS,
            [
                b"\x00\x9f\x92\x96",
                b"{not json",
                json.dumps(unknown).encode(),
                json.dumps(wrong_version).encode(),
                good,
                good,
            ],
        )
        letters = decoded(await read_all(settings, DEAD_LETTER, expect=4))
        await eventually(lambda: _done(pool, 1))
        lag_line = 'dsr_consumer_lag{consumer="locator",topic="dsr.requests.v1"} 0.0'
        await eventually(lambda: asyncio.sleep(0, lag_line in service_metrics(service)), timeout=15)
        metrics = service_metrics(service)
    finally:
        service.stop()
    assert sorted(d["payload"]["reason_code"] for d in letters) == [
        "malformed.encoding",
        "malformed.json",
        "unknown_event_type",
        "unsupported_schema_version",
    ]
    assert await _counts(pool) == (1, 1, 1)  # the good event was delivered twice and applied once
    assert 'dsr_dead_letters_total{consumer="locator",reason="malformed.json"} 1.0' in metrics
    assert '"msg": "service stopped"' in service.logs()  # SIGTERM is a graceful stop


def service_metrics(service: ServiceProcess) -> str:
    import httpx

    return httpx.get(f"{service.url}/metrics", timeout=5).text
