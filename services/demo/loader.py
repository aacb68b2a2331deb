"""Creates the demo databases on a PostgreSQL server and bulk-loads the generated rows.

One database per system (`<prefix>demo_<system>`). Rows go in with COPY, chunk by chunk, while
the next chunk is generated in a worker thread; indexes and foreign keys are built afterwards.
A marker row written last says which seed and size a database holds: asking again for the same
load reuses it, anything else (or a load that never finished) drops and reloads every database.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import asyncpg

from services.catalogue.dsn import database_url
from services.demo.generator import GENERATOR_VERSION, Chunk, DemoGenerator, showcase_placements
from services.demo.progress import LoadProgress, NoProgress
from services.demo.rows import RowRef
from services.demo.showcase import ShowcaseSubject, showcase_subjects
from services.demo.sql import index_sql, schema_sql
from services.demo.tables import SYSTEMS, TABLES

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

    @property
    def databases(self) -> dict[str, str]:
        return {system: database_name(system, self.prefix) for system in SYSTEMS}

    def url(self, system: str) -> str:
        return database_url(self.server_url, database_name(system, self.prefix))

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
) -> DemoSystems:
    """Create and fill `<prefix>demo_<system>` for every system on `server_url`'s server.

    `subjects` random people are generated besides the showcase subjects. `prefix` (lower case,
    digits, '_') keeps parallel loads (tests) apart. `reload` reloads even a matching load.
    """
    if not _PREFIX.match(prefix):
        raise ValueError("prefix: at most 20 lower case letters, digits and '_'")
    started = time.monotonic()
    admin = await _connect(server_url)
    try:
        # One loader at a time per prefix: a second one waits, then finds the load and reuses it.
        await admin.execute("select pg_advisory_lock(hashtext($1))", f"dsr_demo:{prefix}")
        if not reload and (existing := await _existing_load(admin, server_url, prefix, seed, subjects)):
            return DemoSystems(server_url, prefix, seed, subjects, existing, loaded=False)
        progress = progress or NoProgress()
        await _recreate_databases(admin, prefix, progress)
        timings = {"databases": time.monotonic() - started}
        counts = await _fill(server_url, prefix, seed, subjects, progress, timings)
        timings["total"] = time.monotonic() - started
        return DemoSystems(server_url, prefix, seed, subjects, counts, loaded=True, timings=timings)
    finally:
        await admin.close()  # also releases the lock


async def _fill(
    server_url: str, prefix: str, seed: int, subjects: int, progress: LoadProgress, timings: dict[str, float]
) -> dict[str, dict[str, int]]:
    """DDL, COPY, indexes, then the marker: the row counts per system and table."""
    connections = await asyncio.gather(
        *(_connect(database_url(server_url, database_name(s, prefix))) for s in SYSTEMS)
    )
    conns = dict(zip(SYSTEMS, connections, strict=True))
    try:
        for system, conn in conns.items():
            await conn.execute(schema_sql(system))
        started = time.monotonic()
        generator = DemoGenerator(seed=seed, subjects=subjects)
        progress.phase("Generating and loading people", subjects)
        await _load(generator.chunks(), conns, progress)
        timings["load"] = time.monotonic() - started
        started = time.monotonic()
        progress.phase("Building indexes", len(SYSTEMS))

        async def finish(system: str) -> None:
            await conns[system].execute(index_sql(system) + ";\nanalyze;")
            progress.advance()

        await asyncio.gather(*(finish(system) for system in SYSTEMS))
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
        return counts
    finally:
        await asyncio.gather(*(conn.close() for conn in conns.values()))


async def drop_demo_systems(server_url: str, *, prefix: str = "") -> None:
    """Drop every demo database with this prefix (tests clean up with it)."""
    admin = await _connect(server_url)
    try:
        for system in SYSTEMS:
            await admin.execute(f'drop database if exists "{database_name(system, prefix)}" with (force)')
    finally:
        await admin.close()


async def _connect(url: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(url, command_timeout=None)
    # Losing the last commits in a crash only means loading the demo again.
    await conn.execute("set synchronous_commit = off")
    return conn


async def _existing_load(
    admin: asyncpg.Connection, server_url: str, prefix: str, seed: int, subjects: int
) -> dict[str, dict[str, int]] | None:
    """The row counts of a finished load of this seed, size and generator version, or None."""
    names = [database_name(system, prefix) for system in SYSTEMS]
    existing = await admin.fetchval("select count(*) from pg_database where datname = any($1::text[])", names)
    if existing != len(SYSTEMS):
        return None
    counts: dict[str, dict[str, int]] = {}
    for system in SYSTEMS:
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
    progress.phase("Creating databases", len(SYSTEMS))
    for system in SYSTEMS:
        name = database_name(system, prefix)
        await admin.execute(f'drop database if exists "{name}" with (force)')
        await admin.execute(f'create database "{name}"')
        progress.advance()


async def _load(
    chunks: Iterator[Chunk], conns: dict[str, asyncpg.Connection], progress: LoadProgress
) -> None:
    """COPY each chunk into its systems (in parallel) while the next one is generated."""
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
            await asyncio.gather(*(copy(system, chunk) for system in conns))
            progress.advance(chunk.people)
    finally:
        upcoming.cancel()
