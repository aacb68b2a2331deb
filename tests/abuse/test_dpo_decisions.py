"""Issue 22, high: decisions reserved to the data protection officer are refused to every other API
key (403, with the reason), and nothing changes; the DPO's key takes them, audited under its name.

Reproduces the findings: an agent key approving a special-category erasure plan, an ops key
upholding an objection with outcome `erase`, an ops key releasing a special-category extract.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from services.api.app import SPEC as FULL
from services.api.app import configure
from services.runtime.host import ServiceSpec
from services.runtime.settings import Settings
from tests.intake.helpers import auth, person, submission
from tests.support.serving import serving

INTAKE = ServiceSpec("intake", routers=FULL.routers, configure=configure)  # every route, no consumers


@pytest.fixture
async def client(settings: Settings, unused_tcp_port: int) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        serving(INTAKE, settings, unused_tcp_port) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as c,
    ):
        yield c


async def _in_review(client: httpx.AsyncClient, pool: asyncpg.Pool, n: int, **body: Any) -> uuid.UUID:
    """A verified request put where the pipeline leaves one that waits for a person's decision."""
    created = await client.post(
        "/v1/requests", json=submission(subject={"national_id": person(n)}, **body), headers=auth("agent")
    )
    assert created.status_code == 202, created.text
    request_id = uuid.UUID(created.json()["id"])
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("update requests set status = 'needs_review' where id = $1", request_id)
        await conn.execute(
            """insert into request_status_history (request_id, status, actor, reason)
               values ($1, 'needs_review', 'fulfilment', 'special_category')""",
            request_id,
        )
    return request_id


async def _snapshot(pool: asyncpg.Pool, request_id: uuid.UUID) -> tuple[Any, ...]:
    return (
        await pool.fetchval("select status from requests where id = $1", request_id),
        await pool.fetch(
            "select status, decided_by from erasure_plans where request_id = $1 order by id", request_id
        ),
        await pool.fetch("select status, decided_by from objection_tasks where request_id = $1", request_id),
        await pool.fetchval("select count(*) from audit_events where request_id = $1", request_id),
        await pool.fetchval("select count(*) from artifacts where request_id = $1", request_id),
        await pool.fetchval("select count(*) from outbox where request_id = $1", request_id),
    )


async def _refused_to_all_but_the_dpo(
    client: httpx.AsyncClient, pool: asyncpg.Pool, request_id: uuid.UUID, path: str, body: dict[str, Any]
) -> None:
    before = await _snapshot(pool, request_id)
    for role in ("agent", "ops", "system"):
        answer = await client.post(path, json=body, headers=auth(role))
        assert answer.status_code == 403, (path, role, answer.status_code, answer.text)
        assert answer.json()["detail"].startswith(f"role {role} may not"), answer.text
        assert "dpo" in answer.json()["detail"]
        assert await _snapshot(pool, request_id) == before, f"{role} changed something through {path}"


async def test_an_agent_key_cannot_approve_a_special_category_erasure_plan(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    request_id = await _in_review(client, pool, 1, type="erasure")
    await pool.execute(
        """insert into erasure_plans (id, request_id, kind, status, plan, review_reasons)
           values ($1, $2, 'request', 'needs_review', '{"records": []}', array['special_category'])""",
        uuid.uuid4(),
        request_id,
    )
    path = f"/v1/requests/{request_id}/plan/approve"
    await _refused_to_all_but_the_dpo(client, pool, request_id, path, {"note": "looks fine"})
    await _refused_to_all_but_the_dpo(
        client, pool, request_id, f"/v1/requests/{request_id}/plan/reject", {"reason": "not the subject"}
    )
    approved = await client.post(path, json={"note": "health note checked"}, headers=auth("dpo"))
    assert approved.status_code == 200, approved.text
    plan = await pool.fetchrow(
        "select status, decided_by from erasure_plans where request_id = $1", request_id
    )
    assert (plan["status"], plan["decided_by"]) == ("approved", "test-dpo")


async def test_an_ops_key_cannot_decide_an_objection(client: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    request_id = await _in_review(
        client, pool, 2, type="objection", details={"objection_grounds": "I do not owe this."}
    )
    await pool.execute("insert into objection_tasks (request_id) values ($1)", request_id)
    path = f"/v1/requests/{request_id}/objection/decision"
    uphold_erase = {"upheld": True, "outcome": "erase", "reason": "Legitimate interest does not outweigh."}
    await _refused_to_all_but_the_dpo(client, pool, request_id, path, uphold_erase)
    assert (
        await pool.fetchval("select status from objection_tasks where request_id = $1", request_id) == "open"
    )
    dismissed = await client.post(
        path, json={"upheld": False, "reason": "The claim is documented."}, headers=auth("dpo")
    )
    assert dismissed.status_code == 200, dismissed.text
    task = await pool.fetchrow(
        "select status, decided_by from objection_tasks where request_id = $1", request_id
    )
    assert (task["status"], task["decided_by"]) == ("dismissed", "test-dpo")


async def test_an_ops_key_cannot_release_a_special_category_extract(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    request_id = await _in_review(client, pool, 3)
    path = f"/v1/requests/{request_id}/review"
    await _refused_to_all_but_the_dpo(
        client, pool, request_id, path, {"decision": "release", "reason": "The subject gave us the note."}
    )
    assert await pool.fetchval("select status from requests where id = $1", request_id) == "needs_review"
