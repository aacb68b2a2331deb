"""Reading one request's rows for its audit export: the ledger's tables, and any table that refers to it.

Tables other services add later (erasure plans, notices, review decisions) are found through the
catalogue of the database (every base table with a `request_id uuid` column), so their rows join the
export without a change here. Plumbing tables and the subject's identifier values are left out.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from services.audit.chain import verify_request
from services.audit.story import AuditStory, StoryRows, build_story

# Read explicitly (their own sections), or not the request's story (delivery plumbing, identifiers).
_NOT_RECORDS = frozenset(
    {
        "requests",
        "request_status_history",
        "audit_events",
        "findings",
        "artifacts",
        "outbox",
        "request_identifiers",
    }
)


async def find_request_id(conn: asyncpg.Connection, reference_or_id: str) -> uuid.UUID | None:
    """A request by its reference (`DSR-2026-000123`) or its id."""
    try:
        as_id = uuid.UUID(reference_or_id)
    except ValueError:
        as_id = None
    found: uuid.UUID | None = await conn.fetchval(
        "select id from requests where reference = $1 or id = $2", reference_or_id, as_id
    )
    return found


async def read_story_rows(conn: asyncpg.Connection, request_id: uuid.UUID) -> StoryRows | None:
    """Every row of the request's story, read in one snapshot (the caller's, inside its transaction)."""
    snapshot = (
        conn.transaction()
        if conn.is_in_transaction()
        else conn.transaction(isolation="repeatable_read", readonly=True)
    )
    async with snapshot:
        request = await conn.fetchrow("select * from requests where id = $1", request_id)
        if request is None:
            return None
        kinds = await conn.fetch("select kind from request_identifiers where request_id = $1", request_id)
        history = await conn.fetch(
            "select status, at, actor, reason from request_status_history where request_id = $1 order by id",
            request_id,
        )
        trail = await conn.fetch(
            """select seq, at, actor, action, detail, hash, prev_hash from audit_events
               where request_id = $1 order by seq, id""",
            request_id,
        )
        findings = await conn.fetch(
            'select system, "table", categories from findings where request_id = $1 order by system, "table"',
            request_id,
        )
        artifacts = await conn.fetch(
            """select id, kind, media_type, filename, size, created_at, purged_at from artifacts
               where request_id = $1 order by created_at, id""",
            request_id,
        )
        records = {table: await _rows_of(conn, table, request_id) for table in await _tables_referring(conn)}
        chain = await verify_request(conn, request_id)
    return StoryRows(
        request=dict(request),
        identifier_kinds=[r["kind"] for r in kinds],
        history=[dict(r) for r in history],
        audit=[dict(r) for r in trail],
        findings=[dict(r) for r in findings],
        artifacts=[dict(r) for r in artifacts],
        chain=chain,
        records={table: rows for table, rows in records.items() if rows},
    )


async def _tables_referring(conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch(
        """select c.table_name from information_schema.columns c
           join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
           where c.table_schema = current_schema() and c.column_name = 'request_id' and c.data_type = 'uuid'
             and t.table_type = 'BASE TABLE'
           order by c.table_name"""
    )
    return [r["table_name"] for r in rows if r["table_name"] not in _NOT_RECORDS]


async def _rows_of(conn: asyncpg.Connection, table: str, request_id: uuid.UUID) -> list[dict[str, object]]:
    quoted = '"' + table.replace('"', '""') + '"'
    rows = await conn.fetch(f"select * from {quoted} where request_id = $1 order by 1", request_id)
    return [{k: v for k, v in dict(r).items() if k != "request_id"} for r in rows]


async def load_story(conn: asyncpg.Connection, reference_or_id: str, *, now: datetime) -> AuditStory | None:
    request_id = await find_request_id(conn, reference_or_id)
    if request_id is None:
        return None
    rows = await read_story_rows(conn, request_id)
    return None if rows is None else build_story(rows, generated_at=now)
