"""A confirmed email opens only the records found directly by it: a shared family mailbox never
opens a debtor's case file, and the extract says what was left out and how to get it."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from schemas.envelope import Envelope
from schemas.events import SubjectLocated
from schemas.requests import RequestSubmission, RequestType, Verification
from services.artifacts.sealing import ConfiguredKeys, open_sealed
from services.artifacts.store import ArtifactStore
from services.catalogue.loader import load_catalogue
from services.catalogue.model import Catalogue, IdentifierType
from services.demo.loader import DemoSystems
from services.demo.showcase import showcase_subject
from services.fulfilment.service import Fulfilment
from services.fulfilment.sources import SourceReader
from services.intake import admission, lifecycle
from services.locator.locate import Located, Locator
from services.locator.service import LocatorFlow
from services.locator.settings import LocatorSettings
from tests.locator.test_flow import deliver

KEYS = ConfiguredKeys.parse("k1:" + "A" * 43)


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return load_catalogue("catalogue")


@pytest.fixture
async def locator(showcase: DemoSystems, catalogue: Catalogue) -> AsyncIterator[Locator]:
    settings = LocatorSettings.model_validate(
        {"demo_database_prefix": showcase.prefix, "locator_system_cooldown_seconds": 0}
    )
    located = Locator.from_catalogue(
        catalogue, server_url=showcase.server_url, settings=settings, env=showcase.env
    )
    yield located
    await located.close()


async def test_a_shared_mailbox_never_opens_the_debtors_case_file(locator: Locator) -> None:
    debtor = showcase_subject("open_case_debtor")
    full = await locator.locate({IdentifierType.email: debtor.email})
    assert isinstance(full, Located)
    by_email = [f for f in full.findings if len(f.chain) == 2 and f.chain[1]["via"] == "email"]
    assert any(f.row.system == "debt_collection" for f in by_email), (
        "the case holds the email: the test needs it"
    )
    assert len([f for f in full.findings if f.row.system == "debt_collection"]) > 1  # the whole case file
    direct = await locator.locate_direct(IdentifierType.email, debtor.email)
    assert isinstance(direct, Located)
    assert not [f for f in direct.findings if f.row.system == "debt_collection"]
    assert all(len(f.chain) == 2 and f.chain[1]["via"] == "email" for f in direct.findings)
    assert len(direct.findings) < len(full.findings)


async def test_a_confirmed_email_finds_what_it_holds_directly(locator: Locator) -> None:
    subscriber = showcase_subject("newsletter_only")
    direct = await locator.locate_direct(IdentifierType.email, subscriber.email)
    assert isinstance(direct, Located)
    assert {f.row.system for f in direct.findings} == {"marketing"}


async def _waiting_access_request(pool: asyncpg.Pool, email: str) -> uuid.UUID:
    submission = RequestSubmission.model_validate(
        {"type": "access", "channel": "web_form", "subject": {"email": email}, "details": {"language": "en"}}
    )
    async with pool.acquire() as conn, conn.transaction():
        return uuid.UUID((await admission.submit(conn, submission, actor="public-web-form")).view.id)


async def test_the_locator_and_the_extract_honour_the_scope(
    locator: Locator, showcase: DemoSystems, catalogue: Catalogue, pool: asyncpg.Pool, database_url: str
) -> None:
    debtor = showcase_subject("open_case_debtor")
    request_id = await _waiting_access_request(pool, debtor.email)
    async with pool.acquire() as conn, conn.transaction():
        view = await lifecycle.confirm_email(
            conn, request_id, actor="public-email-link", now=datetime.now(UTC)
        )
    assert view.status == "verified"
    flow = LocatorFlow(locator, LocatorSettings.model_validate({"demo_database_prefix": showcase.prefix}))
    assert await deliver(flow, pool, database_url, request_id) == "handled"
    systems = {
        r["system"] for r in await pool.fetch("select system from findings where request_id = $1", request_id)
    }
    assert "debt_collection" not in systems
    sources = SourceReader(catalogue, showcase.source_systems(catalogue))
    located = Envelope[SubjectLocated](
        event_type="request.located",
        producer="locator",
        request_id=request_id,
        payload=SubjectLocated(type=RequestType.access, finding_count=len(systems), systems_searched=10),
    )
    try:
        async with pool.acquire() as conn, conn.transaction():
            await Fulfilment(catalogue, sources, ArtifactStore(KEYS)).on_located(conn, located)
    finally:
        await sources.close()
    artifact = await pool.fetchrow(
        "select id, key_id, sealed from artifacts where request_id = $1", request_id
    )
    extract = json.loads(open_sealed(artifact["sealed"], KEYS.key(artifact["key_id"]), artifact["id"].bytes))
    assert extract["scope"]["scope"] == "email_direct"
    assert "Plan & Pay" in extract["scope"]["how_to_get"] and extract["scope"]["left_out"]
    assert not [r for r in extract["records"] if r["system"] == "debt_collection"]
    assert debtor.national_id not in json.dumps(extract)


async def test_an_agents_checks_later_give_the_full_scope(pool: asyncpg.Pool) -> None:
    request_id = await _waiting_access_request(pool, f"scope-{uuid.uuid4().hex[:6]}@example.no")
    async with pool.acquire() as conn, conn.transaction():
        checks = Verification.model_validate({"method": "id_document", "verified_by": "agent-ola"})
        await lifecycle.record_verification(conn, request_id, checks, actor="agent", now=datetime.now(UTC))
    row = await pool.fetchrow("select status, identity_scope from requests where id = $1", request_id)
    assert (row["status"], row["identity_scope"]) == ("verified", None)


async def test_newsletter_unsubscribe_needs_nothing_more(pool: asyncpg.Pool) -> None:
    submission = RequestSubmission.model_validate(
        {"type": "newsletter_unsubscribe", "channel": "web_form", "subject": {"email": "n@example.no"}}
    )
    async with pool.acquire() as conn, conn.transaction():
        view = (await admission.submit(conn, submission, actor="public-web-form")).view
    assert view.status == "verified"  # low assurance is enough: no confirmation is waited for
