"""The ledger a local run uses: its database on the embedded server, migrated, with its topics.

Shared by `dsr up` and the benches, which start the same stack on their own servers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from services.runtime.settings import Settings

LEDGER_DATABASE = "dsr"
"""The ledger's database on an embedded server."""


async def prepare_ledger(server_url: str | None, database_url: str, settings: Settings) -> None:
    """Make the ledger database on an embedded server's first start, migrate it, make the topics."""
    import asyncpg  # here, not at import: `dsr --help` and the catalogue commands need no driver

    from services.runtime.kafka import ensure_topics
    from services.runtime.migrator import migrate

    if server_url is not None:
        conn = await asyncpg.connect(server_url)
        try:
            if not await conn.fetchval("select 1 from pg_database where datname = $1", LEDGER_DATABASE):
                await conn.execute(f'create database "{LEDGER_DATABASE}"')
        finally:
            await conn.close()
    conn = await asyncpg.connect(database_url)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    await ensure_topics(settings)
