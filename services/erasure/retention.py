"""The retention policy engine: for one found record, what an erasure may do to it. Pure, no I/O.

Inputs are the catalogue's rule for the record's table and the live facts read from the systems
(the row's own columns, the columns of the rows it references such as its case's status and closing
date, and the record another one is tied to, such as the case a phone call names). Output is one
decision: erase, anonymise, retain until a date, restrict (kept while a condition lasts), or refer
to the controller, always with a reason in Norwegian and English.

Two kinds of hold are told apart. A hold that names an Art. 17(3) exemption (an open case, a legal
claim, a legal obligation) is a *legal hold*: the record is never erased while it holds. A hold
without one (a client relationship that is still going) only keeps data from the routine deletion
schedule; it does not outweigh the subject's own request (Art. 17(1)(a),(c)).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from services.catalogue.model import (
    Catalogue,
    ErasureStrategy,
    Hold,
    IdentifierType,
    RetentionKind,
    Table,
    period_parts,
)
from services.erasure import reasons
from services.erasure.purposes import PurposeStop
from services.erasure.reasons import Reason
from services.intake.domain.deadline import add_months


class Action(StrEnum):
    erase = "erase"
    anonymise = "anonymise"
    retain = "retain"
    """Kept until a date (a legal obligation), marked restricted where the table can be."""
    restrict = "restrict"
    """Kept while a condition lasts (an open case, a legal claim), marked restricted."""
    refer = "refer"


class Method(StrEnum):
    """How a change is made in the source system."""

    delete_row = "delete_row"
    null_columns = "null_columns"
    anonymise = "anonymise"
    none = "none"


KEPT = frozenset({Action.retain, Action.restrict, Action.refer})

DIRECT_IDENTIFIERS = ("user.identity", "user.contact", "user.financial.account")
"""Categories removed when a record kept for a legal period reaches its end date."""


@dataclass(frozen=True)
class Condition:
    """What a record is kept for as long as: a code and the words for it."""

    code: str
    en: str
    nb: str


CASE_OPEN = Condition("case_open", "while the case is open", "så lenge saken er åpen")
LEGAL_CLAIM = Condition("legal_claim", "while the legal claim lasts", "så lenge det rettslige kravet består")
UNDECIDED = Condition("review", "until a person has decided", "til en saksbehandler har avgjort")
HOLD = Condition("hold", "while the stated reason lasts", "så lenge grunnen består")


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: Reason
    method: Method = Method.none
    columns: tuple[str, ...] = ()
    until: date | None = None
    while_: Condition | None = None
    mark_restricted: bool = False
    review: str | None = None
    """Why a person must approve the plan (`special_category`, `ambiguous`, `no_rule`), if so."""
    marks: tuple[str, ...] = ()
    """Boolean columns set on the row: the marks of the purposes a withdrawn consent stopped."""
    purposes: PurposeStop | None = None
    """A withdrawn consent on a table with another basis: what stopped, what goes on (`purposes.py`)."""

    @property
    def kept(self) -> bool:
        return self.action in KEPT

    @property
    def changes_source(self) -> bool:
        return self.method is not Method.none or self.mark_restricted or bool(self.marks)


@dataclass(frozen=True)
class LinkedRecord:
    """The record a hold column ties this one to (the case a call names): its table and values."""

    system: str
    table: str
    values: Mapping[str, Any] | None
    """None: no such record could be found."""


@dataclass(frozen=True)
class RecordFacts:
    """What the systems say about one found record right now. `values` holds the row's columns and,
    under `reference.column`, the columns of the rows it references; None: the row is gone."""

    system: str
    table: str
    key: tuple[str, ...]
    values: Mapping[str, Any] | None
    linked: Mapping[str, LinkedRecord] = field(default_factory=dict)
    """Hold column -> the record it names (see `linked_table`)."""
    readable: bool = True
    """False: a system without an interface (manual); an agent must act in it."""


def linked_table(catalogue: Catalogue, system: str, table: str, column: str) -> tuple[str, str, str] | None:
    """The (system, table, column) a hold column ties a record to: the one table where the column's
    identifier kind is unique (a case number names its case), elsewhere than the record itself."""
    spec = catalogue.systems[system].tables[table].columns.get(column)
    if spec is None or spec.identifier is None or spec.identifier in _PERSON_KINDS:
        return None
    for other_name, other in catalogue.systems.items():
        for table_name, other_table in other.tables.items():
            if (other_name, table_name) == (system, table):
                continue
            for column_name, other_column in other_table.columns.items():
                if other_column.identifier is spec.identifier and other_column.unique:
                    return other_name, table_name, column_name
    return None


_PERSON_KINDS = frozenset({IdentifierType.national_id, IdentifierType.email, IdentifierType.phone})


def decide(catalogue: Catalogue, facts: RecordFacts, today: date) -> Decision:
    """The decision for one record on `today`."""
    system = catalogue.systems[facts.system]
    table = system.tables[facts.table]
    erasure = table.erasure
    if (
        system.role.kind == "processor"
        or (erasure is not None and erasure.strategy is ErasureStrategy.refer_to_controller)
        or (table.retention is not None and table.retention.kind is RetentionKind.controller)
    ):
        return Decision(Action.refer, reasons.REFERRED)
    if not facts.readable:
        return Decision(Action.restrict, reasons.MANUAL, while_=UNDECIDED, review="manual_system")
    if facts.values is None:
        return Decision(Action.erase, reasons.ALREADY_GONE)
    review = "special_category" if _holds_special(catalogue, table, facts.values) else None
    if erasure is None:
        return Decision(Action.restrict, reasons.NO_RULE, while_=UNDECIDED, review="no_rule")
    held = legal_hold(catalogue, facts, erasure.holds)
    if held is not None:
        hold, condition, certain = held
        return Decision(
            Action.restrict,
            reasons.reason(f"hold:{condition.code}", hold.reason, hold.exemptions),
            while_=condition,
            mark_restricted=table.restriction is not None,
            review=review or (None if certain else "ambiguous"),
        )
    strategy = erasure.strategy
    if strategy is ErasureStrategy.keep:
        if erasure.exemptions:
            until = retention_date(table, facts.values)
            if until is None:
                return Decision(
                    Action.restrict,
                    reasons.reason("legal_obligation", erasure.reason, erasure.exemptions),
                    while_=UNDECIDED,
                    mark_restricted=table.restriction is not None,
                    review="ambiguous",
                )
            if until > today:
                return Decision(
                    Action.retain,
                    reasons.reason("legal_obligation", erasure.reason, erasure.exemptions),
                    until=until,
                    mark_restricted=table.restriction is not None,
                    review=review,
                )
            return Decision(
                Action.anonymise,
                reasons.RETENTION_EXPIRED,
                Method.anonymise,
                expiry_columns(table),
                review=review,
            )
        # Kept without a legal ground of its own: nothing personal is left once what it belongs to
        # loses its link to the subject.
        return Decision(Action.anonymise, reasons.reason("no_personal_data", erasure.reason), review=review)
    if strategy is ErasureStrategy.delete_row:
        return Decision(Action.erase, reasons.ERASED, Method.delete_row, review=review)
    method = Method.null_columns if strategy is ErasureStrategy.null_columns else Method.anonymise
    return Decision(Action.anonymise, reasons.ANONYMISED, method, tuple(erasure.columns), review=review)


def legal_hold(
    catalogue: Catalogue, facts: RecordFacts, holds: list[Hold]
) -> tuple[Hold, Condition, bool] | None:
    """The first legal hold (one naming an exemption) that applies, with its condition and whether
    the facts were complete; an unknown fact counts as holding (never erase on a guess)."""
    assert facts.values is not None
    for hold in holds:
        if not hold.exemptions:
            continue
        if hold.column not in facts.values:
            return hold, UNDECIDED, False
        if not _condition_true(hold, facts.values[hold.column]):
            continue
        link = facts.linked.get(hold.column)
        target = linked_table(catalogue, facts.system, facts.table, hold.column)
        if target is None:
            return hold, _condition(hold), True
        if link is None or link.values is None:
            return hold, UNDECIDED, False
        linked_system = catalogue.systems[link.system].tables[link.table]
        linked_facts = RecordFacts(link.system, link.table, (), link.values)
        inner = legal_hold(
            catalogue, linked_facts, linked_system.erasure.holds if linked_system.erasure else []
        )
        if inner is not None:
            return hold, inner[1], inner[2]
    return None


def _condition_true(hold: Hold, value: Any) -> bool:
    if hold.present is not None:
        return (value is not None and value != "") is hold.present
    if isinstance(hold.equals, bool):
        return value is hold.equals or value == hold.equals
    return value is not None and str(value) == str(hold.equals)


def _condition(hold: Hold) -> Condition:
    column = hold.column.rsplit(".", 1)[-1]
    if column == "status" and hold.equals == "open":
        return CASE_OPEN
    if column == "legal_claim":
        return LEGAL_CLAIM
    return HOLD


def retention_date(table: Table, values: Mapping[str, Any]) -> date | None:
    """The end of an `after_date` retention period for this row, if the row has its date."""
    rule = table.retention
    if (
        rule is None
        or rule.kind is not RetentionKind.after_date
        or rule.anchor is None
        or rule.period is None
    ):
        return None
    anchor = values.get(rule.anchor)
    if isinstance(anchor, datetime):
        anchor = anchor.date()
    if not isinstance(anchor, date):
        return None
    years, months, days = period_parts(rule.period)
    return add_months(anchor, 12 * years + months) + timedelta(days=days)


def expiry_columns(table: Table) -> tuple[str, ...]:
    """The text columns that name the person (identity, contact, account), cleared when a record
    kept for a legal period reaches its end date."""
    return tuple(
        name
        for name, column in table.columns.items()
        if column.type.value == "text"
        and name not in table.primary_key
        and any(c == p or c.startswith(p + ".") for c in column.categories for p in DIRECT_IDENTIFIERS)
    )


def _holds_special(catalogue: Catalogue, table: Table, values: Mapping[str, Any]) -> bool:
    flat = catalogue.taxonomy.flatten()
    return any(
        values.get(name) not in (None, "")
        for name, column in table.columns.items()
        if any(flat[c].special for c in column.categories if c in flat)
    )


def paths_needed(table: Table) -> set[str]:
    """The `reference.column` paths the rules of this table read (holds, retention anchor)."""
    paths = {hold.column for hold in (table.erasure.holds if table.erasure else []) if "." in hold.column}
    if table.retention is not None and table.retention.anchor and "." in table.retention.anchor:
        paths.add(table.retention.anchor)
    return paths
