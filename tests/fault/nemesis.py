"""The nemesis: real faults, injected while the load runs, each recorded (start, end) in the history.

Every fault is a real signal or a real outage: SIGKILL of a service process, a service dying by
`DSR_FAULT_CRASH_AT` between its database commit and its offset commit, SIGSTOP of every PostgreSQL
process, the broker stopped and started empty, the second PostgreSQL server (one source system)
stopped, a source table locked so the locator's reads time out.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Awaitable, Callable, Sequence

import asyncpg
import psutil

from services.catalogue.dsn import database_url
from services.runtime.kafka import ensure_topics
from tests.fault.cluster import DETACHED_SYSTEM, HTTP_SYSTEM, LOCKED_SYSTEM, LOCKED_TABLE, Cluster
from tests.fault.history import History

Step = Callable[[], Awaitable[None]]


class Nemesis:
    def __init__(self, cluster: Cluster, history: History) -> None:
        self.cluster = cluster
        self.history = history

    async def run(self, schedule: Sequence[tuple[float, Step]]) -> None:
        """Start each step at its time (seconds since the history's origin); steps may overlap."""

        async def at(when: float, step: Step) -> None:
            await asyncio.sleep(max(0.0, when - self.history.now()))
            await step()

        await asyncio.gather(*(at(when, step) for when, step in schedule))

    async def kill(self, name: str, down: float = 1.0) -> None:
        """SIGKILL a service, leave it down `down` seconds, start it again."""
        process = self.cluster.services[name].process
        assert process is not None and process.poll() is None, f"{name} is not running"
        fault = self.history.fault(f"sigkill {name}", f"pid {process.pid}")
        os.kill(process.pid, signal.SIGKILL)
        await asyncio.to_thread(process.wait, 10)
        await asyncio.sleep(down)
        await self.cluster.restart(name)
        self.history.end(fault)

    async def crash_after_commit(self, name: str, point: str, within: float) -> None:
        """The service was started with DSR_FAULT_CRASH_AT: wait until it killed itself between its
        database commit and its offset commit, then start it again without."""
        process = self.cluster.services[name].process
        assert process is not None
        code = await asyncio.to_thread(process.wait, within)  # TimeoutExpired: the point was never reached
        fault = self.history.fault(f"crash {name} at {point}", f"exit {code}")
        fault.started = self.history.now()
        await self.cluster.restart(name)
        self.history.end(fault)
        assert code == -signal.SIGKILL, f"{name} exited {code}, not by its crash point"

    async def pause_postgres(self, seconds: float) -> None:
        """SIGSTOP the ledger's PostgreSQL (postmaster and every backend), SIGCONT after `seconds`."""
        postmaster = psutil.Process(self.cluster.ledger_server.pid())
        processes = [postmaster, *postmaster.children(recursive=True)]
        fault = self.history.fault("sigstop postgresql", f"{len(processes)} processes, {seconds:g} s")
        for process in processes:
            process.send_signal(signal.SIGSTOP)
        try:
            await asyncio.sleep(seconds)
        finally:
            for process in processes:
                with contextlib.suppress(psutil.NoSuchProcess):
                    process.send_signal(signal.SIGCONT)
        self.history.end(fault)

    async def wipe_broker(self, down: float = 1.0) -> None:
        """Stop the broker and start it empty (memory storage: every topic and offset forgotten),
        then create the topics as `dsr up` does at start-up."""
        fault = self.history.fault("broker restart, all topics forgotten")
        await asyncio.to_thread(self.cluster.broker.stop)
        await asyncio.sleep(down)
        await asyncio.to_thread(self.cluster.broker.start)
        assert self.cluster.settings is not None
        await ensure_topics(self.cluster.settings)
        self.history.end(fault)

    async def source_down(self, seconds: float) -> None:
        """Stop the server that holds one source system's database and the newsletter SaaS's API
        (another system, over HTTP); start both again after `seconds`."""
        fault = self.history.fault(
            f"source systems {DETACHED_SYSTEM} and {HTTP_SYSTEM} down", f"{seconds:g} s"
        )
        await asyncio.gather(
            asyncio.to_thread(self.cluster.source_server.stop),
            asyncio.to_thread(self.cluster.newsletter.stop),
        )
        await asyncio.sleep(seconds)
        await asyncio.gather(
            asyncio.to_thread(self.cluster.source_server.start),
            asyncio.to_thread(self.cluster.newsletter.start),
        )
        self.history.end(fault)

    async def lock_source_table(self, seconds: float) -> None:
        """Hold an ACCESS EXCLUSIVE lock on a source table longer than the locator's per-system
        timeout: its reads of that system hang and time out (a real timeout, not a fake)."""
        url = database_url(self.cluster.ledger_server.url(), f"demo_{LOCKED_SYSTEM}")
        conn = await asyncpg.connect(url)
        try:
            async with conn.transaction():
                await conn.execute(f"lock table {LOCKED_TABLE} in access exclusive mode")
                fault = self.history.fault(
                    f"connector timeout: {LOCKED_SYSTEM}.{LOCKED_TABLE} locked", f"{seconds:g} s"
                )
                await asyncio.sleep(seconds)
        finally:
            await conn.close()
        self.history.end(fault)
