"""Art. 15(4): fields about another person inside the subject's records are left out."""

from __future__ import annotations

from services.catalogue.model import Catalogue, IdentifierType
from services.fulfilment.extract import assemble, learn_subject
from services.fulfilment.redaction import another_persons_fields, parties, party_of
from tests.fulfilment.conftest import COMPANY, RECEIVED, case_row, ledger_row

SEEDS = {IdentifierType.national_id: ["14837810060"]}


def test_column_names_group_a_tables_person_fields_into_parties(catalogue: Catalogue) -> None:
    assert party_of("debtor_national_id") == "debtor" and party_of("name") == ""
    assert party_of("previous_address") == "" and party_of("counterparty_account") == "counterparty"
    cases = parties(catalogue.systems["debt_collection"].tables["cases"])
    assert set(cases) == {"debtor"}
    assert cases["debtor"].identifiers == {
        "debtor_national_id": IdentifierType.national_id,
        "debtor_phone": IdentifierType.phone,
        "debtor_email": IdentifierType.email,
    }
    ledger = parties(catalogue.systems["accounting"].tables["ledger_entries"])
    assert ledger["counterparty"].fields == ("counterparty_name", "counterparty_account")
    assert ledger["counterparty"].identifiers == {}


def test_a_payment_by_someone_else_is_shown_without_who_paid(catalogue: Catalogue) -> None:
    records = [
        case_row(),
        ledger_row("Ola Nordmann", entry=5),
        ledger_row("Per Bakkebø", "98760012345", entry=6, amount="250.00"),
    ]
    identity = learn_subject(catalogue, SEEDS, records)
    assert identity.names == {"ola nordmann"}  # learnt from the case his national id is on
    extract = assemble(
        catalogue,
        reference="DSR-2026-000001",
        received_at=RECEIVED,
        records=records,
        generated_at=RECEIVED,
        company=COMPANY,
        identity=identity,
    )
    by_amount = {r.data["amount"]: r for r in extract.records if r.table == "ledger_entries"}
    own, other = by_amount["700.00"], by_amount["250.00"]
    assert own.data["counterparty_name"] == "Ola Nordmann" and own.redacted == []
    assert "counterparty_name" not in other.data and "counterparty_account" not in other.data
    assert [r.field for r in other.redacted] == ["counterparty_name", "counterparty_account"]
    assert other.data["case_number"] == "INK-2025-000011"  # the payment on his case is his to see
    assert "Per Bakkebø" not in extract.model_dump_json()


def test_a_party_with_someone_elses_identifier_is_left_out_even_when_names_match(
    catalogue: Catalogue,
) -> None:
    cases = catalogue.systems["debt_collection"].tables["cases"]
    identity = learn_subject(catalogue, SEEDS, [case_row()])
    namesake = case_row(id=12, debtor_national_id="23875910027").data
    hidden = another_persons_fields(cases, namesake, identity)
    assert set(hidden) == {
        "debtor_national_id",
        "debtor_name",
        "debtor_address",
        "debtor_phone",
        "debtor_email",
    }
    assert another_persons_fields(cases, case_row().data, identity) == []


def test_identity_grows_through_parties_that_hold_a_known_identifier(catalogue: Catalogue) -> None:
    """Found by email only: the case that holds the email teaches the national id and the name."""
    identity = learn_subject(catalogue, {IdentifierType.email: ["OLA.nordmann@eksempel.no"]}, [case_row()])
    assert identity.knows(IdentifierType.national_id, "14837810060")
    assert identity.knows(IdentifierType.phone, "+4740000001") and "ola nordmann" in identity.names


def test_a_row_whose_party_cannot_be_told_is_the_subjects(catalogue: Catalogue) -> None:
    """A payment's payer account names nobody: it stays (it is on the subject's own payment)."""
    payments = catalogue.systems["debt_collection"].tables["payments"]
    identity = learn_subject(catalogue, SEEDS, [case_row()])
    assert another_persons_fields(payments, {"payer_account": "15030012345", "amount": 1}, identity) == []
