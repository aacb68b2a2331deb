"""The erasure certificate's content and the re-scan check. Pure.

After a plan has run, the locator searches again. Every record it still finds must be one the
plan kept (retained, restricted, referred, or left alone because the request did not concern
it), or a row the plan anonymised that
- holds no personal data of its own any more, as read after the plan ran (`personal_residue`:
  no person identifier, nothing naming or contacting the person, no special category, and
  nothing the plan cleared is back), and
- was reached only through another record: the row it belongs to (a claim of a kept case), or a
  reference number (case, customer, invoice number) that a record the plan deliberately kept
  also holds (the invoice number of an invoice referred to the client who controls it).
Anything else means the erasure did not do what it said: a person looks. A row is "reached only
through" the record its chain names because every other way to it also runs through a row the
search found, and each of those is judged on its own here; a number the request itself gave is
not a kept record's, so a row found through it is not excused.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.catalogue.model import Catalogue, IdentifierType
from services.catalogue.text import Text, language_of
from services.erasure import reasons
from services.erasure.hashing import pseudonym
from services.erasure.plan import ErasurePlan, PlannedRecord
from services.erasure.purposes import PurposeStop, outcome_by_table
from services.erasure.reasons import Reason
from services.erasure.retention import Action, Decision, expiry_columns
from services.systems.plan import PERSON_KINDS

FoundRow = tuple[str, str, Mapping[str, Any], Sequence[Mapping[str, Any]]]
"""(system, table, primary key, chain of hops) as the locator reports a finding."""

RowId = tuple[str, str, tuple[str, ...]]
"""(system, table, primary key values as text)."""

RECORD_NUMBERS = frozenset(kind.value for kind in IdentifierType if kind not in PERSON_KINDS)
"""Identifier kinds that name records (case, customer, invoice numbers), not people."""


@dataclass(frozen=True)
class Through:
    """The kept record whose reference number the re-scan followed to an anonymised row."""

    identifier: str
    row: RowId
    action: str
    """What the plan did with it: retain, restrict, refer, or left_alone."""

    def as_dict(self) -> dict[str, Any]:
        system, table, key = self.row
        return {
            "identifier": self.identifier,
            "system": system,
            "table": table,
            "key": list(key),
            "action": self.action,
        }


@dataclass(frozen=True)
class Expected:
    """A row the plan anonymised that the re-scan found again, and why that is no leftover."""

    row: RowId
    reason: Reason
    through: Through | None = None

    def as_dict(self) -> dict[str, Any]:
        system, table, key = self.row
        return {
            "system": system,
            "table": table,
            "key": list(key),
            "reason": self.reason.as_dict(),
            "through": None if self.through is None else self.through.as_dict(),
        }


@dataclass(frozen=True)
class Rescan:
    clean: bool
    found: int
    unexpected: tuple[RowId, ...]
    searched: bool = True
    """False: the search could not finish (a system down, a review); never clean then."""
    expected: tuple[Expected, ...] = ()
    """Anonymised rows found again for a stated reason (see the module's docstring)."""
    unstopped: tuple[tuple[RowId, tuple[str, ...]], ...] = ()
    """Rows whose consent purposes were to stop, read after the plan ran, with the emptied columns
    holding a value or the marks not set (`purposes.unstopped`); never clean then."""
    stops_checked: int = 0
    """Rows read back to prove their consent purposes stopped."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "clean": self.clean,
            "searched": self.searched,
            "found": self.found,
            "unexpected": [{"system": s, "table": t, "key": list(k)} for s, t, k in self.unexpected],
            "expected": [e.as_dict() for e in self.expected],
            **(
                {
                    "stops_checked": self.stops_checked,
                    "unstopped": [
                        {"system": s, "table": t, "key": list(k), "columns": list(c)}
                        for (s, t, k), c in self.unstopped
                    ],
                }
                if self.stops_checked or self.unstopped
                else {}
            ),
        }


def _key(record_key: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(str(v) for v in record_key.values())


def row_id(system: str, table: str, record_key: Mapping[str, Any]) -> RowId:
    return system, table, _key(record_key)


def residue_columns(catalogue: Catalogue, record: PlannedRecord) -> tuple[str, ...]:
    """The columns an anonymised row must hold nothing personal in once its plan has run: what the
    plan cleared, every person identifier (national id, email, phone), the columns that name,
    contact or pay the person, and special categories."""
    table = catalogue.systems[record.system].tables[record.table]
    special = {name for name, category in catalogue.taxonomy.flatten().items() if category.special}
    columns = {
        *record.decision.columns,
        *expiry_columns(table),
        *(name for name, c in table.columns.items() if c.identifier in PERSON_KINDS),
        *(name for name, c in table.columns.items() if special & set(c.categories)),
    }
    return tuple(sorted(columns - set(table.primary_key)))


def personal_residue(
    catalogue: Catalogue, record: PlannedRecord, values: Mapping[str, Any] | None, hash_key: bytes
) -> tuple[str, ...] | None:
    """Which of `residue_columns` the row, as read now, still holds a value in (empty, or the
    pseudonym the plan writes, is nothing). None: the row could not be read, so nothing can be
    said for it. A column the row lacks counts as holding something (never excuse on a guess)."""
    if values is None:
        return None
    left = []
    for column in residue_columns(catalogue, record):
        if column not in values:
            left.append(column)
            continue
        value = values[column]
        if value is None or value == "":
            continue
        if value == pseudonym(hash_key, record.system, record.table, record.key, column):
            continue
        left.append(column)
    return tuple(left)


def _named(hop: Mapping[str, Any]) -> RowId | None:
    """The row a hop of a chain names, if it names one."""
    system, table, key = hop.get("system"), hop.get("table"), hop.get("key")
    if not isinstance(system, str) or not isinstance(table, str) or not isinstance(key, list | tuple):
        return None
    return system, table, tuple(str(k) for k in key)


def explain_found(
    row: RowId,
    chain: Sequence[Mapping[str, Any]],
    decisions: Mapping[RowId, Decision],
    found: Collection[RowId],
    untouched: Collection[RowId] = frozenset(),
) -> Expected | None:
    """Why an anonymised row the re-scan found again was reached, when that is through another
    record and not through anything of its own: its parent (`belongs_to`), or a reference number
    read from a row the plan kept or left alone, itself found by this re-scan. None otherwise.
    The row's own content is not judged here (see `personal_residue`)."""
    if not chain:
        return None
    last = chain[-1]
    via = last.get("via")
    if via == "belongs_to":
        return Expected(row, reasons.FOUND_THROUGH_PARENT)
    if via not in RECORD_NUMBERS or len(chain) < 2 or _named(last) != row:
        return None
    source = _named(chain[-2])
    if source is None or source == row or source not in found:
        return None
    if source in untouched:
        action = "left_alone"
    else:
        decision = decisions.get(source)
        if decision is None or not decision.kept:
            return None
        action = decision.action.value
    return Expected(row, reasons.FOUND_THROUGH_KEPT_IDENTIFIER, Through(str(via), source, action))


def check_rescan(
    plan: ErasurePlan,
    found: Iterable[FoundRow],
    untouched: Iterable[FoundRow] = (),
    residue: Mapping[RowId, Sequence[str]] | None = None,
    stops: Mapping[RowId, Sequence[str]] | None = None,
) -> Rescan:
    """Judge what the re-scan found. `residue`: for rows the plan anonymised, what each still
    holds (`personal_residue`) as read after the plan ran; a row missing from it is never excused.
    `stops`: for rows whose consent purposes were to stop, what each still shows of them
    (`purposes.unstopped`), read after the plan ran."""
    decisions = {row_id(r.system, r.table, r.key): r.decision for r in plan.records}
    left_alone = {row_id(s, t, k) for s, t, k, _ in untouched}
    rows = [(row_id(system, table, key), chain) for system, table, key, chain in found]
    present = {row for row, _ in rows}
    held = residue or {}
    unexpected: list[RowId] = []
    expected: list[Expected] = []
    for row, chain in rows:
        decision = decisions.get(row)
        if row in left_alone or (decision is not None and decision.kept):
            continue
        why = None
        if decision is not None and decision.action is Action.anonymise and row in held and not held[row]:
            why = explain_found(row, chain, decisions, present, left_alone)
        if why is None:
            unexpected.append(row)
        else:
            expected.append(why)
    unstopped = tuple(sorted((row, tuple(left)) for row, left in (stops or {}).items() if left))
    return Rescan(
        not unexpected and not unstopped,
        len(rows),
        tuple(sorted(unexpected)),
        expected=tuple(sorted(expected, key=lambda e: e.row)),
        unstopped=unstopped,
        stops_checked=len(stops or {}),
    )


def unsearched() -> Rescan:
    return Rescan(False, 0, (), searched=False)


def _entry(catalogue: Catalogue, record: PlannedRecord, language: str) -> dict[str, Any]:
    system = catalogue.systems[record.system]
    table = system.tables[record.table]
    d = record.decision
    return {
        "system": record.system,
        "system_title": system.title.in_(language),
        "table": record.table,
        "description": table.description.in_(language),
        "key": dict(record.key),
        "action": d.action.value,
        "reason": d.reason.as_dict(),
        "until": d.until.isoformat() if d.until else None,
        "while": None if d.while_ is None else {"en": d.while_.en, "nb": d.while_.nb},
        "restricted": d.mark_restricted,
        **({} if d.purposes is None else {"purposes": _told(d.purposes, language)}),
    }


def _told(stop: PurposeStop, language: str) -> dict[str, Any]:
    """A row's stop as the subject is told it: the purposes in the request's language."""
    return {
        **stop.as_dict(),
        "stopped": [p.told(language) for p in stop.stopped],
        "continuing": [p.told(language) for p in stop.continuing],
    }


def certificate(
    catalogue: Catalogue,
    plan: ErasurePlan,
    *,
    reference: str,
    request_type: str,
    executed_at: datetime,
    rescan: Rescan,
    recipients: Sequence[Text | str],
    controllers: Mapping[str, Sequence[str]] | None = None,
    manual: Sequence[ManualConfirmation] = (),
    language: str,
) -> dict[str, Any]:
    """What was erased or anonymised, what was kept with why and until when, what agents did by
    hand in systems without an interface (who confirmed it, when), and the re-scan. The catalogue's
    texts are in the request's `language` (`recipients` too: the catalogue's names); the reasons
    carry both languages, as the plan does."""
    language = language_of(language)
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
        groups[group].append(_entry(catalogue, record, language))
    return {
        "reference": reference,
        "request_type": request_type,
        "executed_at": executed_at.isoformat(),
        "summary": {name: len(entries) for name, entries in groups.items()},
        **groups,
        "controllers": {k: list(v) for k, v in (controllers or {}).items()},
        "recipients_notified": [r.in_(language) if isinstance(r, Text) else r for r in recipients],
        "language": language,
        "manual": [m.as_dict(catalogue, language) for m in manual],
        "purposes": purposes_outcome(catalogue, plan, language),
        "rescan": rescan.as_dict(),
    }


def purposes_outcome(catalogue: Catalogue, plan: ErasurePlan, language: str) -> list[dict[str, Any]]:
    """Per table where a withdrawn consent stopped some purposes and others go on: both, with
    their bases, in the request's language (empty for every other plan)."""
    return outcome_by_table(
        [
            (
                r.system,
                catalogue.systems[r.system].title,
                r.table,
                catalogue.systems[r.system].tables[r.table].description,
                r.decision.purposes,
            )
            for r in plan.records
            if r.decision.purposes is not None
        ],
        language,
    )


@dataclass(frozen=True)
class ManualConfirmation:
    """An agent's confirmation that a system's manual step was carried out by hand."""

    system: str
    action: str
    """`erase` or `restrict` (the step's)."""
    confirmed_by: str
    """The agent's account name, as the audit trail has it."""
    confirmed_at: datetime
    counts: Mapping[str, int] = field(default_factory=dict)
    """What the agent reported, if anything: `erased`, `kept`."""

    def as_dict(self, catalogue: Catalogue, language: str) -> dict[str, Any]:
        return {
            "system": self.system,
            "system_title": catalogue.systems[self.system].title.in_(language),
            "action": self.action,
            "confirmed_by": self.confirmed_by,
            "confirmed_at": self.confirmed_at.isoformat(),
            "counts": dict(self.counts),
        }
