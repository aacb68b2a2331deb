"""`dsr bench intake`: measured throughput and latency of the HTTP and Kafka intake.

It starts its own embedded PostgreSQL and broker (unless configured), runs the intake service as
its own process, and drives it from this process: HTTP through a minimal keep-alive HTTP/1.1 client
(so that the load generator costs little of the two cores), Kafka through a plain producer.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from rich.console import Console

from services.bench.measure import Connection, cpu_per_request, cpu_seconds
from services.demo import mod11

console = Console(highlight=False)


def national_ids(count: int, seed: int = 7) -> list[str]:
    """Distinct valid birth numbers (deterministic), so no two submissions are duplicates."""
    rng = random.Random(seed)
    found: set[str] = set()
    while len(found) < count:
        born = date(1900 + rng.randint(0, 99), rng.randint(1, 12), rng.randint(1, 28))
        number = mod11.national_id(born, rng.randint(0, 499))
        if number is not None:
            found.add(number)
    return sorted(found)


def submission(national_id: str) -> dict[str, Any]:
    return {
        "type": "access",
        "channel": "phone",
        "subject": {"national_id": national_id},
        "verification": {
            "method": "phone_checks",
            "checks": ["national_id", "address", "case_number"],
            "verified_by": "bench",
        },
    }


@dataclass
class LatencyLog:
    seconds: list[float] = field(default_factory=list)
    errors: int = 0

    def percentile(self, q: float) -> float:
        if not self.seconds:
            return float("nan")
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def closed_loop(
    host: str, port: int, key: str, bodies: list[bytes], connections: int
) -> tuple[LatencyLog, float]:
    """As fast as `connections` clients can go; returns latencies and elapsed seconds."""
    log = LatencyLog()
    queue = iter(bodies)

    async def client() -> None:
        conn = Connection(host, port, key)
        await conn.open()
        try:
            for body in queue:
                started = time.perf_counter()
                status = await conn.post(body)
                log.seconds.append(time.perf_counter() - started)
                if status != 202:
                    log.errors += 1
        finally:
            await conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(connections)))
    return log, time.perf_counter() - started


async def open_loop(
    host: str, port: int, key: str, bodies: list[bytes], rate: float, connections: int
) -> LatencyLog:
    """A fixed arrival rate; latency counts from the scheduled send time (no coordinated omission)."""
    log = LatencyLog()
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(connections):
        conn = Connection(host, port, key)
        await conn.open()
        pool.put_nowait(conn)

    async def one(body: bytes, scheduled: float) -> None:
        conn = await pool.get()
        try:
            status = await conn.post(body)
            log.seconds.append(time.perf_counter() - scheduled)
            if status != 202:
                log.errors += 1
        finally:
            pool.put_nowait(conn)

    start = time.perf_counter()
    tasks = []
    for i, body in enumerate(bodies):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(body, scheduled)))
    await asyncio.gather(*tasks)
    while not pool.empty():
        await pool.get_nowait().close()
    return log


def encode(values: list[str]) -> list[bytes]:
    return [json.dumps(submission(v)).encode() for v in values]


def kafka_events(ids: list[str]) -> list[bytes]:
    events = []
    for national_id in ids:
        key = str(uuid.uuid4())
        events.append(
            json.dumps(
                {
                    "event_id": str(uuid.uuid4()),
                    "event_type": "request.submitted",
                    "schema_version": "1.0",
                    "occurred_at": "2026-11-24T10:00:00+00:00",
                    "producer": "bench-portal",
                    "correlation_id": key,
                    "idempotency_key": key,
                    "payload": {
                        "type": "access",
                        "channel": "plan_and_pay",
                        "subject": {"national_id": national_id},
                    },
                }
            ).encode()
        )
    return events


async def kafka_intake(bootstrap: str, database_url: str, events: list[bytes]) -> float:
    """Publish every event, then wait until intake stored them all; returns events per second."""
    import asyncpg
    from aiokafka import AIOKafkaProducer

    conn = await asyncpg.connect(database_url)
    before = await conn.fetchval("select count(*) from requests")
    # Counting the table costs the server milliseconds per call as it grows, so wait on the cheap
    # reference sequence (a number is taken inside each storing transaction) and count only at the end.
    numbered = await _last_reference_number(conn)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False, linger_ms=5)
    await producer.start()
    started = time.perf_counter()
    try:
        sends = [
            await producer.send("dsr.intake.v1", value=e, key=str(i).encode()) for i, e in enumerate(events)
        ]
        await asyncio.gather(*sends)
    finally:
        await producer.stop()
    while await _last_reference_number(conn) - numbered < len(events):  # noqa: ASYNC110
        await asyncio.sleep(0.02)
    while (await conn.fetchval("select count(*) from requests")) - before < len(events):  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - started
    await conn.close()
    return len(events) / elapsed


async def _last_reference_number(conn: Any) -> int:
    return int(await conn.fetchval("select pg_sequence_last_value('request_reference_seq')") or 0)


def report_http(name: str, log: LatencyLog, elapsed: float | None) -> dict[str, float]:
    figures = {
        "requests": float(len(log.seconds)),
        "errors": float(log.errors),
        "p50_ms": log.percentile(0.50),
        "p95_ms": log.percentile(0.95),
        "p99_ms": log.percentile(0.99),
        "mean_ms": statistics.fmean(log.seconds) * 1000 if log.seconds else float("nan"),
    }
    if elapsed:
        figures["per_second"] = len(log.seconds) / elapsed
    console.print(
        f"{name:<28} "
        + "  ".join(f"{k} {v:,.1f}" for k, v in figures.items() if k not in ("requests", "errors"))
        + f"  ({int(figures['requests'])} requests, {int(figures['errors'])} errors)"
    )
    return figures


async def run_intake_bench(
    api: str,
    key: str,
    bootstrap: str,
    database_url: str,
    *,
    requests: int,
    rate: float,
    events: int,
    progress: Callable[[str], None],
    pids: dict[str, int] | None = None,
) -> dict[str, Any]:
    host, port = api.removeprefix("http://").split(":")
    ids = national_ids(requests * 2 + 200 + events)
    warm, closed, fixed, kafka = (
        ids[:200],
        ids[200 : 200 + requests],
        ids[200 + requests : 200 + 2 * requests],
        ids[200 + 2 * requests :],
    )
    progress("warming up")
    await closed_loop(host, int(port), key, encode(warm), 8)
    progress(f"HTTP, as fast as possible: {requests} requests on 16 connections")
    before = cpu_seconds(pids or {})
    log, elapsed = await closed_loop(host, int(port), key, encode(closed), 16)
    results: dict[str, Any] = {"http_max": report_http("HTTP max throughput", log, elapsed)}
    per_request = cpu_per_request(before, cpu_seconds(pids or {}), len(log.seconds))
    results["http_cpu_ms_per_request"] = per_request
    console.print("CPU ms per request:   " + "  ".join(f"{k} {v:.2f}" for k, v in per_request.items()))
    progress(f"HTTP at a fixed {rate:.0f} requests/s")
    fixed_log = await open_loop(host, int(port), key, encode(fixed), rate, 64)
    results["http_fixed_rate"] = {"rate": rate, **report_http(f"HTTP at {rate:.0f}/s", fixed_log, None)}
    progress(f"Kafka intake: {events} events")
    before = cpu_seconds(pids or {})
    per_second = await kafka_intake(bootstrap, database_url, kafka_events(kafka))
    per_event = cpu_per_request(before, cpu_seconds(pids or {}), events)
    results["kafka_cpu_ms_per_event"] = per_event
    console.print("CPU ms per event:     " + "  ".join(f"{k} {v:.2f}" for k, v in per_event.items()))
    console.print(f"{'Kafka intake':<28} per_second {per_second:,.1f}  ({events} events)")
    results["kafka"] = {"events": events, "per_second": per_second}
    return results
