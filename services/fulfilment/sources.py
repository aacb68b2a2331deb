"""Reading the rows the locator found, by primary key, from the systems that hold them."""

from __future__ import annotations

import os
from collections import defaultdict
from typing import Any

import asyncpg

from services.catalogue.dsn import resolve_dsn
from services.catalogue.model import Catalogue
from services.fulfilment.extract import HeldRecord


class SourceReader:
    """One small read-only pool per system, opened on first use."""

    def __init__(self, catalogue: Catalogue, *, server_url: str | None, database_prefix: str = ""):
        self.catalogue = catalogue
        self.server_url = server_url
        self.database_prefix = database_prefix
        self._pools: dict[str, asyncpg.Pool] = {}

    async def _pool(self, system: str) -> asyncpg.Pool:
        if system not in self._pools:
            dsn = resolve_dsn(
                self.catalogue.systems[system].connection,
                server_url=self.server_url,
                env=os.environ,
                database_prefix=self.database_prefix,
            )
            self._pools[system] = await asyncpg.create_pool(
                dsn, min_size=0, max_size=4, server_settings={"default_transaction_read_only": "on"}
            )
        return self._pools[system]

    async def read(self, findings: list[asyncpg.Record]) -> list[HeldRecord]:
        """Each finding's row; raises on a system that cannot be read (the caller retries)."""
        wanted: dict[tuple[str, str], list[asyncpg.Record]] = defaultdict(list)
        for finding in findings:
            wanted[(finding["system"], finding["table"])].append(finding)
        records = []
        for (system, table_name), rows in wanted.items():
            table = self.catalogue.systems[system].tables[table_name]
            [key] = table.primary_key  # every catalogued table has a one-column key today
            ids = [str(row["primary_key"][key]) for row in rows]
            pool = await self._pool(system)
            found: dict[str, dict[str, Any]] = {
                str(r[key]): dict(r)
                for r in await pool.fetch(
                    f'select * from "{table_name}" where "{key}"::text = any($1::text[])', ids
                )
            }
            for row in rows:
                data = found.get(str(row["primary_key"][key]))
                if data is not None:  # erased since it was found: nothing left to show
                    records.append(
                        HeldRecord(
                            system, table_name, dict(row["primary_key"]), tuple(row["categories"]), data
                        )
                    )
        return records

    async def controllers(self, records: list[HeldRecord]) -> dict[str, list[str]]:
        """Per processor system, the names of the controllers its rows name (e.g. the invoice's client)."""
        names: dict[str, list[str]] = {}
        for system in sorted({r.system for r in records}):
            role = self.catalogue.systems[system].role
            if role.kind != "processor" or role.controller is None:
                continue
            rule = role.controller
            ids = sorted(
                {
                    str(r.data.get(rule.column))
                    for r in records
                    if r.system == system and r.table == rule.table
                }
            )
            column = self.catalogue.systems[system].tables[rule.table].columns[rule.column]
            if column.references is None:  # the column holds the controller's name itself
                names[system] = ids
                continue
            target_table, target_key = column.references.split(".")
            pool = await self._pool(system)
            rows = await pool.fetch(
                f'select name from "{target_table}" where "{target_key}"::text = any($1::text[])', ids
            )
            names[system] = sorted(r["name"] for r in rows)
        return names

    async def close(self) -> None:
        for pool in self._pools.values():
            await pool.close()
        self._pools.clear()
