"""Creates the demo source systems and bulk-loads the generated rows.

Most systems are databases on a PostgreSQL server (`<prefix>demo_<system>`), filled with COPY;
telephony is an SQLite file and marketing an account of the demo newsletter SaaS (`placement.py`),
both in `DemoSources.files_dir`. Rows go in chunk by chunk, while the next chunk is generated in a
worker thread; indexes are built afterwards. A marker written last (a row in each database, a
`.loaded.json` beside each file) says which seed and size a system holds: asking again for the
same load reuses it, anything else (or a load that never finished) drops and reloads every system.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import sqlalchemy as sa

from services.catalogue.dsn import database_url
from services.catalogue.loader import DEFAULT_CATALOGUE, load_catalogue
from services.catalogue.model import Catalogue
from services.demo.generator import GENERATOR_VERSION, Chunk, DemoGenerator, showcase_placements
from services.demo.newsletter_api import NewsletterStore
from services.demo.placement import NEWSLETTER_SYSTEMS, POSTGRES_SYSTEMS, SQLITE_SYSTEMS, DemoSources
from services.demo.progress import LoadProgress, NoProgress
from services.demo.rows import RowRef
from services.demo.showcase import ShowcaseSubject, showcase_subjects
from services.demo.sql import index_sql, schema_sql
from services.demo.tables import SYSTEMS, TABLES, TableSpec
from services.systems.registry import SourceSystems
from services.systems.sql import build_tables

_PREFIX = re.compile(r"^[a-z0-9_]{0,20}$")
_MARKER_DDL = """
create schema dsr_demo;
create table dsr_demo.loaded (
    seed bigint not null, subjects bigint not null, version integer not null, row_counts jsonb not null,
    loaded_at timestamptz not null default now()
)
"""


def database_name(system: str, prefix: str = "") -> str:
    return f"{prefix}demo_{system}"


@dataclass(frozen=True)
class DemoSystems:
    """The loaded demo: where each system's database is, and what is in it."""

    server_url: str
    prefix: str
    seed: int
    subjects: int
    row_counts: dict[str, dict[str, int]]
    """system -> table -> rows."""
    loaded: bool
    """False when the databases already held this seed and size, and were reused."""
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds per phase (databases, load, indexes, total) of this call."""
    sources: DemoSources = field(default_factory=DemoSources.from_env)
    """Where the systems outside PostgreSQL are (SQLite files, the newsletter server)."""

    @property
    def databases(self) -> dict[str, str]:
        """Where each system is: a PostgreSQL database, or the file holding its data."""
        where = {system: database_name(system, self.prefix) for system in POSTGRES_SYSTEMS}
        where |= {system: str(self.sources.sqlite_file(system, self.prefix)) for system in SQLITE_SYSTEMS}
        where |= {
            system: str(self.sources.newsletter_file(system, self.prefix)) for system in NEWSLETTER_SYSTEMS
        }
        return where

    def url(self, system: str) -> str:
        """A PostgreSQL system's database URL (tests and benches look behind the pipeline with it)."""
        if system not in POSTGRES_SYSTEMS:
            raise ValueError(f"{system} is not on the PostgreSQL server (see services/demo/placement.py)")
        return database_url(self.server_url, database_name(system, self.prefix))

    @property
    def env(self) -> dict[str, str]:
        """The environment a service needs to reach this load (prefix, files, newsletter account)."""
        return self.sources.env(self.prefix)

    def source_systems(self, catalogue: Catalogue, *, read_only: bool = True) -> SourceSystems:
        """Adapters for every system of this load, as the services build them."""
        return SourceSystems(
            catalogue,
            server_url=self.server_url,
            database_prefix=self.prefix,
            files_dir=self.sources.files_dir,
            read_only=read_only,
            application_name="dsr-test",
            env=self.env,
        )

    @property
    def showcase(self) -> list[ShowcaseSubject]:
        return showcase_subjects()

    @property
    def placements(self) -> dict[str, frozenset[RowRef]]:
        """Each showcase subject's rows: system, table and primary key."""
        return showcase_placements()

    @property
    def total_rows(self) -> int:
        return sum(sum(tables.values()) for tables in self.row_counts.values())


async def create_demo_systems(
    server_url: str,
    *,
    subjects: int,
    seed: int,
    progress: LoadProgress | None = None,
    prefix: str = "",
    reload: bool = False,
    sources: DemoSources | None = None,
) -> DemoSystems:
    """Create and fill every demo system: `<prefix>demo_<system>` on `server_url`'s server, and
    the SQLite file and newsletter account in `sources.files_dir` (default: from the environment).

    `subjects` random people are generated besides the showcase subjects. `prefix` (lower case,
    digits, '_') keeps parallel loads (tests) apart. `reload` reloads even a matching load.
    """
    sources = sources or DemoSources.from_env()
    if not _PREFIX.match(prefix):
        raise ValueError("prefix: at most 20 lower case letters, digits and '_'")
    started = time.monotonic()
    admin = await _connect(server_url)
    try:
        # One loader at a time per prefix: a second one waits, then finds the load and reuses it.
        await admin.execute("select pg_advisory_lock(hashtext($1))", f"dsr_demo:{prefix}")
        existing = (
            None if reload else await _existing_load(admin, server_url, prefix, seed, subjects, sources)
        )
        if existing:
            return DemoSystems(server_url, prefix, seed, subjects, existing, loaded=False, sources=sources)
        progress = progress or NoProgress()
        await _recreate_databases(admin, prefix, progress)
        _remove_files(sources, prefix)
        timings = {"databases": time.monotonic() - started}
        counts = await _fill(server_url, prefix, seed, subjects, progress, timings, sources)
        timings["total"] = time.monotonic() - started
        return DemoSystems(
            server_url, prefix, seed, subjects, counts, loaded=True, timings=timings, sources=sources
        )
    finally:
        await admin.close()  # also releases the lock


