"""A source system in any SQLAlchemy 2 async dialect (SQLite, MariaDB/MySQL, SQL Server, Oracle,
PostgreSQL): the semantics of `postgresql.py`, through SQLAlchemy Core.

- Tables are `sqlalchemy.Table` objects built from the catalogue (no reflection): identifiers are
  quoted by the dialect, values always travel as bound parameters.
- Statements are built by the pure functions below (`search_statement`, `facts_statement`, ...) from
  those tables, so that every statement can be compiled for a dialect without a server (the
  conformance suite compiles them for SQL Server and Oracle).
- One statement per locator round: a UNION ALL of one select per table with something to look for.
- Keys arrive as text and are converted to the column's Python type before binding, so that the
  column's index answers; a value no row of the column can hold (not a number for an integer
  column, a NUL character, longer than `MAX_TEXT`) is dropped: it finds nothing and breaks nothing.
- Text is compared exactly, whatever the column's collation: MariaDB's default collation is case-
  and trailing-space-insensitive, so rows the database matched are checked again in Python, and
  on a dialect whose comparisons may not be exact (`EXACT_DIALECTS`) a change reads its row first
  and writes only the columns that differ in Python's terms.
- `timestamptz` columns give back aware datetimes on every dialect: where the column has no zone
  (SQLite, MySQL's DATETIME) the pipeline reads and writes UTC.
- SQLite reads (searches, reads, lookups, health) run on the stdlib driver in a worker thread, one
  hand-off per statement: through aiosqlite a statement is five thread round trips (cursor,
  execute, fetch, close, rollback), about 0.1 ms each on a small VM. Writes keep aiosqlite.

Nothing here logs or raises a value: errors become `SystemUnknown` with the exception's type name
(the engine hides parameters from SQLAlchemy's own messages too).
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from services.catalogue.model import ColumnType, IdentifierType, System, Table
from services.systems.contract import Applied, Guard, Row, RowChange, SourceRow, SystemUnknown
from services.systems.engine import Engine
from services.systems.guard import Limits, Retrying
from services.systems.keys import MAX_TEXT, key_value, key_values
from services.systems.plan import SystemPlan

TRANSIENT: tuple[type[BaseException], ...] = (
    sa.exc.DBAPIError,  # OperationalError, InterfaceError, ProgrammingError (a missing table), ...
    sa.exc.TimeoutError,  # no pooled connection free in time
    sa.exc.DisconnectionError,
    sa.exc.NoSuchTableError,  # the live schema lacks a catalogued table (nullability lookup)
    sa.exc.ResourceClosedError,
)


EXACT_DIALECTS = frozenset({"postgresql", "sqlite", "oracle"})
"""Dialects whose default text comparison is exact (binary): a change is written with a `WHERE ...
IS DISTINCT FROM` guard. On the others (MySQL/MariaDB, SQL Server: case-insensitive collations by
default) a change reads its row first and the columns to write are decided in Python."""

TEXT_OUT: sa.types.TypeEngine[str] = sa.String(MAX_TEXT).with_variant(sa.NVARCHAR(MAX_TEXT), "mssql")
"""What keys and identifier values are cast to in a search (a union needs one type per column)."""

_WRITE = "dsr_write"
"""Execution option marking a connection that writes (SQLite: BEGIN IMMEDIATE)."""


# ------------------------------------------------------------------------------------------- types


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """`timestamptz`: aware datetimes in and out. A dialect without zones stores UTC."""

    impl = sa.DateTime
    cache_ok = True

    ZONED = frozenset({"postgresql", "mssql", "oracle"})

    def __init__(self) -> None:
        super().__init__(timezone=True)

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value if dialect.name in self.ZONED else value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def column_type(kind: ColumnType) -> sa.types.TypeEngine[Any]:
    """The SQLAlchemy type of a catalogue column type (Oracle compares no CLOB: text is VARCHAR2)."""
    if kind is ColumnType.bigint:
        return sa.BigInteger()
    if kind is ColumnType.integer:
        return sa.Integer()
    if kind is ColumnType.numeric:
        return sa.Numeric(asdecimal=True)
    if kind is ColumnType.boolean:
        return sa.Boolean(create_constraint=False)
    if kind is ColumnType.date:
        return sa.Date()
    if kind is ColumnType.timestamptz:
        return UtcDateTime()
    return sa.Text().with_variant(sa.String(MAX_TEXT), "oracle")


def build_tables(spec: System, metadata: sa.MetaData | None = None) -> dict[str, sa.Table]:
    """A `sqlalchemy.Table` per catalogued table, catalogued columns only (what statements need:
    names and types; nullability is read from the live schema when a change needs it)."""
    metadata = metadata if metadata is not None else sa.MetaData()
    return {
        name: sa.Table(
            name,
            metadata,
            *(
                sa.Column(
                    column_name,
                    column_type(column.type),
                    primary_key=column_name in table.primary_key,
                    autoincrement=False,
                )
                for column_name, column in table.columns.items()
            ),
        )
        for name, table in spec.tables.items()
    }


def _found(kind: ColumnType, text: str | None, wanted: frozenset[Any]) -> bool:
    """Whether a value the database returned (as text) really is one of `wanted`: text exactly
    (a case-insensitive collation matches more), numbers by value; other types as the database said."""
    if text is None:
        return False
    if kind in (ColumnType.text, ColumnType.bigint, ColumnType.integer, ColumnType.numeric):
        return key_value(kind, text) in wanted
    return True


# ---------------------------------------------------------------------------------- statements


@dataclass(frozen=True)
class Condition:
    """One way a search finds a table's rows: an identifier column, or the `belongs_to` column."""

    bind: str
    """The expanding bind parameter's name (`Match0`, ...: no catalogue column is capitalised)."""
    table: str
    column: str
    type: ColumnType
    kind: IdentifierType | None
    parent: str | None
    position: int
    """Where the row's value is among the table's identifier values; -1: the parent key."""


