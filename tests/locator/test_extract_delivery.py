"""Issue 6's "must hold" on the demo systems: every showcase subject's extract holds exactly the
rows the generator created for them, with why, how long and from where; the JSON validates, the
HTML renders in Chromium, the PDF's text is the extract; special-category data waits for a
person's release; processor data is referred (one event per client); other people are redacted."""

from __future__ import annotations

import io
import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import jsonschema
import pytest
from pypdf import PdfReader

from schemas.envelope import Envelope
from schemas.events import SubjectLocated
from schemas.generate import extract_schema
from schemas.requests import RequestType
from services.artifacts.sealing import ConfiguredKeys, open_sealed
from services.artifacts.store import ArtifactStore
from services.catalogue.model import Catalogue
from services.demo.generator import showcase_placements
from services.demo.loader import DemoSystems
from services.demo.showcase import showcase_subject
from services.fulfilment.access import AccessFulfilment
from services.fulfilment.extract import Company, HeldRecord, SpecialRelease, is_processor_data, subject_fields
from services.fulfilment.review import NotAwaitingRelease, decide
from services.fulfilment.service import Fulfilment
from services.fulfilment.sources import SourceReader
from services.fulfilment.texts import texts
from services.locator.locate import Locator
from services.locator.service import LocatorFlow
from tests.locator.conftest import locator_settings
from tests.locator.test_flow import deliver
from tests.support.browser import chromium_page, screenshot_path

KEYS = ConfiguredKeys.parse("k1:" + "B" * 43)
COMPANY = Company("Inkasso og Faktura AS", "Personvernombudet", "personvernombud@example.no")
VALIDATOR = jsonschema.Draft202012Validator(extract_schema())


@pytest.fixture
def flow(locator: Locator, demo: DemoSystems) -> LocatorFlow:
    return LocatorFlow(locator, locator_settings(demo))


@pytest.fixture
async def access(catalogue: Catalogue, demo: DemoSystems) -> AsyncIterator[AccessFulfilment]:
    sources = SourceReader(catalogue, demo.source_systems(catalogue))
    yield AccessFulfilment(catalogue, sources, ArtifactStore(KEYS), COMPANY)
    await sources.close()


async def _request(
    pool: asyncpg.Pool,
    key: str,
    *,
    type: str = "access",
    language: str = "nb",
    kinds: tuple[str, ...] = ("national_id", "email", "phone"),
    channel: str = "letter",
) -> uuid.UUID:
    subject = showcase_subject(key)
    request_id = uuid.uuid4()
    async with pool.acquire() as conn:
        number = await conn.fetchval("select nextval('request_reference_seq')")
        await conn.execute(
            """insert into requests (id, reference, type, channel, status, received_at, due_date, subject,
                                     correlation_id, language)
               values ($1, $2, $3, $9, 'verified', $4, $5, $6, $7, $8)""",
            request_id,
            f"DSR-2026-{number:06d}",
            type,
            datetime.now(UTC),
            datetime.now(UTC).date(),
            {"national_id": subject.national_id},
            str(request_id),
            language,
            channel,
        )
        await conn.executemany(
            "insert into request_identifiers (request_id, kind, value) values ($1, $2, $3)",
            [(request_id, kind, getattr(subject, kind)) for kind in kinds],
        )
    return request_id


async def _locate_and_fulfil(
    flow: LocatorFlow, access: AccessFulfilment, pool: asyncpg.Pool, database_url: str, request_id: uuid.UUID
) -> str:
    assert await deliver(flow, pool, database_url, request_id) == "handled"
    status = await pool.fetchval("select status from requests where id = $1", request_id)
    if status != "fulfilling" and status != "locating":
        return str(status)
    request_type = await pool.fetchval("select type from requests where id = $1", request_id)
    located = Envelope[SubjectLocated](
        event_type="request.located",
        producer="locator",
        request_id=request_id,
        payload=SubjectLocated(type=RequestType(request_type), finding_count=0, systems_searched=10),
    )
    async with pool.acquire() as conn, conn.transaction():
        fulfilment = Fulfilment(access.catalogue, access.sources, access.artifacts, access.company)
        await fulfilment.on_located(conn, located)
    return str(await pool.fetchval("select status from requests where id = $1", request_id))