async def _fill(
    server_url: str,
    prefix: str,
    seed: int,
    subjects: int,
    progress: LoadProgress,
    timings: dict[str, float],
    sources: DemoSources,
) -> dict[str, dict[str, int]]:
    """DDL, COPY (and inserts into the files), indexes, then the markers: the row counts per
    system and table."""
    connections = await asyncio.gather(
        *(_connect(database_url(server_url, database_name(s, prefix))) for s in POSTGRES_SYSTEMS)
    )
    conns = dict(zip(POSTGRES_SYSTEMS, connections, strict=True))
    files = _FileSystems(sources, prefix)
    try:
        for system, conn in conns.items():
            await conn.execute(schema_sql(system))
        started = time.monotonic()
        generator = DemoGenerator(seed=seed, subjects=subjects)
        progress.phase("Generating and loading people", subjects)
        await _load(generator.chunks(), conns, files, progress)
        timings["load"] = time.monotonic() - started
        started = time.monotonic()
        progress.phase("Building indexes", len(POSTGRES_SYSTEMS))

        async def finish(system: str) -> None:
            await conns[system].execute(index_sql(system) + ";\nanalyze;")
            progress.advance()

        await asyncio.gather(*(finish(system) for system in POSTGRES_SYSTEMS))
        timings["indexes"] = time.monotonic() - started
        counts: dict[str, dict[str, int]] = {system: {} for system in SYSTEMS}
        for table, count in generator.counts.items():
            counts[table.system][table.name] = count
        for system, conn in conns.items():
            await conn.execute(_MARKER_DDL)
            await conn.execute(
                "insert into dsr_demo.loaded (seed, subjects, version, row_counts) values ($1, $2, $3, $4)",
                seed,
                subjects,
                GENERATOR_VERSION,
                json.dumps(counts[system]),
            )
        await asyncio.to_thread(files.finish, seed, subjects, counts)
        return counts
    finally:
        files.close()
        await asyncio.gather(*(conn.close() for conn in conns.values()))


class _FileSystems:
    """The demo systems kept in files: telephony's SQLite database (its schema made by SQLAlchemy
    from the catalogue, with an index per identifier) and the newsletter account's data file."""

    def __init__(self, sources: DemoSources, prefix: str) -> None:
        sources.files_dir.mkdir(parents=True, exist_ok=True)
        sources.newsletter_dir.mkdir(parents=True, exist_ok=True)
        self.sources = sources
        self.prefix = prefix
        catalogue = load_catalogue(DEFAULT_CATALOGUE)
        self._engines: dict[str, sa.Engine] = {}
        self._tables: dict[str, dict[str, sa.Table]] = {}
        for system in SQLITE_SYSTEMS:
            metadata = sa.MetaData()
            spec = catalogue.systems[system]
            tables = build_tables(spec, metadata)
            for name, table in spec.tables.items():
                for column_name, column in table.columns.items():
                    if column.identifier is not None or column_name == table.belongs_to:
                        sa.Index(f"{name}_{column_name}", tables[name].c[column_name])
            engine = sa.create_engine(f"sqlite:///{sources.sqlite_file(system, prefix)}")
            metadata.create_all(engine)
            self._engines[system], self._tables[system] = engine, tables
        self._newsletters = {
            system: NewsletterStore(sources.newsletter_file(system, prefix)) for system in NEWSLETTER_SYSTEMS
        }

    def write(self, chunk: Chunk) -> None:
        """One chunk's rows of every file system (runs in a worker thread)."""
        for system, engine in self._engines.items():
            with engine.begin() as conn:
                for table in TABLES:
                    rows = chunk.rows.get(table)
                    if table.system == system and rows:
                        conn.execute(
                            self._tables[system][table.name].insert(),
                            [dict(zip(table.columns, row, strict=True)) for row in rows],
                        )
        for system, store in self._newsletters.items():
            wanted: dict[str | TableSpec, list[tuple[object, ...]]] = {
                table: list(rows) for table, rows in chunk.rows.items() if table.system == system and rows
            }
            if wanted:
                store.load(wanted, replace=False)

    def finish(self, seed: int, subjects: int, counts: dict[str, dict[str, int]]) -> None:
        for system in SQLITE_SYSTEMS:
            _write_marker(self.sources.sqlite_file(system, self.prefix), seed, subjects, counts[system])
        for system in NEWSLETTER_SYSTEMS:
            _write_marker(self.sources.newsletter_file(system, self.prefix), seed, subjects, counts[system])

    def close(self) -> None:
        for engine in self._engines.values():
            engine.dispose()
        for store in self._newsletters.values():
            store.close()


