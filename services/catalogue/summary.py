"""Counts that describe a loaded catalogue (what `dsr catalogue check` prints on success)."""

from __future__ import annotations

from dataclasses import dataclass

from services.catalogue.model import Catalogue


@dataclass(frozen=True)
class CatalogueSummary:
    systems: int
    tables: int
    columns: int
    identifier_columns: int
    special_category_columns: int

    def __str__(self) -> str:
        return (
            f"{self.systems} systems, {self.tables} tables, {self.columns} columns "
            f"({self.identifier_columns} identifier columns, "
            f"{self.special_category_columns} special-category columns)"
        )


def summarise(catalogue: Catalogue) -> CatalogueSummary:
    categories = catalogue.taxonomy.flatten()
    tables = [table for system in catalogue.systems.values() for table in system.tables.values()]
    columns = [column for table in tables for column in table.columns.values()]
    return CatalogueSummary(
        systems=len(catalogue.systems),
        tables=len(tables),
        columns=len(columns),
        identifier_columns=sum(1 for column in columns if column.identifier is not None),
        special_category_columns=sum(
            1 for column in columns if any(categories[c].special for c in column.categories)
        ),
    )
