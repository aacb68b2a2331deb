"""The `spouse_in_call_note` showcase on the demo systems, through the locator and fulfilment: his
call note gives his wife's phone number and national id; his extract keeps his own and withholds
hers (bokmål and English, JSON, HTML and PDF), says what was withheld and why, and no withheld value
reaches a log line, the audit trail, an event or the status history. A note naming her (no
identifier) makes the extract wait for a person, whose decision the extract then follows."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest
from pypdf import PdfReader

from schemas.envelope import Envelope
from schemas.events import SubjectLocated
from schemas.requests import RequestType
from services.artifacts.sealing import ConfiguredKeys, open_sealed
from services.artifacts.store import ArtifactStore
from services.catalogue.model import Catalogue
from services.demo.generator import showcase_placements
from services.demo.loader import DemoSystems, create_demo_systems, drop_demo_systems
from services.demo.showcase import CALL_NOTE_SPOUSE, showcase_subject
from services.fulfilment.access import FREE_TEXT_REVIEW, AccessFulfilment
from services.fulfilment.extract import Company, SpecialRelease
from services.fulfilment.review import decide
from services.fulfilment.service import Fulfilment
from services.fulfilment.sources import SourceReader
from services.fulfilment.texts import texts
from services.launcher.embedded_postgres import EmbeddedPostgres
from services.locator.locate import Locator
from services.locator.service import LocatorFlow
from tests.locator.conftest import locator_settings
from tests.locator.test_flow import deliver, history

KEY = "spouse_in_call_note"
KEYS = ConfiguredKeys.parse("k1:" + "F" * 43)
COMPANY = Company("Inkasso og Faktura AS", "Personvernombudet", "personvernombud@example.no")
WIFE = CALL_NOTE_SPOUSE
WIFE_VALUES = (
    WIFE.national_id,
    f"{WIFE.national_id[:6]} {WIFE.national_id[6:]}",
    WIFE.phone,
    WIFE.phone.removeprefix("+47"),
    "400 00 012",
)


@pytest.fixture(scope="session")
async def call_note_demo(postgres: EmbeddedPostgres) -> AsyncIterator[DemoSystems]:
    """A load of its own: the review test adds a note to it."""
    prefix = f"ftx{uuid.uuid4().hex[:8]}_"
    demo = await create_demo_systems(postgres.url(), subjects=0, seed=7, prefix=prefix)
    yield demo
    await drop_demo_systems(postgres.url(), prefix=prefix)


@pytest.fixture
async def parts(
    call_note_demo: DemoSystems, catalogue: Catalogue
) -> AsyncIterator[tuple[LocatorFlow, AccessFulfilment]]:
    settings = locator_settings(call_note_demo)
    locator = Locator.from_catalogue(
        catalogue, server_url=call_note_demo.server_url, settings=settings, env=call_note_demo.env
    )
    sources = SourceReader(catalogue, call_note_demo.source_systems(catalogue))
    yield LocatorFlow(locator, settings), AccessFulfilment(catalogue, sources, ArtifactStore(KEYS), COMPANY)
    await sources.close()
    await locator.close()


async def _access(
    parts: tuple[LocatorFlow, AccessFulfilment], pool: asyncpg.Pool, database_url: str, language: str
) -> tuple[uuid.UUID, str]:
    """An access request for Ragnar (answered by letter: the PDF too), located and fulfilled."""
    flow, access = parts
    subject = showcase_subject(KEY)
    request_id = uuid.uuid4()
    async with pool.acquire() as conn:
        number = await conn.fetchval("select nextval('request_reference_seq')")
        await conn.execute(
            """insert into requests (id, reference, type, channel, status, received_at, due_date, subject,
                                     correlation_id, language)
               values ($1, $2, 'access', 'letter', 'verified', $3, $4, $5, $6, $7)""",
            request_id,
            f"DSR-2026-{number:06d}",
            datetime.now(UTC),
            datetime.now(UTC).date(),
            {"national_id": subject.national_id},
            str(request_id),
            language,
        )
        await conn.executemany(
            "insert into request_identifiers (request_id, kind, value) values ($1, $2, $3)",
            [(request_id, kind, getattr(subject, kind)) for kind in ("national_id", "email", "phone")],
        )
    assert await deliver(flow, pool, database_url, request_id) == "handled"
    located = Envelope[SubjectLocated](
        event_type="request.located",
        producer="locator",
        request_id=request_id,
        payload=SubjectLocated(type=RequestType.access, finding_count=0, systems_searched=10),
    )
    async with pool.acquire() as conn, conn.transaction():
        await Fulfilment(access.catalogue, access.sources, access.artifacts, access.company).on_located(
            conn, located
        )
    return request_id, str(await pool.fetchval("select status from requests where id = $1", request_id))


async def _artifacts(pool: asyncpg.Pool, request_id: uuid.UUID) -> dict[str, bytes]:
    rows = await pool.fetch(
        "select id, kind, key_id, sealed from artifacts where request_id = $1", request_id
    )
    return {r["kind"]: open_sealed(r["sealed"], KEYS.key(r["key_id"]), r["id"].bytes) for r in rows}


async def _everything_else(pool: asyncpg.Pool, request_id: uuid.UUID) -> str:
    """What the pipeline wrote besides the sealed artifacts: audit trail, events, status history."""
    rows = []
    for query in (
        "select action, detail::text from audit_events where request_id = $1",
        "select event_type, convert_from(value, 'UTF8') from outbox where request_id = $1",
        "select status, reason from request_status_history where request_id = $1",
    ):
        rows += [" ".join(str(v) for v in row.values()) for row in await pool.fetch(query, request_id)]
    return "\n".join(rows)


@pytest.mark.parametrize("language", ["nb", "en"])
async def test_his_extract_keeps_his_identifiers_and_withholds_his_wifes(
    language: str,
    parts: tuple[LocatorFlow, AccessFulfilment],
    pool: asyncpg.Pool,
    database_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    request_id, status = await _access(parts, pool, database_url, language)
    assert status == "completed"
    artifacts = await _artifacts(pool, request_id)
    assert set(artifacts) == {"extract_json", "extract_html", "extract_pdf"}
    extract = json.loads(artifacts["extract_json"])
    placed = {(r.system, r.table) for r in showcase_placements()[KEY]}
    assert {(r["system"], r["table"]) for r in extract["records"]} == placed
    [call] = [r for r in extract["records"] if r["table"] == "call_logs"]
    [case] = [r for r in extract["records"] if r["table"] == "cases"]
    words = texts(language)
    summary = call["data"]["summary"]
    assert summary.startswith(f"Skyldner ringte fra 400 00 011 om sak {case['data']['case_number']}.")
    for kind in ("phone", "national_id"):
        assert words.withheld_marker.format(what=words.withheld_kinds[kind]) in summary
    assert call["redacted"] == [
        {"field": "summary", "reason": "another_persons_identifier", "withheld": kind, "count": 1}
        for kind in ("national_id", "phone")
    ]
    assert all(r["redacted"] == [] for r in extract["records"] if r["table"] != "call_logs")
    html = artifacts["extract_html"].decode()
    assert words.labels["redacted_in_text"] in html
    pdf = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(artifacts["extract_pdf"])).pages)
    assert " ".join(words.labels["redacted_in_text"].split()) in " ".join(pdf.split())
    audited = await pool.fetchval(
        "select detail from audit_events where request_id = $1 and action = 'free_text_redacted'", request_id
    )
    assert audited == {"identifiers": {"national_id": 1, "phone": 1}, "texts_withheld": 0}
    elsewhere = await _everything_else(pool, request_id)
    for value in WIFE_VALUES:
        for where in (artifacts["extract_json"].decode(), html, pdf, elsewhere, caplog.text):
            assert value not in where, value


async def test_a_note_naming_her_waits_for_a_person_who_decides_what_he_gets(
    parts: tuple[LocatorFlow, AccessFulfilment],
    call_note_demo: DemoSystems,
    pool: asyncpg.Pool,
    database_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    [case] = [r for r in showcase_placements()[KEY] if r.table == "cases"]
    note = f"{WIFE.name} ringte og spurte om saken."
    debt = await asyncpg.connect(call_note_demo.url("debt_collection"))
    try:
        note_id = await debt.fetchval(
            """insert into case_notes (id, case_id, written_at, author, note, health_note, restricted)
               values ((select max(id) + 1 from case_notes), $1, now(), 'agent-jon', $2, null, false)
               returning id""",
            case.id,
            note,
        )
        outcomes = {}
        for decision in (SpecialRelease.withhold, SpecialRelease.release):
            request_id, status = await _access(parts, pool, database_url, "en")
            assert status == "needs_review"
            assert (await history(pool, request_id))[-1] == ("needs_review", FREE_TEXT_REVIEW)
            assert (
                await pool.fetchval("select count(*) from artifacts where request_id = $1", request_id) == 0
            )
            async with pool.acquire() as conn, conn.transaction():
                final = await decide(
                    conn, parts[1], request_id, decision=decision, reason="Read the note.", actor="dpo-anne"
                )
            assert final == "completed"
            extract = json.loads((await _artifacts(pool, request_id))["extract_json"])
            [written] = [r for r in extract["records"] if r["table"] == "case_notes"]
            outcomes[decision] = written
            actions = await pool.fetch(
                "select action, detail->>'decision' as decision from audit_events where request_id = $1",
                request_id,
            )
            assert ("free_text_reviewed", decision.value) in {(a["action"], a["decision"]) for a in actions}
        withheld, released = outcomes[SpecialRelease.withhold], outcomes[SpecialRelease.release]
        assert withheld["data"]["note"] == texts("en").withheld_text
        assert withheld["redacted"] == [
            {"field": "note", "reason": "mentions_another_person", "withheld": None, "count": None}
        ]
        assert released["data"]["note"] == note and released["redacted"] == []
        # A health note as well: one review answers both questions.
        await debt.execute(
            "update case_notes set health_note = $2 where id = $1", note_id, "Sykemeldt; kona hjelper."
        )
        request_id, status = await _access(parts, pool, database_url, "nb")
        assert status == "needs_review"
        assert (await history(pool, request_id))[-1] == (
            "needs_review",
            f"special_category+{FREE_TEXT_REVIEW}",
        )
        async with pool.acquire() as conn, conn.transaction():
            await decide(
                conn,
                parts[1],
                request_id,
                decision=SpecialRelease.release,
                reason="Given by him.",
                actor="dpo-anne",
            )
        extract = json.loads((await _artifacts(pool, request_id))["extract_json"])
        [both] = [r for r in extract["records"] if r["table"] == "case_notes"]
        assert both["data"]["note"] == note and both["special_category"] == ["health_note"]
        assert WIFE.name not in caplog.text
    finally:
        await debt.execute("delete from case_notes where id = $1", note_id)
        await debt.close()
