"""What an executed plan leaves in the ledger for later, in the plan's closing transaction.

Records kept until a date go on the erasure schedule; restrictions made on request are recorded
(to be lifted later); the purposes a withdrawn consent stopped are kept per record (what a later
extract says of them); erased marketing data puts the person on the suppression list; every
recipient of a changed table is told (Art. 19).
"""

from __future__ import annotations

import uuid
from collections import defaultdict

import asyncpg

from services.catalogue.model import Catalogue
from services.erasure.notices import notify_recipients
from services.erasure.plan import ErasurePlan
from services.erasure.retention import Action, Method
from services.erasure.scopes import Scope
from services.erasure.suppression import suppress

CHANGE_WORD = {Action.erase: "erased", Action.anonymise: "anonymised", Action.restrict: "restricted"}


async def schedule_kept(conn: asyncpg.Connection, plan: ErasurePlan, request_id: uuid.UUID | None) -> None:
    """Records kept until a date are erased on that date by the scheduler."""
    await conn.executemany(
        """insert into erasure_schedule (system, "table", record_key, due_on, request_id)
           values ($1, $2, $3, $4, $5)
           on conflict (system, "table", record_key) do update
               set due_on = excluded.due_on, status = 'pending', done_at = null""",
        [
            (r.system, r.table, dict(r.key), r.decision.until, request_id)
            for r in plan.records
            if r.decision.action is Action.retain and r.decision.until is not None
        ],
    )


async def remember(
    conn: asyncpg.Connection, hash_key: bytes, request_id: uuid.UUID, plan: ErasurePlan
) -> None:
    """Stopped purposes, restrictions made on request, and the suppression list."""
    await conn.executemany(  # what a later extract says of these rows (`stopped_purposes`)
        """insert into stopped_purposes (request_id, system, "table", record_key, purposes)
           values ($1, $2, $3, $4, $5) on conflict (system, "table", record_key, request_id) do nothing""",
        [
            (
                request_id,
                r.system,
                r.table,
                dict(r.key),
                {
                    "stopped": [p.as_dict() for p in r.decision.purposes.stopped],
                    "continuing": [p.as_dict() for p in r.decision.purposes.continuing],
                },
            )
            for r in plan.records
            if r.decision.purposes is not None
        ],
    )
    if plan.scope in (Scope.restriction.value, Scope.objection_restrict.value):
        await conn.executemany(
            """insert into restrictions (request_id, system, "table", record_key)
               values ($1, $2, $3, $4) on conflict do nothing""",
            [
                (request_id, r.system, r.table, dict(r.key))
                for r in plan.records
                if r.decision.mark_restricted
            ],
        )
    if any(r.system == "marketing" and r.decision.action is Action.erase for r in plan.records):
        identifiers = {
            r["kind"]: r["value"]
            for r in await conn.fetch(
                "select kind, value from request_identifiers where request_id = $1", request_id
            )
        }
        await suppress(conn, hash_key, identifiers, request_id=request_id)


async def tell_recipients(
    conn: asyncpg.Connection,
    catalogue: Catalogue,
    request_id: uuid.UUID,
    reference: str,
    plan: ErasurePlan,
) -> list[str]:
    """One notice per recipient and kind of change, naming the affected tables; returns the
    recipients told."""
    affected: dict[tuple[str, str], set[str]] = defaultdict(set)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for record in plan.records:
        d = record.decision
        word = CHANGE_WORD.get(d.action)
        if d.action is Action.retain and d.mark_restricted:
            word = "restricted"
        if d.purposes is not None:  # a withdrawn consent: columns emptied, or a purpose marked
            word = "erased" if d.columns else "restricted"
        if word is None or (d.method is Method.none and not d.mark_restricted and not d.marks):
            continue
        table = catalogue.systems[record.system].tables[record.table]
        for recipient in table.recipients:
            affected[(recipient, word)].add(f"{record.system}.{record.table}")
            counts[(recipient, word)] += 1
    return await notify_recipients(conn, request_id, reference, affected, counts)
