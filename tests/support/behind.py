"""Looking at and changing a demo load's systems behind the pipeline's back, wherever each system
lives (a PostgreSQL database, the SQLite file, the newsletter SaaS's data file): what another
application writing to them would do. Tests only; the pipeline goes through `services.systems`."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import asyncpg

from services.catalogue.loader import DEFAULT_CATALOGUE, load_catalogue
from services.catalogue.model import ColumnType
from services.demo.loader import DemoSystems
from services.demo.newsletter_api import KINDS, NewsletterStore
from services.demo.placement import NEWSLETTER_SYSTEMS, SQLITE_SYSTEMS


def _types(system: str, table: str) -> dict[str, ColumnType]:
    spec = load_catalogue(DEFAULT_CATALOGUE).systems[system].tables[table]
    return {name: column.type for name, column in spec.columns.items()}


def _typed(system: str, table: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """Booleans as booleans (SQLite and the newsletter store keep 0/1)."""
    types = _types(system, table)
    return {
        name: bool(value) if types.get(name) is ColumnType.boolean and value is not None else value
        for name, value in row.items()
    }


async def insert(demo: DemoSystems, system: str, table: str, row: Mapping[str, Any]) -> None:
    if system in SQLITE_SYSTEMS:
        with sqlite3.connect(demo.sources.sqlite_file(system, demo.prefix)) as db:
            columns = list(row)
            db.execute(
                f"insert into {table} ({', '.join(columns)}) values ({', '.join('?' for _ in columns)})",
                [_sqlite_value(row[c]) for c in columns],
            )
        return
    if system in NEWSLETTER_SYSTEMS:
        store = NewsletterStore(demo.sources.newsletter_file(system, demo.prefix))
        try:
            store.load({table: [dict(row)]}, replace=False)
        finally:
            store.close()
        return
    conn = await asyncpg.connect(demo.url(system))
    try:
        columns = list(row)
        await conn.execute(
            f"insert into {table} ({', '.join(columns)}) values ({', '.join(f'${i + 1}' for i in range(len(columns)))})",
            *[row[c] for c in columns],
        )
    finally:
        await conn.close()


async def record(demo: DemoSystems, system: str, table: str, key: int) -> dict[str, Any] | None:
    """The row with this id as its system holds it, or None."""
    if system in SQLITE_SYSTEMS:
        with sqlite3.connect(demo.sources.sqlite_file(system, demo.prefix)) as db:
            db.row_factory = sqlite3.Row
            found = db.execute(f"select * from {table} where id = ?", (key,)).fetchone()
        return None if found is None else _typed(system, table, dict(found))
    if system in NEWSLETTER_SYSTEMS:
        store = NewsletterStore(demo.sources.newsletter_file(system, demo.prefix))
        try:
            stored = store.get(KINDS[table], key)
        finally:
            store.close()
        return None if stored is None else _typed(system, table, stored)
    conn = await asyncpg.connect(demo.url(system))
    try:
        row = await conn.fetchrow(f"select * from {table} where id = $1", key)
    finally:
        await conn.close()
    return None if row is None else dict(row)


async def delete(demo: DemoSystems, system: str, table: str, key: int) -> None:
    if system in SQLITE_SYSTEMS:
        with sqlite3.connect(demo.sources.sqlite_file(system, demo.prefix)) as db:
            db.execute(f"delete from {table} where id = ?", (key,))
        return
    if system in NEWSLETTER_SYSTEMS:
        store = NewsletterStore(demo.sources.newsletter_file(system, demo.prefix))
        try:
            store.delete(KINDS[table], key)
        finally:
            store.close()
        return
    conn = await asyncpg.connect(demo.url(system))
    try:
        await conn.execute(f"delete from {table} where id = $1", key)
    finally:
        await conn.close()


async def table_rows(demo: DemoSystems, system: str, table: str) -> list[dict[str, Any]]:
    """Every row of a table, by id."""
    if system in SQLITE_SYSTEMS:
        with sqlite3.connect(demo.sources.sqlite_file(system, demo.prefix)) as db:
            db.row_factory = sqlite3.Row
            return [_typed(system, table, dict(r)) for r in db.execute(f"select * from {table} order by id")]
    if system in NEWSLETTER_SYSTEMS:
        store = NewsletterStore(demo.sources.newsletter_file(system, demo.prefix))
        try:
            return [_typed(system, table, r) for r in store.rows(table)]
        finally:
            store.close()
    conn = await asyncpg.connect(demo.url(system))
    try:
        return [dict(r) for r in await conn.fetch(f"select * from {table} order by id")]
    finally:
        await conn.close()


def _sqlite_value(value: Any) -> Any:
    """As SQLAlchemy stores it in SQLite (UTC, no zone, microseconds; dates ISO)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value
