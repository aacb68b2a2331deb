"""The re-scan check from facts alone: an anonymised row found again only through a reference
number that a record the plan kept (or referred) also holds is expected, and said why; a row that
still holds personal data, came back, or was never planned is not."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.catalogue.loader import load_catalogue
from services.erasure.certificate import (
    RECORD_NUMBERS,
    FoundRow,
    RowId,
    certificate,
    check_rescan,
    personal_residue,
    residue_columns,
)
from services.erasure.hashing import pseudonym
from services.erasure.plan import ErasurePlan, PlannedRecord, build_plan
from services.erasure.reasons import ERASED, REFERRED, Reason
from services.erasure.render import certificate_html, certificate_pdf
from services.erasure.retention import Action, Decision, Method, RecordFacts

CATALOGUE = load_catalogue("catalogue")
TODAY = date(2026, 11, 24)
KEY = b"k" * 32
CLOSED = {"status": "closed", "legal_claim": False, "closed_on": date(2020, 5, 15)}
SEED = {"via": "request", "kind": "national_id"}
INVOICE = ("invoicing", "invoices", ("11",))
CLAIM = ("debt_collection", "claims", ("5",))
CASE = ("debt_collection", "cases", ("1",))
LETTER = ("debt_collection", "letters", ("6",))


def _plan() -> ErasurePlan:
    """A closed case (anonymised), its claim (anonymised with it, nothing of its own to clear), a
    letter (address cleared), and the invoice behind the claim (referred: invoicing is a processor)."""
    claim = {"case_id": 1, "case_id.status": "closed", "case_id.legal_claim": False, "invoice_number": "F-1"}
    return build_plan(
        CATALOGUE,
        [
            RecordFacts("debt_collection", "cases", ("1",), CLOSED),
            RecordFacts("debt_collection", "claims", ("5",), claim),
            RecordFacts("debt_collection", "letters", ("6",), {"case_id": 1, "case_id.status": "closed"}),
            RecordFacts("invoicing", "invoices", ("11",), {"invoice_number": "F-1", "client_id": 3}),
        ],
        today=TODAY,
    )


def _hop(via: str, row: RowId, column: str) -> dict[str, Any]:
    system, table, key = row
    return {"via": via, "system": system, "table": table, "key": list(key), "column": column}


def _found(row: RowId, chain: Sequence[Mapping[str, Any]]) -> FoundRow:
    system, table, key = row
    pk = CATALOGUE.systems[system].tables[table].primary_key
    return system, table, dict(zip(pk, key, strict=True)), chain


INVOICE_FOUND = _found(INVOICE, [SEED, _hop("national_id", INVOICE, "recipient_national_id")])
CLAIM_THROUGH_INVOICE = _found(
    CLAIM,
    [
        SEED,
        _hop("national_id", INVOICE, "recipient_national_id"),
        _hop("invoice_number", CLAIM, "invoice_number"),
    ],
)
CLEAN_CLAIM = {CLAIM: ()}


def test_the_plan_anonymises_the_claim_and_refers_the_invoice() -> None:
    actions = {(r.system, r.table): r.decision.action for r in _plan().records}
    assert actions[("debt_collection", "claims")] is Action.anonymise
    assert actions[("invoicing", "invoices")] is Action.refer


def test_a_claim_found_again_only_through_the_referred_invoice_number_is_expected() -> None:
    result = check_rescan(_plan(), [INVOICE_FOUND, CLAIM_THROUGH_INVOICE], residue=CLEAN_CLAIM)
    assert result.clean and result.found == 2 and result.unexpected == ()
    [expected] = result.expected
    assert expected.row == CLAIM and expected.reason.code == "found_through_kept_identifier"
    assert expected.through is not None
    assert (expected.through.identifier, expected.through.row, expected.through.action) == (
        "invoice_number",
        INVOICE,
        "refer",
    )
    as_dict = result.as_dict()
    assert as_dict["expected"][0]["through"] == {
        "identifier": "invoice_number",
        "system": "invoicing",
        "table": "invoices",
        "key": ["11"],
        "action": "refer",
    }
    assert as_dict["expected"][0]["reason"]["en"] and as_dict["expected"][0]["reason"]["nb"]


def test_the_same_claim_is_still_a_leftover_when_anything_else_is_off() -> None:
    plan = _plan()

    def flagged(found: list[FoundRow], residue: Mapping[RowId, tuple[str, ...]] | None = CLEAN_CLAIM) -> bool:
        result = check_rescan(plan, found, residue=residue)
        return not result.clean and CLAIM in result.unexpected and not result.expected

    assert flagged([INVOICE_FOUND, CLAIM_THROUGH_INVOICE], residue={CLAIM: ("description",)})  # holds data
    assert flagged([INVOICE_FOUND, CLAIM_THROUGH_INVOICE], residue={})  # could not be read after the plan
    assert flagged([INVOICE_FOUND, CLAIM_THROUGH_INVOICE], residue=None)
    # the invoice number came with the request, not from a record the plan keeps
    assert flagged(
        [_found(CLAIM, [{"via": "request", "kind": "invoice_number"}, _hop("invoice_number", CLAIM, "c")])]
    )
    # through a person identifier: the row holds the subject's email itself
    via_email = _found(CLAIM, [SEED, _hop("national_id", INVOICE, "n"), _hop("email", CLAIM, "email")])
    assert flagged([INVOICE_FOUND, via_email])
    # through a number read from a row the plan anonymised (the case), not one it kept
    via_case = _found(CLAIM, [SEED, _hop("national_id", CASE, "n"), _hop("case_number", CLAIM, "c")])
    result = check_rescan(
        plan, [_found(CASE, [SEED, _hop("national_id", CASE, "n")]), via_case], residue={CLAIM: (), CASE: ()}
    )
    assert CLAIM in result.unexpected and CASE in result.unexpected
    # the kept record the chain names was not found by this re-scan
    assert flagged([CLAIM_THROUGH_INVOICE])
    # the last hop does not name the row
    other = _found(CLAIM, [SEED, _hop("national_id", INVOICE, "n"), _hop("invoice_number", LETTER, "c")])
    assert flagged([INVOICE_FOUND, other])


def test_a_row_the_plan_erased_or_never_saw_is_a_leftover_whatever_led_to_it() -> None:
    plan = _plan()
    erased = ErasurePlan(
        tuple(
            PlannedRecord(r.system, r.table, r.key, Decision(Action.erase, ERASED, Method.delete_row))
            if r.table == "claims"
            else r
            for r in plan.records
        ),
        plan.today,
        systems_order=plan.systems_order,
    )
    assert check_rescan(erased, [INVOICE_FOUND, CLAIM_THROUGH_INVOICE], residue=CLEAN_CLAIM).unexpected == (
        CLAIM,
    )
    stranger = ("debt_collection", "claims", ("99",))
    new_claim = _found(
        stranger, [SEED, _hop("national_id", INVOICE, "n"), _hop("invoice_number", stranger, "c")]
    )
    result = check_rescan(plan, [INVOICE_FOUND, new_claim], residue={stranger: ()})
    assert result.unexpected == (stranger,)


def test_personal_residue_is_what_an_anonymised_row_still_holds() -> None:
    plan = _plan()
    records = {(r.system, r.table, tuple(r.key.values())): r for r in plan.records}
    case = records[CASE]
    assert set(residue_columns(CATALOGUE, case)) >= {"debtor_national_id", "debtor_email", "debtor_name"}
    anonymised = {c: pseudonym(KEY, "debt_collection", "cases", case.key, c) for c in case.decision.columns}
    row = {**{c: None for c in CATALOGUE.systems["debt_collection"].tables["cases"].columns}, **anonymised}
    assert personal_residue(CATALOGUE, case, row, KEY) == ()
    assert personal_residue(CATALOGUE, case, {**row, "debtor_national_id": "02916510260"}, KEY) == (
        "debtor_national_id",
    )
    assert personal_residue(CATALOGUE, case, {**row, "debtor_phone": "anon-0000"}, KEY) == ("debtor_phone",)
    assert personal_residue(CATALOGUE, case, None, KEY) is None  # unreadable: nothing can be said
    claim = records[CLAIM]
    assert residue_columns(CATALOGUE, claim) == ()  # nothing of its own once the case is anonymised
    assert personal_residue(CATALOGUE, claim, {"id": 5, "invoice_number": "F-1", "principal": 1}, KEY) == ()
    letter = records[LETTER]
    assert personal_residue(CATALOGUE, letter, {"id": 6, "address": ""}, KEY) == ()
    assert personal_residue(CATALOGUE, letter, {"id": 6, "address": "Storgata 1"}, KEY) == ("address",)
    assert personal_residue(CATALOGUE, letter, {"id": 6}, KEY) == ("address",)  # a column missing: held


def test_the_certificate_says_why_a_row_was_found_again() -> None:
    plan = _plan()
    rescan = check_rescan(plan, [INVOICE_FOUND, CLAIM_THROUGH_INVOICE], residue=CLEAN_CLAIM)
    content = certificate(
        CATALOGUE,
        plan,
        reference="DSR-2026-000002",
        request_type="erasure",
        executed_at=datetime(2026, 11, 24, 12, tzinfo=UTC),
        rescan=rescan,
        recipients=[],
        language="en",
    )
    [expected] = content["rescan"]["expected"]
    assert expected["reason"]["code"] == "found_through_kept_identifier"
    assert "1 of the records found are ones we anonymised" in certificate_html(content, "en")
    assert expected["reason"]["nb"] in certificate_html(content, "nb")
    assert certificate_pdf(content, "en")


# ------------------------------------------------------------------------------------- property

ROWS: list[RowId] = [
    CASE,
    CLAIM,
    LETTER,
    INVOICE,
    ("marketing", "downloads", ("2",)),
    ("crm", "contacts", ("4",)),
]
ACTIONS = [None, *Action, Action.anonymise, Action.anonymise]  # the interesting one more often
VIAS = ["request", "belongs_to", "national_id", "email", "phone", *sorted(RECORD_NUMBERS)]
NUMBERS = sorted(RECORD_NUMBERS)


def _decision(action: Action) -> Decision:
    reason = REFERRED if action is Action.refer else Reason("x", "x", "x")
    return Decision(action, reason)


@st.composite
def rescans(
    draw: st.DrawFn,
) -> tuple[ErasurePlan, list[FoundRow], list[FoundRow], dict[RowId, tuple[str, ...]]]:
    actions = {row: draw(st.sampled_from(ACTIONS)) for row in ROWS}
    untouched_rows = [row for row in ROWS if actions[row] is None and draw(st.booleans())]
    records = tuple(
        PlannedRecord(s, t, {"id": k[0]}, _decision(a)) for (s, t, k), a in actions.items() if a is not None
    )
    plan = ErasurePlan(records, TODAY, untouched=tuple((s, t, {"id": k[0]}) for s, t, k in untouched_rows))
    found = []
    for row in draw(st.lists(st.sampled_from(ROWS), min_size=1, unique=True)):
        chain: list[dict[str, Any]] = [SEED]
        if draw(st.booleans()):  # the locator's shape: through another row, by some identifier
            source = draw(st.sampled_from(ROWS))
            via = draw(st.sampled_from([*VIAS, *NUMBERS, *NUMBERS]))
            chain += [_hop("national_id", source, "c"), _hop(via, row, "c")]
        else:
            for _ in range(draw(st.integers(0, 3))):
                chain.append(_hop(draw(st.sampled_from(VIAS)), draw(st.sampled_from([*ROWS, row])), "c"))
        found.append((row[0], row[1], {"id": row[2][0]}, chain))
    residue = {row: draw(st.sampled_from([(), (), ("email",)])) for row in ROWS if draw(st.integers(0, 3))}
    untouched = [(s, t, {"id": k[0]}, ()) for s, t, k in untouched_rows]
    return plan, found, untouched, residue


@settings(deadline=None, max_examples=500)
@given(rescans())
def test_nothing_passes_the_rescan_unless_kept_or_anonymised_clean_and_reached_through_a_kept_record(
    case: tuple[ErasurePlan, list[FoundRow], list[FoundRow], dict[RowId, tuple[str, ...]]],
) -> None:
    plan, found, untouched, residue = case
    result = check_rescan(plan, found, untouched, residue)
    decisions = {(r.system, r.table, tuple(r.key.values())): r.decision for r in plan.records}
    left_alone = {(s, t, tuple(k.values())) for s, t, k, _ in untouched}
    present = {(s, t, tuple(k.values())) for s, t, k, _ in found}
    expected = {e.row: e for e in result.expected}
    assert result.clean == (not result.unexpected) and result.found == len(found)
    for system, table, key, chain in found:
        row = (system, table, tuple(key.values()))
        decision = decisions.get(row)
        kept = row in left_alone or (decision is not None and decision.kept)
        # every row found is exactly one of: kept, expected (with a reason), unexpected
        assert [kept, row in expected, row in result.unexpected].count(True) == 1
        if row not in expected:
            continue
        # an excused row was anonymised, is read clean after the plan, and was reached through
        # its parent, or through a record number read from a row the plan kept and this scan found
        assert decision is not None and decision.action is Action.anonymise
        assert residue.get(row) == ()
        why = expected[row]
        if why.through is None:
            assert chain[-1]["via"] == "belongs_to"
            continue
        assert chain[-1]["via"] in RECORD_NUMBERS and why.through.identifier == chain[-1]["via"]
        source = why.through.row
        assert source in present and source != row
        source_decision = decisions.get(source)
        assert source in left_alone or (source_decision is not None and source_decision.kept)
    # what a row still holds only ever makes the check stricter
    dirtier = {row: ("email",) for row in residue}
    assert set(result.unexpected) <= set(check_rescan(plan, found, untouched, dirtier).unexpected)
    assert set(result.unexpected) <= set(check_rescan(plan, found, untouched, {}).unexpected)