async def _artifacts(pool: asyncpg.Pool, request_id: uuid.UUID) -> dict[str, bytes]:
    rows = await pool.fetch(
        "select id, kind, key_id, sealed, size from artifacts where request_id = $1", request_id
    )
    opened = {r["kind"]: open_sealed(r["sealed"], KEYS.key(r["key_id"]), r["id"].bytes) for r in rows}
    assert all(len(opened[r["kind"]]) == r["size"] for r in rows)
    return opened


async def _generated_rows(access: AccessFulfilment, key: str) -> list[HeldRecord]:
    """The rows the generator placed for `key`, read by primary key from the demo systems."""
    refs = [
        {"system": r.system, "table": r.table, "primary_key": {"id": str(r.id)}, "categories": []}
        for r in showcase_placements()[key]
    ]
    return await access.sources.read(refs)  # type: ignore[arg-type]


def _multiset(records: list[dict[str, Any]]) -> Counter[str]:
    return Counter(json.dumps([r["system"], r["table"], r["data"]], sort_keys=True) for r in records)


EXPECTED = {
    "open_case_debtor": "completed",
    "closed_case_debtor": "completed",
    "guarantor": "completed",
    "newsletter_only": "completed",
    "client_contact_aml": "completed",
    "invoice_recipient_only": "referred",
    "health_note_debtor": "needs_review",
    "unknown_person": "completed",
}


@pytest.mark.parametrize("key", sorted(EXPECTED))
async def test_each_showcase_extract_holds_exactly_the_generators_rows_with_why_they_are_held(
    key: str,
    flow: LocatorFlow,
    access: AccessFulfilment,
    pool: asyncpg.Pool,
    database_url: str,
    catalogue: Catalogue,
) -> None:
    request_id = await _request(pool, key, language="en")
    assert await _locate_and_fulfil(flow, access, pool, database_url, request_id) == EXPECTED[key]
    if EXPECTED[key] == "needs_review":
        assert await pool.fetchval("select count(*) from artifacts where request_id = $1", request_id) == 0
        async with pool.acquire() as conn, conn.transaction():
            final = await decide(
                conn,
                access,
                request_id,
                decision=SpecialRelease.release,
                reason="Given by him.",
                actor="dpo-anne",
            )
        assert final == "completed"
    artifacts = await _artifacts(pool, request_id)
    assert set(artifacts) == {"extract_json", "extract_html", "extract_pdf"}
    extract = json.loads(artifacts["extract_json"])
    assert list(VALIDATOR.iter_errors(extract)) == []
    generated = await _generated_rows(access, key)
    ours = [r for r in generated if not is_processor_data(catalogue, r.system)]
    expected = [
        {
            "system": r.system,
            "table": r.table,
            "data": subject_fields(catalogue.systems[r.system].tables[r.table], r.data),
        }
        for r in ours
    ]
    assert _multiset(extract["records"]) == _multiset(expected)
    assert extract["record_count"] == len(ours)
    for record in extract["records"]:
        assert record["purpose"] and record["legal_basis"] and record["retention"]["rule"]
        assert record["retention"]["date"] or record["retention"]["until"]
        assert record["source"] or record["collected_from_subject"]
        assert record["redacted"] == []  # the showcase rows name nobody else
    if not ours:
        assert extract["summary"] == texts("en").summary_none
    if key == "health_note_debtor":
        [note] = [r for r in extract["records"] if r["data"].get("health_note")]
        assert note["special_category"] == ["health_note"]
    if key == "open_case_debtor":
        by_table = {r["table"]: r for r in extract["records"]}
        assert by_table["cases"]["retention"]["until"] == texts("en").until_case_closed
        assert by_table["credit_reports"]["automated_decision"]["logic"]
        assert by_table["address_updates"]["source"] == [
            "The National Population Register (Folkeregisteret), through our processor for address updates"
        ]


async def test_a_closed_case_shows_the_day_its_link_to_the_subject_goes(
    flow: LocatorFlow, access: AccessFulfilment, pool: asyncpg.Pool, database_url: str
) -> None:
    request_id = await _request(pool, "closed_case_debtor")
    await _locate_and_fulfil(flow, access, pool, database_url, request_id)
    extract = json.loads((await _artifacts(pool, request_id))["extract_json"])
    dates = {(r["table"], r["retention"]["date"]) for r in extract["records"]}
    closed_plus_three = date(2023, 5, 15).isoformat()  # closed 15 May 2020
    assert ("cases", closed_plus_three) in dates and ("letters", closed_plus_three) in dates
    assert ("address_updates", closed_plus_three) in dates  # follows the case it was fetched for
    assert {d for t, d in dates if t == "ledger_entries"} <= {"2029-11-29", "2030-05-14"}  # 10 years


