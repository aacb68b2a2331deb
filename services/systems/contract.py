"""What the pipeline needs of a source system, whatever engine it runs on.

Every engine (`postgresql.py`, `sql.py`, `http.py`, `manual.py`) implements `SourceSystem`; the
locator, fulfilment and erasure call nothing else. Keys and values cross the contract as text where
they identify something (primary keys, identifier values, parent keys) and as the engine's Python
values in rows; an engine converts keys to the column's type itself (so that its index answers).

A system that cannot answer raises `SystemUnknown`: never "no data".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from services.catalogue.model import IdentifierType

SourceRow = tuple[str, list[str], str | None, list[str | None]]
"""What one search returns per row: table, primary key (text), parent key (text), identifier
values (text, in the order of the table plan's identifier columns)."""

Row = dict[str, Any]
"""A row as the system holds it: column -> value (plus `reference.column` paths a read asked for)."""


class SystemUnknown(Exception):
    """The system could not answer (down, unreachable, too slow, an answer of the wrong shape):
    whether it holds anything is unknown. The caller waits and asks again; never "no data".

    `cause` is a short code (an exception's type name, `http_503`, `timeout`), never the answer."""

    def __init__(self, system: str, cause: str):
        super().__init__(f"{system}: {cause}")
        self.system = system
        self.cause = cause


class AnswerPending(SystemUnknown):
    """A system without an interface: an agent has to search or change it by hand (a task)."""


class Unsupported(SystemUnknown):
    """The engine cannot do this for this table (an HTTP API without a restrict operation): the
    caller makes it a person's task instead."""


@dataclass(frozen=True)
class RowChange:
    """One row's change, in terms every engine can carry out.

    `values`: columns to set; `None` empties a column (NULL, or '' where the column is NOT NULL).
    Only columns whose value differs are written, so applying a change twice changes nothing the
    second time. `restricted` sets the table's restriction mark (through a reference when the
    catalogue says so). `delete` removes the row (a row already gone is success).
    """

    table: str
    key: str
    delete: bool = False
    values: Mapping[str, Any] = field(default_factory=dict)
    restricted: bool | None = None
    read_before: bool = False
    """Report the changed columns' values as they were (rectification's proof)."""


@dataclass(frozen=True)
class Applied:
    """What one change did: rows it touched (0: nothing left to do), and the values it replaced."""

    change: RowChange
    changed: int
    before: Row | None = None
    """With `read_before` (or a guard): the changed columns as they were; None if the row is gone."""
    skipped: bool = False
    """The guard refused the row (it is not the row the change was made for)."""


Guard = Callable[[RowChange, Row], bool]
"""Asked with each row as it is (read in the same transaction where the engine has them) before
it is changed; False leaves the row alone (a replay finds a reused key with another person's row)."""


@dataclass(frozen=True)
class Health:
    ok: bool
    engine: str
    seconds: float
    cause: str | None = None


class SourceSystem(Protocol):
    """One catalogued system. Every method raises `SystemUnknown` when the system cannot answer."""

    name: str
    engine: str
    interface: bool
    """False for a manual system: nothing can be read or changed except by an agent."""
    statements: int
    """Round trips sent (statements or HTTP calls): benchmarks and tests count them."""

    async def search(
        self, values: Mapping[IdentifierType, set[str]], parents: Mapping[str, set[str]]
    ) -> list[SourceRow]:
        """One locator round: the rows holding any of `values` in an identifier column, or whose
        `belongs_to` column holds one of `parents[parent table]` (keys as text)."""
        ...

    async def read(self, table: str, keys: Sequence[str]) -> dict[str, Row]:
        """The rows with these primary keys (as text), by key; a key no longer there is missing."""
        ...

    async def facts(self, table: str, keys: Sequence[str], paths: Sequence[str]) -> dict[str, Row]:
        """As `read`, each row with the `reference.column` values named by `paths` too (what
        retention rules and holds decide on), under the path as its key; a missing target is None."""
        ...

    async def lookup(
        self, table: str, column: str, values: Sequence[str], columns: Sequence[str] | None = None
    ) -> list[Row]:
        """The rows whose `column` (compared as text) is one of `values`; `columns` narrows what
        is returned (None: every catalogued column)."""
        ...

    async def apply(self, changes: Sequence[RowChange], guard: Guard | None = None) -> list[Applied]:
        """Carry out the changes in order, in one transaction where the engine has them."""
        ...

    async def rescan(self, values: Mapping[IdentifierType, set[str]]) -> list[SourceRow]:
        """The rows that still hold any of `values` (the proof an erasure left nothing behind)."""
        ...

    async def health(self) -> Health: ...

    async def close(self) -> None: ...
