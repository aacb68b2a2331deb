"""The erasure certificate's content and the re-scan check. Pure.

After a plan has run, the locator searches again. Every record it still finds must be one the
plan kept (retained, restricted, referred, or left alone because the request did not concern
it), or a row the plan anonymised that was reached only through the row it belongs to (a claim
of a kept case). Anything else means the erasure did not do what it said: a person looks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.catalogue.model import Catalogue
from services.erasure.plan import ErasurePlan, PlannedRecord
from services.erasure.retention import Action

FoundRow = tuple[str, str, Mapping[str, Any], Sequence[Mapping[str, Any]]]
"""(system, table, primary key, chain of hops) as the locator reports a finding."""


@dataclass(frozen=True)
class Rescan:
    clean: bool
    found: int
    unexpected: tuple[tuple[str, str, tuple[str, ...]], ...]
    searched: bool = True
    """False: the search could not finish (a system down, a review); never clean then."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "clean": self.clean,
            "searched": self.searched,
            "found": self.found,
            "unexpected": [{"system": s, "table": t, "key": list(k)} for s, t, k in self.unexpected],
        }


def _key(record_key: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(str(v) for v in record_key.values())


def check_rescan(plan: ErasurePlan, found: Iterable[FoundRow], untouched: Iterable[FoundRow] = ()) -> Rescan:
    decisions = {(r.system, r.table, _key(r.key)): r.decision for r in plan.records}
    left_alone = {(s, t, _key(k)) for s, t, k, _ in untouched}
    unexpected, count = [], 0
    for system, table, key, chain in found:
        count += 1
        row = (system, table, _key(key))
        decision = decisions.get(row)
        if row in left_alone or (decision is not None and decision.kept):
            continue
        via_parent = bool(chain) and chain[-1].get("via") == "belongs_to"
        if decision is not None and decision.action is Action.anonymise and via_parent:
            continue
        unexpected.append(row)
    return Rescan(not unexpected, count, tuple(sorted(unexpected)))


def unsearched() -> Rescan:
    return Rescan(False, 0, (), searched=False)


def _entry(catalogue: Catalogue, record: PlannedRecord) -> dict[str, Any]:
    system = catalogue.systems[record.system]
    table = system.tables[record.table]
    d = record.decision
    return {
        "system": record.system,
        "system_title": system.title,
        "table": record.table,
        "description": table.description,
        "key": dict(record.key),
        "action": d.action.value,
        "reason": d.reason.as_dict(),
        "until": d.until.isoformat() if d.until else None,
        "while": None if d.while_ is None else {"en": d.while_.en, "nb": d.while_.nb},
        "restricted": d.mark_restricted,
    }


def certificate(
    catalogue: Catalogue,
    plan: ErasurePlan,
    *,
    reference: str,
    request_type: str,
    executed_at: datetime,
    rescan: Rescan,
    recipients: Sequence[str],
    controllers: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
    """What was erased or anonymised, what was kept with why and until when, and the re-scan."""
    groups: dict[str, list[dict[str, Any]]] = {"erased": [], "anonymised": [], "kept": [], "referred": []}
    for record in plan.records:
        action = record.decision.action
        group = {
            Action.erase: "erased",
            Action.anonymise: "anonymised",
            Action.retain: "kept",
            Action.restrict: "kept",
            Action.refer: "referred",
        }[action]
        groups[group].append(_entry(catalogue, record))
    return {
        "reference": reference,
        "request_type": request_type,
        "executed_at": executed_at.isoformat(),
        "summary": {name: len(entries) for name, entries in groups.items()},
        **groups,
        "controllers": {k: list(v) for k, v in (controllers or {}).items()},
        "recipients_notified": list(recipients),
        "rescan": rescan.as_dict(),
    }
