"""The drift check's results in the ledger: one row per drift, upserted by identity.

A check of a system that answered replaces what is known of it: every finding it made is seen
again (or opened: first seen now), every open finding it did not make is resolved. A system that
did not answer keeps its findings as they were: unknown is not "fixed". Findings of a system the
catalogue no longer names are resolved. The schedule row lets one tracker worker at a time run
the check (a lease: a worker that dies mid-check lets another take over once it runs out).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from services.catalogue.drift.findings import CheckOutcome, DriftKind, Finding, SystemCheck


@dataclass(frozen=True)
class Recorded:
    """What one check changed in the ledger."""

    opened: list[Finding]
    """Drift seen for the first time (or again after it had been resolved): reported once."""
    resolved: list[str]
    """Identities of drift no longer found."""


async def record(
    conn: asyncpg.Connection, checks: Sequence[SystemCheck], *, catalogued: Iterable[str]
) -> Recorded:
    """Store one check of every system (call in a transaction)."""
    opened: list[Finding] = []
    resolved: list[str] = []
    for check in checks:
        await conn.execute(
            """insert into catalogue_drift_systems
                   (system, checked_at, outcome, reason, undescribed_columns, undescribed_personal)
               values ($1, now(), $2, $3, $4, $5)
               on conflict (system) do update set checked_at = now(), outcome = excluded.outcome,
                   reason = excluded.reason,
                   undescribed_columns = case when excluded.outcome = 'checked'
                       then excluded.undescribed_columns else catalogue_drift_systems.undescribed_columns end,
                   undescribed_personal = case when excluded.outcome = 'checked'
                       then excluded.undescribed_personal else catalogue_drift_systems.undescribed_personal end""",
            check.system,
            check.outcome.value,
            check.reason,
            check.undescribed_columns,
            check.undescribed_personal,
        )
        if check.outcome is not CheckOutcome.checked:
            continue
        for finding in check.findings:
            if await _upsert(conn, finding):
                opened.append(finding)
        gone = await conn.fetch(
            """update catalogue_drift_findings set resolved_at = now()
               where system = $1 and resolved_at is null and identity <> all($2::text[])
               returning identity""",
            check.system,
            [finding.identity for finding in check.findings],
        )
        resolved += [row["identity"] for row in gone]
    gone = await conn.fetch(
        """update catalogue_drift_findings set resolved_at = now()
           where resolved_at is null and system <> all($1::text[]) returning identity""",
        sorted(catalogued),
    )
    resolved += [row["identity"] for row in gone]
    await conn.execute(
        "delete from catalogue_drift_systems where system <> all($1::text[])", sorted(catalogued)
    )
    return Recorded(opened, resolved)


async def _upsert(conn: asyncpg.Connection, finding: Finding) -> bool:
    """Seen again, or opened; True when opened now (new, or back after it had been resolved)."""
    return bool(
        await conn.fetchval(
            """insert into catalogue_drift_findings
                   (identity, system, kind, table_name, column_name, personal, detail)
               values ($1, $2, $3, $4, $5, $6, $7)
               on conflict (identity) do update set
                   personal = excluded.personal, detail = excluded.detail, last_seen_at = now(),
                   checks = case when catalogue_drift_findings.resolved_at is null
                                 then catalogue_drift_findings.checks + 1 else 1 end,
                   first_seen_at = case when catalogue_drift_findings.resolved_at is null
                                 then catalogue_drift_findings.first_seen_at else now() end,
                   resolved_at = null
               returning checks = 1""",
            finding.identity,
            finding.system,
            finding.kind.value,
            finding.table,
            finding.column,
            finding.personal,
            dict(finding.detail),
        )
    )


@dataclass(frozen=True)
class OpenFinding:
    """An open finding as the ledger holds it (the console's and the metrics' view)."""

    system: str
    kind: DriftKind
    table: str
    column: str | None
    personal: bool
    detail: dict[str, Any]
    first_seen_at: datetime
    last_seen_at: datetime

    @property
    def finding(self) -> Finding:
        return Finding(self.system, self.kind, self.table, self.column, self.personal, self.detail)


async def open_findings(conn: asyncpg.Connection, *, personal_only: bool = False) -> list[OpenFinding]:
    """Open findings, personal first, then by system, table and column."""
    rows = await conn.fetch(
        """select system, kind, table_name, column_name, personal, detail, first_seen_at, last_seen_at
           from catalogue_drift_findings where resolved_at is null and (personal or not $1)
           order by personal desc, system, table_name, column_name nulls first, kind""",
        personal_only,
    )
    return [
        OpenFinding(
            row["system"],
            DriftKind(row["kind"]),
            row["table_name"],
            row["column_name"],
            row["personal"],
            row["detail"],
            row["first_seen_at"],
            row["last_seen_at"],
        )
        for row in rows
    ]


@dataclass(frozen=True)
class SystemState:
    system: str
    checked_at: datetime
    outcome: CheckOutcome
    reason: str | None
    undescribed_columns: int
    undescribed_personal: int


async def system_states(conn: asyncpg.Connection) -> dict[str, SystemState]:
    rows = await conn.fetch("select * from catalogue_drift_systems order by system")
    return {
        row["system"]: SystemState(
            row["system"],
            row["checked_at"],
            CheckOutcome(row["outcome"]),
            row["reason"],
            row["undescribed_columns"],
            row["undescribed_personal"],
        )
        for row in rows
    }


async def drifted_systems(conn: asyncpg.Connection, systems: Iterable[str] | None = None) -> list[str]:
    """Systems with open personal drift (of `systems`, when given): a locate or an erasure that
    runs now may miss what the catalogue does not describe."""
    rows = await conn.fetch(
        """select distinct system from catalogue_drift_findings
           where resolved_at is null and personal and ($1::text[] is null or system = any($1::text[]))
           order by system""",
        None if systems is None else sorted(systems),
    )
    return [row["system"] for row in rows]


# ------------------------------------------------------------------------------------ schedule


async def claim(conn: asyncpg.Connection, *, holder: str, digest: str, lease_seconds: float) -> bool:
    """Take the check when it is due (or the catalogue changed since the last one) and no other
    worker holds a live lease: one worker checks, whatever their number."""
    return bool(
        await conn.fetchval(
            """update catalogue_drift_schedule
               set holder = $1, lease_until = now() + make_interval(secs => $3), last_started_at = now()
               where (next_check_at <= now() or catalogue_digest is distinct from $2)
                 and (lease_until is null or lease_until < now())
               returning true""",
            holder,
            digest,
            lease_seconds,
        )
    )


async def finish(conn: asyncpg.Connection, *, holder: str, digest: str, interval_seconds: float) -> bool:
    """Release the lease and set the next check; False when the lease was lost meanwhile (another
    worker took over after it ran out, and its results stand)."""
    return bool(
        await conn.fetchval(
            """update catalogue_drift_schedule
               set holder = null, lease_until = null, catalogue_digest = $2, last_finished_at = now(),
                   next_check_at = now() + make_interval(secs => $3)
               where holder = $1 and lease_until >= now()
               returning true""",
            holder,
            digest,
            interval_seconds,
        )
    )


async def check_soon(conn: asyncpg.Connection) -> None:
    """Ask for a check at the tracker's next round (`dsr demo drift`, after a catalogue change)."""
    await conn.execute("update catalogue_drift_schedule set next_check_at = now()")


def worker_id() -> str:
    return f"tracker-{uuid.uuid4().hex[:12]}"
