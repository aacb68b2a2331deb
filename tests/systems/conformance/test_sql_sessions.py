"""What the sql engine's connections carry on each real dialect the suite has a server for:
read-only sessions that the database itself enforces, and the server-side limits."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from services.catalogue.model import IdentifierType
from services.systems.contract import RowChange, SystemUnknown
from services.systems.sample import KARI_ID
from services.systems.sql import SqlSystem
from tests.systems.conformance.engines import SqlEngineFixture
from tests.systems.conformance.fixture import EngineFixture


@pytest.fixture
async def sql_engine(engine_fixture: EngineFixture) -> SqlEngineFixture:
    if not isinstance(engine_fixture, SqlEngineFixture) or engine_fixture.engine != "sql":
        pytest.skip("the sql engine's sessions")
    await engine_fixture.restore()
    return engine_fixture


async def test_a_read_only_adapter_reads_and_the_database_refuses_its_writes(
    sql_engine: SqlEngineFixture,
) -> None:
    adapter = sql_engine.adapter(read_only=True)
    assert isinstance(adapter, SqlSystem)
    before = await sql_engine.dump()
    try:
        assert len(await adapter.search({IdentifierType.national_id: {KARI_ID}}, {})) == 1
        with pytest.raises(SystemUnknown) as raised:
            await adapter.apply([RowChange("customers", "1", values={"name": "Pseudonym"})])
        assert raised.value.cause == "read_only"
        # and should the adapter ever try, the session itself is read-only
        customers = adapter.tables["customers"]
        with pytest.raises(sa.exc.DBAPIError):
            async with adapter._engine.begin() as conn:
                await conn.execute(sa.update(customers).where(customers.c.id == 1).values(name="Pseudonym"))
        if adapter._reader is not None:  # SQLite's reads: read-only whatever the adapter may do
            with pytest.raises(sa.exc.DBAPIError), adapter._reader.begin() as sync:
                sync.execute(sa.update(customers).where(customers.c.id == 1).values(name="Pseudonym"))
    finally:
        await adapter.close()
    assert await sql_engine.dump() == before


async def test_sessions_carry_the_server_side_limits(sql_engine: SqlEngineFixture) -> None:
    adapter = sql_engine.adapter()
    assert isinstance(adapter, SqlSystem)
    try:
        async with adapter._engine.connect() as conn:
            if adapter.dialect == "mysql":
                row = (await conn.execute(sa.text("select @@max_statement_time, @@time_zone"))).one()
                assert (float(row[0]), row[1]) == (5.0, "+00:00")
            elif adapter.dialect == "postgresql":
                timeout: str = (await conn.execute(sa.text("show statement_timeout"))).scalar_one()
                assert timeout == "5s"
            elif adapter.dialect == "sqlite":
                busy: int = (await conn.execute(sa.text("pragma busy_timeout"))).scalar_one()
                assert busy == 5000
        if adapter._reader is not None:
            with adapter._reader.connect() as sync:
                assert sync.execute(sa.text("pragma busy_timeout")).scalar_one() == 5000
                assert sync.execute(sa.text("pragma query_only")).scalar_one() == 1
        else:
            assert adapter.dialect != "sqlite"
    finally:
        await adapter.close()


async def test_a_reader_sees_what_was_committed_after_its_last_read(sql_engine: SqlEngineFixture) -> None:
    """A read-only adapter's pooled connections hold no snapshot from one statement to the next
    (MariaDB's readers run in autocommit, SQLite's on their own engine)."""
    reader = sql_engine.adapter(read_only=True)
    writer = sql_engine.adapter()

    async def found(email: str) -> list[int]:
        """Rows found by four searches at once (on several pooled connections)."""
        values = {IdentifierType.email: {email}}
        return [len(rows) for rows in await asyncio.gather(*(reader.search(values, {}) for _ in range(4)))]

    try:
        assert await found("kari@example.no") == [1] * 4
        await writer.apply([RowChange("customers", "1", values={"email": "kari.ny@example.no"})])
        assert await found("kari.ny@example.no") == [1] * 4
        assert await found("kari@example.no") == [0] * 4
    finally:
        await reader.close()
        await writer.close()
        await sql_engine.restore()
