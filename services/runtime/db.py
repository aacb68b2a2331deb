"""The ledger's connection pool."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from services.systems.contract import SystemUnknown


def _encode_json(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)


async def _init_connection(conn: asyncpg.Connection) -> None:
    for name in ("json", "jsonb"):
        await conn.set_type_codec(name, encoder=_encode_json, decoder=json.loads, schema="pg_catalog")


class LedgerConnection(asyncpg.Connection):  # type: ignore[misc]
    """Skips asyncpg's reset query on release (advisory unlock, CLOSE ALL, UNLISTEN, RESET ALL).

    It costs a round trip per checkout, and nothing here leaves such state on a pooled
    connection: advisory locks are transaction-scoped or released in `finally`, and the relay
    keeps its LISTEN connection for its whole life.
    """

    def get_reset_query(self) -> str:
        return ""


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10, **kwargs: Any) -> asyncpg.Pool:
    """A pool whose connections speak JSON for json/jsonb columns."""
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        command_timeout=30,
        connection_class=LedgerConnection,
        # Our statements are short OLTP lookups by key; re-planning them per call (PostgreSQL's
        # custom plans, which it keeps choosing for array parameters) cost more than running them.
        server_settings={"plan_cache_mode": "force_generic_plan", **kwargs.pop("server_settings", {})},
        **kwargs,
    )
    assert pool is not None
    return pool


async def plan_afresh(conn: asyncpg.Connection) -> None:
    """Plan this transaction's statements for the tables as they are now (call inside a transaction).

    For statements run once a round (timers, sweeps), not per request: a generic plan cached
    while the ledger was empty, as on a fresh ledger, stays a sequential scan until autovacuum
    analyses the table, and these statements read the big tables; planning once a round costs
    well under a millisecond.
    """
    await conn.execute("set local plan_cache_mode = force_custom_plan")


# Errors after which retrying the same work later can succeed (the database is restarting,
# a connection dropped, a serialization conflict, a source system that cannot answer yet).
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    SystemUnknown,
    OSError,
    ConnectionError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.InterfaceError,
    TimeoutError,
)
