"""The retention engine's promises, for every catalogued table and for rules it has never seen:
a record under a legal hold or a running legal retention period is never erased, and every record
kept says why, in both languages, and until when (or while what lasts)."""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.catalogue.loader import load_catalogue
from services.catalogue.model import Catalogue, ErasureStrategy, Table
from services.erasure.retention import (
    Action,
    LinkedRecord,
    RecordFacts,
    decide,
    linked_table,
    retention_date,
)

CATALOGUE = load_catalogue("catalogue")
TABLES = sorted(
    (system, table)
    for system, spec in CATALOGUE.systems.items()
    for table, rule in spec.tables.items()
    if rule.erasure is not None
)
TODAY = date(2026, 11, 24)

dates = st.one_of(st.none(), st.dates(date(2010, 1, 1), date(2035, 12, 31)))
texts = st.one_of(st.none(), st.sampled_from(["open", "closed", "X-1", ""]))
case_values = st.fixed_dictionaries(
    {"status": st.sampled_from(["open", "closed"]), "legal_claim": st.booleans(), "closed_on": dates}
)


def _value(draw: st.DrawFn, type_name: str) -> Any:
    if type_name in ("date", "timestamptz"):
        return draw(dates)
    if type_name == "boolean":
        return draw(st.booleans())
    return draw(texts)


@st.composite
def facts(draw: st.DrawFn, catalogue: Catalogue = CATALOGUE) -> RecordFacts:
    system, table_name = draw(st.sampled_from(TABLES))
    table = catalogue.systems[system].tables[table_name]
    values: dict[str, Any] = {name: _value(draw, c.type.value) for name, c in table.columns.items()}
    for hold in table.erasure.holds if table.erasure else []:
        if "." in hold.column:
            values[hold.column] = draw(st.sampled_from(["open", "closed", True, False, None]))
    if table.retention is not None and table.retention.anchor and "." in table.retention.anchor:
        values[table.retention.anchor] = draw(dates)
    linked = {}
    for column in table.columns:
        if linked_table(catalogue, system, table_name, column) is not None:
            linked[column] = LinkedRecord("debt_collection", "cases", draw(st.one_of(st.none(), case_values)))
    return RecordFacts(system, table_name, ("1",), values, linked)


def _legally_held(table: Table, fact: RecordFacts) -> bool:
    """An independent reading of the catalogue's legal holds on these facts."""
    assert fact.values is not None and table.erasure is not None
    for hold in table.erasure.holds:
        if not hold.exemptions:
            continue
        value = fact.values.get(hold.column)
        true = (
            (value not in (None, "")) is hold.present
            if hold.present is not None
            else str(value).lower() == str(hold.equals).lower()
        )
        if not true:
            continue
        link = fact.linked.get(hold.column)
        if link is None:
            return True
        case = link.values
        if case is None or case["status"] == "open" or case["legal_claim"]:
            return True
    return False


@settings(deadline=None, max_examples=200)
@given(facts(), st.dates(date(2020, 1, 1), date(2040, 1, 1)))
def test_a_record_under_a_legal_hold_or_retention_period_is_never_erased(
    fact: RecordFacts, today: date
) -> None:
    table = CATALOGUE.systems[fact.system].tables[fact.table]
    decision = decide(CATALOGUE, fact, today)
    assert table.erasure is not None
    if decision.action is Action.refer:
        return
    if _legally_held(table, fact):
        assert decision.kept, (fact, decision)
    if table.erasure.strategy is ErasureStrategy.keep and table.erasure.exemptions:
        until = retention_date(table, fact.values or {})
        if until is None or until > today:
            assert decision.kept, (fact, decision)
    if decision.kept:
        assert decision.reason.en and decision.reason.nb
        assert decision.until is not None or decision.while_ is not None
        if decision.until is not None:
            assert decision.until > today


@settings(deadline=None, max_examples=200)
@given(facts(), st.dates(date(2020, 1, 1), date(2040, 1, 1)))
def test_a_decision_is_the_same_however_often_it_is_made(fact: RecordFacts, today: date) -> None:
    assert decide(CATALOGUE, fact, today) == decide(CATALOGUE, fact, today)


