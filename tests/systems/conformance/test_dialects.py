"""Every statement the sql engine sends, compiled for each dialect it supports without a server
(SQL Server and Oracle have no server in CI): identifiers quoted by the dialect, every value a
bound parameter, never text in the statement."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects.mssql.base import MSDialect
from sqlalchemy.dialects.mysql.base import MySQLDialect
from sqlalchemy.dialects.oracle.base import OracleDialect
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.dialects.sqlite.base import SQLiteDialect
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler

from services.catalogue.model import System
from services.systems import sql
from services.systems.plan import build_plans
from services.systems.sample import SYSTEM, fixture_catalogue, fixture_system

DIALECTS: dict[str, Dialect] = {
    "mssql": MSDialect(),  # type: ignore[no-untyped-call]
    "oracle": OracleDialect(),
    "mysql": MySQLDialect(),
    "sqlite": SQLiteDialect(),
    "postgresql": PGDialect(),  # type: ignore[no-untyped-call]
}

MARKER = "' or 1=1 -- kari@example.no"
"""A value that must never appear in a statement's text (only among its parameters)."""

_COLUMN = {"categories": ["system.key"]}

RESERVED: dict[str, Any] = {
    "title": {"nb": "Reserverte ord", "en": "Reserved words"},
    "description": {
        "nb": "Tabeller og kolonner med navn alle dialekter reserverer.",
        "en": "Tables and columns named by words every dialect reserves.",
    },
    "role": {"kind": "controller"},
    "connection": {"engine": "sql", "dialect": "mssql", "env": "DSR_RESERVED_URL"},
    "tables": {
        "user": {
            "description": {"nb": "Personer.", "en": "People."},
            "primary_key": ["select"],
            "restriction": {"column": "check"},
            "columns": {
                "select": {"type": "bigint", **_COLUMN},
                "from": {"type": "text", "identifier": "email", **_COLUMN},
                "order": {"type": "text", "identifier": "case_number", "unique": True, **_COLUMN},
                "check": {"type": "boolean", **_COLUMN},
                "date": {"type": "timestamptz", **_COLUMN},
            },
        },
        "group": {
            "description": {"nb": "Gruppene deres.", "en": "Their groups."},
            "primary_key": ["index"],
            "belongs_to": "user",
            "restriction": {"column": "user.check"},
            "columns": {
                "index": {"type": "bigint", **_COLUMN},
                "user": {"type": "bigint", "references": "user.select", **_COLUMN},
                "level": {"type": "numeric", **_COLUMN},
            },
        },
    },
}
RESERVED_NAMES = ("user", "select", "from", "order", "check", "date", "group", "index", "level")


def _systems() -> list[System]:
    return [
        fixture_system({"engine": "sql", "dialect": "sqlite", "database": "fixture"}),
        System.model_validate(RESERVED),
    ]


def statements(system: System) -> list[tuple[str, sa.Executable, dict[str, Any]]]:
    """(what, statement, parameters) for everything `SqlSystem` executes on this system."""
    tables = sql.build_tables(system)
    plan = build_plans(fixture_catalogue(system))[SYSTEM]
    conditions = sql.search_conditions(plan, system)

    def sample(condition: sql.Condition) -> list[Any]:
        return [MARKER, "x"] if condition.type.value == "text" else [1, 2]

    found: list[tuple[str, sa.Executable, dict[str, Any]]] = []
    everything = sql.search_statement(tables, plan, conditions)
    assert everything is not None
    found.append(("search", everything, {c.bind: sample(c) for c in conditions}))
    parents = [c for c in conditions if c.parent is not None]
    only_parents = sql.search_statement(tables, plan, parents)
    assert only_parents is not None
    found.append(("search by parents", only_parents, {c.bind: sample(c) for c in parents}))
    for name, table in system.tables.items():
        [pk] = table.primary_key
        source = tables[name]
        paths = [
            f"{c}.{target}"
            for c, col in table.columns.items()
            if col.references
            for target in ("check", "closed_on")
        ]
        facts, _ = sql.facts_statement(tables, table, name, paths)
        found.append((f"facts {name}", facts, {"Keys": [1, 2]}))
        text_column = next((c for c, col in table.columns.items() if col.type.value == "text"), None)
        if text_column is not None:
            found.append(
                (f"lookup {name}", sql.lookup_statement(source, text_column, None), {"Values": [MARKER]})
            )
        found.append((f"lookup {name} by key", sql.lookup_statement(source, pk, [pk]), {"Values": [1]}))
        found.append((f"lock {name}", sql.lock_statement(source, pk), {"Key": 1}))
        found.append((f"delete {name}", sql.delete_statement(source, pk), {"Key": 1}))
        columns = [c for c in table.columns if c != pk][:2]
        values = {
            "Key": 1,
            **{
                f"Value{i}": MARKER if table.columns[c].type.value == "text" else None
                for i, c in enumerate(columns)
            },
        }
        for distinct in (True, False):
            found.append(
                (f"update {name}", sql.update_statement(source, pk, columns, distinct=distinct), values)
            )
        if table.restriction is not None:
            found.append((f"mark {name}", sql.mark_statement(tables, table, name), {"Key": 1, "Mark": True}))
    found.append(("health", sql.health_statement(tables), {}))
    return found


