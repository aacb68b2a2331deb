"""The locator's ledger rows: the request's identifiers in, findings and waiting searches out."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import NamedTuple

import asyncpg

from services.catalogue.model import IdentifierType
from services.locator.search import Finding


async def read_seeds(conn: asyncpg.Connection, request_id: uuid.UUID) -> dict[IdentifierType, str]:
    """The request's normalised identifiers (intake stored them); unknown kinds are ignored."""
    rows = await conn.fetch("select kind, value from request_identifiers where request_id = $1", request_id)
    known = {kind.value for kind in IdentifierType}
    return {IdentifierType(row["kind"]): row["value"] for row in rows if row["kind"] in known}


async def read_scope(conn: asyncpg.Connection, request_id: uuid.UUID) -> str | None:
    """The identity scope intake recorded (`email_direct` after an email confirmation), else None."""
    scope: str | None = await conn.fetchval("select identity_scope from requests where id = $1", request_id)
    return scope


async def save_findings(conn: asyncpg.Connection, request_id: uuid.UUID, findings: list[Finding]) -> None:
    """Replace the request's findings (a search run again after a review starts afresh)."""
    await conn.execute("delete from findings where request_id = $1", request_id)
    if not findings:
        return
    await conn.executemany(
        """insert into findings (request_id, system, "table", primary_key, categories, matched_by)
           values ($1, $2, $3, $4::jsonb, $5, $6::jsonb)""",
        [
            (
                request_id,
                finding.row.system,
                finding.row.table,
                dict(zip(finding.primary_key_columns, finding.row.key, strict=True)),
                list(finding.categories),
                list(finding.chain),
            )
            for finding in findings
        ],
    )


class Wait(NamedTuple):
    request_id: uuid.UUID
    systems: list[str]
    waiting_since: datetime
    attempts: int


async def record_wait(
    conn: asyncpg.Connection, request_id: uuid.UUID, systems: tuple[str, ...], *, retry_in: timedelta
) -> Wait:
    """Start or continue waiting: the next attempt is due `retry_in` from now."""
    row = await conn.fetchrow(
        """insert into locator_waits (request_id, systems, next_attempt_at)
           values ($1, $2, now() + $3)
           on conflict (request_id) do update
               set systems = excluded.systems, next_attempt_at = excluded.next_attempt_at,
                   attempts = locator_waits.attempts + 1
           returning request_id, systems, waiting_since, attempts""",
        request_id,
        list(systems),
        retry_in,
    )
    assert row is not None
    return Wait(row["request_id"], list(row["systems"]), row["waiting_since"], row["attempts"])


async def clear_wait(conn: asyncpg.Connection, request_id: uuid.UUID) -> None:
    await conn.execute("delete from locator_waits where request_id = $1", request_id)


async def take_due_wait(conn: asyncpg.Connection) -> Wait | None:
    """One due waiting search, locked for this transaction (other workers skip it)."""
    row = await conn.fetchrow(
        """select request_id, systems, waiting_since, attempts from locator_waits
           where next_attempt_at <= now() order by next_attempt_at limit 1 for update skip locked"""
    )
    if row is None:
        return None
    return Wait(row["request_id"], list(row["systems"]), row["waiting_since"], row["attempts"])
