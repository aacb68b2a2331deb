"""A locate or an erasure that runs while systems have open personal drift says so in the
request's audit trail: the catalogue does not describe some personal data there, so what was
found (and erased) may be incomplete. Datatilsynet reading the trail sees which systems, how many
findings, and since when; the findings themselves are in the ledger (`catalogue_drift_findings`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import asyncpg

from services.runtime.ledger import audit

ACTION = "catalogue.drift_noted"


async def note_drift(
    conn: asyncpg.Connection,
    request_id: uuid.UUID,
    actor: str,
    stage: str,
    systems: Iterable[str] | None = None,
) -> list[str]:
    """Audit the open personal drift of `systems` (every system when None) at `stage` (`locate`,
    `erasure`); returns the drifted systems (none: nothing is written)."""
    rows = await conn.fetch(
        """select system, count(*) as findings, min(first_seen_at) as since
           from catalogue_drift_findings
           where resolved_at is null and personal and ($1::text[] is null or system = any($1::text[]))
           group by system order by system""",
        None if systems is None else sorted(systems),
    )
    if not rows:
        return []
    await audit(
        conn,
        request_id,
        actor,
        ACTION,
        {
            "stage": stage,
            "systems": [row["system"] for row in rows],
            "findings": {row["system"]: row["findings"] for row in rows},
            "since": {row["system"]: row["since"].isoformat() for row in rows},
            "note": "the catalogue does not describe personal data in these systems: the result may be incomplete",
        },
    )
    return [row["system"] for row in rows]
