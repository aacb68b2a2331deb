"""The search against the real demo systems: every showcase subject exactly where the generator
put them, the shared phone to review, the unknown person with nothing."""

from __future__ import annotations

import time

import asyncpg
import pytest

from services.catalogue.model import IdentifierType
from services.demo.generator import showcase_placements
from services.demo.loader import DemoSystems
from services.demo.rows import RowRef
from services.demo.showcase import showcase_subject, showcase_subjects
from services.locator.locate import Located, Locator, NeedsReview, Waiting
from services.locator.search import Finding
from services.systems.guard import Limits
from services.systems.postgresql import PostgresSystem

SHARED = {"shared_phone_a", "shared_phone_b"}


def refs(findings: list[Finding]) -> set[RowRef]:
    return {RowRef(f.row.system, f.row.table, int(f.row.key[0])) for f in findings}


def full_identity(key: str) -> dict[IdentifierType, str]:
    subject = showcase_subject(key)
    return {
        IdentifierType.national_id: subject.national_id,
        IdentifierType.email: subject.email,
        IdentifierType.phone: subject.phone,
    }


@pytest.mark.parametrize("key", [s.key for s in showcase_subjects() if s.key not in SHARED])
async def test_each_showcase_subject_is_found_exactly_where_the_generator_put_them(
    locator: Locator, key: str
) -> None:
    outcome = await locator.locate(full_identity(key))
    assert isinstance(outcome, Located), outcome
    assert refs(outcome.findings) == set(showcase_placements()[key])


@pytest.mark.parametrize(
    "key",
    ["open_case_debtor", "closed_case_debtor", "guarantor", "invoice_recipient_only", "health_note_debtor"],
)
async def test_the_national_id_alone_leads_to_the_same_rows(locator: Locator, key: str) -> None:
    outcome = await locator.locate({IdentifierType.national_id: showcase_subject(key).national_id})
    assert isinstance(outcome, Located), outcome
    assert refs(outcome.findings) == set(showcase_placements()[key])


@pytest.mark.parametrize("key", sorted(SHARED))
async def test_the_shared_phone_goes_to_review_without_personal_data(locator: Locator, key: str) -> None:
    outcome = await locator.locate(full_identity(key))
    assert isinstance(outcome, NeedsReview), outcome
    assert outcome.reason_code == "ambiguous_identity"
    assert outcome.counts["email"] == 2
    assert all(isinstance(v, int) for v in outcome.counts.values())


async def test_a_phone_alone_shared_by_two_people_goes_to_review(locator: Locator) -> None:
    outcome = await locator.locate({IdentifierType.phone: showcase_subject("shared_phone_a").phone})
    assert isinstance(outcome, NeedsReview)


async def test_the_unknown_person_has_no_findings(locator: Locator) -> None:
    outcome = await locator.locate(full_identity("unknown_person"))
    assert isinstance(outcome, Located)
    assert outcome.findings == []


async def test_every_finding_has_a_chain_from_the_request_to_its_row(locator: Locator) -> None:
    outcome = await locator.locate(
        {IdentifierType.national_id: showcase_subject("open_case_debtor").national_id}
    )
    assert isinstance(outcome, Located)
    letters = [f for f in outcome.findings if f.row.table == "letters"]
    assert letters
    chain = letters[0].chain
    assert chain[0] == {"via": "request", "kind": "national_id"}
    assert chain[-1]["via"] == "belongs_to" and chain[-2]["table"] == "cases"
    assert all(f.chain[0]["via"] == "request" for f in outcome.findings)
    assert letters[0].categories  # what kind of data the row holds


async def test_a_case_number_names_its_debtor_and_so_their_rows(locator: Locator) -> None:
    placed = showcase_placements()["open_case_debtor"]
    case = next(r for r in placed if r.table == "cases")
    conn_rows = await locator.locate(
        {IdentifierType.national_id: showcase_subject("open_case_debtor").national_id}
    )
    assert isinstance(conn_rows, Located)
    assert case in refs(conn_rows.findings)


async def test_a_customer_number_alone_leads_to_the_invoice_and_from_it_to_its_recipient(
    locator: Locator, demo: DemoSystems
) -> None:
    placed = showcase_placements()["invoice_recipient_only"]
    invoice = next(r for r in placed if r.table == "invoices")
    conn = await asyncpg.connect(demo.url("invoicing"))
    try:
        number = await conn.fetchval("select customer_number from invoices where id = $1", invoice.id)
    finally:
        await conn.close()
    outcome = await locator.locate({IdentifierType.customer_number: number})
    assert isinstance(outcome, Located), outcome
    assert refs(outcome.findings) == set(placed)


async def test_a_chain_deeper_than_the_round_budget_goes_to_review(locator: Locator) -> None:
    shallow = Locator(locator.plans, locator.systems, max_rounds=1)
    outcome = await shallow.locate(full_identity("open_case_debtor"))
    assert isinstance(outcome, NeedsReview) and outcome.reason_code == "search_too_deep"


async def test_an_unreachable_system_is_waited_for_and_then_fails_fast_while_it_cools_down(
    locator: Locator,
) -> None:
    crm = locator.systems["crm"]
    assert isinstance(crm, PostgresSystem)
    closed = PostgresSystem(
        "crm",
        crm.spec,
        locator.plans["crm"],
        "postgresql://nobody@127.0.0.1:9/none",
        limits=Limits(timeout=0.5, attempts=2, cooldown=60),
        read_only=True,
        application_name="test",
    )
    broken = Locator(locator.plans, {**locator.systems, "crm": closed})
    try:
        first = await broken.locate(full_identity("client_contact_aml"))
        assert first == Waiting(("crm",))
        started = time.monotonic()
        assert await broken.locate(full_identity("client_contact_aml")) == Waiting(("crm",))
        assert time.monotonic() - started < 0.2 and closed.statements == 2
        # A search that never needs the CRM (no email or phone to look for there) still completes.
        unknown = showcase_subject("unknown_person").national_id
        assert isinstance(await broken.locate({IdentifierType.national_id: unknown}), Located)
    finally:
        await closed.close()
