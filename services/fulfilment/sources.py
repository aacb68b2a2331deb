"""Reading the rows the locator found, by primary key, from the systems that hold them (through
the source-system contract: whatever engine each system runs on)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Any

import asyncpg

from services.catalogue.model import Catalogue, RetentionKind
from services.fulfilment.extract import HeldRecord
from services.fulfilment.keeping import Anchor, as_date
from services.systems.registry import SourceSystems


@dataclass(frozen=True)
class ControllerLink:
    """A controller (a client) of some of the subject's rows in a processor system."""

    system: str
    name: str
    org_number: str | None
    record_count: int


class SourceReader:
    """Reads through read-only adapters (`SourceSystems(read_only=True)`); raises `SystemUnknown`
    when a system cannot answer (the caller retries)."""

    def __init__(self, catalogue: Catalogue, systems: SourceSystems):
        self.catalogue = catalogue
        self.systems = systems

    async def read(self, findings: list[asyncpg.Record]) -> list[HeldRecord]:
        """Each finding's row; raises on a system that cannot be read (the caller retries).

        The tables are read at the same time (one statement each): an access request waits for
        its slowest system, not for the sum of them."""
        wanted: dict[tuple[str, str], list[asyncpg.Record]] = defaultdict(list)
        for finding in findings:
            wanted[(finding["system"], finding["table"])].append(finding)
        groups = list(wanted.items())
        found = await asyncio.gather(*(self._rows(system, table, rows) for (system, table), rows in groups))
        records = []
        for ((system, table_name), rows), by_key in zip(groups, found, strict=True):
            [key] = self.catalogue.systems[system].tables[table_name].primary_key
            for row in rows:
                data = by_key.get(str(row["primary_key"][key]))
                if data is not None:  # erased since it was found: nothing left to show
                    records.append(
                        HeldRecord(
                            system, table_name, dict(row["primary_key"]), tuple(row["categories"]), data
                        )
                    )
        return records

    async def _rows(
        self, system: str, table_name: str, findings: list[asyncpg.Record]
    ) -> dict[str, dict[str, Any]]:
        """The found rows of one table by their key (as text)."""
        table = self.catalogue.systems[system].tables[table_name]
        [key] = table.primary_key  # every catalogued table has a one-column key today
        return await self.systems[system].read(table_name, [str(row["primary_key"][key]) for row in findings])

    async def anchors(self, records: list[HeldRecord]) -> list[HeldRecord]:
        """The records with the date their retention counts from, where it is not on the row
        itself: through a reference (`case_id.closed_on`) or the row a `follows` rule names."""
        wanted: dict[tuple[str, str, str, str], set[str]] = defaultdict(set)
        plans: list[tuple[int, Any, tuple[str, str, str, str], str | None]] = []
        for index, record in enumerate(records):
            table = self.catalogue.systems[record.system].tables[record.table]
            rule = table.retention
            if rule is None:
                continue
            if (
                rule.kind in (RetentionKind.after_date, RetentionKind.on_event)
                and rule.anchor
                and "." in rule.anchor
            ):
                reference, column = rule.anchor.split(".", 1)
                target = table.columns[reference].references
                if target is None:
                    continue
                target_table, target_key = target.split(".")
                query = (record.system, target_table, target_key, column)
                value = record.data.get(reference)
                plans.append((index, rule, query, None if value is None else str(value)))
            elif rule.kind is RetentionKind.follows and rule.follows and rule.link:
                system, target_table = rule.follows.split(".")
                followed = self.catalogue.systems[system].tables[target_table]
                followed_rule = followed.retention
                if followed_rule is None or followed_rule.anchor is None or "." in followed_rule.anchor:
                    continue
                link_column = next(c for c, spec in followed.columns.items() if spec.identifier is rule.link)
                own_column = next(c for c, spec in table.columns.items() if spec.identifier is rule.link)
                query = (system, target_table, link_column, followed_rule.anchor)
                value = record.data.get(own_column)
                plans.append((index, followed_rule, query, None if value is None else str(value)))
            else:
                continue
            if plans[-1][3] is not None:
                wanted[query].add(plans[-1][3])
        queries = list(wanted.items())
        answers = await asyncio.gather(*(self._anchor_values(query, values) for query, values in queries))
        found = {query: answer for (query, _), answer in zip(queries, answers, strict=True)}
        resolved = list(records)
        for index, rule, query, value in plans:
            rows = found.get(query, {})
            present = value is not None and value in rows
            anchor = Anchor(rule, as_date(rows.get(value)) if present else None, found=present)  # type: ignore[arg-type]
            resolved[index] = replace(records[index], anchor=anchor)
        return resolved

    async def _anchor_values(self, query: tuple[str, str, str, str], values: set[str]) -> dict[str, Any]:
        system, target_table, key, column = query
        rows = await self.systems[system].lookup(target_table, key, sorted(values), [key, column])
        return {str(r[key]): r[column] for r in rows}

    async def controllers(self, records: list[HeldRecord]) -> list[ControllerLink]:
        """Per processor system, the controllers its rows name (e.g. the invoice's client), each with
        how many of the subject's rows it is the controller of."""
        links: list[ControllerLink] = []
        for system in sorted({r.system for r in records}):
            role = self.catalogue.systems[system].role
            if role.kind != "processor" or role.controller is None:
                continue
            rule = role.controller
            per_id: dict[str, int] = defaultdict(int)
            for r in records:
                if r.system == system and r.table == rule.table and r.data.get(rule.column) is not None:
                    per_id[str(r.data[rule.column])] += 1
            column = self.catalogue.systems[system].tables[rule.table].columns[rule.column]
            if column.references is None:  # the column holds the controller's name itself
                links += [ControllerLink(system, name, None, count) for name, count in sorted(per_id.items())]
                continue
            target_table, target_key = column.references.split(".")
            target = self.catalogue.systems[system].tables[target_table]
            org = next(
                (c for c, spec in target.columns.items() if "organisation.identifier" in spec.categories),
                None,
            )
            wanted = [target_key, "name", *([org] if org else [])]
            rows = await self.systems[system].lookup(target_table, target_key, sorted(per_id), wanted)
            links += [
                ControllerLink(system, r["name"], r.get(org) if org else None, per_id[str(r[target_key])])
                for r in sorted(rows, key=lambda r: r["name"])
            ]
        return links

    async def close(self) -> None:
        await self.systems.close()
