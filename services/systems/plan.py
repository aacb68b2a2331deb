"""What to ask each system, derived from the catalogue alone: adding a system is a catalogue
change. Pure and engine-neutral: each engine turns a plan into its own statements or calls (the
SQL engines into one statement per system per round, a UNION ALL over its searchable tables).
"""

from __future__ import annotations

from dataclasses import dataclass

from services.catalogue.model import Catalogue, IdentifierType, System

KINDS: tuple[IdentifierType, ...] = tuple(IdentifierType)
PERSON_KINDS = frozenset({IdentifierType.national_id, IdentifierType.email, IdentifierType.phone})
"""Identifiers of a person; the others (case, customer, invoice numbers) name records."""


class PlanError(ValueError):
    """The catalogue describes something the locator cannot search (named in the message)."""


@dataclass(frozen=True)
class IdentifierColumn:
    name: str
    kind: IdentifierType
    unique: bool


@dataclass(frozen=True)
class TablePlan:
    """One searchable table: its identifier columns, and the reference its rows belong to."""

    system: str
    name: str
    primary_key: tuple[str, ...]
    identifiers: tuple[IdentifierColumn, ...]
    belongs_to: str | None
    parent: str | None
    """The table `belongs_to` references (same system); its rows' children are searched by key."""
    parent_key_type: str | None
    categories: tuple[str, ...]

    def person_columns(self) -> tuple[IdentifierColumn, ...]:
        return tuple(column for column in self.identifiers if column.kind in PERSON_KINDS)


@dataclass(frozen=True)
class SystemPlan:
    """One system's searchable tables, and the order of a round's arguments."""

    name: str
    tables: dict[str, TablePlan]
    kinds: tuple[IdentifierType, ...]
    """Identifier kinds this system has columns for, in parameter order ($1..)."""
    parents: tuple[str, ...]
    """Tables whose rows have children here, in parameter order after the kinds."""

    def wants(self, values: dict[IdentifierType, set[str]], parents: dict[str, set[str]]) -> bool:
        """Whether this round gives the system anything to look for."""
        return any(values.get(kind) for kind in self.kinds) or any(parents.get(p) for p in self.parents)

    def arguments(
        self, values: dict[IdentifierType, set[str]], parents: dict[str, set[str]]
    ) -> list[list[str]]:
        return [sorted(values.get(kind, ())) for kind in self.kinds] + [
            sorted(parents.get(parent, ())) for parent in self.parents
        ]


def build_plans(catalogue: Catalogue) -> dict[str, SystemPlan]:
    """A plan per system that has a table to search (identifier columns or a `belongs_to`)."""
    personal = {name for name, category in catalogue.taxonomy.flatten().items() if category.personal}
    plans = {}
    for name, system in sorted(catalogue.systems.items()):
        plan = _system_plan(name, system, personal)
        if plan is not None:
            plans[name] = plan
    return plans


def _system_plan(name: str, system: System, personal: set[str]) -> SystemPlan | None:
    tables: dict[str, TablePlan] = {}
    for table_name, table in system.tables.items():
        identifiers = tuple(
            IdentifierColumn(column_name, column.identifier, column.unique)
            for column_name, column in table.columns.items()
            if column.identifier is not None
        )
        parent = parent_key_type = None
        if table.belongs_to is not None:
            reference = table.columns[table.belongs_to].references
            if reference is None:
                raise PlanError(f"{name}.{table_name}: belongs_to {table.belongs_to} references nothing")
            parent, parent_column = reference.split(".")
            parent_table = system.tables.get(parent)
            if parent_table is None or parent_table.primary_key != [parent_column]:
                raise PlanError(f"{name}.{table_name}: belongs_to must reference its parent's primary key")
            parent_key_type = parent_table.columns[parent_column].type.sql_name
        if not identifiers and parent is None:
            continue
        categories = sorted(
            {category for column in table.columns.values() for category in column.categories} & personal
        )
        tables[table_name] = TablePlan(
            name,
            table_name,
            tuple(table.primary_key),
            identifiers,
            table.belongs_to,
            parent,
            parent_key_type,
            tuple(categories),
        )
    if not tables:
        return None
    kinds = tuple(
        kind for kind in KINDS if any(c.kind is kind for t in tables.values() for c in t.identifiers)
    )
    parents = tuple(sorted({t.parent for t in tables.values() if t.parent is not None}))
    return SystemPlan(name, tables, kinds, parents)
