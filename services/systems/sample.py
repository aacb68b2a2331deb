"""The sample system: a small case system (customers, their cases, each case's letters) that
every engine can hold, with its rows. The conformance suite runs every engine against it, and
`dsr bench engines` times each engine's searches on it (with filler rows).

Three customers; Kari (id 1) has two cases, one with two letters; Ola (id 2) has one case; the
third customer shares nothing with either. Values are stored normalised, as the pipeline's are.

Every SQL engine gets the same schema (`ddl_tables`), created by SQLAlchemy Core:
- no foreign key constraints: the source systems' own constraints are not the adapters' business,
  and the conformance suite deletes a case before its letter (`references` in the catalogue is
  documentation);
- NOT NULL on `customers.name` and the `restricted` marks (`None` must empty them to '' / stay
  false), nullable elsewhere;
- `text` identifier columns as VARCHAR(255) with an index (MariaDB indexes no TEXT), `numeric` as
  NUMERIC(14, 2) (MariaDB's bare NUMERIC has no fraction), timestamps through the engine's own
  `UtcDateTime` (SQLite and MariaDB store UTC without a zone; read back aware).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import sqlalchemy as sa
import yaml
from sqlalchemy.ext.asyncio import AsyncConnection

from services.catalogue.loader import DEFAULT_CATALOGUE, load_catalogue
from services.catalogue.model import Catalogue, ColumnType, Connection, System
from services.systems.sql import column_type

SYSTEM = "fixture"
SYSTEM_FILE = Path(__file__).with_name("sample_system.yaml")

KARI_ID = "15076500565"
OLA_ID = "01017012345"

ROWS: dict[str, list[dict[str, Any]]] = {
    "customers": [
        {
            "id": 1,
            "customer_number": "K-1001",
            "national_id": KARI_ID,
            "email": "kari@example.no",
            "phone": "+4791234567",
            "name": "Kari Nordmann",
            "born_on": date(1965, 7, 15),
            "restricted": False,
        },
        {
            "id": 2,
            "customer_number": "K-1002",
            "national_id": OLA_ID,
            "email": "ola@example.no",
            "phone": "+4798765432",
            "name": "Ola O'Brien",
            "born_on": date(1970, 1, 1),
            "restricted": False,
        },
        {
            "id": 3,
            "customer_number": "K-1003",
            "national_id": None,
            "email": "third@example.no",
            "phone": None,
            "name": "Tredje Person",
            "born_on": None,
            "restricted": False,
        },
    ],
    "cases": [
        {
            "id": 10,
            "case_number": "S-2001",
            "customer_id": 1,
            "amount": Decimal("1250.50"),
            "opened_at": datetime(2024, 3, 1, 9, 30, tzinfo=UTC),
            "closed_on": None,
            "restricted": False,
        },
        {
            "id": 11,
            "case_number": "S-2002",
            "customer_id": 1,
            "amount": Decimal("80.00"),
            "opened_at": datetime(2020, 5, 2, 12, 0, tzinfo=UTC),
            "closed_on": date(2021, 1, 31),
            "restricted": False,
        },
        {
            "id": 12,
            "case_number": "S-2003",
            "customer_id": 2,
            "amount": Decimal("999.99"),
            "opened_at": datetime(2025, 1, 10, 8, 0, tzinfo=UTC),
            "closed_on": None,
            "restricted": False,
        },
    ],
    "letters": [
        {"id": 100, "case_id": 10, "body": "Varsel om inkasso", "sent_on": date(2024, 3, 2)},
        {"id": 101, "case_id": 10, "body": "Betalingsoppfordring", "sent_on": date(2024, 4, 2)},
        {"id": 102, "case_id": 11, "body": "Sluttbrev", "sent_on": date(2021, 2, 1)},
        {"id": 103, "case_id": 12, "body": "Varsel om inkasso", "sent_on": date(2025, 1, 11)},
    ],
}
"""Rows as Python values of the catalogue's column types (what `read` must give back)."""

TABLE_ORDER = ("customers", "cases", "letters")
"""Parents before children (load in this order, drop in the reverse)."""


def fixture_system(connection: dict[str, Any], **extra: Any) -> System:
    """The sample system with an engine's own `connection` (and extra fields such as `api`)."""
    raw = yaml.safe_load(SYSTEM_FILE.read_text(encoding="utf-8"))
    raw["connection"] = Connection.model_validate(connection).model_dump(exclude_none=True)
    raw.update(extra)
    return System.model_validate(raw)


def fixture_catalogue(system: System) -> Catalogue:
    """The project's taxonomy and parties with the sample system as its only system."""
    base = load_catalogue(DEFAULT_CATALOGUE)
    return Catalogue(taxonomy=base.taxonomy, parties=base.parties, systems={SYSTEM: system})


NOT_NULL = frozenset({"customers.name", "customers.restricted", "cases.restricted"})
"""Columns that take no NULL in `ddl_tables`."""


def ddl_tables(system: System) -> tuple[sa.MetaData, dict[str, sa.Table]]:
    """The sample system's schema as a source system would have it (see the module docstring)."""
    metadata = sa.MetaData()
    tables: dict[str, sa.Table] = {}
    for name, table in system.tables.items():
        columns: list[sa.Column[Any]] = []
        indexes: list[sa.Index] = []
        for column_name, column in table.columns.items():
            indexed = column.identifier is not None or column_name == table.belongs_to
            kind: sa.types.TypeEngine[Any] = column_type(column.type)
            if column.type is ColumnType.numeric:
                kind = sa.Numeric(14, 2)
            elif column.type is ColumnType.text and indexed:
                kind = sa.String(255)
            columns.append(
                sa.Column(
                    column_name,
                    kind,
                    primary_key=column_name in table.primary_key,
                    nullable=column_name not in table.primary_key and f"{name}.{column_name}" not in NOT_NULL,
                    autoincrement=False,
                )
            )
            if indexed and column_name not in table.primary_key:
                indexes.append(sa.Index(f"ix_{name}_{column_name}", column_name))
        tables[name] = sa.Table(name, metadata, *columns, *indexes)
    return metadata, tables


async def insert_rows(
    conn: AsyncConnection, tables: Mapping[str, sa.Table], rows: Mapping[str, Sequence[Mapping[str, Any]]]
) -> None:
    """Insert `rows` (table -> rows as Python values), parents first, each table's rows in one
    executemany (SQLAlchemy sends them as multi-row INSERTs where the dialect can)."""
    with warnings.catch_warnings():
        # SQLite stores NUMERIC as a float: SQLAlchemy warns on every Decimal it binds.
        warnings.simplefilter("ignore", sa.exc.SAWarning)
        for table in TABLE_ORDER:
            if rows.get(table):
                await conn.execute(sa.insert(tables[table]), list(rows[table]))


async def fresh_postgres_database(server_url: str, name: str, *, create: bool = True) -> None:
    """Drop the database `name` on a PostgreSQL server (its connections cut), and make it again
    empty unless `create` is false. `name` is our own constant (no quoting needed)."""
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f"drop database if exists {name} with (force)")
        if create:
            await conn.execute(f"create database {name}")
    finally:
        await conn.close()
