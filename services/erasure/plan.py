"""The erasure plan: every found record with its decision, in the order execution must follow. Pure.

Systems run one after another, those whose records follow another system's (a credit report kept
with its case) before the system they follow; inside a system, rows that reference others (a
case's notes) before the rows they reference (the case), so a deletion never leaves an orphan.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from graphlib import TopologicalSorter
from typing import Any

from services.catalogue.model import Catalogue
from services.erasure.manual import ManualRecord, ManualStep, manual_step
from services.erasure.purposes import PurposeStop
from services.erasure.reasons import Reason
from services.erasure.retention import Action, Condition, Decision, Method, RecordFacts
from services.erasure.scopes import Scope, concerns, decide_in_scope


@dataclass(frozen=True)
class PlannedRecord:
    system: str
    table: str
    key: Mapping[str, str]
    """Primary key column -> value: an internal reference, never personal data."""
    decision: Decision
    fingerprint: str | None = None
    """Keyed hash of the row's identifying values when planned (the ledger's check on replay)."""


@dataclass(frozen=True)
class ErasurePlan:
    records: tuple[PlannedRecord, ...]
    today: date
    approval_required: bool = False
    systems_order: tuple[str, ...] = field(default=())
    scope: str = "erasure"
    untouched: tuple[tuple[str, str, Mapping[str, str]], ...] = ()
    """Found records the right does not concern (left as they are)."""
    controllers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Per processor system, the controllers its records name (a referral goes to them)."""
    manual: tuple[ManualStep, ...] = ()
    """Systems without an interface: what an agent erases or keeps there by hand (`manual.py`)."""

    @property
    def review_reasons(self) -> list[str]:
        found = {r.decision.review for r in self.records if r.decision.review}
        if self.approval_required and (self.records or self.manual):
            found.add("approval_required")
        return sorted(found)

    @property
    def referred_only(self) -> bool:
        return (
            bool(self.records)
            and not self.manual
            and all(r.decision.action is Action.refer for r in self.records)
        )

    @property
    def manual_systems(self) -> tuple[str, ...]:
        return tuple(step.system for step in self.manual)

    def by_system(self) -> list[tuple[str, list[PlannedRecord]]]:
        """Systems with something to change, in execution order, each with its records in order;
        a system an agent changes by hand is never among them."""
        grouped: dict[str, list[PlannedRecord]] = {}
        by_hand = set(self.manual_systems)
        for record in self.records:
            if record.decision.changes_source and record.system not in by_hand:
                grouped.setdefault(record.system, []).append(record)
        return [(system, grouped[system]) for system in self.systems_order if system in grouped]

    def kept(self) -> list[PlannedRecord]:
        return [r for r in self.records if r.decision.kept]

    def to_json(self) -> dict[str, Any]:
        return {
            "today": self.today.isoformat(),
            "approval_required": self.approval_required,
            "systems_order": list(self.systems_order),
            "scope": self.scope,
            "review_reasons": self.review_reasons,
            "untouched": [{"system": s, "table": t, "key": dict(k)} for s, t, k in self.untouched],
            "controllers": {k: list(v) for k, v in self.controllers.items()},
            "records": [_record_json(r) for r in self.records],
            "manual": [step.to_json() for step in self.manual],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ErasurePlan:
        return cls(
            tuple(_record_from_json(r) for r in data["records"]),
            date.fromisoformat(data["today"]),
            data.get("approval_required", False),
            tuple(data["systems_order"]),
            data.get("scope", "erasure"),
            tuple((u["system"], u["table"], dict(u["key"])) for u in data.get("untouched", [])),
            {k: tuple(v) for k, v in data.get("controllers", {}).items()},
            tuple(ManualStep.from_json(m) for m in data.get("manual", [])),
        )


def build_plan(
    catalogue: Catalogue,
    facts: Iterable[RecordFacts],
    *,
    today: date,
    fingerprints: Mapping[tuple[str, str, tuple[str, ...]], str] | None = None,
    approval_required: bool = False,
    scope: Scope = Scope.erasure,
    controllers: Mapping[str, Sequence[str]] | None = None,
    manual_systems: Collection[str] = (),
    found_by_agent: Collection[str] = (),
) -> ErasurePlan:
    """Decide every record the right concerns; `fingerprints` come from the rows as read.

    `manual_systems`: the systems without an interface; `found_by_agent`: those an agent's manual
    search found the subject in. Each of them where the plan has records, or the agent found the
    subject, gets a manual step."""
    records, untouched = [], []
    facts_list = list(facts)
    for fact in facts_list:
        table = catalogue.systems[fact.system].tables[fact.table]
        key = dict(zip(table.primary_key, fact.key, strict=True))
        if not concerns(catalogue, scope, fact.system, fact.table):
            untouched.append((fact.system, fact.table, key))
            continue
        records.append(
            PlannedRecord(
                fact.system,
                fact.table,
                key,
                decide_in_scope(catalogue, scope, fact, today),
                (fingerprints or {}).get((fact.system, fact.table, fact.key)),
            )
        )
    records = _follow_kept_parents(catalogue, records, {(f.system, f.table, f.key): f for f in facts_list})
    records.sort(key=lambda r: _position(catalogue, r))
    return ErasurePlan(
        tuple(records),
        today,
        approval_required,
        system_order(catalogue),
        scope.value,
        tuple(untouched),
        {k: tuple(v) for k, v in (controllers or {}).items()},
        _manual_steps(catalogue, scope, records, set(manual_systems), set(found_by_agent)),
    )


def _manual_steps(
    catalogue: Catalogue,
    scope: Scope,
    records: Sequence[PlannedRecord],
    manual_systems: set[str],
    found_by_agent: set[str],
) -> tuple[ManualStep, ...]:
    by_system: dict[str, list[ManualRecord]] = {}
    for r in records:
        if r.system in manual_systems:
            d = r.decision
            by_system.setdefault(r.system, []).append(
                ManualRecord(
                    r.table,
                    dict(r.key),
                    d.action.value,
                    d.reason.code,
                    d.until.isoformat() if d.until else None,
                )
            )
    steps = []
    for system in system_order(catalogue):
        if system not in manual_systems or (system not in by_system and system not in found_by_agent):
            continue
        step = manual_step(
            catalogue, scope, system, by_system.get(system, []), found_by_agent=system in found_by_agent
        )
        if step is not None:
            steps.append(step)
    return tuple(steps)


def _follow_kept_parents(
    catalogue: Catalogue,
    records: list[PlannedRecord],
    facts: Mapping[tuple[str, str, tuple[str, ...]], RecordFacts],
) -> list[PlannedRecord]:
    """A record with nothing of its own to remove (it holds no personal data once what it belongs to
    is gone) is kept, as restricted, when that parent is kept: the link to the person remains."""
    decided = {(r.system, r.table, tuple(r.key.values())): r.decision for r in records}
    out = []
    for record in records:
        d = record.decision
        fact = facts.get((record.system, record.table, tuple(record.key.values())))
        table = catalogue.systems[record.system].tables[record.table]
        if (
            d.action is Action.anonymise
            and d.method is Method.none
            and fact
            and fact.values
            and table.belongs_to
        ):
            reference = table.columns[table.belongs_to].references
            parent_table = reference.split(".")[0] if reference else None
            parent = decided.get(
                (record.system, parent_table or "", (str(fact.values.get(table.belongs_to)),))
            )
            if parent is not None and parent.kept:
                d = Decision(
                    Action.restrict,
                    parent.reason,
                    until=parent.until,
                    while_=parent.while_,
                    mark_restricted=table.restriction is not None,
                    review=d.review,
                )
                record = PlannedRecord(record.system, record.table, record.key, d, record.fingerprint)
        out.append(record)
    return out


def system_order(catalogue: Catalogue) -> tuple[str, ...]:
    """Systems whose records follow another system's first; the rest alphabetically."""
    graph: dict[str, set[str]] = {name: set() for name in sorted(catalogue.systems)}
    for name, system in catalogue.systems.items():
        for table in system.tables.values():
            if table.retention is not None and table.retention.follows:
                followed = table.retention.follows.split(".")[0]
                if followed != name:
                    graph.setdefault(followed, set()).add(name)  # the follower runs before
    return tuple(TopologicalSorter(graph).static_order())


def table_order(catalogue: Catalogue, system: str) -> tuple[str, ...]:
    """A system's tables, those that reference others before the ones they reference."""
    tables = catalogue.systems[system].tables
    graph: dict[str, set[str]] = {name: set() for name in sorted(tables)}
    for name, table in tables.items():
        for column in table.columns.values():
            if column.references:
                target = column.references.split(".")[0]
                if target != name:
                    graph.setdefault(target, set()).add(name)
    return tuple(TopologicalSorter(graph).static_order())


def _position(catalogue: Catalogue, record: PlannedRecord) -> tuple[int, int, tuple[str, ...]]:
    systems = system_order(catalogue)
    tables = table_order(catalogue, record.system)
    return systems.index(record.system), tables.index(record.table), tuple(record.key.values())


def _record_json(record: PlannedRecord) -> dict[str, Any]:
    d = record.decision
    return {
        "system": record.system,
        "table": record.table,
        "key": dict(record.key),
        "fingerprint": record.fingerprint,
        "action": d.action.value,
        "method": d.method.value,
        "columns": list(d.columns),
        "until": d.until.isoformat() if d.until else None,
        "while": None if d.while_ is None else {"code": d.while_.code, "en": d.while_.en, "nb": d.while_.nb},
        "mark_restricted": d.mark_restricted,
        "review": d.review,
        "reason": d.reason.as_dict(),
        "marks": list(d.marks),
        "purposes": None if d.purposes is None else d.purposes.as_dict(),
    }


def _record_from_json(data: Mapping[str, Any]) -> PlannedRecord:
    r = data["reason"]
    w = data["while"]
    decision = Decision(
        Action(data["action"]),
        Reason(r["code"], r["en"], r["nb"], tuple(r["legal_basis"])),
        Method(data["method"]),
        tuple(data["columns"]),
        date.fromisoformat(data["until"]) if data["until"] else None,
        None if w is None else Condition(w["code"], w["en"], w["nb"]),
        data["mark_restricted"],
        data["review"],
        tuple(data.get("marks", ())),
        None if data.get("purposes") is None else PurposeStop.from_dict(data["purposes"]),
    )
    return PlannedRecord(data["system"], data["table"], dict(data["key"]), decision, data["fingerprint"])
