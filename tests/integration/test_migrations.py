import asyncio
from dataclasses import replace

import asyncpg
import pytest

from services.runtime.migrator import Migration, MigrationError, load_migrations, migrate


async def _fresh(postgres_url: str, name: str) -> str:
    conn = await asyncpg.connect(postgres_url)
    try:
        await conn.execute(f"drop database if exists {name} with (force)")
        await conn.execute(f"create database {name}")
    finally:
        await conn.close()
    return postgres_url.rsplit("/", 1)[0] + f"/{name}"


async def test_concurrent_starts_apply_each_migration_once(postgres) -> None:  # type: ignore[no-untyped-def]
    url = await _fresh(postgres.url(), "migrate_concurrent")
    conns = [await asyncpg.connect(url) for _ in range(5)]
    try:
        results = await asyncio.gather(*(migrate(c) for c in conns))
        applied = [name for names in results for name in names]
        assert sorted(applied) == sorted(m.name for m in load_migrations())
        assert await conns[0].fetchval("select count(*) from schema_migrations") == len(load_migrations())
    finally:
        for c in conns:
            await c.close()


async def test_running_again_applies_nothing(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        assert await migrate(conn) == []
    finally:
        await conn.close()


async def test_a_migration_edited_after_it_was_applied_is_refused(database_url: str) -> None:
    edited = [replace(m, sql=m.sql + "\n-- edited") if m.version == 1 else m for m in load_migrations()]
    conn = await asyncpg.connect(database_url)
    try:
        with pytest.raises(MigrationError, match="changed after it was applied"):
            await migrate(conn, edited)
    finally:
        await conn.close()


async def test_a_failing_migration_leaves_no_trace(database_url: str) -> None:
    broken = [
        *load_migrations(),
        Migration(9999, "9999_broken.sql", "create table t_ok (x int); select 1/0;"),
    ]
    conn = await asyncpg.connect(database_url)
    try:
        with pytest.raises(asyncpg.DivisionByZeroError):
            await migrate(conn, broken)
        assert await conn.fetchval("select to_regclass('t_ok')") is None
        assert await conn.fetchval("select count(*) from schema_migrations where version = 9999") == 0
    finally:
        await conn.close()
