"""The source systems as erasure sees them: read the live facts of found records, apply one
system's part of a plan in one transaction, re-apply ledger entries after a restore.

The catalogue drives every statement (table, key, columns, references); identifiers in SQL come
only from the validated catalogue, values always travel as parameters.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from services.catalogue.model import Catalogue, Table
from services.catalogue.pools import SourcePools
from services.erasure.hashing import fingerprint, pseudonym
from services.erasure.plan import PlannedRecord
from services.erasure.retention import (
    LinkedRecord,
    Method,
    RecordFacts,
    expiry_columns,
    linked_table,
    paths_needed,
)

RowId = tuple[str, str, tuple[str, ...]]
"""(system, table, primary key values as text)."""


@dataclass(frozen=True)
class Change:
    """One row change in a source system (what the ledger records and replay re-applies)."""

    table: str
    key: Mapping[str, str]
    method: Method
    columns: tuple[str, ...] = ()
    mark_restricted: bool = False
    fingerprint: str | None = None


def identifying_values(table: Table, values: Mapping[str, Any]) -> dict[str, Any]:
    """The values a row's fingerprint is computed over: the columns that name the person."""
    columns = [name for name, c in table.columns.items() if c.identifier is not None] + [
        name for name in expiry_columns(table) if table.columns[name].identifier is None
    ]
    return {name: values.get(name) for name in sorted(set(columns))}


