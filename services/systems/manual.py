"""Systems that answer nothing by themselves.

- A **manual** system has no interface: every call says the answer is pending; the locator then
  opens a search task and the erasure an erasure task (one per request and system, with its own due
  date), and the request waits until an agent answers.
- An **unresolved** system's connection names nothing here (an unset variable, a missing driver):
  every call is "unknown" until it is configured. Never "no data".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from services.catalogue.model import IdentifierType
from services.systems.contract import (
    AnswerPending,
    Applied,
    Guard,
    Health,
    Row,
    RowChange,
    SourceRow,
    SystemUnknown,
)


class ClosedSystem:
    def __init__(self, name: str, engine: str, cause: str, *, manual: bool) -> None:
        self.name = name
        self.engine = engine
        self.cause = cause
        self.interface = not manual
        self.statements = 0

    def _error(self) -> SystemUnknown:
        return (
            SystemUnknown(self.name, self.cause) if self.interface else AnswerPending(self.name, self.cause)
        )

    async def search(
        self, values: Mapping[IdentifierType, set[str]], parents: Mapping[str, set[str]]
    ) -> list[SourceRow]:
        raise self._error()

    async def rescan(self, values: Mapping[IdentifierType, set[str]]) -> list[SourceRow]:
        raise self._error()

    async def read(self, table: str, keys: Sequence[str]) -> dict[str, Row]:
        raise self._error()

    async def facts(self, table: str, keys: Sequence[str], paths: Sequence[str]) -> dict[str, Row]:
        raise self._error()

    async def lookup(
        self, table: str, column: str, values: Sequence[str], columns: Sequence[str] | None = None
    ) -> list[Row]:
        raise self._error()

    async def apply(self, changes: Sequence[RowChange], guard: Guard | None = None) -> list[Applied]:
        raise self._error()

    async def health(self) -> Health:
        return Health(not self.interface, self.engine, 0.0, None if not self.interface else self.cause)

    async def close(self) -> None:
        return None


def manual_system(name: str) -> ClosedSystem:
    return ClosedSystem(name, "manual", "awaiting_agent", manual=True)


def unresolved_system(name: str, engine: str, cause: str) -> ClosedSystem:
    return ClosedSystem(name, engine, cause, manual=False)