def _files(sources: DemoSources, prefix: str) -> list[Path]:
    return [sources.sqlite_file(system, prefix) for system in SQLITE_SYSTEMS] + [
        sources.newsletter_file(system, prefix) for system in NEWSLETTER_SYSTEMS
    ]


def _marker(file: Path) -> Path:
    return file.with_name(file.name + ".loaded.json")


def _write_marker(file: Path, seed: int, subjects: int, counts: dict[str, int]) -> None:
    marker = {"seed": seed, "subjects": subjects, "version": GENERATOR_VERSION, "row_counts": counts}
    _marker(file).write_text(json.dumps(marker), encoding="utf-8")


def _read_marker(file: Path) -> dict[str, object] | None:
    try:
        marker: dict[str, object] = json.loads(_marker(file).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return marker if file.is_file() else None


def _remove_files(sources: DemoSources, prefix: str) -> None:
    for file in _files(sources, prefix):
        for path in (
            _marker(file),
            file,
            file.with_name(file.name + "-wal"),
            file.with_name(file.name + "-shm"),
        ):
            path.unlink(missing_ok=True)


async def drop_demo_systems(server_url: str, *, prefix: str = "", sources: DemoSources | None = None) -> None:
    """Drop every demo database and file with this prefix (tests clean up with it)."""
    admin = await _connect(server_url)
    try:
        for system in POSTGRES_SYSTEMS:
            await admin.execute(f'drop database if exists "{database_name(system, prefix)}" with (force)')
    finally:
        await admin.close()
    _remove_files(sources or DemoSources.from_env(), prefix)


async def _connect(url: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(url, command_timeout=None)
    # Losing the last commits in a crash only means loading the demo again.
    await conn.execute("set synchronous_commit = off")
    return conn


async def _existing_load(
    admin: asyncpg.Connection, server_url: str, prefix: str, seed: int, subjects: int, sources: DemoSources
) -> dict[str, dict[str, int]] | None:
    """The row counts of a finished load of this seed, size and generator version, or None."""
    names = [database_name(system, prefix) for system in POSTGRES_SYSTEMS]
    existing = await admin.fetchval("select count(*) from pg_database where datname = any($1::text[])", names)
    if existing != len(POSTGRES_SYSTEMS):
        return None
    counts: dict[str, dict[str, int]] = {}
    file_systems = [(s, sources.sqlite_file(s, prefix)) for s in SQLITE_SYSTEMS] + [
        (s, sources.newsletter_file(s, prefix)) for s in NEWSLETTER_SYSTEMS
    ]
    for system, file in file_systems:
        marker = _read_marker(file)
        if marker is None or (marker["seed"], marker["subjects"], marker["version"]) != (
            seed,
            subjects,
            GENERATOR_VERSION,
        ):
            return None
        counts[system] = marker["row_counts"]  # type: ignore[assignment]
    for system in POSTGRES_SYSTEMS:
        conn = await _connect(database_url(server_url, database_name(system, prefix)))
        try:
            if not await conn.fetchval("select to_regclass('dsr_demo.loaded') is not null"):
                return None
            marker = await conn.fetchrow("select seed, subjects, version, row_counts from dsr_demo.loaded")
        finally:
            await conn.close()
        if marker is None or (marker["seed"], marker["subjects"], marker["version"]) != (
            seed,
            subjects,
            GENERATOR_VERSION,
        ):
            return None
        counts[system] = json.loads(marker["row_counts"])
    return counts


async def _recreate_databases(admin: asyncpg.Connection, prefix: str, progress: LoadProgress) -> None:
    progress.phase("Creating databases", len(POSTGRES_SYSTEMS))
    for system in POSTGRES_SYSTEMS:
        name = database_name(system, prefix)
        await admin.execute(f'drop database if exists "{name}" with (force)')
        await admin.execute(f'create database "{name}"')
        progress.advance()


async def _load(
    chunks: Iterator[Chunk], conns: dict[str, asyncpg.Connection], files: _FileSystems, progress: LoadProgress
) -> None:
    """COPY each chunk into its systems (in parallel, the files in a thread) while the next one
    is generated."""
    done = object()

    async def copy(system: str, chunk: Chunk) -> None:
        for table in TABLES:
            rows = chunk.rows.get(table)
            if table.system == system and rows:
                await conns[system].copy_records_to_table(table.name, records=rows, columns=table.columns)

    upcoming = asyncio.ensure_future(asyncio.to_thread(next, chunks, done))
    try:
        while (chunk := await upcoming) is not done:
            assert isinstance(chunk, Chunk)
            upcoming = asyncio.ensure_future(asyncio.to_thread(next, chunks, done))
            await asyncio.gather(
                *(copy(system, chunk) for system in conns), asyncio.to_thread(files.write, chunk)
            )
            progress.advance(chunk.people)
    finally:
        upcoming.cancel()