async def test_processor_data_is_referred_to_each_client_with_one_event_each(
    flow: LocatorFlow, access: AccessFulfilment, pool: asyncpg.Pool, database_url: str
) -> None:
    request_id = await _request(pool, "invoice_recipient_only")
    assert await _locate_and_fulfil(flow, access, pool, database_url, request_id) == "referred"
    extract = json.loads((await _artifacts(pool, request_id))["extract_json"])
    [referral] = extract["referred_to_controllers"]
    assert len(referral["controllers"]) == 2 and referral["record_count"] == 2
    events = await pool.fetch(
        "select topic, event_type, value from outbox where request_id = $1 and event_type = 'request.referred_to_controller'",
        request_id,
    )
    assert {e["topic"] for e in events} == {"dsr.referrals.v1"}
    payloads = [json.loads(e["value"])["payload"] for e in events]
    assert sorted(p["controller"] for p in payloads) == referral["controllers"]
    assert all(p["record_count"] == 1 and p["controller_org_number"] for p in payloads)
    assert showcase_subject("invoice_recipient_only").national_id not in str(payloads)


async def test_a_reviewer_can_withhold_special_category_data_and_decides_only_once(
    flow: LocatorFlow, access: AccessFulfilment, pool: asyncpg.Pool, database_url: str
) -> None:
    request_id = await _request(pool, "health_note_debtor")
    assert await _locate_and_fulfil(flow, access, pool, database_url, request_id) == "needs_review"
    async with pool.acquire() as conn, conn.transaction():
        await decide(
            conn,
            access,
            request_id,
            decision=SpecialRelease.withhold,
            reason="Third-party health details.",
            actor="agent-ola",
        )
    extract = json.loads((await _artifacts(pool, request_id))["extract_json"])
    assert "sykemelding" not in json.dumps(extract)
    assert [r["withheld_special_category"] for r in extract["records"] if r["withheld_special_category"]] == [
        ["health_note"]
    ]
    review = await pool.fetchrow(
        "select decision, decided_by from extract_reviews where request_id = $1", request_id
    )
    assert dict(review) == {"decision": "withhold", "decided_by": "agent-ola"}
    audited = await pool.fetchval(
        "select actor from audit_events where request_id = $1 and action = 'special_category_reviewed'",
        request_id,
    )
    assert audited == "agent-ola"
    with pytest.raises(NotAwaitingRelease):
        async with pool.acquire() as conn, conn.transaction():
            await decide(conn, access, request_id, decision=SpecialRelease.release, reason="again", actor="x")


async def test_a_payment_someone_else_made_on_the_subjects_case_is_shown_without_the_payer(
    flow: LocatorFlow, access: AccessFulfilment, pool: asyncpg.Pool, database_url: str, demo: DemoSystems
) -> None:
    """Per Bakkebø, the guarantor, pays an instalment on Ola Nordmann's case: Ola sees the payment,
    not who made it or from which account (Art. 15(4))."""
    books = await asyncpg.connect(demo.url("accounting"))
    cases = await asyncpg.connect(demo.url("debt_collection"))
    try:
        case_number = await cases.fetchval(
            "select case_number from cases where debtor_national_id = $1",
            showcase_subject("open_case_debtor").national_id,
        )
        entry = await books.fetchval(
            """insert into ledger_entries (id, voucher_number, booked_on, account, amount, description,
                                           counterparty_name, counterparty_account, case_number, restricted)
               values ((select max(id) + 1 from ledger_entries), 'V-TEST', '2026-05-02', '1920', 700,
                       'Innbetaling', $1, '98760054321', $2, false) returning id""",
            showcase_subject("guarantor").name,
            case_number,
        )
        request_id = await _request(pool, "open_case_debtor")
        assert await _locate_and_fulfil(flow, access, pool, database_url, request_id) == "completed"
    finally:
        await books.execute("delete from ledger_entries where voucher_number = 'V-TEST'")
        await books.close()
        await cases.close()
    artifacts = await _artifacts(pool, request_id)
    extract = json.loads(artifacts["extract_json"])
    ledger = [r for r in extract["records"] if r["table"] == "ledger_entries"]
    redacted = [r for r in ledger if r["redacted"]]
    assert len(ledger) == 4 and len(redacted) == 1 and entry
    assert [x["field"] for x in redacted[0]["redacted"]] == ["counterparty_name", "counterparty_account"]
    assert {r["data"]["counterparty_name"] for r in ledger if not r["redacted"]} == {"Ola Nordmann"}
    for content in artifacts.values():
        assert b"Bakkeb" not in content and b"98760054321" not in content
    pdf_text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(artifacts["extract_pdf"])).pages)
    assert "Bakkeb" not in pdf_text and texts("nb").labels["redacted"].split(" (")[0] in " ".join(
        pdf_text.split()
    )


