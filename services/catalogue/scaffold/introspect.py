"""A live database's schema through SQLAlchemy's inspector, and a few values of each text-like
column, as plain dataclasses (the classifier and the draft need no database).

- Tables, columns with their types, primary keys, foreign keys, unique constraints and unique
  indexes of one schema (default: the connection's), read with the inspector's `get_multi_*` calls
  (one round trip each where the dialect has them: 10,000 columns read in a second).
- Sampling reads at most `sample` non-empty values of each text-like column: one statement per
  table (the first rows), then one per column that came back short because of NULLs. Every
  statement runs read-only under a timeout: PostgreSQL `default_transaction_read_only` and
  `statement_timeout`; MariaDB `max_statement_time` (MySQL `max_execution_time`) and a read-only
  session; SQLite a read-only file (`mode=ro`, `query_only`) and a progress handler that interrupts
  a statement at its deadline. Each table is read in a savepoint, so one the role may not select
  only marks that table `unreadable` (with a reason, never the driver's message: it can quote a
  value).
- Sampled values stay in `Sample` objects, whose repr is a count: nothing here logs, prints or
  returns them anywhere else.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine.interfaces import ReflectedColumn
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

from services.catalogue.model import ColumnType

DEFAULT_SAMPLE = 20
"""Values sampled per text-like column unless asked otherwise: enough to tell, little to read."""

MAX_SAMPLE = 1000
DEFAULT_TIMEOUT = 5.0
"""Seconds any one statement may take."""

_ASYNC_DRIVERS = {
    "postgresql": "asyncpg",
    "mysql": "asyncmy",
    "mariadb": "asyncmy",
    "mssql": "aioodbc",
    "oracle": "oracledb",
}
"""The driver used for a URL that names none, or a synchronous one that is not installed."""


class ScaffoldError(Exception):
    """The schema cannot be read at all (no connection, no such schema); the message names why."""


@dataclass(frozen=True)
class LiveColumn:
    name: str
    type: ColumnType | None
    """The catalogue's type for the database's, or None when it has none."""
    db_type: str
    """The database's type as the dialect names it (`VARCHAR(255)`, `BYTEA`)."""
    nullable: bool
    text_like: bool
    """Its values are sampled (strings, and SQLite's untyped columns)."""


@dataclass(frozen=True)
class LiveForeignKey:
    columns: tuple[str, ...]
    table: str
    referred: tuple[str, ...]
    schema: str | None
    """The referred table's schema, when it is another one."""


@dataclass(frozen=True)
class LiveTable:
    name: str
    columns: tuple[LiveColumn, ...]
    primary_key: tuple[str, ...]
    foreign_keys: tuple[LiveForeignKey, ...] = ()
    unique: tuple[tuple[str, ...], ...] = ()
    """Column sets of unique constraints and unique indexes (the primary key excluded)."""

    def column(self, name: str) -> LiveColumn:
        """The column called `name` (KeyError: none)."""
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)


@dataclass(frozen=True)
class LiveSchema:
    dialect: str
    """The catalogue's dialect name: postgresql, mariadb, mysql, sqlite, mssql, oracle."""
    schema: str | None
    tables: tuple[LiveTable, ...]


class Sample:
    """Up to N values of one column, held in memory only; `repr` and `str` say how many, never what."""

    __slots__ = ("_values",)

    def __init__(self, values: Sequence[str] = ()) -> None:
        self._values = tuple(values)

    @property
    def values(self) -> tuple[str, ...]:
        return self._values

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"<Sample of {len(self._values)} values>"

    __str__ = __repr__


@dataclass(frozen=True)
class Unreadable:
    """A table (or one column of it) whose values could not be sampled, and why (no driver text)."""

    table: str
    reason: str
    column: str | None = None


@dataclass(frozen=True)
class Reading:
    """What `read_database` found: the schema, the samples by (table, column), what it could not read."""

    schema: LiveSchema
    samples: Mapping[tuple[str, str], Sample] = field(default_factory=dict)
    unreadable: tuple[Unreadable, ...] = ()
    statements: int = 0
    seconds: float = 0.0


