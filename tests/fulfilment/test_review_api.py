"""`POST /v1/requests/{id}/review`: a person releases or withholds special-category data; the extract
is then stored and the request completed. Agent and ops keys decide; system keys may not."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from services.api.app import SPEC as INTAKE
from services.fulfilment import api as review
from services.intake import downloads, http
from services.runtime.host import ServiceSpec
from services.runtime.settings import Settings
from tests.intake.conftest import running_intake
from tests.intake.helpers import auth, person, submission

SPEC = ServiceSpec(
    "intake", routers=[http.router, downloads.router, review.router], configure=INTAKE.configure
)


@pytest.fixture
async def api(
    settings: Settings, unused_tcp_port: int, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setattr("tests.intake.conftest.SPEC", SPEC)  # the intake test server, plus this router
    async with (
        running_intake(settings, unused_tcp_port) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as client,
    ):
        yield client


async def _waiting(
    api: httpx.AsyncClient, pool: asyncpg.Pool, reason: str = "special_category", n: int = 1
) -> str:
    """A submitted request, then put where fulfilment leaves one with special-category data."""
    body = submission(subject={"national_id": person(n)})
    response = await api.post("/v1/requests", json=body, headers=auth("agent"))
    assert response.status_code == 202, response.text
    request_id = response.json()["id"]
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            """update requests set status = 'needs_review', details = details || '{"reply_by": "post"}'
               where id = $1""",
            uuid.UUID(request_id),
        )
        await conn.execute(
            "insert into request_status_history (request_id, status, actor, reason) values ($1, 'needs_review', 'fulfilment', $2)",
            uuid.UUID(request_id),
            reason,
        )
    return str(request_id)


def test_the_intake_app_serves_the_review_endpoint() -> None:
    assert review.router in INTAKE.routers


async def test_a_release_completes_the_request_with_its_artifacts_audited_under_the_key(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    request_id = await _waiting(api, pool)
    body = {"decision": "release", "reason": "The subject gave us the note himself."}
    response = await api.post(f"/v1/requests/{request_id}/review", json=body, headers=auth("dpo"))
    assert response.status_code == 200, response.text
    assert response.json() == {"request_id": request_id, "decision": "release", "status": "completed"}
    listing = await api.get(f"/v1/requests/{request_id}/artifacts", headers=auth("agent"))
    kinds = {a["kind"]: a for a in listing.json()}
    assert set(kinds) == {"extract_json", "extract_html", "extract_pdf"}
    assert kinds["extract_pdf"]["media_type"] == "application/pdf" and kinds["extract_pdf"]["size"] > 1000
    assert kinds["extract_html"]["media_type"].startswith("text/html")
    for artifact in kinds.values():
        assert artifact["created_at"] and artifact["download_url"]
    async with httpx.AsyncClient(timeout=10) as anonymous:
        pdf = await anonymous.get(kinds["extract_pdf"]["download_url"])
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        assert (await anonymous.get(kinds["extract_pdf"]["download_url"])).status_code == 410
    actors = dict(
        await pool.fetch(
            "select action, actor from audit_events where request_id = $1 and action in ('special_category_reviewed', 'artifact_stored')",
            uuid.UUID(request_id),
        )
    )
    assert actors == {"special_category_reviewed": "test-dpo", "artifact_stored": "test-dpo"}
    again = await api.post(f"/v1/requests/{request_id}/review", json=body, headers=auth("dpo"))
    assert again.status_code == 409


async def test_only_the_dpo_decides_and_only_on_a_request_that_waits_for_it(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    request_id = await _waiting(api, pool)
    body = {"decision": "withhold", "reason": "Not needed."}
    for role in ("system", "agent", "ops"):  # services/authority.py: release_special is the DPO's
        refused = await api.post(f"/v1/requests/{request_id}/review", json=body, headers=auth(role))
        assert refused.status_code == 403 and f"role {role}" in refused.json()["detail"]
    assert (await api.post(f"/v1/requests/{request_id}/review", json=body)).status_code == 401
    bad = await api.post(
        f"/v1/requests/{request_id}/review",
        json={"decision": "publish", "reason": "x" * 5},
        headers=auth("dpo"),
    )
    assert bad.status_code == 422
    missing = await api.post(f"/v1/requests/{uuid.uuid4()}/review", json=body, headers=auth("dpo"))
    assert missing.status_code == 404
    ambiguous = await _waiting(api, pool, reason="ambiguous_identity", n=2)
    assert (
        await api.post(f"/v1/requests/{ambiguous}/review", json=body, headers=auth("dpo"))
    ).status_code == 409
    assert (
        await pool.fetchval("select status from requests where id = $1", uuid.UUID(request_id))
        == "needs_review"
    )
    withheld = await api.post(f"/v1/requests/{request_id}/review", json=body, headers=auth("dpo"))
    assert withheld.status_code == 200 and withheld.json()["status"] == "completed"
