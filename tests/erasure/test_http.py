"""The erasure routes in the public API: the plan for those who work cases, the DPO's approval and
rejection (audited with the key's name; refused to every other key), the DPO's objection decision,
and the suppression check."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from services.api.app import configure
from services.erasure import http as erasure_http
from services.erasure.suppression import suppress
from services.erasure.worker import erasure_loop
from services.intake import downloads, http
from services.runtime.host import ServiceSpec
from services.runtime.settings import Settings
from tests.erasure.conftest import Harness
from tests.intake.conftest import running_intake
from tests.intake.helpers import auth

SPEC = ServiceSpec(
    "intake", routers=[http.router, downloads.router, erasure_http.router], configure=configure
)


@pytest.fixture
async def api(
    settings: Settings, unused_tcp_port: int, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    from tests.intake import conftest as intake_conftest

    monkeypatch.setattr(intake_conftest, "SPEC", SPEC)
    monkeypatch.setenv("DSR_ERASURE_HASH_KEY", "http-test-secret")
    async with (
        running_intake(settings, unused_tcp_port) as url,
        httpx.AsyncClient(base_url=url, headers=auth("agent"), timeout=30) as client,
    ):
        yield client


async def test_a_plan_waiting_for_a_decision_is_shown_to_staff_and_approved_by_the_dpo_by_name(
    second: Harness, api: httpx.AsyncClient
) -> None:
    request_id = await second.located("invoice_recipient_only")
    second.erasure.settings = second.erasure.settings.model_copy(update={"erasure_approval_required": True})
    await second.deliver(request_id)
    assert await second.status(request_id) == "needs_review"

    assert (await api.get(f"/v1/requests/{request_id}/plan", headers=auth("system"))).status_code == 403
    shown = await api.get(f"/v1/requests/{request_id}/plan")
    assert shown.status_code == 200
    body = shown.json()
    assert body["status"] == "needs_review" and body["review_reasons"] == ["approval_required"]
    assert {r["action"] for r in body["plan"]["records"]} == {"refer"}
    assert "17818810016" not in shown.text and "marte" not in shown.text.lower()

    for role in ("agent", "ops", "system"):  # only the DPO decides (services/authority.py)
        refused = await api.post(
            f"/v1/requests/{request_id}/plan/approve", json={"note": "checked"}, headers=auth(role)
        )
        assert refused.status_code == 403 and f"role {role}" in refused.json()["detail"]
    dpo = auth("dpo")
    approved = await api.post(
        f"/v1/requests/{request_id}/plan/approve", json={"note": "checked"}, headers=dpo
    )
    assert approved.status_code == 200
    assert (
        await api.post(f"/v1/requests/{request_id}/plan/approve", json={}, headers=dpo)
    ).status_code == 409
    actors = await second.pool.fetch(
        "select actor from audit_events where request_id = $1 and action = 'erasure_plan_approved'",
        request_id,
    )
    assert [a["actor"] for a in actors] == ["test-dpo"]
    # The fulfilment service's background loop runs it, woken by the approval's NOTIFY.
    loop = asyncio.create_task(erasure_loop(second.erasure, second.pool, poll_seconds=30))
    try:
        async with asyncio.timeout(20):
            while await second.status(request_id) != "referred":
                await asyncio.sleep(0.05)
    finally:
        loop.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop


async def test_decisions_on_a_request_without_anything_to_decide_conflict(api: httpx.AsyncClient) -> None:
    request_id = uuid.uuid4()
    missing = await api.post(
        f"/v1/requests/{request_id}/plan/reject", json={"reason": "Not the subject."}, headers=auth("dpo")
    )
    assert missing.status_code == 409
    assert (await api.get(f"/v1/requests/{request_id}/plan")).status_code == 404
    decision = await api.post(
        f"/v1/requests/{request_id}/objection/decision",
        json={"upheld": False, "reason": "No objection here."},
        headers=auth("dpo"),
    )
    assert decision.status_code == 409


async def test_the_suppression_check_refuses_a_suppressed_sign_up(
    second: Harness, api: httpx.AsyncClient
) -> None:
    from services.erasure.settings import ErasureSettings

    key = ErasureSettings(erasure_hash_key="http-test-secret").hash_key("")
    async with second.pool.acquire() as conn:
        await suppress(
            conn, key, {"email": "blocked.person@eksempel.no", "phone": "+4791234567"}, request_id=None
        )
    for query, expected in (
        ({"email": "Blocked.Person@eksempel.no"}, True),
        ({"phone": "912 34 567"}, True),
        ({"email": "someone@eksempel.no", "phone": "+4799999999"}, False),
        ({"email": "not an email"}, False),
        ({}, False),
    ):
        answer = await api.post("/v1/suppressions/check", json=query, headers=auth("system"))
        assert answer.status_code == 200 and answer.json() == {"suppressed": expected}, query
    async with httpx.AsyncClient(base_url=api.base_url) as anonymous:
        assert (await anonymous.post("/v1/suppressions/check", json={"email": "x@y.no"})).status_code == 401
