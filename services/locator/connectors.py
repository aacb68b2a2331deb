"""How the locator reads a system: a small interface, and the PostgreSQL connector that the
catalogue drives entirely (its plan is the SQL; its connection reference resolves to a DSN).

A new kind of system (an HTTP API, a file share) is a new class with `name` and `search`; a system
that cannot answer by itself is the manual connector (`manual.py`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

import asyncpg

from services.catalogue.model import IdentifierType
from services.locator.metrics import CONNECTOR_ERRORS, CONNECTOR_SECONDS
from services.locator.plan import SystemPlan
from services.locator.search import SourceRow

log = logging.getLogger(__name__)


class SystemUnavailable(Exception):
    """The system could not be read (down, unreachable, too slow): never the same as "no data"."""

    def __init__(self, system: str, cause: str):
        super().__init__(f"{system}: {cause}")
        self.system = system
        self.cause = cause


class Connector(Protocol):
    """Searches one system for one round: the rows holding any of `values`, or belonging to one of
    `parents` (table -> keys). Raises `SystemUnavailable` when it cannot tell."""

    name: str

    async def search(
        self, values: dict[IdentifierType, set[str]], parents: dict[str, set[str]]
    ) -> list[SourceRow]: ...

    async def close(self) -> None: ...


class PostgresConnector:
    """One pooled PostgreSQL database; one statement per round, with a timeout and retries.

    After the retries fail, the system counts as down for `cooldown` seconds (searches fail fast).
    """

    def __init__(
        self,
        plan: SystemPlan,
        dsn: str,
        *,
        timeout: float = 2.0,
        attempts: int = 3,
        backoff: float = 0.05,
        cooldown: float = 5.0,
        pool_max: int = 10,
    ) -> None:
        self.name = plan.name
        self.plan = plan
        self._dsn = dsn
        self._timeout = timeout
        self._attempts = attempts
        self._backoff = backoff
        self._pool_max = pool_max
        self._cooldown = cooldown
        self._down_until = 0.0
        self._down_cause = ""
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()
        self.statements = 0
        """Statements sent (a benchmark counts round trips with it)."""

    async def search(
        self, values: dict[IdentifierType, set[str]], parents: dict[str, set[str]]
    ) -> list[SourceRow]:
        if self._cooldown and time.monotonic() < self._down_until:
            # Just failed: answer at once, so a batch of requests does not wait out the timeouts
            # one by one while the system is down (each request waits and is retried later).
            raise SystemUnavailable(self.name, self._down_cause)
        arguments = self.plan.arguments(values, parents)
        delay = self._backoff
        cause = "unknown"
        for attempt in range(1, self._attempts + 1):
            started = time.perf_counter()
            try:
                records = await asyncio.wait_for(self._fetch(arguments), self._timeout)
                CONNECTOR_SECONDS.labels(self.name).observe(time.perf_counter() - started)
                return [(r[0], list(r[1]), r[2], list(r[3])) for r in records]
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                cause = type(exc).__name__
                CONNECTOR_ERRORS.labels(self.name, cause).inc()
                log.warning(
                    "system search failed", extra={"system": self.name, "attempt": attempt, "error": cause}
                )
            if attempt < self._attempts:
                await asyncio.sleep(delay)
                delay *= 2
        self._down_until, self._down_cause = time.monotonic() + self._cooldown, cause
        raise SystemUnavailable(self.name, cause)

    async def _fetch(self, arguments: list[list[str]]) -> list[asyncpg.Record]:
        pool = await self._open()
        self.statements += 1
        async with pool.acquire() as conn:
            records: list[asyncpg.Record] = await conn.fetch(self.plan.sql, *arguments)
            return records

    async def _open(self) -> asyncpg.Pool:
        async with self._opening:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    self._dsn,
                    min_size=0,
                    max_size=self._pool_max,
                    max_inactive_connection_lifetime=60,
                    server_settings={
                        "application_name": "dsr-locator",
                        "plan_cache_mode": "force_generic_plan",
                        "default_transaction_read_only": "on",
                    },
                )
            return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()
