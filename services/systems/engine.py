"""What every engine with an interface shares: its catalogue entry, its round-trip count, and the
contract methods that mean the same on every engine (a re-scan is a search without parents, a read
is facts without paths, health is one probe under the retry policy)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from services.catalogue.model import IdentifierType, System, Table
from services.systems.contract import Health, Row, SourceRow, SystemUnknown
from services.systems.plan import SystemPlan


class Engine:
    engine: str
    interface = True

    def __init__(self, name: str, spec: System, plan: SystemPlan | None) -> None:
        self.name = name
        self.spec = spec
        self.plan = plan
        self.statements = 0
        """Round trips sent (statements or HTTP calls): benchmarks and tests count them."""

    async def search(
        self, values: Mapping[IdentifierType, set[str]], parents: Mapping[str, set[str]]
    ) -> list[SourceRow]:
        raise NotImplementedError

    async def facts(self, table: str, keys: Sequence[str], paths: Sequence[str]) -> dict[str, Row]:
        raise NotImplementedError

    async def rescan(self, values: Mapping[IdentifierType, set[str]]) -> list[SourceRow]:
        return await self.search(values, {})

    async def read(self, table: str, keys: Sequence[str]) -> dict[str, Row]:
        return await self.facts(table, keys, ())

    async def health(self) -> Health:
        started = time.perf_counter()
        try:
            await self._probe()
        except SystemUnknown as exc:
            return Health(False, self.engine, time.perf_counter() - started, exc.cause)
        return Health(True, self.engine, time.perf_counter() - started)

    async def _probe(self) -> None:
        """One cheap call that succeeds only when the system answers; raises `SystemUnknown`."""
        raise NotImplementedError

    def _table(self, table: str) -> Table:
        spec = self.spec.tables.get(table)
        if spec is None:
            raise KeyError(f"{self.name} has no catalogued table {table!r}")
        return spec
