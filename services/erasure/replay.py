"""Erasure survives a backup restore: every erasure the ledger recorded for a system since a time
is applied again. A row is erased again only when it is back exactly as it was (its keyed
fingerprint matches), so replaying twice, or over rows erased since, changes nothing more."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from services.erasure.retention import Method
from services.erasure.systems import Change, ErasureSystems
from services.runtime.ledger import audit


@dataclass(frozen=True)
class ReplayReport:
    system: str
    since: datetime
    checked: int
    reapplied: int
    by_table: dict[str, int] = field(default_factory=dict)


async def replay(pool: asyncpg.Pool, systems: ErasureSystems, system: str, since: datetime) -> ReplayReport:
    rows = await pool.fetch(
        """select "table", record_key, method, columns, fingerprint from erasure_ledger
           where system = $1 and erased_at >= $2 order by id""",
        system,
        since,
    )
    changes = [
        Change(r["table"], r["record_key"], Method(r["method"]), tuple(r["columns"]), False, r["fingerprint"])
        for r in rows
    ]
    reapplied = await systems.replay(system, changes) if changes else []
    by_table = dict(Counter(change.table for change in reapplied))
    async with pool.acquire() as conn:
        await audit(
            conn,
            None,
            "erasure-replay",
            "erasure_replayed",
            {"system": system, "since": since.isoformat(), "checked": len(changes), "reapplied": by_table},
        )
    return ReplayReport(system, since, len(changes), len(reapplied), by_table)