async def read_database(
    url: str,
    *,
    schema: str | None = None,
    sample: int = DEFAULT_SAMPLE,
    timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109 - each statement's, enforced by the server
    exclude: Sequence[str] = (),
) -> Reading:
    """Read the schema at `url` (an SQLAlchemy URL) and sample its text-like columns; `exclude`
    names tables (or `table.column`s) left out. Raises `ScaffoldError` when nothing can be read."""
    if not 0 <= sample <= MAX_SAMPLE:
        raise ValueError(f"sample: 0 to {MAX_SAMPLE} values a column")
    started = time.perf_counter()
    parsed = _url(url)
    options = _Options(schema, sample, timeout, frozenset(exclude))
    try:
        if parsed.get_dialect().is_async:
            engine = create_async_engine(parsed, poolclass=NullPool, **_engine_args(parsed, timeout))
            _session_setup(engine.sync_engine, parsed, timeout)
            try:
                async with engine.connect() as conn:
                    reading = await _run(conn, options)
            finally:
                await engine.dispose()
        else:
            reading = await asyncio.to_thread(_read_sync, parsed, options)
    except ScaffoldError:
        raise
    except sa.exc.DBAPIError as exc:
        raise ScaffoldError(f"cannot read the database: {_reason(exc)}") from None
    except (sa.exc.SQLAlchemyError, OSError) as exc:
        raise ScaffoldError(f"cannot read the database: {type(exc).__name__}") from None
    return Reading(
        reading.schema, reading.samples, reading.unreadable, reading.statements, time.perf_counter() - started
    )


@dataclass(frozen=True)
class _Options:
    schema: str | None
    sample: int
    timeout: float
    exclude: frozenset[str]


async def _run(conn: AsyncConnection, options: _Options) -> Reading:
    return await conn.run_sync(_read, options)


def _read_sync(url: sa.URL, options: _Options) -> Reading:
    engine = sa.create_engine(url, poolclass=NullPool, **_engine_args(url, options.timeout))
    _session_setup(engine, url, options.timeout)
    try:
        with engine.connect() as conn:
            return _read(conn, options)
    finally:
        engine.dispose()