CASES = [
    pytest.param(
        system, dialect, what, statement, params, id=f"{dialect}-{system.title.en.split()[0].lower()}-{what}"
    )
    for system in _systems()
    for dialect in DIALECTS
    for what, statement, params in statements(system)
]


@pytest.mark.parametrize(("system", "dialect", "what", "statement", "params"), CASES)
def test_every_statement_compiles_with_values_bound(
    system: System, dialect: str, what: str, statement: sa.Executable, params: dict[str, Any]
) -> None:
    assert isinstance(statement, sa.sql.ClauseElement)
    compiled = statement.compile(dialect=DIALECTS[dialect])
    assert isinstance(compiled, SQLCompiler)
    expanded = compiled.construct_expanded_state(params)
    text = expanded.statement
    assert MARKER not in text and "kari" not in text, what
    bound = (
        list(expanded.parameters.values())
        if isinstance(expanded.parameters, dict)
        else list(expanded.parameters)
    )
    if any(MARKER in (v if isinstance(v, list) else [v]) for v in params.values()):
        assert MARKER in bound, what
    if system.title.en.startswith("Reserved"):
        preparer = DIALECTS[dialect].identifier_preparer
        for name in ("select", "from", "order", "group", "check"):  # reserved in every dialect
            assert preparer.quote(name) != name, (dialect, name)
        for name in RESERVED_NAMES:
            if preparer.quote(name) == name:
                continue  # not reserved in this dialect
            assert not re.search(rf"(?<![\w\[\"`']){name}(?![\w\]\"`'])", text), (what, name)  # never bare
        assert any(preparer.quote(name) in text for name in RESERVED_NAMES), what


def test_dialect_specific_renderings() -> None:
    system = _systems()[0]
    tables = sql.build_tables(system)
    letters = system.tables["letters"]

    def render(statement: sa.ClauseElement, dialect: str) -> str:
        return str(statement.compile(dialect=DIALECTS[dialect]))

    lock = sql.lock_statement(tables["letters"], "id")
    assert "WITH (UPDLOCK, ROWLOCK)" in render(lock, "mssql")
    assert render(lock, "oracle").rstrip().endswith("FOR UPDATE")
    assert "FOR UPDATE" in render(lock, "mysql") and "FOR UPDATE" in render(lock, "postgresql")
    assert "FOR UPDATE" not in render(lock, "sqlite")  # no row locks: BEGIN IMMEDIATE instead

    update = sql.update_statement(tables["customers"], "id", ["name"])
    assert "INTERSECT" in render(update, "mssql")  # IS DISTINCT FROM, as SQL Server can say it
    assert "DECODE" in render(update, "oracle")
    assert "<=>" in render(update, "mysql")
    assert "IS DISTINCT FROM" in render(update, "postgresql")
    assert "IS NOT" in render(update, "sqlite")

    mark = render(sql.mark_statement(tables, letters, "letters"), "oracle")
    assert mark.startswith("UPDATE cases SET restricted=:Mark WHERE cases.id = (SELECT letters.case_id")

    plan = build_plans(fixture_catalogue(system))[SYSTEM]
    search = sql.search_statement(tables, plan, sql.search_conditions(plan, system))
    assert search is not None
    assert "CAST(customers.id AS NVARCHAR(4000))" in render(search, "mssql")
    assert "CAST(customers.id AS VARCHAR2(4000 CHAR))" in render(search, "oracle")
    assert render(search, "mssql").count("UNION ALL") == 2