async def test_portability_packs_what_the_subject_gave_on_consent_or_contract(
    flow: LocatorFlow, access: AccessFulfilment, pool: asyncpg.Pool, database_url: str
) -> None:
    import zipfile

    request_id = await _request(pool, "open_case_debtor", type="portability")
    assert await _locate_and_fulfil(flow, access, pool, database_url, request_id) == "completed"
    artifacts = await _artifacts(pool, request_id)
    assert set(artifacts) == {"portability_zip"}
    archive = zipfile.ZipFile(io.BytesIO(artifacts["portability_zip"]))
    # Given by him on a contract (6(1)(b)): the case's contact details, payments, the plan, his email.
    # Not the creditor's claims, our letters and notes, the credit report or the register's address.
    assert sorted(archive.namelist()) == [
        "correspondence.emails.csv",
        "debt_collection.cases.csv",
        "debt_collection.instalment_plans.csv",
        "debt_collection.payments.csv",
        "extract.json",
    ]
    packed = json.loads(archive.read("extract.json"))
    assert packed["kind"] == "portability" and packed["record_count"] == 6
    assert list(VALIDATOR.iter_errors(packed)) == []
    payments = archive.read("debt_collection.payments.csv").decode("utf-8-sig").splitlines()
    assert payments[0] == "paid_on,amount,payer_account" and len(payments) == 4


@pytest.mark.browser
@pytest.mark.parametrize("language", ["nb", "en"])
async def test_the_html_extract_renders_in_chromium_and_the_pdf_holds_the_same_text(
    language: str, flow: LocatorFlow, access: AccessFulfilment, pool: asyncpg.Pool, database_url: str
) -> None:
    request_id = await _request(pool, "open_case_debtor", language=language)
    await _locate_and_fulfil(flow, access, pool, database_url, request_id)
    artifacts = await _artifacts(pool, request_id)
    extract = json.loads(artifacts["extract_json"])
    words = texts(language)
    async with chromium_page() as page:
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        await page.set_content(artifacts["extract_html"].decode(), wait_until="load")
        assert await page.locator("section.record").count() == extract["record_count"] == 18
        assert await page.locator("#reference").inner_text() == extract["reference"]
        assert await page.locator("#summary").inner_text() == words.summary(18)
        assert await page.locator("#rights li").count() == 6
        assert await page.get_attribute("#complaint a", "href") == "https://www.datatilsynet.no"
        assert COMPANY.dpo_email in await page.locator("#dpo").inner_text()
        assert await page.evaluate("document.documentElement.lang") == language
        await page.screenshot(path=str(screenshot_path(f"extract-{language}")), full_page=True)
        assert errors == []
    text = " ".join(
        "".join(p.extract_text() for p in PdfReader(io.BytesIO(artifacts["extract_pdf"])).pages).split()
    )
    case_number = next(r["data"]["case_number"] for r in extract["records"] if r["table"] == "cases")
    for expected in (
        extract["reference"],
        words.title,
        words.summary(18),
        case_number,
        "Datatilsynet",
        words.labels["automated"],
    ):
        assert " ".join(expected.split()) in text, expected


async def test_an_answer_by_email_has_no_pdf_one_by_post_has(
    flow: LocatorFlow, access: AccessFulfilment, pool: asyncpg.Pool, database_url: str
) -> None:
    """The PDF is for the printed letter: made for a letter, not for a phone request answered by email."""
    by_email = await _request(pool, "open_case_debtor", channel="phone")
    assert await _locate_and_fulfil(flow, access, pool, database_url, by_email) == "completed"
    assert set(await _artifacts(pool, by_email)) == {"extract_json", "extract_html"}
    by_post = await _request(pool, "open_case_debtor", channel="letter")
    assert await _locate_and_fulfil(flow, access, pool, database_url, by_post) == "completed"
    assert set(await _artifacts(pool, by_post)) == {"extract_json", "extract_html", "extract_pdf"}
