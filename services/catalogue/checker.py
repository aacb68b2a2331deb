"""Cross-field checks of the catalogue: every reference inside it resolves.

Pure: takes the models, returns every problem found (never stops at the first), each with the path
of the field at fault, so the `check` command can list them all in one run. It also checks a
catalogue some of whose parts failed validation: those parts are named as `broken` (they exist,
their own errors are already reported) and nothing is reported about references to them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from services.catalogue.http_api import api_problems
from services.catalogue.model import (
    Catalogue,
    ColumnType,
    ErasureStrategy,
    FlatCategory,
    Parties,
    RetentionKind,
    System,
    Table,
)
from services.catalogue.problems import Path, Problem

_DATES = (ColumnType.date, ColumnType.timestamptz)


@dataclass(frozen=True)
class Context:
    """What the checks compare against; None where that file itself is invalid (checks skipped)."""

    systems: Mapping[str, System]
    categories: Mapping[str, FlatCategory] | None
    parties: Parties | None
    broken_tables: Mapping[str, frozenset[str]] = field(default_factory=dict)
    broken_systems: frozenset[str] = frozenset()

    def broken(self, system: str, table: str) -> bool:
        return system in self.broken_systems or table in self.broken_tables.get(system, frozenset())


def check_catalogue(catalogue: Catalogue) -> list[Problem]:
    return check(Context(catalogue.systems, catalogue.taxonomy.flatten(), catalogue.parties))


def check(context: Context) -> list[Problem]:
    problems: list[Problem] = []
    by_database: dict[str, list[str]] = {}
    for name, system in context.systems.items():
        problems += (Problem(name, path, message) for path, message in _system(name, system, context))
        if system.connection.database is not None:
            by_database.setdefault(system.connection.database, []).append(name)
    for database, names in by_database.items():
        for name in names if len(names) > 1 else ():
            others = ", ".join(repr(other) for other in names if other != name)
            problems.append(
                Problem(
                    name,
                    ("connection", "database"),
                    f"database {database!r} is also the database of {others}",
                )
            )
    return problems


def is_personal(table: Table, categories: Mapping[str, FlatCategory]) -> bool:
    """A table holds personal data when any of its columns has a personal category."""
    return any(
        categories[c].personal
        for column in table.columns.values()
        for c in column.categories
        if c in categories
    )


def resolve_column(
    system: System, table_name: str, path: str, broken: frozenset[str] = frozenset()
) -> tuple[str, str] | str | None:
    """(table, column) that `column` or `reference.column...` names, the problem with it, or None
    when it passes through a table in `broken` (cannot tell)."""
    table = system.tables[table_name]
    *hops, last = path.split(".")
    for hop in hops:
        column = table.columns.get(hop)
        if column is None:
            return f"no column {hop!r} in table {table_name!r}"
        if column.references is None:
            return f"column {hop!r} of table {table_name!r} is no reference to follow"
        table_name = column.references.split(".")[0]
        if table_name in broken or table_name not in system.tables:
            return None  # the reference's own check reports an unknown table
        table = system.tables[table_name]
    if last not in table.columns:
        return f"no column {last!r} in table {table_name!r}"
    return table_name, last


UNREVIEWED = "not reviewed yet (`review: suggested`: a draft of `dsr catalogue scaffold`)"
"""How every unreviewed entry's problem starts: a draft is never used by accident."""


def _system(name: str, system: System, context: Context) -> Iterator[tuple[Path, str]]:
    if system.review is not None:
        yield (
            ("review",),
            (
                f"{UNREVIEWED}: check the title, description, connection and role against the system, "
                "then delete the line"
            ),
        )
    rule = system.role.controller
    if rule is not None and not context.broken(name, rule.table):
        if rule.table not in system.tables:
            yield ("role", "controller", "table"), f"unknown table {rule.table!r}"
        elif rule.column not in system.tables[rule.table].columns:
            yield ("role", "controller", "column"), f"no column {rule.column!r} in table {rule.table!r}"
    for table_name, table in system.tables.items():
        for path, message in _table(name, system, table_name, table, context):
            yield ("tables", table_name, *path), message
    yield from api_problems(system, context.broken_tables.get(name, frozenset()))


def _table(
    system_name: str, system: System, name: str, table: Table, context: Context
) -> Iterator[tuple[Path, str]]:
    broken = context.broken_tables.get(system_name, frozenset())
    if table.review is not None:
        yield (
            ("review",),
            (
                f"{UNREVIEWED}: state what the table holds and the rules for it (purpose, legal basis, "
                "recipients, sources, retention, erasure, restriction), check its keys and references, "
                "then delete the line"
            ),
        )
    for index, key in enumerate(table.primary_key):
        if key not in table.columns:
            yield ("primary_key", index), f"primary key column {key!r} is not a column of the table"
    yield from _columns(system, table, context.categories, broken)
    if table.belongs_to is not None:
        column = table.columns.get(table.belongs_to)
        if column is None:
            yield ("belongs_to",), f"no column {table.belongs_to!r} in the table"
        elif column.references is None:
            yield ("belongs_to",), f"column {table.belongs_to!r} is not a reference"
    if context.categories is not None:
        yield from _personal_data(system, table, context.categories)
    if context.parties is not None:
        for index, recipient in enumerate(table.recipients):
            if recipient not in context.parties.recipients:
                yield ("recipients", index), f"unknown recipient {recipient!r} (parties.yaml)"
        for index, source in enumerate(table.sources):
            if source not in context.parties.sources:
                yield ("sources", index), f"unknown source {source!r} (parties.yaml)"
    yield from _retention(system, name, table, context, broken)
    yield from _erasure(system, name, table, broken)
    if table.restriction is not None:
        resolved = resolve_column(system, name, table.restriction.column, broken)
        if isinstance(resolved, str):
            yield ("restriction", "column"), resolved
        elif (
            resolved is not None
            and system.tables[resolved[0]].columns[resolved[1]].type is not ColumnType.boolean
        ):
            yield ("restriction", "column"), "the restriction marker must be a boolean column"


