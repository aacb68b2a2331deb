"""Erasure on the showcase subjects, exactly as the issue's "Must hold" lists them."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from services.catalogue.model import Catalogue
from services.erasure.review import approve_plan
from services.erasure.suppression import is_suppressed
from services.erasure.worker import run_once
from tests.erasure.conftest import HASH_KEY, Harness, close, harness_for
from tests.support import behind


def _tables(entries: list[dict[str, object]]) -> set[tuple[object, object]]:
    return {(e["system"], e["table"]) for e in entries}


async def test_open_case_debtor_keeps_the_case_while_open_and_erases_the_rest(harness: Harness) -> None:
    request_id = await harness.located("open_case_debtor")
    await harness.fulfil(request_id)
    assert await harness.status(request_id) == "completed"
    [cert] = await harness.certificates(request_id)
    assert sorted(cert["_media_types"]) == ["application/json", "text/html; charset=utf-8"]
    assert cert["rescan"]["clean"] and cert["rescan"]["found"] > 0
    kept = {(e["system"], e["table"]): e for e in cert["kept"]}
    case = kept[("debt_collection", "cases")]
    assert case["while"]["en"] == "while the case is open" and case["restricted"]
    assert "Saken er åpen" in case["reason"]["nb"]
    assert ("accounting", "ledger_entries") in kept and kept[("accounting", "ledger_entries")]["until"]
    assert ("debt_collection", "case_notes") in _tables(cert["erased"])  # no legal claim: may go
    [restricted] = await harness.rows(
        "debt_collection", "select restricted from cases where debtor_national_id = '14837810060'"
    )
    assert restricted["restricted"] is True
    assert not await harness.rows(
        "debt_collection",
        "select 1 from case_notes c join cases k on k.id = c.case_id where k.debtor_national_id = '14837810060'",
    )
    assert cert["recipients_notified"]


async def test_closed_case_debtor_is_anonymised_and_the_books_kept_until_their_date(harness: Harness) -> None:
    request_id = await harness.located("closed_case_debtor")
    await harness.fulfil(request_id)
    assert await harness.status(request_id) == "completed"
    [cert] = await harness.certificates(request_id)
    assert ("debt_collection", "cases") in _tables(cert["anonymised"])
    books = [e for e in cert["kept"] if e["table"] == "ledger_entries"]
    assert books and all(e["until"] and e["until"] >= "2029-11-29" for e in books)
    assert not await harness.rows(
        "debt_collection", "select 1 from cases where debtor_national_id = '02916510260'"
    )
    scheduled = await harness.pool.fetch(
        "select due_on from erasure_schedule where request_id = $1 and status = 'pending'", request_id
    )
    assert len(scheduled) == len(books)


async def test_newsletter_only_is_erased_and_cannot_sign_up_again(harness: Harness) -> None:
    """The subscriber lives only in the newsletter SaaS: erased through its HTTP API, proven by re-scan."""
    email = "siri.solstad@eksempel.no"
    tables = harness.catalogue.systems["marketing"].tables

    async def held() -> int:
        count = 0
        for table in tables:
            count += sum(
                r["email"] == email for r in await behind.table_rows(harness.demo, "marketing", table)
            )
        return count

    assert await held() >= 1
    request_id = await harness.located("newsletter_only")
    await harness.fulfil(request_id)
    assert await harness.status(request_id) == "completed"
    assert await held() == 0  # gone from the SaaS's own data
    [cert] = await harness.certificates(request_id)
    assert (
        cert["summary"]["erased"] >= 1
        and not cert["kept"]
        and cert["rescan"]
        == {
            "clean": True,
            "searched": True,
            "found": 0,
            "unexpected": [],
            "expected": [],
        }
    )
    async with harness.pool.acquire() as conn:
        assert await is_suppressed(conn, HASH_KEY, {"email": "Siri.Solstad@eksempel.no"})
        assert not await is_suppressed(conn, HASH_KEY, {"email": "someone.else@eksempel.no"})


async def test_client_contact_aml_keeps_the_check_restricted_and_erases_the_crm(harness: Harness) -> None:
    request_id = await harness.located("client_contact_aml")
    await harness.fulfil(request_id)
    assert await harness.status(request_id) == "completed"
    [cert] = await harness.certificates(request_id)
    [aml] = [e for e in cert["kept"] if e["system"] == "aml"]
    assert (
        aml["until"] == "2029-04-02"
        and aml["restricted"]
        and "GDPR Art. 17(3)(b)" in aml["reason"]["legal_basis"]
    )
    crm = _tables(cert["anonymised"]) | _tables(cert["erased"])
    assert {("crm", "contacts"), ("crm", "contact_activities")} <= crm
    [check] = await harness.rows("aml", "select restricted from aml_checks where national_id = '09898110017'")
    assert check["restricted"] is True
    assert not await harness.rows("crm", "select 1 from contacts where email = 'henrik.vangsnes@eksempel.no'")


async def test_invoice_recipient_only_is_referred_and_nothing_erased(harness: Harness) -> None:
    before = await harness.rows("invoicing", "select * from invoices order by id")
    request_id = await harness.located("invoice_recipient_only")
    await harness.fulfil(request_id)
    assert await harness.status(request_id) == "referred"
    [cert] = await harness.certificates(request_id)
    assert not cert["erased"] and not cert["anonymised"] and cert["referred"]
    assert sum(len(v) for v in cert["controllers"].values()) == 2
    assert await harness.rows("invoicing", "select * from invoices order by id") == before


async def test_health_note_debtor_waits_for_a_person_then_runs(harness: Harness) -> None:
    request_id = await harness.located("health_note_debtor")
    await harness.fulfil(request_id)
    assert await harness.status(request_id) == "needs_review"
    assert not await harness.certificates(request_id)
    assert await harness.rows(
        "debt_collection",
        "select 1 from case_notes where health_note is not null and case_id in (select id from cases where debtor_national_id = '05925410057')",
    )
    async with harness.pool.acquire() as conn, conn.transaction():
        await approve_plan(conn, request_id, actor="test-agent")
    await harness.fulfil_pending()
    assert await harness.status(request_id) == "completed"
    audit = await harness.pool.fetch(
        "select actor from audit_events where request_id = $1 and action = 'erasure_plan_approved'",
        request_id,
    )
    assert [a["actor"] for a in audit] == ["test-agent"]
    assert len(await harness.certificates(request_id)) == 1


async def test_records_kept_until_a_date_are_erased_on_that_date_by_the_scheduler(
    second: Harness, catalogue: Catalogue, pool: asyncpg.Pool
) -> None:
    request_id = await second.located("closed_case_debtor")
    await second.fulfil(request_id)
    due = await second.pool.fetch("select record_key, due_on from erasure_schedule where status = 'pending'")
    assert due
    ids = [r["record_key"]["id"] for r in due]
    before = await second.rows(
        "accounting", "select counterparty_name from ledger_entries where id::text = any($1)", ids
    )
    assert all(r["counterparty_name"] == "Kari Fjellheim" for r in before)

    await second.fulfil_pending()  # not due yet: nothing happens
    assert await second.pool.fetchval(
        "select count(*) from erasure_schedule where status = 'pending'"
    ) == len(due)

    restarted = await harness_for(catalogue, second.demo, pool)  # a new worker: the schedule is in PostgreSQL
    try:
        latest = max(r["due_on"] for r in due)
        await run_once(restarted.erasure, pool, today=latest)
    finally:
        await close(restarted)
    after = await second.rows(
        "accounting", "select counterparty_name, restricted from ledger_entries where id::text = any($1)", ids
    )
    assert all(r["counterparty_name"].startswith("anon-") for r in after)
    assert await second.pool.fetchval("select count(*) from erasure_schedule where status = 'pending'") == 0
    scheduled = await second.pool.fetchval(
        "select count(*) from erasure_ledger l join erasure_plans p on p.id = l.plan_id where p.kind = 'scheduled'"
    )
    assert scheduled == len(due)


async def test_a_person_with_no_data_gets_a_certificate_that_says_so(harness: Harness) -> None:
    request_id = await harness.located("unknown_person")
    await harness.fulfil(request_id)
    assert await harness.status(request_id) == "completed"
    [cert] = await harness.certificates(request_id)
    assert cert["summary"] == {"erased": 0, "anonymised": 0, "kept": 0, "referred": 0}
    assert cert["rescan"]["clean"]


async def test_an_ambiguous_record_always_waits_for_a_person(second: Harness) -> None:
    """A call naming a case number no case has: whether the case still needs it cannot be told."""
    await behind.insert(
        second.demo,
        "telephony",
        "call_logs",
        {
            "id": 990000001,
            "started_at": datetime.now(UTC),
            "phone": "+4740000003",
            "direction": "inbound",
            "duration_seconds": 30,
            "agent": "agent-x",
            "case_number": "NO-SUCH-CASE",
            "summary": "Ringte.",
            "restricted": False,
        },
    )
    request_id = await second.located("guarantor")
    await second.fulfil(request_id)
    assert await second.status(request_id) == "needs_review"
    reasons = await second.pool.fetchval(
        "select review_reasons from erasure_plans where request_id = $1", request_id
    )
    assert reasons == ["ambiguous"]
    call = await behind.record(second.demo, "telephony", "call_logs", 990000001)
    assert call is not None and call["restricted"] is False  # nothing done before a person decides


async def test_a_rescan_that_finds_what_the_plan_did_not_keep_goes_to_a_person(harness: Harness) -> None:
    """A sign-up stored between planning and execution is found by the re-scan: never `completed`."""
    request_id = await harness.located("unknown_person")
    await harness.deliver(request_id)
    download = {
        "id": 990000002,
        "email": "eva.sorbotten@eksempel.no",
        "asset": "guide.pdf",
        "downloaded_at": datetime.now(UTC),
        "restricted": False,
    }
    await behind.insert(harness.demo, "marketing", "downloads", download)
    try:
        await harness.fulfil_pending()
        assert await harness.status(request_id) == "needs_review"
        [cert] = await harness.certificates(request_id)
        assert cert["rescan"]["clean"] is False
        assert cert["rescan"]["unexpected"] == [
            {"system": "marketing", "table": "downloads", "key": ["990000002"]}
        ]
    finally:
        await behind.delete(harness.demo, "marketing", "downloads", 990000002)
