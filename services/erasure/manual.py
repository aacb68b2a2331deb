"""A plan's manual steps: what an agent must erase or keep by hand in a system without an
interface. Pure.

A system with `connection: {engine: manual}` can be neither read nor changed by the pipeline. When
the agent's search of it found the subject (`answer.found`), or the plan has records in it, the
plan gets one step for that system: per catalogued table the request concerns, the catalogue's
rule (what to do, the strategy and its columns, the holds with their reasons and exemptions, the
restriction mark), and the plan's decisions for the system's records, if it has any. The step
becomes an agent's task when the plan runs (`tasks.py`); the plan ends once every task is done.

Everything here is catalogue text (in both languages: the console shows the request's), record keys
and codes: no personal data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.catalogue.model import Catalogue, ErasureStrategy
from services.catalogue.text import Text, stored_text
from services.erasure import reasons
from services.erasure.scopes import Scope, concerns

RESTRICTING = frozenset({Scope.restriction, Scope.objection_restrict})
"""Scopes that restrict what they concern instead of erasing it."""

SEARCH_ANSWER = "search_answer"
"""Why a step exists: the agent's manual search found the subject there."""
RECORDS = "records"
"""Why a step exists: the plan has records in the system."""


@dataclass(frozen=True)
class ManualHold:
    """A condition under which the table's rows are kept (restricted) instead of erased."""

    column: str
    condition: Mapping[str, Any]
    """{"equals": value} or {"present": true|false}, as the catalogue says."""
    reason: reasons.Reason

    def as_dict(self) -> dict[str, Any]:
        return {"column": self.column, "condition": dict(self.condition), "reason": self.reason.as_dict()}


@dataclass(frozen=True)
class ManualTable:
    """One catalogued table of the system: what to do with the subject's rows in it."""

    table: str
    description: Text
    action: str
    """`erase` (as the strategy says, unless a hold applies), `restrict`, or `refer` (to the controller)."""
    strategy: str | None
    """The catalogue's erasure strategy; None: the catalogue gives no rule (a person decides)."""
    columns: tuple[str, ...] = ()
    holds: tuple[ManualHold, ...] = ()
    keep_reason: reasons.Reason | None = None
    """Strategy `keep`: why the rows are kept."""
    restriction: str | None = None
    """The column that marks a row restricted, if the table has one."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "description": self.description.as_dict(),
            "action": self.action,
            "strategy": self.strategy,
            "columns": list(self.columns),
            "holds": [h.as_dict() for h in self.holds],
            "keep_reason": None if self.keep_reason is None else self.keep_reason.as_dict(),
            "restriction": self.restriction,
        }


@dataclass(frozen=True)
class ManualRecord:
    """One of the plan's decisions for a record in the system."""

    table: str
    key: Mapping[str, str]
    action: str
    reason_code: str
    until: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "key": dict(self.key),
            "action": self.action,
            "reason_code": self.reason_code,
            "until": self.until,
        }


@dataclass(frozen=True)
class ManualStep:
    """What an agent does by hand in one system without an interface."""

    system: str
    title: Text
    because: tuple[str, ...]
    """`search_answer` and/or `records`."""
    action: str
    """`erase` or `restrict`: what the request asks of the system as a whole (the certificate's word)."""
    tables: tuple[ManualTable, ...]
    records: tuple[ManualRecord, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "title": self.title.as_dict(),
            "because": list(self.because),
            "action": self.action,
            "tables": [t.as_dict() for t in self.tables],
            "records": [r.as_dict() for r in self.records],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ManualStep:
        return cls(
            data["system"],
            stored_text(data["title"]),
            tuple(data["because"]),
            data["action"],
            tuple(_table_from_json(t) for t in data["tables"]),
            tuple(
                ManualRecord(r["table"], dict(r["key"]), r["action"], r["reason_code"], r["until"])
                for r in data["records"]
            ),
        )


def _reason_from_json(data: Mapping[str, Any]) -> reasons.Reason:
    return reasons.Reason(data["code"], data["en"], data["nb"], tuple(data["legal_basis"]))


def _table_from_json(data: Mapping[str, Any]) -> ManualTable:
    return ManualTable(
        data["table"],
        stored_text(data["description"]),
        data["action"],
        data["strategy"],
        tuple(data["columns"]),
        tuple(
            ManualHold(h["column"], dict(h["condition"]), _reason_from_json(h["reason"]))
            for h in data["holds"]
        ),
        None if data["keep_reason"] is None else _reason_from_json(data["keep_reason"]),
        data["restriction"],
    )


def table_instruction(catalogue: Catalogue, scope: Scope, system: str, table_name: str) -> ManualTable:
    """The catalogue's rule for one table, as an agent carries it out under `scope`."""
    spec = catalogue.systems[system]
    table = spec.tables[table_name]
    erasure = table.erasure
    strategy = None if erasure is None else erasure.strategy
    if spec.role.kind == "processor" or strategy is ErasureStrategy.refer_to_controller:
        action = "refer"
    elif scope in RESTRICTING or (
        scope is Scope.marketing_opt_out and (system, table_name) != ("marketing", "newsletter_subscriptions")
    ):
        action = "restrict"
    else:
        action = "erase"
    holds = tuple(
        ManualHold(
            hold.column,
            {"equals": hold.equals} if hold.equals is not None else {"present": hold.present},
            reasons.reason(f"hold:{hold.column}", hold.reason, hold.exemptions),
        )
        for hold in (erasure.holds if erasure else [])
    )
    keep = (
        reasons.reason("keep", erasure.reason, erasure.exemptions)
        if erasure is not None and strategy is ErasureStrategy.keep and erasure.reason
        else None
    )
    return ManualTable(
        table_name,
        table.description,
        action,
        None if strategy is None else strategy.value,
        tuple(erasure.columns) if erasure else (),
        holds,
        keep,
        None if table.restriction is None else table.restriction.column,
    )


def manual_step(
    catalogue: Catalogue,
    scope: Scope,
    system: str,
    records: Sequence[ManualRecord],
    *,
    found_by_agent: bool,
) -> ManualStep | None:
    """The step for `system`, or None when the request concerns none of its tables and the plan has
    no record there (an unsubscribe asks nothing of a phone log kept on paper)."""
    spec = catalogue.systems[system]
    tables = tuple(
        table_instruction(catalogue, scope, system, name)
        for name in sorted(spec.tables)
        if concerns(catalogue, scope, system, name)
    )
    if not tables and not records:
        return None
    because = tuple(
        reason for reason, applies in ((SEARCH_ANSWER, found_by_agent), (RECORDS, bool(records))) if applies
    )
    restricting = scope in RESTRICTING or (tables and all(t.action == "restrict" for t in tables))
    action = "restrict" if restricting else "erase"
    return ManualStep(system, spec.title, because, action, tables, tuple(records))
