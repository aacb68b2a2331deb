"""`dsr audit export` and `GET /v1/requests/{id}/audit-export`: a completed showcase request's whole
story (received, paused, extended, verified, found, fulfilled, downloaded) as JSON and as PDF, and a
tampered audit row reported as a broken chain in the export itself."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from pypdf import PdfReader

from schemas.envelope import Envelope
from schemas.events import SubjectLocated
from schemas.requests import RequestSubmission, RequestType, Verification
from services.api.app import SPEC as INTAKE
from services.api.app import configure
from services.artifacts.sealing import ConfiguredKeys
from services.artifacts.store import ArtifactStore
from services.audit.export import export
from services.catalogue.model import Catalogue
from services.demo.loader import DemoSystems
from services.demo.showcase import showcase_subject
from services.fulfilment.service import Fulfilment
from services.fulfilment.sources import SourceReader
from services.intake import admission, lifecycle
from services.locator.locate import Locator
from services.locator.service import LocatorFlow
from services.runtime.host import ServiceSpec
from services.runtime.ledger import audit
from services.runtime.settings import Settings
from tests.intake.helpers import auth
from tests.locator.conftest import locator_settings
from tests.locator.test_flow import deliver
from tests.support.serving import serving

KEYS = ConfiguredKeys.parse("k2:" + "B" * 43 + ",k1:" + "A" * 43)  # as tests/conftest.py configures
EXTENSION_REASON = "Many systems hold records of an open debt case; we need more time to review them."


async def _completed_request(
    pool: asyncpg.Pool,
    database_url: str,
    locator: Locator,
    systems: DemoSystems,
    catalogue: Catalogue,
) -> uuid.UUID:
    """The open-case debtor asks for access on the web form three days ago; the agent extends the
    deadline, records an ID document today; the locator finds him; fulfilment stores his extract;
    a link is issued and spent."""
    subject = showcase_subject("open_case_debtor")
    three_days_ago = datetime.now(UTC) - timedelta(days=3)
    body = {"type": "access", "channel": "web_form", "subject": {"national_id": subject.national_id}}
    async with pool.acquire() as conn, conn.transaction():
        submitted = await admission.submit(
            conn,
            RequestSubmission.model_validate(body),
            actor="website",
            now=three_days_ago,
            accept_synthetic=True,
        )
    request_id = uuid.UUID(submitted.view.id)
    async with pool.acquire() as conn, conn.transaction():
        await lifecycle.extend(
            conn, request_id, months=1, reason=EXTENSION_REASON, actor="agent-kari", now=datetime.now(UTC)
        )
        proof = Verification(method="id_document", verified_by="agent-kari")  # type: ignore[arg-type]
        await lifecycle.record_verification(
            conn, request_id, proof, actor="agent-kari", now=datetime.now(UTC)
        )
    verified = await pool.fetchval(
        "select value from outbox where request_id = $1 and event_type = 'request.verified'", request_id
    )
    flow = LocatorFlow(locator, locator_settings(systems))
    assert await deliver(flow, pool, database_url, request_id, value=verified) == "handled"
    located = Envelope[SubjectLocated](
        event_type="request.located",
        producer="locator",
        request_id=request_id,
        payload=SubjectLocated(type=RequestType.access, finding_count=1, systems_searched=10),
    )
    sources = SourceReader(catalogue, systems.source_systems(catalogue))
    store = ArtifactStore(KEYS)
    try:
        async with pool.acquire() as conn, conn.transaction():
            await Fulfilment(catalogue, sources, store).on_located(conn, located)
    finally:
        await sources.close()
    async with pool.acquire() as conn, conn.transaction():
        artifact = await conn.fetchval("select id from artifacts where request_id = $1", request_id)
        token = await store.issue_link(
            conn, artifact, issued_to="test-agent", valid_for=timedelta(days=1), now=datetime.now(UTC)
        )
        await store.redeem(conn, token, now=datetime.now(UTC))
    assert await pool.fetchval("select status from requests where id = $1", request_id) == "completed"
    return request_id


@pytest.fixture
async def completed(
    pool: asyncpg.Pool,
    database_url: str,
    showcase_locator: Locator,
    showcase_systems: DemoSystems,
    showcase_catalogue: Catalogue,
) -> uuid.UUID:
    return await _completed_request(
        pool, database_url, showcase_locator, showcase_systems, showcase_catalogue
    )


@contextlib.asynccontextmanager
async def _api(settings: Settings, port: int) -> AsyncIterator[httpx.AsyncClient]:
    """The intake service's routes in-process on a real port (its Kafka consumers are not needed)."""
    spec = ServiceSpec("intake", routers=INTAKE.routers, configure=configure)
    async with serving(spec, settings, port) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        yield client


def _pdf_text(content: bytes) -> str:
    assert content.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


