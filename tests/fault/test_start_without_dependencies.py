"""A service started while its broker or its ledger is away waits for it, however long, instead of
exiting into the supervisor's restart loop: `/readyz` says what it waits for, each attempt is a log
line, and it becomes ready when the dependency comes (issue 21, item 7)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest

from services.launcher.embedded_broker import EmbeddedBroker
from services.launcher.embedded_postgres import EmbeddedPostgres
from services.launcher.ports import free_port
from services.runtime.settings import Settings
from tests.support.processes import ServiceProcess

pytestmark = pytest.mark.slow

BROKER_AWAY_SECONDS = 30.0


def _starting(process: ServiceProcess) -> dict[str, object]:
    answer = httpx.get(f"{process.url}/readyz", timeout=2)
    assert answer.status_code == 503
    body: dict[str, object] = answer.json()
    assert body["ready"] is False
    return body


def _wait_for_http(process: ServiceProcess, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        assert process.process is not None and process.process.poll() is None, process.logs()[-2000:]
        try:
            httpx.get(f"{process.url}/healthz", timeout=1)
            return
        except httpx.TransportError:
            assert time.monotonic() < deadline, "the service never served /healthz"
            time.sleep(0.1)


async def test_a_service_started_while_the_broker_is_away_waits_and_then_runs(
    database_url: str, tmp_path: Path
) -> None:
    broker = EmbeddedBroker(tmp_path / "broker", port=free_port())
    settings = Settings(
        database_url=database_url,
        kafka_bootstrap=f"127.0.0.1:{broker.port}",
        topic_prefix=f"w{uuid.uuid4().hex[:8]}.",
        data_dir=tmp_path / "data",
        api_keys="test-agent:agent:agent-secret-0123456789",
        artifact_keys="k1:" + "A" * 43,
    )
    service = ServiceProcess("locator", settings, tmp_path / "logs").start()
    try:
        _wait_for_http(service)
        started = time.monotonic()
        waited: dict[str, object] = {}
        while time.monotonic() - started < BROKER_AWAY_SECONDS:
            assert service.process is not None and service.process.poll() is None, "it exited"
            waited = _starting(service)
            time.sleep(1.0)
        starting = waited["starting"]
        assert isinstance(starting, dict) and starting["waiting_for"] == "kafka topics", waited
        assert isinstance(starting["attempts"], int) and starting["attempts"] >= 5
        broker.start()
        service.wait_ready(60)
        lines = [line for line in service.logs().splitlines() if "waiting for dependency" in line]
        assert len(lines) == starting["attempts"] or len(lines) >= 5  # a line per attempt
        assert all("kafka topics" in line for line in lines)
    finally:
        service.stop()
        broker.stop()


async def test_a_service_started_while_the_ledger_is_away_waits_and_then_runs(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    ledger = EmbeddedPostgres(tmp_path / "pg")
    ledger.start()
    url = ledger.url("dsr")
    admin = await asyncpg.connect(ledger.url())
    try:
        await admin.execute("create database dsr")
    finally:
        await admin.close()
    ledger.stop()
    settings = Settings(
        database_url=url,
        kafka_bootstrap=broker.bootstrap,
        topic_prefix=f"w{uuid.uuid4().hex[:8]}.",
        data_dir=tmp_path / "data",
        api_keys="test-agent:agent:agent-secret-0123456789",
        artifact_keys="k1:" + "A" * 43,
    )
    service = ServiceProcess("tracker", settings, tmp_path / "logs").start()
    try:
        _wait_for_http(service)
        time.sleep(3.0)
        starting = _starting(service)["starting"]
        assert isinstance(starting, dict) and starting["waiting_for"] == "postgresql", starting
        ledger.start()
        service.wait_ready(60)
    finally:
        service.stop()
        ledger.stop()