def search_conditions(plan: SystemPlan, spec: System) -> tuple[Condition, ...]:
    """Every condition of the plan's tables, in a fixed order (bind names follow it)."""
    conditions: list[Condition] = []
    for table in plan.tables.values():
        columns = spec.tables[table.name].columns
        for position, identifier in enumerate(table.identifiers):
            conditions.append(
                Condition(
                    f"Match{len(conditions)}",
                    table.name,
                    identifier.name,
                    columns[identifier.name].type,
                    identifier.kind,
                    None,
                    position,
                )
            )
        if table.belongs_to is not None and table.parent is not None:
            conditions.append(
                Condition(
                    f"Match{len(conditions)}",
                    table.name,
                    table.belongs_to,
                    columns[table.belongs_to].type,
                    None,
                    table.parent,
                    -1,
                )
            )
    return tuple(conditions)


def _text(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    return sa.cast(column, TEXT_OUT)


def _no_text() -> sa.ColumnElement[Any]:
    return sa.cast(sa.null(), TEXT_OUT)


def search_widths(plan: SystemPlan) -> tuple[int, int]:
    """(key columns, identifier columns) of the union: the widest table's, the others padded."""
    return (
        max(len(table.primary_key) for table in plan.tables.values()),
        max((len(table.identifiers) for table in plan.tables.values()), default=0),
    )


def search_statement(
    tables: Mapping[str, sa.Table], plan: SystemPlan, conditions: Collection[Condition]
) -> sa.Select[Any] | sa.CompoundSelect[Any] | None:
    """`union all` of one select per table that has a condition here: (table name, key as text,
    padded; parent key as text or NULL; identifier values as text, padded). Each condition is
    `column IN (expanding bind)`; None when no table has a condition (nothing to ask)."""
    key_width, value_width = search_widths(plan)
    by_table: dict[str, list[Condition]] = {}
    for condition in conditions:
        by_table.setdefault(condition.table, []).append(condition)
    selects = []
    for table in plan.tables.values():
        mine = by_table.get(table.name)
        if not mine:
            continue
        source = tables[table.name]
        keys = [_text(source.c[name]) for name in table.primary_key]
        keys += [_no_text()] * (key_width - len(keys))
        values = [_text(source.c[column.name]) for column in table.identifiers]
        values += [_no_text()] * (value_width - len(values))
        parent = _text(source.c[table.belongs_to]) if table.belongs_to is not None else _no_text()
        selects.append(
            sa.select(
                sa.literal(table.name, TEXT_OUT, literal_execute=True).label("t"),
                *(key.label(f"k{index}") for index, key in enumerate(keys)),
                parent.label("p"),
                *(value.label(f"v{index}") for index, value in enumerate(values)),
            ).where(
                sa.or_(
                    *(
                        source.c[c.column].in_(
                            sa.bindparam(c.bind, expanding=True, type_=source.c[c.column].type)
                        )
                        for c in mine
                    )
                )
            )
        )
    if not selects:
        return None
    return selects[0] if len(selects) == 1 else sa.union_all(*selects)


def path_target(spec: Table, path: str) -> tuple[str, str, str, str] | None:
    """(target table, target key, reference column, column) of a `reference.column` path (as
    `postgresql._path_target`)."""
    reference, column = path.split(".", 1)
    target = spec.columns[reference].references if reference in spec.columns else None
    if target is None or "." in column:
        return None
    target_table, target_key = target.split(".")
    return target_table, target_key, reference, column


def facts_statement(
    tables: Mapping[str, sa.Table], spec: Table, table: str, paths: Sequence[str]
) -> tuple[sa.Select[Any], list[str]]:
    """Rows whose key is in the expanding `Keys`, each with the `reference.column` values of
    `paths` through LEFT OUTER JOINs (after the table's columns, in the order of the returned paths)."""
    [pk] = spec.primary_key
    base = tables[table].alias("t")
    joined: sa.FromClause = base
    selected: list[sa.ColumnElement[Any]] = list(base.c)
    found: list[str] = []
    for index, path in enumerate(sorted(set(paths))):
        target = path_target(spec, path)
        if target is None or target[0] not in tables:
            continue  # a path the retention engine will find missing, and treat as holding
        target_table, target_key, reference, column = target
        other = tables[target_table].alias(f"r{index}")
        if column not in other.c:
            continue
        joined = joined.outerjoin(other, other.c[target_key] == base.c[reference])
        selected.append(other.c[column].label(f"Path{index}"))
        found.append(path)
    statement = (
        sa.select(*selected)
        .select_from(joined)
        .where(base.c[pk].in_(sa.bindparam("Keys", expanding=True, type_=base.c[pk].type)))
    )
    return statement, found


def lookup_statement(source: sa.Table, column: str, columns: Sequence[str] | None) -> sa.Select[Any]:
    """Rows whose `column` is in the expanding `Values`: `columns` (all catalogued ones when None),
    then `column` itself when not among them (the engine checks text matches exactly)."""
    selected = [source.c[name] for name in columns] if columns else list(source.c)
    if all(item.key != column for item in selected):
        selected.append(source.c[column])
    return sa.select(*selected).where(
        source.c[column].in_(sa.bindparam("Values", expanding=True, type_=source.c[column].type))
    )


def _key(source: sa.Table, pk: str) -> sa.ColumnElement[bool]:
    return source.c[pk] == sa.bindparam("Key", type_=source.c[pk].type)


def lock_statement(source: sa.Table, pk: str) -> sa.Select[Any]:
    """The row with key `Key`, locked for the rest of the transaction: FOR UPDATE, or on SQL
    Server (whose SQLAlchemy dialect renders no FOR UPDATE) the equivalent table hint. SQLite has no
    row locks: its writing transaction is BEGIN IMMEDIATE instead."""
    return (
        sa.select(source)
        .with_hint(source, "WITH (UPDLOCK, ROWLOCK)", "mssql")
        .where(_key(source, pk))
        .with_for_update()
    )


def delete_statement(source: sa.Table, pk: str) -> sa.Delete:
    return sa.delete(source).where(_key(source, pk))


def update_statement(
    source: sa.Table, pk: str, columns: Sequence[str], *, distinct: bool = True
) -> sa.Update:
    """Set `columns` to `Value0`.. on the row with key `Key`; with `distinct`, only where one of
    them differs (IS DISTINCT FROM, rendered per dialect), so a second run touches nothing."""
    values = {
        name: sa.bindparam(f"Value{index}", type_=source.c[name].type) for index, name in enumerate(columns)
    }
    statement = sa.update(source).where(_key(source, pk))
    if distinct:
        statement = statement.where(
            sa.or_(*(source.c[name].is_distinct_from(v) for name, v in values.items()))
        )
    return statement.values(values)


def mark_statement(tables: Mapping[str, sa.Table], spec: Table, table: str) -> sa.Update:
    """Set the table's restriction mark to `Mark` on the row with key `Key`, or through the row it
    references (`reference.column`: the target row whose key is the scalar subquery's), only
    where it differs."""
    assert spec.restriction is not None
    [pk] = spec.primary_key
    source = tables[table]
    mark = sa.bindparam("Mark", type_=sa.Boolean(create_constraint=False))
    column = spec.restriction.column
    if "." not in column:
        return (
            sa.update(source)
            .where(_key(source, pk))
            .where(source.c[column].is_distinct_from(mark))
            .values({column: mark})
        )
    reference, target_column = column.split(".", 1)
    target = spec.columns[reference].references
    assert target is not None
    target_table, target_key = target.split(".")
    other = tables[target_table]
    owner = sa.select(source.c[reference]).where(_key(source, pk)).scalar_subquery()
    return (
        sa.update(other)
        .where(other.c[target_key] == owner)
        .where(other.c[target_column].is_distinct_from(mark))
        .values({target_column: mark})
    )


def health_statement(tables: Mapping[str, sa.Table]) -> sa.Select[Any]:
    """`select 1` from a catalogued table (at most one row): an answer means the database is there
    with its schema. A bare `select 1` would not do: SQLite answers it without reading the file."""
    statement = sa.select(sa.literal(1))
    if tables:
        statement = statement.select_from(tables[min(tables)]).limit(1)
    return statement


# -------------------------------------------------------------------------------------- engine


class SqlSystem(Engine):
    """One pooled database through an SQLAlchemy async engine (connections opened on first use)."""

    engine = "sql"

    def __init__(
        self,
        name: str,
        spec: System,
        plan: SystemPlan | None,
        url: str,
        *,
        limits: Limits,
        read_only: bool,
        application_name: str,
    ) -> None:
        super().__init__(name, spec, plan)
        self.tables = build_tables(spec)
        self._conditions = search_conditions(plan, spec) if plan is not None else ()
        self._searches: dict[frozenset[str], sa.Select[Any] | sa.CompoundSelect[Any] | None] = {}
        self._updates: dict[tuple[str, tuple[str, ...], bool], sa.Update] = {}
        self._built: dict[tuple[Any, ...], tuple[sa.Select[Any], list[str]]] = {}
        self._read_only = read_only
        self._retrying = Retrying(name, limits, TRANSIENT)
        self._engine = _create_engine(url, limits, read_only=read_only, application_name=application_name)
        self.dialect = self._engine.dialect.name
        self._reader = _sqlite_reader(url, limits) if self.dialect == "sqlite" else None
        """SQLite: the engine for single-statement reads (see the module docstring)."""
        self._exact = self.dialect in EXACT_DIALECTS
        self._nullable: dict[str, dict[str, bool]] = {}
        self._health = health_statement(self.tables)

    # ------------------------------------------------------------------------------------ reads

    async def search(
        self, values: Mapping[IdentifierType, set[str]], parents: Mapping[str, set[str]]
    ) -> list[SourceRow]:
        if self.plan is None:
            return []
        params: dict[str, list[Any]] = {}
        for condition in self._conditions:
            if condition.kind is not None:
                texts: Collection[str] = values.get(condition.kind, ())
            else:
                texts = parents.get(condition.parent or "", ())
            converted = key_values(condition.type, texts)
            if converted:
                params[condition.bind] = converted
        present = frozenset(params)
        if present not in self._searches:
            chosen = [c for c in self._conditions if c.bind in present]
            self._searches[present] = search_statement(self.tables, self.plan, chosen)
        statement = self._searches[present]
        if statement is None:
            return []
        rows = await self._retrying.run("search", lambda: self._fetch(statement, params))
        return self._source_rows(rows, params)

    def _source_rows(self, rows: Sequence[sa.Row[Any]], params: Mapping[str, list[Any]]) -> list[SourceRow]:
        assert self.plan is not None
        key_width, _ = search_widths(self.plan)
        wanted = {bind: frozenset(values) for bind, values in params.items()}
        found: list[SourceRow] = []
        for row in rows:
            table = self.plan.tables[row[0]]
            key = [str(value) for value in row[1 : 1 + len(table.primary_key)]]
            parent = row[1 + key_width]
            start = 2 + key_width
            identifiers: list[str | None] = list(row[start : start + len(table.identifiers)])
            if any(
                _found(c.type, parent if c.position < 0 else identifiers[c.position], wanted[c.bind])
                for c in self._conditions
                if c.table == table.name and c.bind in wanted
            ):
                found.append((table.name, key, parent, identifiers))
        return found

    async def facts(self, table: str, keys: Sequence[str], paths: Sequence[str]) -> dict[str, Row]:
        """Rows by key, each with the `reference.column` values `paths` name (one statement)."""
        spec = self._table(table)
        [pk] = spec.primary_key
        kind = spec.columns[pk].type
        wanted = key_values(kind, keys)
        if not wanted:
            return {}
        cached = ("facts", table, tuple(sorted(set(paths))))
        if cached not in self._built:
            self._built[cached] = facts_statement(self.tables, spec, table, paths)
        statement, found = self._built[cached]
        width = len(self.tables[table].c)
        names = [column.key for column in self.tables[table].c]
        rows = await self._retrying.run("read", lambda: self._fetch(statement, {"Keys": wanted}))
        exact = frozenset(wanted)
        result: dict[str, Row] = {}
        for row in rows:
            record: Row = dict(zip(names, row[:width], strict=True))
            if kind is ColumnType.text and record[pk] not in exact:
                continue  # matched by a case-insensitive collation only
            record.update(zip(found, row[width:], strict=True))
            result[str(record[pk])] = record
        return result

    async def lookup(
        self, table: str, column: str, values: Sequence[str], columns: Sequence[str] | None = None
    ) -> list[Row]:
        spec = self._table(table)
        kind = spec.columns[column].type
        wanted = key_values(kind, set(values))
        if not wanted:
            return []
        cached = ("lookup", table, column, tuple(columns or ()))
        if cached not in self._built:
            self._built[cached] = lookup_statement(self.tables[table], column, columns), []
        statement, _ = self._built[cached]
        names = list(columns) if columns else [c.key for c in self.tables[table].c]
        rows = await self._retrying.run("read", lambda: self._fetch(statement, {"Values": wanted}))
        exact = frozenset(wanted)
        result: list[Row] = []
        for row in rows:
            record = dict(row._mapping)
            if kind is ColumnType.text and record[column] not in exact:
                continue
            result.append({name: record[name] for name in names})
        return result

    # ----------------------------------------------------------------------------------- writes

    async def apply(self, changes: Sequence[RowChange], guard: Guard | None = None) -> list[Applied]:
        """Every change in one transaction, in order; the whole call is retried on a transient
        failure (it rolled back, and applying it again changes nothing twice)."""
        if self._read_only:
            raise SystemUnknown(self.name, "read_only")
        return await self._retrying.run("apply", lambda: self._apply(changes, guard))

    async def _apply(self, changes: Sequence[RowChange], guard: Guard | None) -> list[Applied]:
        done: list[Applied] = []
        async with self._engine.connect() as conn:
            await conn.execution_options(**{_WRITE: True})
            async with conn.begin():
                for change in changes:
                    done.append(await self._apply_one(conn, change, guard))
        return done

    async def _apply_one(self, conn: AsyncConnection, change: RowChange, guard: Guard | None) -> Applied:
        spec = self._table(change.table)
        source = self.tables[change.table]
        [pk] = spec.primary_key
        key = key_value(spec.columns[pk].type, change.key)
        if key is None:
            return Applied(change, 0)  # no row can have this key
        before: Row | None = None
        current: Row | None = None
        if guard is not None or change.read_before or not self._exact:
            rows = await self._execute(conn, lock_statement(source, pk), {"Key": key})
            found = rows.first()
            current = dict(found._mapping) if found is not None else None
            if current is None or current[pk] != key:
                return Applied(change, 0)
            if guard is not None and not guard(change, dict(current)):
                return Applied(change, 0, dict(current), skipped=True)
            if guard is not None or change.read_before:
                before = {c: current[c] for c in change.values if current[c] != change.values[c]}
        if change.delete:
            return Applied(
                change, (await self._execute(conn, delete_statement(source, pk), {"Key": key})).rowcount
            )
        changed = 0
        columns = sorted(change.values) if before is None else sorted(before)
        if columns:
            nullable = await self._nullable_columns(conn, change.table)
            effective = {
                c: change.values[c] if change.values[c] is not None or nullable.get(c, True) else ""
                for c in columns
            }
            if not self._exact:
                # Decided here, exactly: the database's collation may call 'Kari' and 'KARI' equal.
                assert current is not None
                columns = [c for c in columns if current[c] != effective[c]]
            if columns:
                statement = self._update(change.table, pk, tuple(columns))
                params = {"Key": key, **{f"Value{i}": effective[c] for i, c in enumerate(columns)}}
                changed += (await self._execute(conn, statement, params)).rowcount
        if change.restricted is not None and spec.restriction is not None:
            statement_mark = mark_statement(self.tables, spec, change.table)
            changed += (
                await self._execute(conn, statement_mark, {"Key": key, "Mark": change.restricted})
            ).rowcount
        return Applied(change, changed, before)

    def _update(self, table: str, pk: str, columns: tuple[str, ...]) -> sa.Update:
        cached = (table, columns, self._exact)
        if cached not in self._updates:
            self._updates[cached] = update_statement(self.tables[table], pk, columns, distinct=self._exact)
        return self._updates[cached]

    async def _nullable_columns(self, conn: AsyncConnection, table: str) -> dict[str, bool]:
        """Which columns take NULL, from the live schema (once per table)."""
        if table not in self._nullable:
            self.statements += 1
            columns = await conn.run_sync(lambda sync: sa.inspect(sync).get_columns(table))
            self._nullable[table] = {str(c["name"]): bool(c["nullable"]) for c in columns}
        return self._nullable[table]

    # ----------------------------------------------------------------------------------- health

    async def _probe(self) -> None:
        await self._retrying.run("health", lambda: self._fetch(self._health), attempts=1)

    # -------------------------------------------------------------------------------- plumbing

    async def _fetch(
        self, statement: sa.Executable, params: Mapping[str, Any] | None = None
    ) -> list[sa.Row[Any]]:
        self.statements += 1
        if self._reader is not None:
            return await asyncio.to_thread(_read, self._reader, statement, dict(params or {}))
        async with self._engine.connect() as conn:
            result = await conn.execute(statement, dict(params or {}))
            return list(result.all())

    async def _execute(
        self, conn: AsyncConnection, statement: sa.Executable, params: Mapping[str, Any]
    ) -> sa.CursorResult[Any]:
        self.statements += 1
        return await conn.execute(statement, dict(params))

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.dispose()
        await self._engine.dispose()


def _read(engine: sa.Engine, statement: sa.Executable, params: dict[str, Any]) -> list[sa.Row[Any]]:
    """One statement's rows on a synchronous engine (run in a worker thread)."""
    with engine.connect() as conn:
        return list(conn.execute(statement, params).all())


def _sqlite_file_url(parsed: sa.URL) -> sa.URL:
    """A file database as a `mode=rw` URI: a missing file is an error (not a new empty database)."""
    database = parsed.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        return parsed.set(database=f"file:{quote(database)}", query={"mode": "rw", "uri": "true"})
    return parsed


def _sqlite_reader(url: str, limits: Limits) -> sa.Engine | None:
    """The stdlib driver's pooled engine for SQLite reads: read-only (`query_only`) sessions that
    wait out a writer's lock as the async engine's do; a connection is used by one thread at a time
    (the pool hands it out), not always the one that opened it. None for an in-memory database
    (another connection would see another database)."""
    parsed = sa.engine.make_url(url)
    if parsed.database in (None, "", ":memory:") or parsed.query.get("mode") == "memory":
        return None
    parsed = _sqlite_file_url(parsed.set(drivername="sqlite+pysqlite"))
    engine = sa.create_engine(
        parsed,
        connect_args={"timeout": limits.timeout, "check_same_thread": False},
        poolclass=sa.pool.QueuePool,
        pool_size=limits.connections,
        max_overflow=0,
        pool_timeout=limits.timeout,
        pool_recycle=300,
        hide_parameters=True,
    )
    _sqlite_sessions(engine, read_only=True)
    return engine


def _create_engine(url: str, limits: Limits, *, read_only: bool, application_name: str) -> AsyncEngine:
    """A pooled engine whose connections carry the system's limits: a server-side statement
    timeout where the dialect has one, read-only sessions, UTC."""
    parsed = sa.engine.make_url(url)
    backend = parsed.get_backend_name()
    connect_args: dict[str, Any] = {}
    options: dict[str, Any] = {}
    if backend == "sqlite":
        connect_args["timeout"] = limits.timeout  # waits for another writer's lock
        parsed = _sqlite_file_url(parsed)  # `query_only` keeps readers read-only
    elif backend in ("mysql", "mariadb"):
        connect_args["connect_timeout"] = limits.timeout
        connect_args["program_name"] = application_name
        if read_only:
            # A reader's every statement is its own (read-only) transaction: no ROLLBACK round trip
            # after each one, and each sees what is committed when it runs.
            options = {"isolation_level": "AUTOCOMMIT", "skip_autocommit_rollback": True}
    elif backend == "postgresql":
        settings = {
            "application_name": application_name,
            "statement_timeout": str(int(limits.timeout * 1000)),
        }
        if read_only:
            settings["default_transaction_read_only"] = "on"
        connect_args["server_settings"] = settings
        connect_args["timeout"] = limits.timeout
    engine = create_async_engine(
        parsed,
        connect_args=connect_args,
        pool_size=limits.connections,
        max_overflow=0,
        pool_timeout=limits.timeout,
        pool_recycle=300,
        hide_parameters=True,
        **options,
    )
    if backend == "sqlite":
        _sqlite_sessions(engine.sync_engine, read_only=read_only)
    elif backend in ("mysql", "mariadb"):
        _mysql_sessions(engine, limits, read_only=read_only)
    return engine


def _sqlite_sessions(engine: sa.Engine, *, read_only: bool) -> None:
    """SQLAlchemy's recipe for real SQLite transactions: the driver's implicit BEGIN (only before
    a write, so a guard's read would not be in the write's transaction) is replaced by our own, a
    BEGIN IMMEDIATE that takes the write lock at once; a reader's one statement needs none."""

    @event.listens_for(engine, "connect")
    def connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        if read_only:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("PRAGMA query_only = ON")
            finally:
                cursor.close()

    @event.listens_for(engine, "begin")
    def begin(conn: sa.Connection) -> None:
        if conn.get_execution_options().get(_WRITE):
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def _mysql_sessions(engine: AsyncEngine, limits: Limits, *, read_only: bool) -> None:
    """Each new connection: the server stops a statement after the timeout (MariaDB's
    `max_statement_time`, MySQL's `max_execution_time`, which covers SELECTs only), UTC, and a
    read-only session for a reader."""

    @event.listens_for(engine.sync_engine, "connect")
    def connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT VERSION()")
            (version,) = cursor.fetchone()
            if "mariadb" in str(version).lower():
                cursor.execute("SET SESSION max_statement_time = %s", (float(limits.timeout),))
            else:
                cursor.execute("SET SESSION max_execution_time = %s", (int(limits.timeout * 1000),))
            cursor.execute("SET SESSION time_zone = '+00:00'")
            if read_only:
                cursor.execute("SET SESSION TRANSACTION READ ONLY")
        finally:
            cursor.close()
