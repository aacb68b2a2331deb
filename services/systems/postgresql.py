"""A source system that is a PostgreSQL database, through asyncpg: the fast path.

One statement per locator round (a UNION ALL of one select per searchable table, its text fixed per
system so the prepared statement is reused); keys travel as text and are cast to the column's type
so that its index answers. Identifiers in SQL come only from the validated catalogue (lower-case
names, quoted); values always travel as parameters.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg

from services.catalogue.model import ColumnType, IdentifierType, System, Table
from services.systems.contract import Applied, Guard, Row, RowChange, SourceRow
from services.systems.engine import Engine
from services.systems.guard import Limits, Retrying
from services.systems.keys import key_value
from services.systems.plan import SystemPlan

TRANSIENT: tuple[type[BaseException], ...] = (asyncpg.PostgresError, asyncpg.InterfaceError)


def search_statement(plan: SystemPlan) -> str:
    """`union all` of one select per table: (table, primary key as text[], parent key, identifiers).

    Every parameter is an array; an empty one matches nothing, so the text is fixed per system and
    the prepared statement is reused.
    """
    param = {kind: index + 1 for index, kind in enumerate(plan.kinds)}
    parent_param = {parent: len(plan.kinds) + index + 1 for index, parent in enumerate(plan.parents)}
    selects = []
    for table in plan.tables.values():
        key = ", ".join(f'"{column}"::text' for column in table.primary_key)
        values = ", ".join(f'"{column.name}"::text' for column in table.identifiers)
        conditions = [f'"{c.name}" = any(${param[c.kind]}::text[])' for c in table.identifiers]
        parent = "null::text"
        if table.belongs_to is not None and table.parent is not None:
            parent = f'"{table.belongs_to}"::text'
            conditions.append(
                f'"{table.belongs_to}" = any(${parent_param[table.parent]}::text[]::{table.parent_key_type}[])'
            )
        selects.append(
            f"select '{table.name}'::text as t, array[{key}] as k, {parent} as p, "
            f'array[{values}]::text[] as v from "{table.name}" where {" or ".join(conditions)}'
        )
    return "\nunion all\n".join(selects)


class PostgresSystem(Engine):
    """One pooled PostgreSQL database (pool opened on first use)."""

    engine = "postgresql"

    def __init__(
        self,
        name: str,
        spec: System,
        plan: SystemPlan | None,
        dsn: str,
        *,
        limits: Limits,
        read_only: bool,
        application_name: str,
    ) -> None:
        super().__init__(name, spec, plan)
        self._sql = search_statement(plan) if plan is not None else ""
        # text for identifier values (no NUL, no lone surrogate), the parent key's type for parents
        self._argument_types = (
            [ColumnType.text] * len(plan.kinds)
            + [
                spec.tables[parent].columns[spec.tables[parent].primary_key[0]].type
                for parent in plan.parents
            ]
            if plan is not None
            else []
        )
        self._dsn = dsn
        self._read_only = read_only
        self._application_name = application_name
        self._retrying = Retrying(name, limits, TRANSIENT)
        self._limits = limits
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()
        self._nullable: dict[str, dict[str, bool]] = {}

    # ------------------------------------------------------------------------------------ reads

    async def search(
        self, values: Mapping[IdentifierType, set[str]], parents: Mapping[str, set[str]]
    ) -> list[SourceRow]:
        if self.plan is None:
            return []
        arguments = [
            [value for value in values if key_value(kind, value) is not None]
            for kind, values in zip(
                self._argument_types, self.plan.arguments(dict(values), dict(parents)), strict=True
            )
        ]
        records = await self._retrying.run("search", lambda: self._fetch(self._sql, *arguments))
        return [(r[0], list(r[1]), r[2], list(r[3])) for r in records]

    async def facts(self, table: str, keys: Sequence[str], paths: Sequence[str]) -> dict[str, Row]:
        """Rows by key, each with the `reference.column` values `paths` name (one statement)."""
        spec = self._table(table)
        [pk] = spec.primary_key
        selects, joins = ["t.*"], []
        for index, path in enumerate(sorted(set(paths))):
            target = _path_target(spec, path)
            if target is None:
                continue  # a path the retention engine will find missing, and treat as holding
            target_table, target_column, reference, column = target
            joins.append(
                f'left join "{target_table}" r{index} on r{index}."{target_column}" = t."{reference}"'
            )
            selects.append(f'r{index}."{column}" as "{path}"')
        sql = (
            f'select {", ".join(selects)} from "{table}" t {" ".join(joins)} '
            f'where t."{pk}" = any($1::text[]::{spec.sql_type(pk)}[])'
        )
        usable = [key for key in keys if key_value(spec.columns[pk].type, key) is not None]
        records = await self._retrying.run("read", lambda: self._fetch(sql, usable))
        return {str(r[pk]): dict(r) for r in records}

    async def lookup(
        self, table: str, column: str, values: Sequence[str], columns: Sequence[str] | None = None
    ) -> list[Row]:
        spec = self._table(table)
        selected = ", ".join(f'"{c}"' for c in columns) if columns else "*"
        sql = (
            f'select {selected} from "{table}" where "{column}" = any($1::text[]::{spec.sql_type(column)}[])'
        )
        usable = sorted(v for v in set(values) if key_value(spec.columns[column].type, v) is not None)
        records = await self._retrying.run("read", lambda: self._fetch(sql, usable))
        return [dict(r) for r in records]

    # ----------------------------------------------------------------------------------- writes

    async def apply(self, changes: Sequence[RowChange], guard: Guard | None = None) -> list[Applied]:
        """Every change in one transaction, in order; the whole call is retried on a transient
        failure (it rolled back, and applying it again changes nothing twice)."""
        return await self._retrying.run("apply", lambda: self._apply(changes, guard))

    async def _apply(self, changes: Sequence[RowChange], guard: Guard | None) -> list[Applied]:
        pool = await self._open()
        done: list[Applied] = []
        async with pool.acquire() as conn, conn.transaction():
            for change in changes:
                done.append(await self._apply_one(conn, change, guard))
        return done

    async def _apply_one(self, conn: asyncpg.Connection, change: RowChange, guard: Guard | None) -> Applied:
        spec = self._table(change.table)
        [pk] = spec.primary_key
        where = f'"{pk}" = $1::text::{spec.sql_type(pk)}'
        if key_value(spec.columns[pk].type, change.key) is None:
            return Applied(change, 0)  # no row can have this key
        before: Row | None = None
        if guard is not None or change.read_before:
            self.statements += 1
            current = await conn.fetchrow(
                f'select * from "{change.table}" where {where} for update', change.key
            )
            if current is None:
                return Applied(change, 0)
            if guard is not None and not guard(change, dict(current)):
                return Applied(change, 0, dict(current), skipped=True)
            before = {c: current[c] for c in change.values if current[c] != change.values[c]}
        if change.delete:
            self.statements += 1
            return Applied(
                change, _count(await conn.execute(f'delete from "{change.table}" where {where}', change.key))
            )
        changed = 0
        columns = sorted(change.values) if before is None else sorted(before)
        if columns:
            nullable = await self._nullable_columns(conn, change.table)
            values = [
                change.values[c] if change.values[c] is not None or nullable.get(c, True) else ""
                for c in columns
            ]
            sets = ", ".join(f'"{c}" = ${i + 2}' for i, c in enumerate(columns))
            differs = " or ".join(f'"{c}" is distinct from ${i + 2}' for i, c in enumerate(columns))
            self.statements += 1
            changed += _count(
                await conn.execute(
                    f'update "{change.table}" set {sets} where {where} and ({differs})', change.key, *values
                )
            )
        if change.restricted is not None and spec.restriction is not None:
            changed += await self._mark(conn, spec, change.table, change.key, change.restricted)
        return Applied(change, changed, before)

    async def _mark(self, conn: asyncpg.Connection, spec: Table, table: str, key: str, value: bool) -> int:
        assert spec.restriction is not None
        [pk] = spec.primary_key
        column = spec.restriction.column
        self.statements += 1
        if "." in column:  # marked through the row it belongs to (an invoice's lines)
            reference, target_column = column.split(".", 1)
            target = spec.columns[reference].references
            assert target is not None
            target_table, target_key = target.split(".")
            status = await conn.execute(
                f'update "{target_table}" set "{target_column}" = $2 where "{target_key}" = '
                f'(select "{reference}" from "{table}" where "{pk}" = $1::text::{spec.sql_type(pk)}) '
                f'and "{target_column}" is distinct from $2',
                key,
                value,
            )
        else:
            status = await conn.execute(
                f'update "{table}" set "{column}" = $2 where "{pk}" = $1::text::{spec.sql_type(pk)} '
                f'and "{column}" is distinct from $2',
                key,
                value,
            )
        return _count(status)

    async def _nullable_columns(self, conn: asyncpg.Connection, table: str) -> dict[str, bool]:
        if table not in self._nullable:
            self.statements += 1
            rows = await conn.fetch(
                "select column_name, is_nullable = 'YES' as nullable from information_schema.columns "
                "where table_schema = current_schema() and table_name = $1",
                table,
            )
            self._nullable[table] = {r["column_name"]: r["nullable"] for r in rows}
        return self._nullable[table]

    # ----------------------------------------------------------------------------------- health

    async def _probe(self) -> None:
        await self._retrying.run("health", lambda: self._fetch("select 1"), attempts=1)

    # -------------------------------------------------------------------------------- plumbing

    async def _fetch(self, sql: str, *arguments: Any) -> list[asyncpg.Record]:
        pool = await self._open()
        self.statements += 1
        async with pool.acquire() as conn:
            records: list[asyncpg.Record] = await conn.fetch(sql, *arguments)
            return records

    async def _open(self) -> asyncpg.Pool:
        async with self._opening:
            if self._pool is None:
                settings = {"application_name": self._application_name}
                if self._read_only:
                    settings["default_transaction_read_only"] = "on"
                    settings["plan_cache_mode"] = "force_generic_plan"
                self._pool = await asyncpg.create_pool(
                    self._dsn,
                    min_size=0,
                    max_size=self._limits.connections,
                    max_inactive_connection_lifetime=60,
                    server_settings=settings,
                )
            return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()


def _path_target(spec: Table, path: str) -> tuple[str, str, str, str] | None:
    """(target table, target key, reference column, column) of a `reference.column` path."""
    reference, column = path.split(".", 1)
    target = spec.columns[reference].references if reference in spec.columns else None
    if target is None or "." in column:
        return None
    target_table, target_key = target.split(".")
    return target_table, target_key, reference, column


def _count(status: str) -> int:
    """Rows touched, from a command tag such as `DELETE 1` or `UPDATE 0`."""
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0
