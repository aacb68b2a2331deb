"""The scheduled drift check: every `DSR_CATALOGUE_DRIFT_SECONDS`, one tracker worker compares
every system's live schema with the catalogue and records what it found in the ledger.

Safe with several workers: the ledger's schedule row is a lease (`store.claim`), taken by one
worker when the check is due or the catalogue changed (so a fixed catalogue is checked again at
the next round after a restart, and the first check runs soon after the first start), and its
results are recorded only while the lease still holds (a worker that ran past its lease loses it
to another, whose results stand). Every worker refreshes the gauges from the ledger each round,
so they agree (`max` aggregates them).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence

import asyncpg

from services.catalogue.drift import store
from services.catalogue.drift.findings import KINDS, OUTCOMES, SystemCheck
from services.catalogue.drift.settings import DriftSettings
from services.catalogue.loader import CatalogueError
from services.catalogue.model import Catalogue
from services.tracker import metrics

log = logging.getLogger(__name__)

Checker = Callable[[Catalogue], Awaitable[Sequence[SystemCheck]]]


def catalogue_digest(catalogue: Catalogue) -> str:
    return hashlib.sha256(catalogue.model_dump_json().encode()).hexdigest()


def export_series(systems: Sequence[str]) -> None:
    """Every catalogued system's drift series at 0 (before the first check), so `absent()`,
    `rate()` and the alerts see them from start-up."""
    for system in systems:
        metrics.UNDESCRIBED_COLUMNS.labels(system)
        metrics.UNDESCRIBED_PERSONAL.labels(system)
        for kind in KINDS:
            metrics.DRIFT_FINDINGS.labels(system, kind)
        for outcome in OUTCOMES:
            metrics.DRIFT_CHECKS.labels(system, outcome)


class DriftTimer:
    """One worker's part of the scheduled check."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        load: Callable[[], Catalogue],
        checker: Checker,
        settings: DriftSettings,
        holder: str | None = None,
    ) -> None:
        self.pool = pool
        self.load = load
        self.checker = checker
        self.settings = settings
        self.holder = holder or store.worker_id()
        self.catalogue: Catalogue | None = None
        self.systems: list[str] = []
        self._load()

    @property
    def lease_seconds(self) -> float:
        """Longer than a check can take: every system at its timeout, one after another, and margin."""
        return max(60.0, self.settings.catalogue_drift_timeout * max(len(self.systems), 1) * 2)

    def _load(self) -> Catalogue | None:
        try:
            self.catalogue = self.load()
        except CatalogueError as exc:
            # The other services refuse to start on it; the tracker keeps its deadlines going.
            log.warning("catalogue does not load: no drift check", extra={"problems": len(exc.problems)})
            return None
        self.systems = sorted(self.catalogue.systems)
        export_series(self.systems)
        return self.catalogue

    async def round(self) -> store.Recorded | None:
        """Check when this worker claims the check; refresh the gauges either way."""
        recorded = None
        catalogue = self.catalogue or self._load()
        if catalogue is not None:
            digest = catalogue_digest(catalogue)
            async with self.pool.acquire() as conn:
                claimed = await store.claim(
                    conn, holder=self.holder, digest=digest, lease_seconds=self.lease_seconds
                )
            if claimed:
                recorded = await self._check(catalogue, digest)
        await self.refresh_gauges()
        return recorded

    async def _check(self, catalogue: Catalogue, digest: str) -> store.Recorded | None:
        checks = await self.checker(catalogue)
        async with self.pool.acquire() as conn, conn.transaction():
            if not await store.finish(
                conn,
                holder=self.holder,
                digest=digest,
                interval_seconds=self.settings.catalogue_drift_seconds,
            ):
                log.warning("drift check ran past its lease; another worker's results stand")
                return None
            recorded = await store.record(conn, checks, catalogued=catalogue.systems)
        for check in checks:
            metrics.DRIFT_CHECKS.labels(check.system, check.outcome.value).inc()
        for finding in recorded.opened:
            # names only: the system, table and column are the catalogue's or the schema's, never a value
            log.info(
                "catalogue drift found",
                extra={
                    "system": finding.system,
                    "kind": finding.kind.value,
                    "table": finding.table,
                    "column": finding.column,
                    "personal": finding.personal,
                },
            )
        if recorded.resolved:
            log.info("catalogue drift resolved", extra={"count": len(recorded.resolved)})
        return recorded

    async def refresh_gauges(self) -> None:
        async with self.pool.acquire() as conn:
            states = await store.system_states(conn)
            counts = await conn.fetch(
                """select system, kind, count(*) as n from catalogue_drift_findings
                   where resolved_at is null group by system, kind"""
            )
            finished = await conn.fetchval("select last_finished_at from catalogue_drift_schedule")
        by_kind = {(row["system"], row["kind"]): row["n"] for row in counts}
        for system in self.systems:
            state = states.get(system)
            metrics.UNDESCRIBED_COLUMNS.labels(system).set(state.undescribed_columns if state else 0)
            metrics.UNDESCRIBED_PERSONAL.labels(system).set(state.undescribed_personal if state else 0)
            for kind in KINDS:
                metrics.DRIFT_FINDINGS.labels(system, kind).set(by_kind.get((system, kind), 0))
        metrics.DRIFT_LAST_CHECK.set(finished.timestamp() if finished is not None else 0)

    async def forever(self, poll_seconds: float) -> None:
        """A round at once (the first check soon after start-up), then every `poll_seconds`: the
        schedule in the ledger says when a check is due, the poll only looks."""
        while True:
            try:
                await self.round()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the ledger away: try again next round
                log.warning("drift round failed", extra={"error": type(exc).__name__})
            await asyncio.sleep(poll_seconds)
