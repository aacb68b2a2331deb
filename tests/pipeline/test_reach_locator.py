"""Intake and locator as real processes: each way in reaches the locator exactly once.

(a) a phone request an agent verified on the call, over HTTP;
(b) a Plan & Pay `request.submitted` event on Kafka;
(c) a web form request that waits for identity proof, then is verified by an agent over HTTP:
    it must not reach the locator before that.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from schemas.registry import DEAD_LETTER, INTAKE, INTAKE_OUTCOMES, LOCATED
from tests.pipeline.support import (
    TopicTap,
    client,
    consumed,
    national_ids,
    outbox_drained,
    publish,
    services,
    submission,
    submitted_event,
    to_bytes,
)
from tests.support.kafka import eventually

pytestmark = pytest.mark.slow

PHONE_CHECKS = {
    "method": "phone_checks",
    "checks": ["national_id", "address", "case_number"],
    "verified_by": "agent-ola",
}


async def _status(pool, request_id: str) -> str:  # type: ignore[no-untyped-def]
    return await pool.fetchval("select status from requests where id = $1", uuid.UUID(request_id))  # type: ignore[no-any-return]


async def test_phone_plan_and_pay_and_verified_web_form_requests_each_reach_the_locator_once(
    settings, pool, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    phone_id, portal_id, web_id = national_ids(3, seed=2)
    async with (
        services(settings, tmp_path, "intake", "locator") as [intake, locator],
        TopicTap(settings, INTAKE_OUTCOMES) as outcomes,
        TopicTap(settings, LOCATED) as located,
        TopicTap(settings, DEAD_LETTER) as letters,
        client(intake) as http,
    ):
        # (a) phone, verified on the call
        response = await http.post(
            "/v1/requests",
            json={
                "type": "access",
                "channel": "phone",
                "subject": {"national_id": phone_id},
                "verification": PHONE_CHECKS,
            },
            headers={"Idempotency-Key": f"call-{uuid.uuid4().hex[:8]}"},
        )
        assert response.status_code == 202, response.text
        assert response.json()["status"] == "verified"
        phone = response.json()["id"]

        # (b) Plan & Pay over Kafka
        key = f"pp-{uuid.uuid4().hex[:8]}"
        await publish(
            settings,
            INTAKE,
            [
                (
                    key.encode(),
                    to_bytes(submitted_event(submission(portal_id, "erasure"), idempotency_key=key)),
                )
            ],
        )
        assert await outcomes.wait_until(lambda r: len(r) >= 1, timeout=30), "no intake outcome"
        [accepted] = [r.json() for r in outcomes.received]
        assert accepted["event_type"] == "request.accepted" and accepted["payload"]["status"] == "verified", (
            accepted
        )
        portal = accepted["payload"]["request_id"]

        # (c) web form: identity not proven yet
        response = await http.post(
            "/v1/requests",
            json={
                "type": "access",
                "channel": "web_form",
                "subject": {"national_id": web_id, "email": "kari@example.no"},
            },
        )
        assert response.status_code == 202, response.text
        assert response.json()["status"] == "awaiting_verification"
        web = response.json()["id"]

        async def located_first_two() -> bool:
            return {await _status(pool, phone), await _status(pool, portal)} == {"locating"}

        await eventually(located_first_two, timeout=30)

        async def locator_saw_the_web_request() -> bool:  # its received and verification_requested events
            counts = await consumed(locator, "locator")
            return (
                counts.get(("request.received", "ignored"), 0) >= 3
                and counts.get(("request.verification_requested", "ignored"), 0) >= 1
            )

        await eventually(locator_saw_the_web_request, timeout=20)
        await asyncio.sleep(0.5)
        before = (await http.get(f"/v1/requests/{web}")).json()
        assert before["status"] == "awaiting_verification"
        assert [h["status"] for h in before["history"]] == ["received", "awaiting_verification"]
        assert await pool.fetchval("select count(*) from processed_events where consumer = 'locator'") == 2
        assert (
            await pool.fetchval(
                "select count(*) from outbox where event_type = 'request.located' and request_id = $1",
                uuid.UUID(web),
            )
            == 0
        )

        # (c) continued: an agent records the proof
        response = await http.post(
            f"/v1/requests/{web}/verification", json={**PHONE_CHECKS, "verified_by": "agent-kari"}
        )
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "verified"

        async def all_located() -> bool:
            return len(located.received) >= 3 and await _status(pool, web) == "locating"

        await eventually(all_located, timeout=30)
        await eventually(lambda: outbox_drained(pool), timeout=10)
        await asyncio.sleep(1.0)  # room for a second effect to show up, if there were one
        histories = {
            rid: (await http.get(f"/v1/requests/{rid}")).json()["history"] for rid in (phone, portal, web)
        }
        counts = await consumed(locator, "locator")
        assert intake.process is not None and intake.process.poll() is None
        assert locator.process is not None and locator.process.poll() is None

    assert [h["status"] for h in histories[phone]] == ["received", "verified", "locating"]
    assert [h["status"] for h in histories[portal]] == ["received", "verified", "locating"]
    assert [h["status"] for h in histories[web]] == [
        "received",
        "awaiting_verification",
        "verified",
        "locating",
    ]
    assert all(h[-1]["actor"] == "locator" for h in histories.values())
    assert counts[("request.verified", "handled")] == 3
    assert ("request.verified", "duplicate") not in counts
    assert letters.received == []

    ids = [uuid.UUID(r) for r in (phone, portal, web)]
    rows = await pool.fetch(
        """select r.id,
                  (select count(*) from request_status_history h where h.request_id = r.id and h.status = 'locating')
                    as locating,
                  (select count(*) from outbox o where o.request_id = r.id and o.event_type = 'request.located'
                     and o.producer = 'locator') as located,
                  (select count(*) from outbox o join processed_events p on p.event_id = o.event_id
                     and p.consumer = 'locator'
                   where o.request_id = r.id and o.event_type = 'request.verified') as processed
           from requests r where r.id = any($1::uuid[])""",
        ids,
    )
    assert {r["id"]: (r["locating"], r["located"], r["processed"]) for r in rows} == {
        i: (1, 1, 1) for i in ids
    }
    assert await pool.fetchval("select count(*) from processed_events where consumer = 'locator'") == 3
    assert await pool.fetchval("select count(*) from outbox where event_type = 'request.located'") == 3
    on_topic = sorted(r.json()["request_id"] for r in located.received)
    assert on_topic == sorted((phone, portal, web))