def _url(url: str) -> sa.URL:
    """The URL with a driver we can use: SQLite through the standard library, read-only; a
    PostgreSQL or MySQL URL without an installed synchronous driver through its asyncio driver."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        raise ScaffoldError("the variable does not hold an SQLAlchemy URL (e.g. sqlite:///file.db)") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database or ""
        if not database or database == ":memory:" or parsed.query.get("mode") == "memory":
            raise ScaffoldError("an in-memory SQLite database holds nothing to scaffold: name a file")
        parsed = parsed.set(drivername="sqlite+pysqlite")
        if not database.startswith("file:"):
            parsed = parsed.set(database=f"file:{quote(database)}", query={"mode": "ro", "uri": "true"})
        return parsed
    if backend in _ASYNC_DRIVERS and not _driver_loads(parsed):
        parsed = parsed.set(drivername=f"{backend}+{_ASYNC_DRIVERS[backend]}")
    if not _driver_loads(parsed):
        extra = {"mysql": "mysql", "mariadb": "mysql", "mssql": "mssql", "oracle": "oracle"}.get(backend)
        how = f"pip install 'dsr-pipeline[{extra}]'" if extra else "install the dialect's driver"
        raise ScaffoldError(f"no driver for {parsed.drivername!r} here ({how})")
    return parsed


def _driver_loads(url: sa.URL) -> bool:
    """The URL's dialect and its DBAPI module import (`postgresql://` names psycopg2, which the
    pipeline does not install: asyncpg reads it instead)."""
    try:
        url.get_dialect().import_dbapi()
    except (ImportError, sa.exc.NoSuchModuleError):
        return False
    return True


def _engine_args(url: sa.URL, timeout: float) -> dict[str, Any]:
    backend = url.get_backend_name()
    connect_args: dict[str, Any] = {}
    if backend == "postgresql" and url.get_driver_name() == "asyncpg":
        connect_args = {
            "timeout": timeout,
            "server_settings": {
                "application_name": "dsr-catalogue-scaffold",
                "default_transaction_read_only": "on",
                "statement_timeout": str(int(timeout * 1000)),
            },
        }
    elif backend == "postgresql":
        connect_args = {
            "connect_timeout": max(1, int(timeout)),
            "options": f"-c default_transaction_read_only=on -c statement_timeout={int(timeout * 1000)}",
        }
    elif backend in ("mysql", "mariadb"):
        connect_args = {"connect_timeout": max(1, int(timeout))}
    elif backend == "sqlite":
        connect_args = {"timeout": timeout}
    return {"connect_args": connect_args, "hide_parameters": True}


def _session_setup(engine: sa.Engine, url: sa.URL, timeout: float) -> None:
    """Per connection: MariaDB/MySQL statement limit and read-only session; SQLite read-only with
    a statement deadline (`_deadline`), and undecodable text replaced rather than raised."""
    backend = url.get_backend_name()
    if backend in ("mysql", "mariadb"):

        @sa.event.listens_for(engine, "connect")
        def _mysql(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("SELECT VERSION()")
                (version,) = cursor.fetchone()
                if "mariadb" in str(version).lower():
                    cursor.execute("SET SESSION max_statement_time = %s", (float(timeout),))
                else:
                    cursor.execute("SET SESSION max_execution_time = %s", (int(timeout * 1000),))
                cursor.execute("SET SESSION TRANSACTION READ ONLY")
            finally:
                cursor.close()

    elif backend == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _sqlite(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.text_factory = lambda raw: raw.decode("utf-8", "replace")
            dbapi_connection.execute("PRAGMA query_only = ON")

        @sa.event.listens_for(engine, "before_cursor_execute")
        def _arm(conn: sa.Connection, *_args: Any) -> None:
            deadline = time.monotonic() + timeout
            raw = conn.connection.dbapi_connection
            if raw is not None:
                raw.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)


# --------------------------------------------------------------------------------------- reading


def _read(conn: sa.Connection, options: _Options) -> Reading:
    dialect = _dialect_name(conn)
    inspector = sa.inspect(conn)
    schema = options.schema
    try:
        if schema is not None and schema not in inspector.get_schema_names():
            raise ScaffoldError(f"no schema {schema!r} in the database (or the role may not see it)")
        tables = _tables(inspector, schema, options.exclude)
    except sa.exc.DBAPIError as exc:
        raise ScaffoldError(f"cannot read the schema: {_reason(exc)}") from None
    live = LiveSchema(dialect, schema, tuple(tables))
    samples: dict[tuple[str, str], Sample] = {}
    unreadable: list[Unreadable] = []
    statements = 0
    if options.sample:
        for table in live.tables:
            found, problems, count = _sample_table(conn, table, schema, options.sample, dialect)
            samples.update({(table.name, column): values for column, values in found.items()})
            unreadable.extend(problems)
            statements += count
    if conn.in_transaction():
        conn.rollback()  # nothing was written; end the read-only transaction
    return Reading(live, samples, tuple(unreadable), statements)


def _dialect_name(conn: sa.Connection) -> str:
    dialect = conn.dialect
    if dialect.name in ("mysql", "mariadb"):
        return "mariadb" if getattr(dialect, "is_mariadb", False) else "mysql"
    return str(dialect.name)


def _tables(inspector: sa.Inspector, schema: str | None, exclude: frozenset[str]) -> Iterator[LiveTable]:
    kind = sa.engine.reflection.ObjectKind.TABLE
    names = [name for name in inspector.get_table_names(schema=schema) if name not in exclude]
    if not names:
        return
    columns = inspector.get_multi_columns(schema=schema, filter_names=names, kind=kind)
    keys = inspector.get_multi_pk_constraint(schema=schema, filter_names=names, kind=kind)
    foreign = inspector.get_multi_foreign_keys(schema=schema, filter_names=names, kind=kind)
    uniques = inspector.get_multi_unique_constraints(schema=schema, filter_names=names, kind=kind)
    indexes = inspector.get_multi_indexes(schema=schema, filter_names=names, kind=kind)
    dialect = inspector.dialect
    for name in names:
        key = (schema, name)
        constraint = keys.get(key)
        primary = tuple(constraint["constrained_columns"] or ()) if constraint else ()
        unique: dict[tuple[str, ...], None] = {}
        for named in uniques.get(key, []):
            unique[tuple(named["column_names"])] = None
        for index in indexes.get(key, []):
            if index.get("unique") and all(index["column_names"]):
                unique[tuple(str(c) for c in index["column_names"])] = None
        unique.pop(primary, None)
        yield LiveTable(
            name=name,
            columns=tuple(
                _column(c, dialect) for c in columns.get(key, []) if f"{name}.{c['name']}" not in exclude
            ),
            primary_key=primary,
            foreign_keys=tuple(
                LiveForeignKey(
                    tuple(fk["constrained_columns"]),
                    fk["referred_table"],
                    tuple(fk["referred_columns"]),
                    fk.get("referred_schema") if fk.get("referred_schema") not in (None, schema) else None,
                )
                for fk in foreign.get(key, [])
            ),
            unique=tuple(unique),
        )


def _column(reflected: ReflectedColumn, dialect: sa.Dialect) -> LiveColumn:
    kind = reflected["type"]
    try:
        db_type = kind.compile(dialect=dialect)
    except sa.exc.CompileError:
        db_type = type(kind).__name__
    catalogue = catalogue_type(kind, dialect.name)
    text_like = isinstance(kind, sa.String | sa.Uuid | sa.JSON) or (
        dialect.name == "sqlite" and isinstance(kind, sa.types.NullType)
    )
    if catalogue is None and text_like:
        catalogue = ColumnType.text
    return LiveColumn(reflected["name"], catalogue, db_type, bool(reflected.get("nullable", True)), text_like)


def catalogue_type(kind: sa.types.TypeEngine[Any], dialect: str = "") -> ColumnType | None:
    """The catalogue's type for a reflected SQLAlchemy type (None: it has none, e.g. binary)."""
    if isinstance(kind, sa.Boolean):
        return ColumnType.boolean
    if dialect in ("mysql", "mariadb") and type(kind).__name__ == "TINYINT":
        return ColumnType.boolean if getattr(kind, "display_width", None) == 1 else ColumnType.integer
    if isinstance(kind, sa.BigInteger):
        return ColumnType.bigint
    if isinstance(kind, sa.Integer):
        return ColumnType.integer
    if isinstance(kind, sa.Numeric):
        return ColumnType.numeric
    if isinstance(kind, sa.DateTime):
        return ColumnType.timestamptz
    if isinstance(kind, sa.Date):
        return ColumnType.date
    if isinstance(kind, sa.String | sa.Uuid | sa.Enum):
        return ColumnType.text
    return None


