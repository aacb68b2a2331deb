"""A test oracle: which rows are a person's, derived from the catalogue alone.

A row is the person's when one of its person identifiers (national id, email, phone) is theirs;
when it `belongs_to` a row of theirs; or when it carries a case/invoice/customer number of a row of
theirs whose column is `unique` (the number names that row), and names nobody else. The demo
generator's record of showcase rows must be exactly this set.
"""

from __future__ import annotations

from collections.abc import Mapping

import asyncpg

from services.catalogue.model import Catalogue, IdentifierType
from services.demo.rows import RowRef

PERSON = (IdentifierType.national_id, IdentifierType.email, IdentifierType.phone)


def identifier_columns(catalogue: Catalogue) -> list[tuple[str, str, str, IdentifierType]]:
    return [
        (system_name, table_name, column_name, column.identifier)
        for system_name, system in catalogue.systems.items()
        for table_name, table in system.tables.items()
        for column_name, column in table.columns.items()
        if column.identifier is not None
    ]


async def rows_with(
    conns: Mapping[str, asyncpg.Connection], catalogue: Catalogue, values: Mapping[IdentifierType, set[str]]
) -> set[RowRef]:
    """Rows holding any of `values` in a column of that identifier type."""
    found: set[RowRef] = set()
    for system, table, column, kind in identifier_columns(catalogue):
        if values.get(kind):
            ids = await conns[system].fetch(
                f"select id from {table} where {column} = any($1::text[])", list(values[kind])
            )
            found |= {RowRef(system, table, row["id"]) for row in ids}
    return found


async def owned_rows(
    conns: Mapping[str, asyncpg.Connection], catalogue: Catalogue, person: Mapping[IdentifierType, str]
) -> set[RowRef]:
    owned = await rows_with(conns, catalogue, {kind: {value} for kind, value in person.items()})
    while True:
        grown = (
            owned
            | await _children(conns, catalogue, owned)
            | await _named_by_unique(conns, catalogue, owned, person)
        )
        if grown == owned:
            return owned
        owned = grown


async def _children(
    conns: Mapping[str, asyncpg.Connection], catalogue: Catalogue, owned: set[RowRef]
) -> set[RowRef]:
    found: set[RowRef] = set()
    for system_name, system in catalogue.systems.items():
        for table_name, table in system.tables.items():
            if table.belongs_to is None:
                continue
            references = table.columns[table.belongs_to].references
            assert references is not None
            parent = references.split(".")[0]
            parents = [ref.id for ref in owned if ref.system == system_name and ref.table == parent]
            if parents:
                rows = await conns[system_name].fetch(
                    f"select id from {table_name} where {table.belongs_to} = any($1::bigint[])", parents
                )
                found |= {RowRef(system_name, table_name, row["id"]) for row in rows}
    return found


async def _named_by_unique(
    conns: Mapping[str, asyncpg.Connection],
    catalogue: Catalogue,
    owned: set[RowRef],
    person: Mapping[IdentifierType, str],
) -> set[RowRef]:
    numbers: dict[IdentifierType, set[str]] = {}
    for system_name, system in catalogue.systems.items():
        for table_name, table in system.tables.items():
            ids = [ref.id for ref in owned if ref.system == system_name and ref.table == table_name]
            for column_name, column in table.columns.items():
                if column.unique and column.identifier is not None and ids:
                    values = await conns[system_name].fetch(
                        f"select {column_name} from {table_name} where id = any($1::bigint[])", ids
                    )
                    numbers.setdefault(column.identifier, set()).update(row[0] for row in values if row[0])
    found: set[RowRef] = set()
    for ref in await rows_with(conns, catalogue, numbers):
        table = catalogue.systems[ref.system].tables[ref.table]
        person_columns = {name: c.identifier for name, c in table.columns.items() if c.identifier in PERSON}
        if person_columns:
            row = await conns[ref.system].fetchrow(
                f"select {', '.join(person_columns)} from {ref.table} where id = $1", ref.id
            )
            assert row is not None
            if any(
                row[name] is not None and row[name] != person.get(kind)
                for name, kind in person_columns.items()
            ):
                continue  # the row mentions the number but is about someone else
        found.add(ref)
    return found
