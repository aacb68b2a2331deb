"""The engines the conformance suite runs against: one `EngineFixture` factory per engine.

Adding an engine is adding one factory: put it in `ENGINE_FACTORIES` here, or define
`ENGINE_FACTORIES = {"<id>": factory}` in a module named in `OPTIONAL_ENGINE_MODULES` (the HTTP
engine's fixture lives in `http_engine.py`), and every conformance test runs against it too.

A factory is an async context manager taking the pytest request (to ask for other fixtures, such as
the session's PostgreSQL server, only when its engine is selected) and the temp path factory.

Every SQL engine gets the same schema: the sample system's (`services.systems.sample.ddl_tables`).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import shutil
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from services.catalogue.model import Catalogue
from services.launcher.ports import free_port
from services.systems.contract import SourceSystem
from services.systems.guard import Limits
from services.systems.registry import SourceSystems
from services.systems.sample import (
    ROWS,
    SYSTEM,
    TABLE_ORDER,
    ddl_tables,
    fixture_catalogue,
    fixture_system,
    fresh_postgres_database,
    insert_rows,
)
from tests.support.mariadb import MariaDBServer, require_mariadb
from tests.systems.conformance.fixture import EngineFixture

EngineFactory = Callable[
    [pytest.FixtureRequest, pytest.TempPathFactory], AbstractAsyncContextManager[EngineFixture]
]

TEST_LIMITS = Limits(timeout=5.0, attempts=2, backoff=0.01, cooldown=0.0, connections=4)
"""What an adapter gets unless a test asks for other limits (no cool-down: tests follow each other)."""

HOST = "127.0.0.1"


class SqlEngineFixture:
    """An `EngineFixture` whose data is reached by SQLAlchemy (`admin_url`, bypassing the adapter);
    subclasses make the server unreachable in their own way."""

    def __init__(
        self,
        engine: str,
        connection: dict[str, Any],
        admin_url: str,
        *,
        server_url: str | None = None,
        files_dir: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.engine = engine
        self.system = fixture_system(connection)
        self.catalogue: Catalogue = fixture_catalogue(self.system)
        self.metadata, self.tables = ddl_tables(self.system)
        self._admin_url = admin_url
        self._server_url = server_url
        self._files_dir = files_dir
        self._env = dict(env or {})
        self.stopped = False

    def admin(self) -> AsyncEngine:
        # NullPool: nothing of the fixture's stays connected while the server is "down".
        return create_async_engine(self._admin_url, poolclass=NullPool)

    async def create(self) -> None:
        engine = self.admin()
        try:
            async with engine.begin() as conn:
                await conn.run_sync(self.metadata.drop_all)
                await conn.run_sync(self.metadata.create_all)
        finally:
            await engine.dispose()
        await self.restore()

    async def restore(self) -> None:
        if self.stopped:
            await self.start_server()
        engine = self.admin()
        try:
            async with engine.begin() as conn:
                for table in reversed(TABLE_ORDER):
                    await conn.execute(sa.delete(self.tables[table]))
                await insert_rows(conn, self.tables, ROWS)
        finally:
            await engine.dispose()

    def adapter(self, limits: Limits | None = None, *, read_only: bool = False) -> SourceSystem:
        systems = SourceSystems(
            self.catalogue,
            server_url=self._server_url,
            files_dir=self._files_dir,
            limits=limits or TEST_LIMITS,
            read_only=read_only,
            application_name="dsr-conformance",
            env=self._env,
        )
        return systems[SYSTEM]

    async def dump(self) -> dict[str, dict[str, dict[str, Any]]]:
        engine = self.admin()
        dumped: dict[str, dict[str, dict[str, Any]]] = {}
        try:
            async with engine.connect() as conn:
                for name in TABLE_ORDER:
                    table = self.tables[name]
                    [pk] = self.system.tables[name].primary_key
                    rows = (await conn.execute(sa.select(table))).mappings().all()
                    dumped[name] = {str(row[pk]): dict(row) for row in rows}
        finally:
            await engine.dispose()
        return dumped

    async def stop_server(self) -> None:
        self.stopped = True

    async def start_server(self) -> None:
        self.stopped = False


# ------------------------------------------------------------------------------------ PostgreSQL


class TcpProxy:
    """Loopback TCP forwarder in front of a server that other tests share: "stopping the server" is
    closing the port and cutting every connection through it; the server itself keeps running."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port(HOST)
        self._server: asyncio.Server | None = None
        self._transports: set[asyncio.WriteTransport] = set()
        self._tasks: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._accept, HOST, self.port, reuse_address=True)

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for transport in list(self._transports):
            transport.abort()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._transports.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._transports.add(writer.transport)
        try:
            try:
                upstream_reader, upstream_writer = await asyncio.open_connection(HOST, self.target_port)
            except OSError:
                writer.transport.abort()
                return
            self._transports.add(upstream_writer.transport)
            await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))
        finally:
            self._tasks.discard(task)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.transport.abort()


