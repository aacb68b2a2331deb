"""One system's catalogue entry against its live schema: every drift, once. Pure.

The live schema and the suggestions are the scaffold's (`services/catalogue/scaffold/`: the
inspector's tables and columns, and the classifier's suggestion per column from its name, type
and sampled values), so a column the drift check reports comes with what `dsr catalogue scaffold`
would draft for it. What is compared:

- a live table the catalogue does not name: one finding, listing its columns with their
  suggestions; personal when any column looks personal;
- a live column of a catalogued table that the catalogue does not name: personal when its
  suggestion is (an identifier, or a `user.*` category);
- a catalogued table or column the live schema no longer has (a table gone is one finding, not
  one per column);
- a catalogued column whose live type is another catalogue type (or none);
- a column catalogued as non-personal whose sampled values now mostly are national ids, email
  addresses or phone numbers (by value, not by name: the catalogue's reviewer already saw the name).

Names are matched exactly on PostgreSQL and case-insensitively elsewhere (MariaDB, SQL Server and
SQLite do not tell `Email` from `email`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.catalogue.drift.findings import DriftKind, Finding
from services.catalogue.model import Column, FlatCategory, IdentifierType, System
from services.catalogue.scaffold.classify import MAJORITY, Suggestion
from services.catalogue.scaffold.introspect import LiveColumn, LiveSchema, LiveTable
from services.catalogue.scaffold.values import Kind

VALUE_KINDS = {
    IdentifierType.national_id: Kind.national_id,
    IdentifierType.email: Kind.email,
    IdentifierType.phone: Kind.phone,
}
"""Identifiers a value shows by itself (case, customer and invoice numbers have no shape)."""

Suggestions = Mapping[tuple[str, str], Suggestion]
"""(table, column) -> the classifier's suggestion for a live column."""


def compare(
    system: str,
    spec: System,
    schema: LiveSchema,
    suggestions: Suggestions,
    categories: Mapping[str, FlatCategory],
) -> list[Finding]:
    """Every drift between `spec` (the catalogue's entry) and `schema` (the live database), in a
    stable order: by table, then column, then kind."""
    fold = schema.dialect != "postgresql"
    live = {_key(table.name, fold): table for table in schema.tables}
    findings: list[Finding] = []
    catalogued = {_key(name, fold) for name in spec.tables}
    for table in schema.tables:
        if _key(table.name, fold) not in catalogued:
            findings.append(_undescribed_table(system, table, suggestions))
    for name, table_spec in spec.tables.items():
        found = live.get(_key(name, fold))
        if found is None:
            findings.append(Finding(system, DriftKind.missing_table, name, None, False, {}))
            continue
        columns = {_key(column.name, fold): column for column in found.columns}
        described = {_key(column, fold) for column in table_spec.columns}
        for column in found.columns:
            if _key(column.name, fold) not in described:
                findings.append(_undescribed_column(system, found, column, suggestions))
        for column_name, column_spec in table_spec.columns.items():
            live_column = columns.get(_key(column_name, fold))
            if live_column is None:
                findings.append(
                    Finding(
                        system,
                        DriftKind.missing_column,
                        name,
                        column_name,
                        False,
                        {"catalogued": column_spec.type.value},
                    )
                )
                continue
            if live_column.type is not column_spec.type:
                findings.append(
                    Finding(
                        system,
                        DriftKind.type_changed,
                        name,
                        column_name,
                        False,
                        {
                            "catalogued": column_spec.type.value,
                            "live": live_column.type.value if live_column.type else live_column.db_type,
                            "db_type": live_column.db_type,
                        },
                    )
                )
            suggestion = suggestions.get((found.name, live_column.name))
            if not is_personal(column_spec, categories) and suggestion is not None:
                looks = looks_like_identifier(suggestion)
                if looks is not None:
                    findings.append(
                        Finding(
                            system,
                            DriftKind.looks_personal_now,
                            name,
                            column_name,
                            True,
                            {"categories": list(column_spec.categories), "suggestion": describe(suggestion)},
                        )
                    )
    findings.sort(key=lambda f: (f.table, f.column or "", f.kind.value))
    return findings


def _key(name: str, fold: bool) -> str:
    return name.casefold() if fold else name


def is_personal(column: Column, categories: Mapping[str, FlatCategory]) -> bool:
    """Catalogued as personal: an identifier, or any category the taxonomy calls personal (an
    unknown category counts as personal: `dsr catalogue check` names it, the check errs safe)."""
    if column.identifier is not None:
        return True
    return any(categories[c].personal if c in categories else True for c in column.categories)


def looks_like_identifier(suggestion: Suggestion) -> IdentifierType | None:
    """The identifier most sampled values are, as a whole (None: not by value, or not sampled)."""
    evidence = suggestion.evidence
    if not evidence.sampled:
        return None
    for identifier, kind in VALUE_KINDS.items():
        if evidence.whole.get(kind, 0) / evidence.sampled >= MAJORITY:
            return identifier
    return None


def suggests_personal(suggestion: Suggestion | None) -> bool:
    return suggestion is not None and (suggestion.identifier is not None or suggestion.personal)


def describe(suggestion: Suggestion) -> dict[str, Any]:
    """The suggestion as the ledger keeps it: what is suggested and why, as counts (no value)."""
    return {
        "identifier": suggestion.identifier.value if suggestion.identifier else None,
        "categories": list(suggestion.categories),
        "free_text": suggestion.free_text,
        "evidence": suggestion.evidence.sentences(),
    }


def _column_detail(table: LiveTable, column: LiveColumn, suggestions: Suggestions) -> dict[str, Any]:
    suggestion = suggestions.get((table.name, column.name))
    return {
        "type": column.type.value if column.type else None,
        "db_type": column.db_type,
        "personal": suggests_personal(suggestion),
        "suggestion": describe(suggestion) if suggestion is not None else None,
    }


def _undescribed_column(
    system: str, table: LiveTable, column: LiveColumn, suggestions: Suggestions
) -> Finding:
    detail = _column_detail(table, column, suggestions)
    return Finding(system, DriftKind.undescribed_column, table.name, column.name, detail["personal"], detail)


def _undescribed_table(system: str, table: LiveTable, suggestions: Suggestions) -> Finding:
    columns = [
        {"column": column.name, **_column_detail(table, column, suggestions)} for column in table.columns
    ]
    personal = any(column["personal"] for column in columns)
    return Finding(
        system,
        DriftKind.undescribed_table,
        table.name,
        None,
        personal,
        {"columns": columns, "primary_key": list(table.primary_key)},
    )
