"""Rectification's plan and proof, without I/O: which columns a correction sets (named, scoped,
followed by its old value), how new values are written, and what the read-back proves."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.catalogue.model import Catalogue
from services.erasure.rectification import CorrectionPlan, fingerprint_value, plan_corrections, prove, row_id

KEY = b"k" * 32
CASE = ("debt_collection", "cases", {"id": "1"})
UPDATE = ("population_register", "address_updates", {"id": "1"})
CALL = ("telephony", "call_logs", {"id": "1"})
OLD_ADDRESS = "Mølleveien 7, 0182 Oslo"
OLD_PHONE = "+4740000001"


def _rows() -> dict[tuple[str, str, tuple[str, ...]], dict[str, Any]]:
    return {
        row_id(*CASE): {
            "id": 1,
            "debtor_address": OLD_ADDRESS,
            "debtor_phone": OLD_PHONE,
            "debtor_name": "Ola Nordmann",
            "debtor_email": "ola@eksempel.no",
        },
        row_id(*UPDATE): {
            "id": 1,
            "address": OLD_ADDRESS,
            "previous_address": "Storgata 1, 0155 Oslo",
            "name": "Ola Nordmann",
        },
        row_id(*CALL): {"id": 1, "phone": OLD_PHONE, "summary": "Avtalt."},
    }


FOUND = [CASE, UPDATE, CALL]


def _plan(catalogue: Catalogue, corrections: dict[str, str]) -> CorrectionPlan:
    rows = _rows()
    return plan_corrections(catalogue, corrections, [(f, rows[row_id(*f)]) for f in FOUND])


def _applied(plan: CorrectionPlan) -> dict[tuple[str, str, tuple[str, ...]], dict[str, Any]]:
    rows = _rows()
    for c in plan.corrections:
        rows[c.row][c.column] = c.new
    return rows


def test_a_correction_sets_its_column_and_follows_its_old_value(catalogue: Catalogue) -> None:
    plan = _plan(catalogue, {"address": "Nygata 5, 0159 Oslo"})
    by = {(c.table, c.column): c for c in plan.corrections}
    assert set(by) == {("address_updates", "address"), ("cases", "debtor_address")}
    assert not by[("address_updates", "address")].followed and by[("cases", "debtor_address")].followed
    assert ("address_updates", "previous_address") not in by  # another value, and not rectifiable
    assert plan.not_applied == () and plan.invalid == ()


def test_new_identifier_values_are_written_as_stored_and_invalid_ones_are_not(catalogue: Catalogue) -> None:
    plan = _plan(catalogue, {"debt_collection.cases.debtor_phone": "912 34 567"})
    [c] = plan.corrections
    assert (c.table, c.column, c.new) == ("cases", "debtor_phone", "+4791234567")
    assert [
        c.column for c in _plan(catalogue, {"phone": "+4791234567"}).corrections
    ] == []  # no rectifiable `phone`
    assert _plan(catalogue, {"phone": "x"}).not_applied == ("phone",)
    bad = _plan(catalogue, {"debt_collection.cases.debtor_phone": "not a number"})
    assert bad.corrections == () and bad.invalid == ("debt_collection.cases.debtor_phone",)
    scoped_elsewhere = _plan(catalogue, {"crm.contacts.phone": "+4791234567"})
    assert scoped_elsewhere.corrections == () and scoped_elsewhere.not_applied == ("crm.contacts.phone",)


def test_the_proof_holds_when_every_old_value_is_gone_and_names_what_is_kept(catalogue: Catalogue) -> None:
    plan = _plan(
        catalogue, {"address": "Nygata 5, 0159 Oslo", "debt_collection.cases.debtor_phone": "912 34 567"}
    )
    proof = prove(catalogue, plan, FOUND, _applied(plan), KEY)
    assert proof.verified and proof.rows_checked == 3 and len(proof.corrected) == 3
    assert all(c["holds_new"] for c in proof.corrected)
    [kept] = proof.kept_as_is
    assert (kept.system, kept.column) == ("telephony", "phone") and "record of the call" in kept.reason["en"]
    assert "dokumenterer samtalen" in kept.reason["nb"]
    text = json.dumps(proof.as_dict(), ensure_ascii=False)
    for clear in ("Mølleveien", "Nygata", "40000001", "91234567"):
        assert clear not in text  # values only as keyed hashes
    assert fingerprint_value(KEY, "nygata 5, 0159 oslo") in text


def test_an_old_value_back_or_a_new_one_missing_is_no_proof(catalogue: Catalogue) -> None:
    plan = _plan(catalogue, {"address": "Nygata 5, 0159 Oslo"})
    after = _applied(plan)
    after[row_id(*UPDATE)]["address"] = OLD_ADDRESS  # a concurrent write put it back
    proof = prove(catalogue, plan, FOUND, after, KEY)
    assert not proof.verified
    assert [(m["table"], m["column"]) for m in proof.new_value_missing] == [("address_updates", "address")]
    assert [(m["table"], m["column"]) for m in proof.old_value_left] == [("address_updates", "address")]
    assert "population_register.address_updates.address: the old value is still there" in proof.problems
    gone = _applied(plan)
    del gone[row_id(*CASE)]
    assert not prove(catalogue, plan, FOUND, gone, KEY).verified


def test_a_value_the_system_reports_replacing_counts_as_old(catalogue: Catalogue) -> None:
    """Written between the read and the change: the system's own report of what it replaced."""
    plan = _plan(catalogue, {"address": "Nygata 5, 0159 Oslo"})
    after = _applied(plan)
    after[row_id(*CASE)]["debtor_address"] = "Kirkeveien 1"  # another value in a column of that kind
    assert prove(catalogue, plan, FOUND, after, KEY).new_value_missing
    only_reported = _applied(plan)
    only_reported[row_id(*UPDATE)]["previous_address"] = "Vollen 3"
    proof = prove(
        catalogue,
        plan,
        FOUND,
        only_reported,
        KEY,
        old_values=[("population_register", "address_updates", "address", "Vollen 3")],
    )
    assert [k.column for k in proof.kept_as_is] == ["previous_address"]


ADDRESSES = st.sampled_from([OLD_ADDRESS, "Storgata 1, 0155 Oslo", "Nygata 5, 0159 Oslo", None])


@settings(deadline=None, max_examples=150)
@given(ADDRESSES, ADDRESSES, ADDRESSES, st.sampled_from(["Nygata 5, 0159 Oslo", "Bakken 2, 0150 Oslo"]))
def test_applying_the_plan_is_proven_and_undoing_any_part_of_it_is_not(
    catalogue: Catalogue, case_address: str | None, update_address: str | None, previous: str | None, new: str
) -> None:
    rows = _rows()
    rows[row_id(*CASE)]["debtor_address"] = case_address
    rows[row_id(*UPDATE)]["address"] = update_address
    rows[row_id(*UPDATE)]["previous_address"] = previous
    plan = plan_corrections(catalogue, {"address": new}, [(f, rows[row_id(*f)]) for f in FOUND])
    after = {k: dict(v) for k, v in rows.items()}
    for c in plan.corrections:
        after[c.row][c.column] = c.new
    proof = prove(catalogue, plan, FOUND, after, KEY)
    assert proof.verified  # the plan reaches every rectifiable column holding an old value
    for c in plan.corrections:
        if c.old not in (None, "") and c.old != c.new:
            undone = {k: dict(v) for k, v in after.items()}
            undone[c.row][c.column] = c.old
            assert not prove(catalogue, plan, FOUND, undone, KEY).verified
