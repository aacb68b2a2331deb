"""What every bench measures with: a cheap keep-alive HTTP client, percentiles, and the CPU
seconds and peak memory of the processes under test (each with its children: PostgreSQL's backends)."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil

if TYPE_CHECKING:
    from services.launcher.embedded_broker import EmbeddedBroker
    from services.launcher.embedded_postgres import EmbeddedPostgres
    from services.launcher.supervisor import Supervisor


class Connection:
    """One keep-alive HTTP/1.1 connection that sends pre-built POSTs and reads status + body."""

    def __init__(self, host: str, port: int, key: str):
        self.host, self.port, self.key = host, port, key
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    def request(self, body: bytes) -> bytes:
        return (
            f"POST /v1/requests HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: Bearer {self.key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body

    async def post(self, body: bytes) -> int:
        return (await self.exchange(body))[0]

    async def exchange(self, body: bytes) -> tuple[int, bytes]:
        """POST `body`; the response's status and body."""
        assert self.reader is not None and self.writer is not None
        self.writer.write(self.request(body))
        status_line = await self.reader.readline()
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        payload = await self.reader.readexactly(length)
        return int(status_line.split()[1]), payload

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"count": 0}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {
        "count": len(ordered),
        "p50": at(0.50),
        "p95": at(0.95),
        "p99": at(0.99),
        "max": round(ordered[-1], 2),
    }


def process_ids(
    supervisor: Supervisor, postgres: EmbeddedPostgres, broker: EmbeddedBroker | None = None
) -> dict[str, int]:
    """The processes whose CPU a bench accounts for: every service worker, PostgreSQL, the broker."""
    pids: dict[str, int] = {c.name: c.process.pid for c in supervisor.children if c.process is not None}
    pids["postgresql"] = postgres.pid()
    if broker is not None and broker.process is not None:
        pids["broker"] = broker.process.pid
    return pids


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds used so far by each named process and its children (PostgreSQL's backends)."""
    used = {}
    for name, pid in pids.items():
        try:
            proc = psutil.Process(pid)
            procs = [proc, *proc.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        total = 0.0
        for p in procs:
            try:
                times = p.cpu_times()
                total += times.user + times.system
            except psutil.NoSuchProcess:
                pass
        used[name] = total
    used["bench client"] = sum(os.times()[:2])
    return used


def cpu_per_request(before: dict[str, float], after: dict[str, float], count: int) -> dict[str, float]:
    return {name: (after[name] - before.get(name, 0.0)) / max(count, 1) * 1000 for name in after}


@dataclass
class ProcessSampler:
    """CPU seconds and peak RSS per named process with its children (PostgreSQL's backends). A
    child counts with its private memory only: every backend maps the same shared buffers, which
    summed RSS would count once per backend."""

    pids: dict[str, int]
    interval: float = 0.25
    peak_rss: dict[str, int] = field(default_factory=dict)
    _start_cpu: dict[str, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _sample(self) -> dict[str, tuple[float, int]]:
        sample: dict[str, tuple[float, int]] = {}
        for name, pid in self.pids.items():
            try:
                root = psutil.Process(pid)
                procs = [root, *root.children(recursive=True)]
            except psutil.Error:
                continue
            cpu, rss = 0.0, 0
            for proc in procs:
                try:
                    times = proc.cpu_times()
                    cpu += times.user + times.system
                    memory = proc.memory_info()
                    rss += memory.rss if proc is root else memory.rss - getattr(memory, "shared", 0)
                except psutil.Error:
                    pass
            sample[name] = (cpu, rss)
        return sample

    def start(self) -> None:
        self._start_cpu = {name: cpu for name, (cpu, _) in self._sample().items()}
        self._thread = threading.Thread(target=self._run, name="process-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for name, (_, rss) in self._sample().items():
                self.peak_rss[name] = max(self.peak_rss.get(name, 0), rss)

    def stop(self) -> dict[str, dict[str, float]]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        end = self._sample()
        return {
            name: {
                "cpu_seconds": round(cpu - self._start_cpu.get(name, cpu), 2),
                "peak_rss_mb": round(max(self.peak_rss.get(name, 0), rss) / 2**20, 1),
            }
            for name, (cpu, rss) in sorted(end.items())
        }


def write_results(path: Path, results: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