class SourceSystems:
    """One small pool per system, opened on first use; writes run in one transaction per call."""

    def __init__(
        self, catalogue: Catalogue, *, server_url: str | None, database_prefix: str = "", hash_key: bytes
    ) -> None:
        self.catalogue = catalogue
        self.server_url = server_url
        self.database_prefix = database_prefix
        self.hash_key = hash_key
        self._pools = SourcePools(
            catalogue,
            server_url=server_url,
            database_prefix=database_prefix,
            server_settings={"application_name": "dsr-erasure"},
        )
        self._nullable: dict[tuple[str, str], dict[str, bool]] = {}

    async def pool(self, system: str) -> asyncpg.Pool:
        return await self._pools.pool(system)

    async def close(self) -> None:
        await self._pools.close()

    # ------------------------------------------------------------------------------------- facts

    async def read_facts(
        self, findings: Iterable[tuple[str, str, Mapping[str, Any]]]
    ) -> tuple[list[RecordFacts], dict[RowId, str]]:
        """The live facts of each found record (system, table, primary key) and the fingerprints of
        the rows as read. A row no longer there has `values` None."""
        wanted = self._wanted(findings)
        rows = await self._rows(wanted)
        manual = self._manual()
        linked = await self._linked(rows)
        facts: list[RecordFacts] = []
        fingerprints: dict[RowId, str] = {}
        for (system, table_name), keys in wanted.items():
            table = self.catalogue.systems[system].tables[table_name]
            for key in keys:
                values = rows.get((system, table_name, key))
                links = {}
                if values is not None:
                    for column in table.columns:
                        target = linked_table(self.catalogue, system, table_name, column)
                        if target is not None and values.get(column) not in (None, ""):
                            links[column] = LinkedRecord(
                                target[0], target[1], linked.get((target, str(values[column])))
                            )
                    fingerprints[(system, table_name, key)] = fingerprint(
                        self.hash_key, identifying_values(table, values)
                    )
                facts.append(
                    RecordFacts(system, table_name, key, values, links, readable=system not in manual)
                )
        return facts, fingerprints

    async def read_rows(
        self, findings: Iterable[tuple[str, str, Mapping[str, Any]]]
    ) -> dict[RowId, dict[str, Any]]:
        """The rows (system, table, primary key) as they are now; a row no longer there, or in a
        system without an interface, is missing from the answer."""
        return await self._rows(self._wanted(findings))

    def _wanted(
        self, findings: Iterable[tuple[str, str, Mapping[str, Any]]]
    ) -> dict[tuple[str, str], list[tuple[str, ...]]]:
        wanted: dict[tuple[str, str], list[tuple[str, ...]]] = defaultdict(list)
        for system, table_name, primary_key in findings:
            table = self.catalogue.systems[system].tables[table_name]
            wanted[(system, table_name)].append(tuple(str(primary_key[c]) for c in table.primary_key))
        return wanted

    def _manual(self) -> set[str]:
        return {name for name, spec in self.catalogue.systems.items() if spec.connection.engine == "manual"}

    async def _rows(
        self, wanted: Mapping[tuple[str, str], Sequence[tuple[str, ...]]]
    ) -> dict[RowId, dict[str, Any]]:
        rows: dict[RowId, dict[str, Any]] = {}
        manual = self._manual()
        for (system, table_name), keys in wanted.items():
            if system in manual:
                continue
            for found_key, found in (await self._read(system, table_name, keys)).items():
                rows[(system, table_name, found_key)] = found
        return rows

    async def _read(
        self, system: str, table_name: str, keys: Sequence[tuple[str, ...]]
    ) -> dict[tuple[str, ...], dict[str, Any]]:
        """Rows by key, each with the `reference.column` values its rules read (one statement)."""
        table = self.catalogue.systems[system].tables[table_name]
        [pk] = table.primary_key
        selects, joins = ["t.*"], []
        for index, path in enumerate(sorted(paths_needed(table))):
            reference, column = path.split(".", 1)
            target = table.columns[reference].references if reference in table.columns else None
            if target is None or "." in column:
                continue  # a path the engine will find missing, and treat as holding
            target_table, target_column = target.split(".")
            joins.append(
                f'left join "{target_table}" r{index} on r{index}."{target_column}" = t."{reference}"'
            )
            selects.append(f'r{index}."{column}" as "{path}"')
        sql = (
            f'select {", ".join(selects)} from "{table_name}" t {" ".join(joins)} '
            f'where t."{pk}" = any($1::text[]::{table.sql_type(pk)}[])'
        )
        pool = await self.pool(system)
        records = await pool.fetch(sql, [key[0] for key in keys])
        return {(str(r[pk]),): dict(r) for r in records}

    async def _linked(
        self, rows: Mapping[RowId, Mapping[str, Any]]
    ) -> dict[tuple[tuple[str, str, str], str], dict[str, Any]]:
        """The records hold columns name (the case a call's case number names), by value."""
        wanted: dict[tuple[str, str, str], set[str]] = defaultdict(set)
        for (system, table_name, _key), values in rows.items():
            for column in self.catalogue.systems[system].tables[table_name].columns:
                target = linked_table(self.catalogue, system, table_name, column)
                if target is not None and values.get(column) not in (None, ""):
                    wanted[target].add(str(values[column]))
        found: dict[tuple[tuple[str, str, str], str], dict[str, Any]] = {}
        for target, named in wanted.items():
            system, table_name, column = target
            pool = await self.pool(system)
            for record in await pool.fetch(
                f'select * from "{table_name}" where "{column}" = any($1::text[])', sorted(named)
            ):
                found[(target, str(record[column]))] = dict(record)
        return found

    # ------------------------------------------------------------------------------------- apply

    async def apply(self, system: str, changes: Sequence[Change]) -> int:
        """Apply one system's changes in one transaction, in the order given; returns rows changed.
        Running it again changes nothing: deletes find nothing, updates skip equal values."""
        pool = await self.pool(system)
        changed = 0
        async with pool.acquire() as conn, conn.transaction():
            for change in changes:
                changed += await self._apply_one(conn, system, change)
        return changed

    async def _apply_one(self, conn: asyncpg.Connection, system: str, change: Change) -> int:
        table = self.catalogue.systems[system].tables[change.table]
        [pk] = table.primary_key
        key = str(change.key[pk])
        changed = 0
        if change.method is Method.delete_row:
            status = await conn.execute(
                f'delete from "{change.table}" where "{pk}" = $1::text::{table.sql_type(pk)}', key
            )
            return _count(status)
        if change.method in (Method.null_columns, Method.anonymise) and change.columns:
            nullable = await self._nullable_columns(conn, system, change.table)
            values: list[str | None] = []
            for column in change.columns:
                if change.method is Method.anonymise:
                    values.append(pseudonym(self.hash_key, system, change.table, change.key, column))
                else:
                    values.append(None if nullable.get(column, True) else "")
            sets = ", ".join(f'"{c}" = ${i + 2}' for i, c in enumerate(change.columns))
            differs = " or ".join(f'"{c}" is distinct from ${i + 2}' for i, c in enumerate(change.columns))
            status = await conn.execute(
                f'update "{change.table}" set {sets} where "{pk}" = $1::text::{table.sql_type(pk)} and ({differs})',
                key,
                *values,
            )
            changed += _count(status)
        if change.mark_restricted and table.restriction is not None:
            changed += await self._mark(conn, table, change.table, key, True)
        return changed

    async def set_restricted(self, system: str, table_name: str, key: Mapping[str, str], value: bool) -> int:
        table = self.catalogue.systems[system].tables[table_name]
        [pk] = table.primary_key
        pool = await self.pool(system)
        async with pool.acquire() as conn:
            return await self._mark(conn, table, table_name, str(key[pk]), value)

    async def _mark(
        self, conn: asyncpg.Connection, table: Table, table_name: str, key: str, value: bool
    ) -> int:
        assert table.restriction is not None
        [pk] = table.primary_key
        column = table.restriction.column
        if "." in column:  # marked through the row it belongs to (an invoice's lines)
            reference, target_column = column.split(".", 1)
            target = table.columns[reference].references
            assert target is not None
            target_table, target_key = target.split(".")
            status = await conn.execute(
                f'update "{target_table}" set "{target_column}" = $2 where "{target_key}" = '
                f'(select "{reference}" from "{table_name}" where "{pk}" = $1::text::{table.sql_type(pk)}) '
                f'and "{target_column}" is distinct from $2',
                key,
                value,
            )
        else:
            status = await conn.execute(
                f'update "{table_name}" set "{column}" = $2 where "{pk}" = $1::text::{table.sql_type(pk)} '
                f'and "{column}" is distinct from $2',
                key,
                value,
            )
        return _count(status)

    async def _nullable_columns(self, conn: asyncpg.Connection, system: str, table: str) -> dict[str, bool]:
        if (system, table) not in self._nullable:
            rows = await conn.fetch(
                "select column_name, is_nullable = 'YES' as nullable from information_schema.columns "
                "where table_schema = current_schema() and table_name = $1",
                table,
            )
            self._nullable[(system, table)] = {r["column_name"]: r["nullable"] for r in rows}
        return self._nullable[(system, table)]

    async def rectify(
        self, system: str, items: Sequence[tuple[str, Mapping[str, str], Mapping[str, str]]]
    ) -> list[tuple[str, dict[str, str], dict[str, Any], dict[str, Any]]]:
        """Set corrected values in one transaction: (table, key, old, new) of every row changed."""
        pool = await self.pool(system)
        done = []
        async with pool.acquire() as conn, conn.transaction():
            for table_name, key, changes in items:
                table = self.catalogue.systems[system].tables[table_name]
                [pk] = table.primary_key
                columns = sorted(changes)
                old = await conn.fetchrow(
                    f'select {", ".join(f"{chr(34)}{c}{chr(34)}" for c in columns)} from "{table_name}" '
                    f'where "{pk}" = $1::text::{table.sql_type(pk)} for update',
                    str(key[pk]),
                )
                if old is None:
                    continue
                differing = [c for c in columns if old[c] != changes[c]]
                if not differing:
                    continue
                sets = ", ".join(f'"{c}" = ${i + 2}' for i, c in enumerate(differing))
                await conn.execute(
                    f'update "{table_name}" set {sets} where "{pk}" = $1::text::{table.sql_type(pk)}',
                    str(key[pk]),
                    *[changes[c] for c in differing],
                )
                done.append(
                    (
                        table_name,
                        dict(key),
                        {c: old[c] for c in differing},
                        {c: changes[c] for c in differing},
                    )
                )
        return done

    # ------------------------------------------------------------------------------------ replay

    async def replay(self, system: str, changes: Sequence[Change]) -> list[Change]:
        """Re-apply ledger changes whose row is back as it was before (same fingerprint), in one
        transaction; returns the changes that found their row again."""
        pool = await self.pool(system)
        reapplied = []
        async with pool.acquire() as conn, conn.transaction():
            for change in changes:
                table = self.catalogue.systems[system].tables[change.table]
                [pk] = table.primary_key
                row = await conn.fetchrow(
                    f'select * from "{change.table}" where "{pk}" = $1::text::{table.sql_type(pk)}',
                    str(change.key[pk]),
                )
                if row is None:
                    continue
                current = fingerprint(self.hash_key, identifying_values(table, dict(row)))
                if change.fingerprint is not None and current != change.fingerprint:
                    continue  # already erased, or another row under a reused key: leave it
                if await self._apply_one(conn, system, change):
                    reapplied.append(change)
        return reapplied