@st.composite
def invented_tables(draw: st.DrawFn) -> tuple[Table, dict[str, Any]]:
    """A table the catalogue does not have: random strategy, holds, exemptions and retention."""
    strategy = draw(st.sampled_from(["delete_row", "null_columns", "anonymise", "keep"]))
    holds = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "column": st.sampled_from(["status", "flag", "ref"]),
                    "equals": st.sampled_from(["open", True]),
                    "exemptions": st.sampled_from([[], ["17(3)(b)"], ["17(3)(e)"]]),
                    "reason": st.just({"nb": "Holdes tilbake av en grunn.", "en": "Held for a reason."}),
                }
            ),
            max_size=3,
        )
    )
    erasure: dict[str, Any] = {"strategy": strategy, "holds": holds}
    if strategy in ("null_columns", "anonymise"):
        erasure["columns"] = ["name"]
    if strategy == "keep":
        erasure["reason"] = {"nb": "En lov krever det.", "en": "A law says so."}
        erasure["exemptions"] = draw(st.sampled_from([[], ["17(3)(b)"]]))
    table = Table.model_validate(
        {
            "description": {"nb": "Oppdiktet.", "en": "Invented."},
            "primary_key": ["id"],
            "columns": {
                "id": {"type": "bigint", "categories": ["system.key"]},
                "name": {"type": "text", "categories": ["user.identity.name"]},
                "status": {"type": "text", "categories": ["user.case.status"]},
                "flag": {"type": "boolean", "categories": ["user.case.status"]},
                "ref": {"type": "text", "categories": ["user.case.status"]},
                "booked_on": {"type": "date", "categories": ["system.bookkeeping"]},
            },
            "retention": {
                "kind": "after_date",
                "period": draw(st.sampled_from(["P1Y", "P5Y", "P10Y"])),
                "anchor": "booked_on",
                "description": {"nb": "Lagres en stund.", "en": "Kept a while."},
            },
            "erasure": erasure,
            "restriction": {"column": "status"} if draw(st.booleans()) else None,
        }
    )
    values = {
        "id": 1,
        "name": "x",
        "status": draw(st.sampled_from(["open", "closed", None])),
        "flag": draw(st.booleans()),
        "ref": draw(st.sampled_from(["open", None])),
        "booked_on": draw(dates),
    }
    return table, values


@settings(deadline=None, max_examples=200)
@given(invented_tables(), st.dates(date(2020, 1, 1), date(2040, 1, 1)))
def test_invented_rules_keep_the_same_promises(invented: tuple[Table, dict[str, Any]], today: date) -> None:
    table, values = invented
    system = CATALOGUE.systems["crm"].model_copy(update={"tables": {"invented": table}})
    catalogue = CATALOGUE.model_copy(update={"systems": {"crm": system}})
    fact = RecordFacts("crm", "invented", ("1",), values)
    decision = decide(catalogue, fact, today)
    assert _legally_held(table, fact) <= decision.kept
    assert table.erasure is not None
    if table.erasure.strategy is ErasureStrategy.keep and table.erasure.exemptions:
        until = retention_date(table, values)
        assert (until is None or until > today) <= decision.kept
    if decision.kept:
        assert decision.reason.en and decision.reason.nb
        assert decision.until is not None or decision.while_ is not None


def test_the_catalogue_rules_read_as_the_policy_says() -> None:
    open_case = {"status": "open", "legal_claim": False, "closed_on": None}
    closed_case = {"status": "closed", "legal_claim": False, "closed_on": date(2020, 5, 15)}
    case = RecordFacts("debt_collection", "cases", ("1",), open_case)
    decision = decide(CATALOGUE, case, TODAY)
    assert decision.action is Action.restrict and decision.while_ and decision.while_.code == "case_open"
    assert (
        decide(CATALOGUE, RecordFacts("debt_collection", "cases", ("1",), closed_case), TODAY).action
        is Action.anonymise
    )
    ledger = RecordFacts("accounting", "ledger_entries", ("1",), {"booked_on": date(2020, 5, 14)})
    kept = decide(CATALOGUE, ledger, TODAY)
    assert (
        kept.action is Action.retain
        and kept.until == date(2030, 5, 14)
        and "Regnskapsloven" in kept.reason.nb
        and "accounting act" in kept.reason.en
    )
    expired = decide(CATALOGUE, ledger, date(2030, 5, 15))
    assert expired.action is Action.anonymise and "counterparty_name" in expired.columns
    call = {"case_number": "C-1"}
    linked_open = RecordFacts(
        "telephony",
        "call_logs",
        ("1",),
        call,
        {"case_number": LinkedRecord("debt_collection", "cases", open_case)},
    )
    assert decide(CATALOGUE, linked_open, TODAY).action is Action.restrict
    linked_closed = RecordFacts(
        "telephony",
        "call_logs",
        ("1",),
        call,
        {"case_number": LinkedRecord("debt_collection", "cases", closed_case)},
    )
    assert decide(CATALOGUE, linked_closed, TODAY).action is Action.erase
    unknown_case = RecordFacts(
        "telephony",
        "call_logs",
        ("1",),
        call,
        {"case_number": LinkedRecord("debt_collection", "cases", None)},
    )
    undecided = decide(CATALOGUE, unknown_case, TODAY)
    assert undecided.kept and undecided.review == "ambiguous"
    invoice = RecordFacts("invoicing", "invoices", ("1",), {})
    assert decide(CATALOGUE, invoice, TODAY).action is Action.refer
    note = RecordFacts(
        "debt_collection", "case_notes", ("1",), {"case_id.legal_claim": False, "health_note": "x"}
    )
    assert decide(CATALOGUE, note, TODAY).review == "special_category"
    contact = RecordFacts("crm", "contacts", ("1",), {"relationship_ended_on": None})
    assert decide(CATALOGUE, contact, TODAY).action is Action.anonymise  # no legal hold: the request wins


def test_a_record_in_a_system_without_an_interface_waits_for_a_person() -> None:
    fact = RecordFacts("crm", "contacts", ("1",), None, readable=False)
    decision = decide(CATALOGUE, fact, TODAY)
    assert decision.kept and decision.review == "manual_system" and not decision.changes_source
