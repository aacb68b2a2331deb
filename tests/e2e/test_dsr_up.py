"""`dsr up` as a person runs it: start, submit, watch it complete, Ctrl-C, start again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from services.launcher.ports import is_free
from tests.support.kafka import eventually

pytestmark = pytest.mark.slow

NATIONAL_ID = "15076500565"
EMAIL = "kari.nordmann@example.no"
PHONE = "+47 412 34 567"


def _port_base() -> int:
    for base in range(23000, 60000, 17):
        if all(is_free(base + i) for i in range(3)):
            return base
    raise RuntimeError("no free ports")


class Up:
    """A running `dsr up` and what it printed."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.port = _port_base()
        env = {k: v for k, v in os.environ.items() if not k.startswith("DSR_")}
        env.update({"DSR_DATA_DIR": str(data_dir), "DSR_API_PORT": str(self.port)})
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "services.launcher.cli", "up", "--demo"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        self.lines: list[str] = []
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            if line.startswith("Ready in"):
                break
        else:
            raise AssertionError("dsr up exited before ready:\n" + "\n".join(self.lines))
        self.seconds = time.monotonic() - self.started

    def line(self, prefix: str) -> str:
        return next(line for line in self.lines if line.startswith(prefix))

    @property
    def api(self) -> str:
        return self.line("API:").split()[1]

    @property
    def kafka(self) -> str:
        return self.line("Kafka:").split()[1]

    def key(self, role: str) -> str:
        return next(line.split()[-1] for line in self.lines if line.strip().startswith(f"local-{role} "))

    def stop(self) -> str:
        self.process.send_signal(signal.SIGINT)
        rest, _ = self.process.communicate(timeout=40)
        return rest


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "dsr-data"


def _descendants(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=True)


def _processes_using(data_dir: Path) -> list[str]:
    found = []
    for proc in psutil.process_iter(["name", "cmdline", "status"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if str(data_dir) in cmdline and proc.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(f"{proc.pid} {proc.info['status']} {cmdline}")
    return found


async def test_dsr_up_runs_a_request_end_to_end_stops_clean_and_resumes(data_dir: Path) -> None:
    up = Up(data_dir)
    api_index = next(i for i, line in enumerate(up.lines) if "http://" in line)
    assert up.lines[api_index].startswith("API: ")  # the public API is the first URL printed
    assert up.seconds < 30, f"ready in {up.seconds:.1f} s"
    headers = {"Authorization": f"Bearer {up.key('agent')}"}
    try:
        async with httpx.AsyncClient(base_url=up.api, headers=headers, timeout=10) as client:
            response = await client.post(
                "/v1/requests",
                json={
                    "type": "access",
                    "channel": "phone",
                    "subject": {
                        "national_id": NATIONAL_ID,
                        "email": EMAIL,
                        "phone": PHONE,
                        "name": "Kari Nordmann",
                    },
                    "verification": {
                        "method": "phone_checks",
                        "checks": ["national_id", "address", "case_number"],
                        "verified_by": "agent-ola",
                    },
                },
            )
            assert response.status_code == 202, response.text
            request_id = response.json()["id"]

            async def completed() -> dict | None:  # type: ignore[type-arg]
                body = (await client.get(f"/v1/requests/{request_id}")).json()
                return body if body["status"] == "completed" else None

            detail = await eventually(completed, timeout=30)
            assert [h["status"] for h in detail["history"]] == [
                "received",
                "verified",
                "locating",
                "fulfilling",
                "completed",
            ]
            assert [h["actor"] for h in detail["history"]][2:] == ["locator", "fulfilment", "fulfilment"]

            unauthenticated = await client.get(f"/v1/requests/{request_id}", headers={"Authorization": ""})
            assert unauthenticated.status_code == 401
        await _submit_over_kafka(up)
        children = _descendants(up.process.pid)
        assert len(children) >= 4  # three services and the broker
    finally:
        rest = up.stop()
    assert up.process.returncode == 0, rest
    assert "Stopped." in rest
    time.sleep(0.5)
    assert [c.pid for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE] == []
    assert _processes_using(data_dir) == []
    _assert_no_personal_data_in_logs(data_dir, "\n".join(up.lines) + rest)

    again = Up(data_dir)  # resumes on the same data directory
    try:
        assert again.key("agent") == up.key("agent")
        body = httpx.get(f"{again.api}/v1/requests/{request_id}", headers=headers, timeout=10).json()
        assert body["status"] == "completed"
    finally:
        again.stop()
    assert again.process.returncode == 0


async def _submit_over_kafka(up: Up) -> None:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    key = f"pp-{uuid.uuid4()}"
    event = {
        "event_id": str(uuid.uuid4()),
        "event_type": "request.submitted",
        "schema_version": "1.0",
        "occurred_at": "2026-11-24T10:00:00+00:00",
        "producer": "plan-and-pay",
        "correlation_id": key,
        "idempotency_key": key,
        "payload": {"type": "erasure", "channel": "plan_and_pay", "subject": {"national_id": NATIONAL_ID}},
    }
    producer = AIOKafkaProducer(bootstrap_servers=up.kafka, enable_idempotence=False)
    await producer.start()
    try:
        await producer.send_and_wait("dsr.intake.v1", json.dumps(event).encode(), key=key.encode())
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        "dsr.intake-outcomes.v1", bootstrap_servers=up.kafka, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for records in batch.values():
                for record in records:
                    outcome = json.loads(record.value)
                    if outcome["idempotency_key"] == key:
                        assert outcome["event_type"] == "request.accepted"
                        assert outcome["payload"]["status"] == "verified"
                        return
        raise AssertionError("no outcome for the Kafka submission")
    finally:
        await consumer.stop()


def _assert_no_personal_data_in_logs(data_dir: Path, console: str) -> None:
    texts = {"console": console}
    for log in (data_dir / "logs").glob("*.log"):
        texts[log.name] = log.read_text(errors="replace")
    assert any(texts.values())
    forbidden = [NATIONAL_ID, EMAIL, "41234567", "412 34 567"]
    for name, text in texts.items():
        for value in forbidden:
            assert value not in text, f"{value!r} found in {name}"