class PostgresEngineFixture(SqlEngineFixture):
    def __init__(self, proxy: TcpProxy, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.proxy = proxy

    async def stop_server(self) -> None:
        await self.proxy.stop()
        self.stopped = True

    async def start_server(self) -> None:
        await self.proxy.start()
        self.stopped = False


def _postgres_factory(engine: str, database: str) -> EngineFactory:
    @asynccontextmanager
    async def factory(
        request: pytest.FixtureRequest, _tmp: pytest.TempPathFactory
    ) -> AsyncIterator[EngineFixture]:
        postgres = request.getfixturevalue("postgres")  # the session's EmbeddedPostgres
        await fresh_postgres_database(postgres.url(), database)
        proxy = TcpProxy(postgres.port)
        await proxy.start()
        admin_url = f"postgresql+asyncpg://postgres@{HOST}:{postgres.port}/{database}"
        if engine == "postgresql":
            fixture = PostgresEngineFixture(
                proxy,
                "postgresql",
                {"engine": "postgresql", "database": database},
                admin_url,
                server_url=f"postgresql://postgres@{HOST}:{proxy.port}/postgres",
            )
        else:  # the sql engine on PostgreSQL (dialect postgresql, through asyncpg)
            fixture = PostgresEngineFixture(
                proxy,
                "sql",
                {"engine": "sql", "dialect": "postgresql", "env": "DSR_CONFORMANCE_URL"},
                admin_url,
                env={"DSR_CONFORMANCE_URL": f"postgresql+asyncpg://postgres@{HOST}:{proxy.port}/{database}"},
            )
        try:
            await fixture.create()
            yield fixture
        finally:
            await proxy.stop()

    return factory


# ---------------------------------------------------------------------------------------- SQLite


class SqliteEngineFixture(SqlEngineFixture):
    """The file is in its own directory. "Down": the directory is renamed away (a new connection
    cannot open the file) and the file's bytes are replaced in place by something that is not a
    database (a pooled connection holding it open fails too); "up" puts both back."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.file = directory / f"{SYSTEM}.sqlite3"
        self._away = directory.with_name(f"{directory.name}.away")
        self._saved = b""
        directory.mkdir(parents=True, exist_ok=True)
        super().__init__(
            "sql",
            {"engine": "sql", "dialect": "sqlite", "database": SYSTEM},
            f"sqlite+aiosqlite:///{self.file}",
            files_dir=directory,
        )

    async def stop_server(self) -> None:
        self._saved = self.file.read_bytes()
        self.directory.rename(self._away)
        with (self._away / self.file.name).open("r+b") as handle:
            handle.write(b"this is not a database".ljust(len(self._saved), b"\xff"))
        self.stopped = True

    async def start_server(self) -> None:
        if self._away.exists():
            with (self._away / self.file.name).open("r+b") as handle:
                handle.write(self._saved)
            self._away.rename(self.directory)
        self.stopped = False


@asynccontextmanager
async def sqlite_engine(
    _request: pytest.FixtureRequest, tmp: pytest.TempPathFactory
) -> AsyncIterator[EngineFixture]:
    root = tmp.mktemp("conformance-sqlite")
    fixture = SqliteEngineFixture(root / "files")
    try:
        await fixture.create()
        yield fixture
    finally:
        with contextlib.suppress(OSError):
            await fixture.start_server()
        shutil.rmtree(root, ignore_errors=True)


# --------------------------------------------------------------------------------------- MariaDB


class MariaDBEngineFixture(SqlEngineFixture):
    def __init__(self, server: MariaDBServer) -> None:
        self.server = server
        super().__init__(
            "sql",
            {"engine": "sql", "dialect": "mariadb", "env": "DSR_CONFORMANCE_URL"},
            server.url(),
            env={"DSR_CONFORMANCE_URL": server.url()},
        )

    async def stop_server(self) -> None:
        await asyncio.to_thread(self.server.stop)
        self.stopped = True

    async def start_server(self) -> None:
        if not self.server.running():
            await asyncio.to_thread(self.server.start)
        self.stopped = False


@asynccontextmanager
async def mariadb_engine(
    _request: pytest.FixtureRequest, tmp: pytest.TempPathFactory
) -> AsyncIterator[EngineFixture]:
    require_mariadb()
    server = MariaDBServer(tmp.mktemp("conformance-mariadb"))
    await asyncio.to_thread(server.start)
    try:
        fixture = MariaDBEngineFixture(server)
        await fixture.create()
        yield fixture
    finally:
        await asyncio.to_thread(server.teardown)


# ---------------------------------------------------------------------------------- registration

ENGINE_FACTORIES: dict[str, EngineFactory] = {
    "postgresql": _postgres_factory("postgresql", "conformance_postgresql"),
    "sql-postgresql": _postgres_factory("sql", "conformance_sql"),
    "sqlite": sqlite_engine,
    "mariadb": mariadb_engine,
}
"""Engine id -> factory: the conformance suite's parameters (test ids), in this order."""

OPTIONAL_ENGINE_MODULES = ("tests.systems.conformance.http_engine",)
"""Modules that add engines (each defines `ENGINE_FACTORIES`); one not written yet is skipped."""

for _name in OPTIONAL_ENGINE_MODULES:
    try:
        _module = importlib.import_module(_name)
    except ModuleNotFoundError as exc:
        if exc.name != _name:
            raise
        continue
    ENGINE_FACTORIES.update(_module.ENGINE_FACTORIES)
