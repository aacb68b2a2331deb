"""Numbered SQL migrations, applied in order at start-up under an advisory lock.

Every service calls `migrate` when it starts; the lock makes concurrent starts safe and the
checksum catches a migration edited after it was applied.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from importlib import resources

import asyncpg

log = logging.getLogger(__name__)

_LOCK_KEY = 0x64737231  # "dsr1": one advisory lock for schema changes
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


class MigrationError(RuntimeError):
    pass


def load_migrations(package: str = "services.runtime.migrations") -> list[Migration]:
    found = []
    for entry in resources.files(package).iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two migrations share a number: {versions}")
    return found


async def migrate(conn: asyncpg.Connection, migrations: list[Migration] | None = None) -> list[str]:
    """Apply what is missing; return the names applied now."""
    migrations = load_migrations() if migrations is None else migrations
    applied_now: list[str] = []
    await conn.execute("select pg_advisory_lock($1)", _LOCK_KEY)
    try:
        await conn.execute(
            """create table if not exists schema_migrations (
                   version int primary key, name text not null, checksum text not null,
                   applied_at timestamptz not null default now())"""
        )
        applied = {
            r["version"]: r for r in await conn.fetch("select version, name, checksum from schema_migrations")
        }
        for migration in migrations:
            row = applied.get(migration.version)
            if row is not None:
                if row["checksum"] != migration.checksum:
                    raise MigrationError(f"migration {migration.name} changed after it was applied")
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "insert into schema_migrations (version, name, checksum) values ($1, $2, $3)",
                    migration.version,
                    migration.name,
                    migration.checksum,
                )
            applied_now.append(migration.name)
            log.info("migration applied", extra={"migration": migration.name})
        await analyse(conn, everything=bool(applied_now))
    finally:
        await conn.execute("select pg_advisory_unlock($1)", _LOCK_KEY)
    return applied_now


async def analyse(conn: asyncpg.Connection, *, everything: bool = False) -> list[str]:
    """ANALYZE the ledger's tables that hold rows without statistics (restored from a dump, which
    carries none), or every table holding rows when `everything` (migrations just changed them).

    Never an empty table: analysed empty, a table is planned as 0 pages instead of the planner's
    10-page floor for never-analysed ones, and every hot statement's generic plan cached then
    becomes a sequential scan until autovacuum analyses it again (measured in
    `tests/integration/test_ledger_plans.py`). An ANALYZE also invalidates the cached plans that
    read the table, on every connection. Returns the tables analysed.
    """
    tables = [
        r["name"]
        for r in await conn.fetch(
            """select c.oid::regclass::text as name from pg_class c
               where c.relnamespace = current_schema()::regnamespace and c.relkind = 'r'
                 and pg_relation_size(c.oid) > 0 and ($1 or c.reltuples < 0)
               order by 1""",
            everything,
        )
    ]
    for table in tables:
        await conn.execute(f"analyze {table}")
    if tables:
        log.info("ledger analysed", extra={"tables": len(tables)})
    return tables
