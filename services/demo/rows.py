"""Where generated rows go: per-table buffers, id allocation, and who each showcase row is about."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from services.demo.tables import TABLES, TableSpec

Row = tuple[object, ...]


class RowRef(NamedTuple):
    """One row: its system, table and primary key (`id`, the single-column key of every demo table)."""

    system: str
    table: str
    id: int


class Emitter:
    """Collects rows until `take()`; ids and numbering run on across takes."""

    def __init__(self, tables: Sequence[TableSpec] = TABLES) -> None:
        self._next_id = dict.fromkeys(tables, 1)
        self._sequences: dict[str, int] = {}
        self.rows: dict[TableSpec, list[Row]] = {table: [] for table in tables}
        self.owners: dict[str, list[RowRef]] = {}
        self.counts = dict.fromkeys(tables, 0)

    def new_id(self, table: TableSpec) -> int:
        value = self._next_id[table]
        self._next_id[table] = value + 1
        return value

    def sequence(self, name: str) -> int:
        """The next number of a numbering shared between tables (e.g. invoice numbers)."""
        value = self._sequences.get(name, 0) + 1
        self._sequences[name] = value
        return value

    def add(self, table: TableSpec, row: Row, owner: str | None = None) -> int:
        """Buffer `row` (its first value is its id); `owner` records whose data a showcase row is."""
        self.rows[table].append(row)
        self.counts[table] += 1
        row_id = row[0]
        assert isinstance(row_id, int)
        if owner is not None:
            self.owners.setdefault(owner, []).append(RowRef(table.system, table.name, row_id))
        return row_id

    def take(self) -> dict[TableSpec, list[Row]]:
        """The rows buffered since the last take (then forgotten here)."""
        taken = {table: rows for table, rows in self.rows.items() if rows}
        self.rows = {table: [] for table in self.rows}
        return taken