def _personal_data(
    system: System, table: Table, categories: Mapping[str, FlatCategory]
) -> Iterator[tuple[Path, str]]:
    controller = system.role.kind == "controller"
    if is_personal(table, categories):
        for field_name in ("purpose", "retention", "erasure", "restriction"):
            if getattr(table, field_name) is None:
                yield (field_name,), f"a table holding personal data must state its {field_name}"
        if controller and not table.legal_basis:
            yield ("legal_basis",), "a controller's table holding personal data must name its legal basis"
        if table.belongs_to is None and not any(c.identifier for c in table.columns.values()):
            yield (), "a table holding personal data needs an identifier column or `belongs_to`"
    special = [
        column_name
        for column_name, column in table.columns.items()
        if any(categories[c].special for c in column.categories if c in categories)
    ]
    if special and controller and not any(basis.startswith("9(2)") for basis in table.legal_basis):
        yield (
            ("legal_basis",),
            f"column {special[0]!r} holds a special category: name an Art. 9(2) legal basis",
        )


def _columns(
    system: System, table: Table, categories: Mapping[str, FlatCategory] | None, broken: frozenset[str]
) -> Iterator[tuple[Path, str]]:
    for column_name, column in table.columns.items():
        at: Path = ("columns", column_name)
        if column.review is not None:
            suggested = f" and identifier ({column.identifier.value})" if column.identifier else ""
            yield (
                (*at, "review"),
                (
                    f"{UNREVIEWED}: check its type, categories{suggested} against the system's data, "
                    "then delete the line"
                ),
            )
        for index, category in enumerate(column.categories):
            if categories is not None and category not in categories:
                yield (*at, "categories", index), f"unknown data category {category!r} (taxonomy.yaml)"
        if column.identifier is not None and column.type is not ColumnType.text:
            yield (*at, "identifier"), "identifier columns are text"
        if column.rectifiable and (column_name in table.primary_key or column.references):
            yield (*at, "rectifiable"), "keys and references are not rectifiable"
        if column.references is not None:
            target_table, target_column = column.references.split(".")
            target = system.tables.get(target_table)
            if target_table in broken:
                continue
            if target is None:
                yield (*at, "references"), f"reference to unknown table {target_table!r}"
            elif target_column not in target.columns:
                yield (
                    (*at, "references"),
                    f"reference to unknown column {target_column!r} of {target_table!r}",
                )
            elif target.columns[target_column].type is not column.type:
                yield (*at, "references"), f"type {column.type.value} does not match the referenced column"


def _retention(
    system: System, name: str, table: Table, context: Context, broken: frozenset[str]
) -> Iterator[tuple[Path, str]]:
    retention = table.retention
    if retention is None:
        return
    if retention.anchor is not None:
        resolved = resolve_column(system, name, retention.anchor, broken)
        if isinstance(resolved, str):
            yield ("retention", "anchor"), resolved
        elif resolved is not None:
            anchor = system.tables[resolved[0]].columns[resolved[1]]
            allowed = _DATES if retention.kind is RetentionKind.after_date else (*_DATES, ColumnType.boolean)
            if anchor.type not in allowed:
                yield ("retention", "anchor"), f"the anchor of {retention.kind.value!r} must be a date"
    if retention.follows is not None:
        target_system, target_table = retention.follows.split(".")
        target = context.systems.get(target_system)
        if context.broken(target_system, target_table):
            pass
        elif target is None or target_table not in target.tables:
            yield ("retention", "follows"), f"unknown table {retention.follows!r}"
        elif retention.link is not None:
            for side, where in ((table, "this table"), (target.tables[target_table], retention.follows)):
                if not any(c.identifier is retention.link for c in side.columns.values()):
                    yield ("retention", "link"), f"{where} has no {retention.link.value} column"
    if retention.kind is RetentionKind.controller and system.role.kind != "processor":
        yield ("retention", "kind"), "only a processor's data is retained as the controller decides"


def _erasure(system: System, name: str, table: Table, broken: frozenset[str]) -> Iterator[tuple[Path, str]]:
    erasure = table.erasure
    if erasure is None:
        return
    for index, column in enumerate(erasure.columns):
        if column not in table.columns:
            yield ("erasure", "columns", index), f"no column {column!r} in the table"
        elif column in table.primary_key:
            yield ("erasure", "columns", index), "a primary key column cannot be erased"
    for index, hold in enumerate(erasure.holds):
        resolved = resolve_column(system, name, hold.column, broken)
        if isinstance(resolved, str):
            yield ("erasure", "holds", index, "column"), resolved
    if erasure.strategy is ErasureStrategy.refer_to_controller and system.role.kind != "processor":
        yield ("erasure", "strategy"), "only a processor refers erasure to the controller"