async def test_the_export_tells_a_completed_requests_whole_story_as_json_and_pdf(
    completed: uuid.UUID, pool: asyncpg.Pool, settings: Settings, unused_tcp_port: int
) -> None:
    reference = await pool.fetchval("select reference from requests where id = $1", completed)
    # what another service might add later: its own table, and audit events of a kind unknown here
    await pool.execute(
        "create table review_notes_probe (id serial primary key, request_id uuid, note text, scan bytea)"
    )
    await pool.execute(
        "insert into review_notes_probe (request_id, note, scan) values ($1, 'checked by the DPO', $2)",
        completed,
        b"%PDF-1.7 binary",
    )
    async with pool.acquire() as conn:
        await audit(conn, completed, "dpo-anne", "review.second_opinion", {"reason": "complex case, agreed"})
    async with _api(settings, unused_tcp_port) as client:
        path = f"/v1/requests/{completed}/audit-export"
        response = await client.get(path, headers=auth("ops"))
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/json")
        pdf = await client.get(path, params={"format": "pdf"}, headers=auth("agent"))
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        assert (await client.get(path, headers=auth("system"))).status_code == 403
        assert (await client.get(path)).status_code == 401
        assert (
            await client.get(f"/v1/requests/{uuid.uuid4()}/audit-export", headers=auth("ops"))
        ).status_code == 404
    story: dict[str, Any] = response.json()

    assert story["request"]["reference"] == reference
    assert story["request"]["status"] == "completed"
    assert story["request"]["identifiers_given"] == ["national_id"]
    assert story["received"]["recorded_by"] == "website"
    assert story["verification"]["assurance"] == "substantial"
    assert [(e["action"], e["detail"]["method"]) for e in story["verification"]["events"]] == [
        ("verification_recorded", "id_document")
    ]
    deadline = story["deadline"]
    assert deadline["paused_days"] == 3
    assert deadline["extension_months"] == 1 and deadline["extension_reason"] == EXTENSION_REASON
    assert deadline["due_date"] > deadline["first_due_date"]
    assert deadline["answered_on_time"] is True
    assert {e["action"] for e in deadline["events"]} == {"deadline_extended", "clock_resumed"}

    found = {f["system"]: f for f in story["findings"]}
    db_counts = dict(
        await pool.fetch("select system, count(*) from findings where request_id = $1 group by 1", completed)
    )
    assert {system: f["rows"] for system, f in found.items()} == db_counts
    assert "debt_collection" in found and found["debt_collection"]["categories"]

    assert story["records"] == {
        "review_notes_probe": [{"id": 1, "note": "checked by the DPO", "scan": "<15 bytes>"}]
    }
    reasons = {d["what"]: d["reason"] for d in story["decisions"]}
    assert reasons["review.second_opinion"] == "complex case, agreed"
    assert reasons["deadline_extended"] == EXTENSION_REASON
    assert reasons["status verified"] == "assurance substantial"
    assert reasons["status completed"] == "extract stored"
    assert sorted(a["kind"] for a in story["artifacts"]) == ["extract_html", "extract_json"]
    artifact = next(a for a in story["artifacts"] if a["kind"] == "extract_json")
    assert (artifact["kind"], artifact["links_issued"], artifact["downloads"]) == ("extract_json", 1, 1)
    assert [h["status"] for h in story["status_history"]] == [
        "received",
        "awaiting_verification",
        "verified",
        "locating",
        "fulfilling",
        "completed",
    ]
    trail = story["audit_trail"]
    assert [e["seq"] for e in trail] == list(range(1, len(trail) + 1))
    assert all(e["hash"] and len(e["hash"]) == 64 for e in trail)
    assert trail[1]["prev_hash"] == trail[0]["hash"]
    assert {"received", "locator.located", "artifact_stored", "artifact_downloaded"} <= {
        e["action"] for e in trail
    }
    assert story["chain"] == {
        "intact": True,
        "events": len(trail),
        "broken": [],
        "anchored_days": 0,
        "day_mismatches": [],
    }
    # The export is itself audited: the next one shows who took the first two, and in which format.
    exports = await pool.fetch(
        "select actor, detail from audit_events where request_id = $1 and action = 'audit_exported' order by seq",
        completed,
    )
    assert [(r["actor"], r["detail"]["format"]) for r in exports] == [
        ("test-ops", "json"),
        ("test-agent", "pdf"),
    ]

    text = _pdf_text(pdf.content)
    for expected in (
        f"Audit export: request {reference}",
        "INTACT",
        "Deadline",
        "debt_collection",
        "extract_json",
        "deadline_extended",
        "Full audit trail",
        "locator.located",
        "Status history",
        "fulfilling",
    ):
        assert expected in text, expected
    assert "Many systems hold records" in text


async def test_a_tampered_audit_row_shows_as_a_broken_chain_in_the_export(
    completed: uuid.UUID, pool: asyncpg.Pool, database_url: str, tmp_path: Path
) -> None:
    target = await pool.fetchrow(
        "select id, seq from audit_events where request_id = $1 and action = 'deadline_extended'", completed
    )
    await pool.execute(
        """update audit_events set detail = jsonb_set(detail, '{reason}', '"no reason"') where id = $1""",
        target["id"],
    )
    async with pool.acquire() as conn:
        content = await export(conn, str(completed), "json", actor="dpo", now=datetime.now(UTC))
    assert content is not None
    chain = json.loads(content)["chain"]
    assert chain["intact"] is False
    assert chain["broken"] == [
        {
            "seq": target["seq"],
            "event_id": target["id"],
            "problem": "the event was changed after it was written",
        }
    ]

    reference = await pool.fetchval("select reference from requests where id = $1", completed)
    output = tmp_path / "export.pdf"
    result = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "services.launcher.cli",
            "audit",
            "export",
            reference,
            "--format",
            "pdf",
            "--output",
            str(output),
        ],
        env={"DSR_DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    actors = await pool.fetch(
        "select actor from audit_events where request_id = $1 and action = 'audit_exported' order by seq",
        completed,
    )
    assert actors[0]["actor"] == "dpo" and actors[1]["actor"].startswith("cli:")
    text = _pdf_text(output.read_bytes())
    assert "BROKEN" in text
    assert f"Broken link at event #{target['seq']}" in text
    assert "changed after it was written" in text
    assert re.search(rf"\n{target['seq']}\s+BROKEN", text)  # the event is marked in the trail itself
