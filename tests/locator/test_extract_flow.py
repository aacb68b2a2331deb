"""Locate a showcase subject, then fulfil the access request: the extract holds exactly the rows the
generator created for that person, each with purpose, legal basis, retention and source."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import pytest

from schemas.envelope import Envelope
from schemas.events import SubjectLocated
from schemas.requests import RequestType
from services.artifacts.sealing import ConfiguredKeys, open_sealed
from services.artifacts.store import ArtifactStore
from services.catalogue.model import Catalogue
from services.demo.generator import showcase_placements
from services.demo.loader import DemoSystems
from services.fulfilment.extract import Company, HeldRecord, assemble
from services.fulfilment.keeping import Anchor, retention_view
from services.fulfilment.service import Fulfilment
from services.fulfilment.sources import SourceReader
from services.fulfilment.texts import texts
from services.locator.locate import Locator
from services.locator.service import LocatorFlow
from tests.locator.conftest import locator_settings
from tests.locator.test_flow import deliver, insert_request

KEYS = ConfiguredKeys.parse("k1:" + "A" * 43)
COMPANY = Company("Inkasso og Faktura AS", "Personvernombudet", "personvernombud@example.no")


@pytest.fixture
def flow(locator: Locator, demo: DemoSystems) -> LocatorFlow:
    return LocatorFlow(locator, locator_settings(demo))


async def _located(key: str, flow: LocatorFlow, pool: asyncpg.Pool, database_url: str) -> uuid.UUID:
    """A request for a showcase subject, through the locator's handler."""
    async with pool.acquire() as conn:
        request_id = await insert_request(conn, key)
    assert await deliver(flow, pool, database_url, request_id) == "handled"
    return request_id


async def _run_fulfilment(
    catalogue: Catalogue, demo: DemoSystems, pool: asyncpg.Pool, request_id: uuid.UUID
) -> None:
    sources = SourceReader(catalogue, demo.source_systems(catalogue))
    located = Envelope[SubjectLocated](
        event_type="request.located",
        producer="locator",
        request_id=request_id,
        payload=SubjectLocated(type=RequestType.access, finding_count=0, systems_searched=10),
    )
    try:
        async with pool.acquire() as conn, conn.transaction():
            await Fulfilment(catalogue, sources, ArtifactStore(KEYS), COMPANY).on_located(conn, located)
    finally:
        await sources.close()


async def _fulfil(
    catalogue: Catalogue, demo: DemoSystems, pool: asyncpg.Pool, request_id: uuid.UUID
) -> dict[str, Any]:
    """Fulfil the located request; returns its extract, decrypted."""
    await _run_fulfilment(catalogue, demo, pool, request_id)
    artifact = await pool.fetchrow(
        "select id, kind, key_id, sealed from artifacts where request_id = $1 and kind = 'extract_json'",
        request_id,
    )
    assert artifact["kind"] == "extract_json"
    return json.loads(open_sealed(artifact["sealed"], KEYS.key(artifact["key_id"]), artifact["id"].bytes))  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "key", ["open_case_debtor", "closed_case_debtor", "newsletter_only", "client_contact_aml"]
)
async def test_the_extract_holds_exactly_the_subjects_rows_with_why_they_are_held(
    key: str,
    flow: LocatorFlow,
    pool: asyncpg.Pool,
    database_url: str,
    catalogue: Catalogue,
    demo: DemoSystems,
) -> None:
    request_id = await _located(key, flow, pool, database_url)
    extract = await _fulfil(catalogue, demo, pool, request_id)
    placed = {(ref.system, ref.table, ref.id) for ref in showcase_placements()[key]}
    assert extract["record_count"] == len(placed)
    held = {(r["system"], r["table"]) for r in extract["records"]}
    assert held == {(s, t) for s, t, _ in placed}
    for record in extract["records"]:
        assert record["purpose"] and record["legal_basis"] and record["retention"]["rule"]
        assert isinstance(record["source"], list) and isinstance(record["recipients"], list)
        assert "id" not in record["data"]  # internal keys are not the subject's data
    statuses = [
        r["status"]
        for r in await pool.fetch(
            "select status from request_status_history where request_id = $1 order by id", request_id
        )
    ]
    assert statuses[-2:] == ["fulfilling", "completed"]


async def test_a_person_with_no_data_gets_an_extract_that_says_so(
    flow: LocatorFlow,
    pool: asyncpg.Pool,
    database_url: str,
    catalogue: Catalogue,
    demo: DemoSystems,
) -> None:
    request_id = await _located("unknown_person", flow, pool, database_url)
    extract = await _fulfil(catalogue, demo, pool, request_id)
    assert extract["records"] == [] and extract["summary"] == texts("nb").summary_none


def test_a_retention_date_is_computed_from_the_rows_own_date(catalogue: Catalogue) -> None:
    cases = catalogue.systems["debt_collection"].tables["cases"]
    assert cases.retention is not None
    closed = retention_view(cases.retention, Anchor(cases.retention, date(2026, 3, 1)), texts("en"), "en")
    assert (closed.rule, closed.date) == (cases.retention.description.en, date(2029, 3, 1))
    still_open = retention_view(cases.retention, Anchor(cases.retention, None), texts("en"), "en")
    assert still_open.date is None and still_open.until == texts("en").until_case_closed
    extract = assemble(
        catalogue,
        reference="DSR-2026-000001",
        received_at=datetime(2026, 11, 1, tzinfo=UTC),
        records=[
            HeldRecord("debt_collection", "cases", {"id": "1"}, ("user.case",), {"id": 1, "status": "open"})
        ],
        generated_at=datetime(2026, 11, 2, tzinfo=UTC),
        company=COMPANY,
    )
    [record] = extract.records
    assert "You, the data subject" not in record.source and record.collected_from_subject
    assert record.legal_basis[0].startswith("GDPR Art. 6(1)")


async def test_special_category_data_waits_for_a_person_and_releases_nothing(
    flow: LocatorFlow, pool: asyncpg.Pool, database_url: str, catalogue: Catalogue, demo: DemoSystems
) -> None:
    request_id = await _located("health_note_debtor", flow, pool, database_url)
    await _run_fulfilment(catalogue, demo, pool, request_id)
    assert await pool.fetchval("select status from requests where id = $1", request_id) == "needs_review"
    assert await pool.fetchval("select count(*) from artifacts where request_id = $1", request_id) == 0


async def test_processor_only_data_is_referred_to_the_client_not_released(
    flow: LocatorFlow, pool: asyncpg.Pool, database_url: str, catalogue: Catalogue, demo: DemoSystems
) -> None:
    request_id = await _located("invoice_recipient_only", flow, pool, database_url)
    extract = await _fulfil(catalogue, demo, pool, request_id)
    assert extract["records"] == []
    [referral] = extract["referred_to_controllers"]
    assert referral["system"] == "invoicing" and len(referral["controllers"]) == 2
    assert await pool.fetchval("select status from requests where id = $1", request_id) == "referred"
