"""The broker restarts and forgets every topic and offset: the ledger drives every request on."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from services.launcher.embedded_broker import EmbeddedBroker
from services.runtime.kafka import ensure_topics
from tests.support.processes import ServiceProcess

pytestmark = pytest.mark.slow

AGENT = {"Authorization": "Bearer agent-secret-0123456789"}


def _body(n: int) -> dict[str, object]:
    return {
        "type": "access",
        "channel": "phone",
        "subject": {"case_number": f"SAK-RESTART-{n}"},
        "verification": {
            "method": "phone_checks",
            "checks": ["national_id", "address", "case_number"],
            "verified_by": "a",
        },
    }


async def _statuses(pool) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return dict(await pool.fetch("select status, count(*) from requests group by status"))


async def test_every_request_completes_once_after_the_broker_forgot_everything(
    settings, pool, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    broker = EmbeddedBroker(tmp_path / "broker")
    broker.start()
    settings = settings.model_copy(update={"kafka_bootstrap": broker.bootstrap})
    await ensure_topics(settings)
    extra = {"DSR_STUCK_AFTER": "4", "DSR_TRACKER_INTERVAL": "1"}
    services = [
        ServiceProcess(name, settings, tmp_path, extra).start()
        for name in ("intake", "locator", "fulfilment", "tracker")
    ]
    try:
        for service in services:
            service.wait_ready(60)
        intake = services[0].url
        async with httpx.AsyncClient(base_url=intake, headers=AGENT, timeout=10) as client:
            for n in range(5):
                assert (await client.post("/v1/requests", json=_body(n))).status_code == 202
            await _until(pool, {"completed": 5}, 30)

            broker.stop()
            for n in range(5, 10):  # accepted while the broker is away: they wait in the outbox
                assert (await client.post("/v1/requests", json=_body(n))).status_code == 202
            await asyncio.sleep(2)
            broker.start()  # same port, nothing remembered

            await _until(pool, {"completed": 10}, 120)
    finally:
        for service in services:
            service.stop()
        broker.stop()
    once = await pool.fetch(
        """select request_id, status, count(*) from request_status_history
           where status in ('locating', 'fulfilling', 'completed') group by 1, 2 having count(*) <> 1"""
    )
    assert once == []


async def _until(pool, wanted: dict[str, int], timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        statuses = await _statuses(pool)
        if statuses == wanted:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"statuses after {timeout} s: {statuses}")
        await asyncio.sleep(0.5)