def changes_of(records: Sequence[PlannedRecord]) -> list[Change]:
    return [
        Change(
            r.table,
            r.key,
            r.decision.method,
            r.decision.columns,
            r.decision.mark_restricted,
            r.fingerprint,
        )
        for r in records
    ]


def _count(status: str) -> int:
    """Rows touched, from a command tag such as `DELETE 1` or `UPDATE 0`."""
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0


async def controllers(systems: SourceSystems, facts: Sequence[RecordFacts]) -> dict[str, list[str]]:
    """Per processor system, the names of the controllers its found rows name (an invoice's client)."""
    names: dict[str, list[str]] = {}
    catalogue = systems.catalogue
    for system in sorted({f.system for f in facts}):
        role = catalogue.systems[system].role
        if role.kind != "processor" or role.controller is None:
            continue
        rule = role.controller
        ids = sorted(
            {
                str(f.values[rule.column])
                for f in facts
                if f.system == system and f.table == rule.table and f.values and f.values.get(rule.column)
            }
        )
        column = catalogue.systems[system].tables[rule.table].columns[rule.column]
        if column.references is None:
            names[system] = ids
            continue
        target_table, target_key = column.references.split(".")
        pool = await systems.pool(system)
        rows = await pool.fetch(
            f'select name from "{target_table}" where "{target_key}" = any($1::text[]::'
            f"{catalogue.systems[system].tables[target_table].sql_type(target_key)}[])",
            ids,
        )
        names[system] = sorted(r["name"] for r in rows)
    return names