def _sample_table(
    conn: sa.Connection, table: LiveTable, schema: str | None, size: int, dialect: str
) -> tuple[dict[str, Sample], list[Unreadable], int]:
    """Up to `size` non-empty values of each text-like column of `table` (see the module docstring)."""
    wanted = [c.name for c in table.columns if c.text_like]
    if not wanted:
        return {}, [], 0
    source = sa.table(table.name, *(sa.column(name) for name in wanted), schema=schema)
    statements = 1
    try:
        with _savepoint(conn, dialect):
            rows = conn.execute(sa.select(*(source.c[name] for name in wanted)).limit(size)).all()
    except sa.exc.DBAPIError as exc:
        return {}, [Unreadable(table.name, _reason(exc))], statements
    found = {name: [_text(row[index]) for row in rows] for index, name in enumerate(wanted)}
    problems: list[Unreadable] = []
    for name in wanted:
        values = [v for v in found[name] if v]
        if len(rows) == size and len(values) < size:
            statements += 1
            column = source.c[name]
            try:
                with _savepoint(conn, dialect):
                    more: Any = conn.execute(
                        sa.select(column).where(column.is_not(None)).limit(size)
                    ).scalars()
                    values = [v for v in (_text(value) for value in more) if v]
            except sa.exc.DBAPIError as exc:
                problems.append(Unreadable(table.name, _reason(exc), name))
        found[name] = values
    return {name: Sample(values) for name, values in found.items()}, problems, statements


class _savepoint:
    """A savepoint where a failed statement would end the whole transaction (not SQLite's
    autocommit reads)."""

    def __init__(self, conn: sa.Connection, dialect: str) -> None:
        self.conn = conn
        self.nested: sa.NestedTransaction | None = None
        self.use = dialect != "sqlite"

    def __enter__(self) -> None:
        if self.use:
            self.nested = self.conn.begin_nested()

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if self.nested is not None:
            if kind is None:
                self.nested.commit()
            else:
                self.nested.rollback()


def _text(value: object) -> str:
    """A sampled value as text (bytes are not read: a binary column says nothing we can check)."""
    if value is None or isinstance(value, bytes | bytearray | memoryview):
        return ""
    return value if isinstance(value, str) else str(value)


_PERMISSION = {"42501", "1142", "1143", "1044", "1045", "1227"}
_TIMEOUT = {"57014", "1969", "3024", "1317"}


def _reason(exc: sa.exc.DBAPIError) -> str:
    """Why a statement failed, in words of our own: a driver's message can quote a value."""
    orig: Any = exc.orig
    codes = {str(getattr(orig, "sqlstate", "") or ""), str(getattr(orig, "pgcode", "") or "")}
    cause = getattr(orig, "__cause__", None)
    codes.add(str(getattr(cause, "sqlstate", "") or ""))
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int):
        codes.add(str(args[0]))
    text = str(orig).lower()
    if codes & _PERMISSION or "permission denied" in text or "command denied" in text:
        return "permission denied: the role may not read it"
    if (
        codes & _TIMEOUT
        or "interrupted" in text
        or "statement timeout" in text
        or "canceling statement" in text
    ):
        return "timed out: the statement ran past the timeout"
    if "unable to open database" in text or "no such file" in text:
        return "the database file cannot be opened"
    if "could not connect" in text or "connection refused" in text or "connect call failed" in text:
        return "the server does not answer"
    if "password authentication failed" in text or "access denied" in text:
        return "the server refused the credentials"
    if "does not exist" in text and "database" in text:
        return "no such database on the server"
    code = next((c for c in sorted(codes) if c), "")
    return f"{type(orig).__name__}{f' ({code})' if code else ''}"
