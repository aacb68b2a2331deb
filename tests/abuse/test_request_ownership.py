"""Issue 22, medium: a system key acts only on the requests it submitted. It cannot cancel an agent's
request, record identity evidence on an anonymous web-form request (raising it to `substantial`),
or read another request's status history (actors, reasons); on its own requests, over HTTP or
submitted on Kafka under its name, it can."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from schemas.requests import RequestSubmission
from services.api.app import SPEC as FULL
from services.api.app import configure
from services.authority import NOT_OWN
from services.intake import admission
from services.public.pages import ACTOR as WEB_FORM
from services.runtime.host import ServiceSpec
from services.runtime.settings import Settings
from tests.intake.helpers import PHONE_CHECKS, auth, person, submission
from tests.support.serving import serving

INTAKE = ServiceSpec("intake", routers=FULL.routers, configure=configure)
SYSTEM = auth("system")


@pytest.fixture
async def client(settings: Settings, unused_tcp_port: int) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        serving(INTAKE, settings, unused_tcp_port) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as c,
    ):
        yield c


async def _row(pool: asyncpg.Pool, request_id: str) -> tuple[Any, ...]:
    row = await pool.fetchrow("select status, assurance from requests where id = $1", uuid.UUID(request_id))
    history = await pool.fetchval(
        "select count(*) from request_status_history where request_id = $1", uuid.UUID(request_id)
    )
    return row["status"], row["assurance"], history


async def test_a_system_key_cannot_cancel_verify_or_read_a_request_it_did_not_submit(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    agents = (
        await client.post(
            "/v1/requests", json=submission(subject={"national_id": person(1)}), headers=auth("agent")
        )
    ).json()["id"]
    async with pool.acquire() as conn, conn.transaction():
        form = await admission.submit(
            conn,
            RequestSubmission.model_validate(
                {"type": "access", "channel": "web_form", "subject": {"national_id": person(2)}}
            ),
            actor=WEB_FORM,
        )
    anonymous = form.view.id
    before = {agents: await _row(pool, agents), anonymous: await _row(pool, anonymous)}

    cancel = await client.post(f"/v1/requests/{agents}/cancel", json={"reason": "not wanted"}, headers=SYSTEM)
    raise_assurance = await client.post(
        f"/v1/requests/{anonymous}/verification", json=PHONE_CHECKS, headers=SYSTEM
    )
    history = await client.get(f"/v1/requests/{agents}", headers=SYSTEM)
    for answer in (cancel, raise_assurance, history):
        assert answer.status_code == 403, answer.text
        assert answer.json()["detail"] == NOT_OWN
    assert "test-agent" not in history.text
    # the same answer for a request that does not exist: no way to probe which ids are taken
    probe = await client.get(f"/v1/requests/{uuid.uuid4()}", headers=SYSTEM)
    assert (probe.status_code, probe.json()["detail"]) == (403, NOT_OWN)
    assert {agents: await _row(pool, agents), anonymous: await _row(pool, anonymous)} == before
    assert before[anonymous][:2] == ("awaiting_verification", "low")


async def test_a_system_key_acts_on_the_requests_it_submitted(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    mine = (
        await client.post(
            "/v1/requests",
            json=submission(channel="web_form", subject={"national_id": person(3)}),
            headers=SYSTEM,
        )
    ).json()["id"]
    read = await client.get(f"/v1/requests/{mine}", headers=SYSTEM)
    assert read.status_code == 200 and read.json()["history"][0]["status"] == "received"
    verified = await client.post(f"/v1/requests/{mine}/verification", json=PHONE_CHECKS, headers=SYSTEM)
    assert verified.status_code == 200 and verified.json()["status"] == "verified"
    cancelled = await client.post(f"/v1/requests/{mine}/cancel", json={"reason": "withdrawn"}, headers=SYSTEM)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    # a request its system published on Kafka is submitted under the producer's name: the key's own
    async with pool.acquire() as conn, conn.transaction():
        published = await admission.submit(
            conn,
            RequestSubmission.model_validate(submission(subject={"national_id": person(4)})),
            actor="test-system",
        )
    assert (await client.get(f"/v1/requests/{published.view.id}", headers=SYSTEM)).status_code == 200
    # staff roles are not limited to their own
    assert (await client.get(f"/v1/requests/{mine}", headers=auth("ops"))).status_code == 200
