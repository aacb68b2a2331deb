"""The source systems as erasure sees them: read the live facts of found records, apply one
system's part of a plan (in one transaction where the engine has them), re-apply ledger entries
after a restore.

Everything goes through the source-system contract (`services.systems`): this module decides what
to change (a pseudonym, an emptied column, a restriction mark), the system's engine how.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.catalogue.model import Catalogue, Table
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
from services.systems.contract import Row, RowChange
from services.systems.registry import SourceSystems

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
    marks: tuple[str, ...] = ()
    """Boolean columns set true: the marks of purposes a withdrawn consent stopped."""


def identifying_values(table: Table, values: Mapping[str, Any]) -> dict[str, Any]:
    """The values a row's fingerprint is computed over: the columns that name the person."""
    columns = [name for name, c in table.columns.items() if c.identifier is not None] + [
        name for name in expiry_columns(table) if table.columns[name].identifier is None
    ]
    return {name: values.get(name) for name in sorted(set(columns))}


class ErasureSystems:
    """Read-write adapters for every system (`SourceSystems(read_only=False)`) and the erasure's
    hash key; every method raises `SystemUnknown` when a system cannot answer."""

    def __init__(self, catalogue: Catalogue, systems: SourceSystems, *, hash_key: bytes) -> None:
        self.catalogue = catalogue
        self.systems = systems
        self.hash_key = hash_key

    async def close(self) -> None:
        await self.systems.close()

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
        return {name for name, system in self.systems.items() if not system.interface}

    def manual_systems(self) -> set[str]:
        """The systems without an interface: an agent reads and changes them by hand."""
        return self._manual()

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
        """Rows by key, each with the `reference.column` values its rules read."""
        table = self.catalogue.systems[system].tables[table_name]
        rows = await self.systems[system].facts(
            table_name, [key[0] for key in keys], sorted(paths_needed(table))
        )
        return {(key,): row for key, row in rows.items()}

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
            for record in await self.systems[system].lookup(table_name, column, sorted(named)):
                found[(target, str(record[column]))] = record
        return found

    # ------------------------------------------------------------------------------------- apply

    async def apply(self, system: str, changes: Sequence[Change]) -> int:
        """Apply one system's changes, in the order given, in one transaction where the engine has
        them; returns rows changed. Running it again changes nothing: deletes find nothing,
        updates skip equal values."""
        applied = await self.systems[system].apply([self._row_change(system, c) for c in changes])
        return sum(a.changed for a in applied)

    def _row_change(self, system: str, change: Change) -> RowChange:
        table = self.catalogue.systems[system].tables[change.table]
        [pk] = table.primary_key
        key = str(change.key[pk])
        values: dict[str, Any] = {}
        if change.method in (Method.null_columns, Method.anonymise):
            for column in change.columns:
                values[column] = (
                    pseudonym(self.hash_key, system, change.table, change.key, column)
                    if change.method is Method.anonymise
                    else None
                )
        for mark in change.marks:
            values[mark] = True
        return RowChange(
            change.table,
            key,
            delete=change.method is Method.delete_row,
            values=values,
            restricted=True if change.mark_restricted and table.restriction is not None else None,
        )

    async def set_restricted(self, system: str, table_name: str, key: Mapping[str, str], value: bool) -> int:
        [pk] = self.catalogue.systems[system].tables[table_name].primary_key
        applied = await self.systems[system].apply([RowChange(table_name, str(key[pk]), restricted=value)])
        return sum(a.changed for a in applied)

    async def rectify(
        self, system: str, items: Sequence[tuple[str, Mapping[str, str], Mapping[str, str]]]
    ) -> list[tuple[str, dict[str, str], dict[str, Any], dict[str, Any]]]:
        """Set corrected values in one transaction: (table, key, old, new) of every row changed."""
        changes = []
        for table_name, key, corrected in items:
            [pk] = self.catalogue.systems[system].tables[table_name].primary_key
            changes.append(RowChange(table_name, str(key[pk]), values=dict(corrected), read_before=True))
        done = []
        for (table_name, key, corrected), applied in zip(
            items, await self.systems[system].apply(changes), strict=True
        ):
            if applied.before:
                done.append(
                    (
                        table_name,
                        dict(key),
                        dict(applied.before),
                        {c: corrected[c] for c in applied.before},
                    )
                )
        return done

    # ------------------------------------------------------------------------------------ replay

    async def replay(self, system: str, changes: Sequence[Change]) -> list[Change]:
        """Re-apply ledger changes whose row is back as it was before (same fingerprint), in one
        transaction; returns the changes that found their row again."""
        row_changes = [self._row_change(system, change) for change in changes]
        original = {id(row_change): change for row_change, change in zip(row_changes, changes, strict=True)}

        def same_row(row_change: RowChange, row: Row) -> bool:
            # already erased, or another row under a reused key: leave it
            change = original[id(row_change)]
            table = self.catalogue.systems[system].tables[change.table]
            return change.fingerprint is None or change.fingerprint == fingerprint(
                self.hash_key, identifying_values(table, row)
            )

        applied = await self.systems[system].apply(row_changes, guard=same_row)
        return [change for change, done in zip(changes, applied, strict=True) if done.changed]


def changes_of(records: Sequence[PlannedRecord]) -> list[Change]:
    return [
        Change(
            r.table,
            r.key,
            r.decision.method,
            r.decision.columns,
            r.decision.mark_restricted,
            r.fingerprint,
            r.decision.marks,
        )
        for r in records
    ]


async def controllers(systems: ErasureSystems, facts: Sequence[RecordFacts]) -> dict[str, list[str]]:
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
        rows = await systems.systems[system].lookup(target_table, target_key, ids, ["name"])
        names[system] = sorted(r["name"] for r in rows)
    return names
