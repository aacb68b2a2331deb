"""A test oracle: which rows are a person's, derived from the catalogue alone.

A row is the person's when one of its person identifiers (national id, email, phone) is theirs;
when it `belongs_to` a row of theirs; or when it carries a case/invoice/customer number of a row of
theirs whose column is `unique` (the number names that row), and names nobody else. The demo
generator's record of showcase rows must be exactly this set.

It works on a snapshot of every demo system's rows, read straight from where each system keeps
them (PostgreSQL, the SQLite file, the newsletter API's data file), not through the pipeline.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

import asyncpg

from services.catalogue.model import Catalogue, IdentifierType
from services.demo.loader import DemoSystems
from services.demo.newsletter_api import NewsletterStore
from services.demo.placement import NEWSLETTER_SYSTEMS, POSTGRES_SYSTEMS, SQLITE_SYSTEMS
from services.demo.rows import RowRef
from services.demo.tables import TABLES

PERSON = (IdentifierType.national_id, IdentifierType.email, IdentifierType.phone)

Snapshot = Mapping[str, Mapping[str, list[dict[str, Any]]]]
"""system -> table -> rows (column -> value)."""


async def snapshot(demo: DemoSystems) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Every row of every demo system, by system and table, ordered by id."""
    rows: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for system in POSTGRES_SYSTEMS:
        conn = await asyncpg.connect(demo.url(system))
        try:
            rows[system] = {
                t.name: [dict(r) for r in await conn.fetch(f"select * from {t.name} order by id")]
                for t in TABLES
                if t.system == system
            }
        finally:
            await conn.close()
    for system in SQLITE_SYSTEMS:
        db = sqlite3.connect(demo.sources.sqlite_file(system, demo.prefix))
        db.row_factory = sqlite3.Row
        try:
            rows[system] = {
                t.name: [dict(r) for r in db.execute(f"select * from {t.name} order by id")]
                for t in TABLES
                if t.system == system
            }
        finally:
            db.close()
    for system in NEWSLETTER_SYSTEMS:
        store = NewsletterStore(demo.sources.newsletter_file(system, demo.prefix))
        try:
            rows[system] = {t.name: store.rows(t.name) for t in TABLES if t.system == system}
        finally:
            store.close()
    return rows


def identifier_columns(catalogue: Catalogue) -> list[tuple[str, str, str, IdentifierType]]:
    return [
        (system_name, table_name, column_name, column.identifier)
        for system_name, system in catalogue.systems.items()
        for table_name, table in system.tables.items()
        for column_name, column in table.columns.items()
        if column.identifier is not None
    ]


def rows_with(rows: Snapshot, catalogue: Catalogue, values: Mapping[IdentifierType, set[str]]) -> set[RowRef]:
    """Rows holding any of `values` in a column of that identifier type."""
    found: set[RowRef] = set()
    for system, table, column, kind in identifier_columns(catalogue):
        if values.get(kind):
            found |= {
                RowRef(system, table, r["id"]) for r in rows[system][table] if r[column] in values[kind]
            }
    return found


def owned_rows(rows: Snapshot, catalogue: Catalogue, person: Mapping[IdentifierType, str]) -> set[RowRef]:
    owned = rows_with(rows, catalogue, {kind: {value} for kind, value in person.items()})
    while True:
        grown = owned | _children(rows, catalogue, owned) | _named_by_unique(rows, catalogue, owned, person)
        if grown == owned:
            return owned
        owned = grown


def row(rows: Snapshot, ref: RowRef) -> dict[str, Any]:
    [found] = [r for r in rows[ref.system][ref.table] if r["id"] == ref.id]
    return found


def _children(rows: Snapshot, catalogue: Catalogue, owned: set[RowRef]) -> set[RowRef]:
    found: set[RowRef] = set()
    for system_name, system in catalogue.systems.items():
        for table_name, table in system.tables.items():
            if table.belongs_to is None:
                continue
            references = table.columns[table.belongs_to].references
            assert references is not None
            parent = references.split(".")[0]
            parents = {ref.id for ref in owned if ref.system == system_name and ref.table == parent}
            found |= {
                RowRef(system_name, table_name, r["id"])
                for r in rows[system_name][table_name]
                if r[table.belongs_to] in parents
            }
    return found


def _named_by_unique(
    rows: Snapshot, catalogue: Catalogue, owned: set[RowRef], person: Mapping[IdentifierType, str]
) -> set[RowRef]:
    numbers: dict[IdentifierType, set[str]] = {}
    for ref in owned:
        table = catalogue.systems[ref.system].tables[ref.table]
        for column_name, column in table.columns.items():
            if column.unique and column.identifier is not None:
                value = row(rows, ref)[column_name]
                if value:
                    numbers.setdefault(column.identifier, set()).add(value)
    found: set[RowRef] = set()
    for ref in rows_with(rows, catalogue, numbers):
        table = catalogue.systems[ref.system].tables[ref.table]
        person_columns = {name: c.identifier for name, c in table.columns.items() if c.identifier in PERSON}
        values = row(rows, ref)
        if any(
            values[name] is not None and values[name] != person.get(kind)
            for name, kind in person_columns.items()
        ):
            continue  # the row mentions the number but is about someone else
        found.add(ref)
    return found
