"""After intake: identity evidence for a waiting request, deadline extensions, cancellation."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, time, timedelta
from typing import Any

import httpx
import pytest

from services.intake.domain.deadline import OSLO, due_date, is_working_day
from tests.intake.helpers import PHONE_CHECKS, Submit, auth, submission

REASON = "the case spans many systems and archives"


async def _waiting(submit: Submit) -> dict[str, Any]:
    body = (await submit(submission(channel="web_form", subject={"national_id": "15076500565"}))).json()
    assert body["status"] == "awaiting_verification"
    return body  # type: ignore[no-any-return]


async def _paused_since(pool: Any, request_id: str, days: int) -> None:
    """Pretend the request has waited `days` Oslo calendar days (noon, to stay clear of DST edges)."""
    today = datetime.now(OSLO).date()
    since = datetime.combine(today - timedelta(days=days), time(12), OSLO)
    await pool.execute("update requests set paused_since = $2 where id = $1", uuid.UUID(request_id), since)


async def test_verification_by_phone_resumes_a_waiting_request(
    submit: Submit, api: httpx.AsyncClient, pool: Any
) -> None:
    waiting = await _waiting(submit)

    response = await api.post(f"/v1/requests/{waiting['id']}/verification", json=PHONE_CHECKS)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "verified"
    assert body["paused_days"] == 0
    assert body["due_date"] == waiting["due_date"]
    history = (await api.get(f"/v1/requests/{waiting['id']}")).json()["history"]
    assert [h["status"] for h in history] == ["received", "awaiting_verification", "verified"]
    events = await pool.fetch(
        "select event_type, value from outbox where request_id = $1 order by id", uuid.UUID(waiting["id"])
    )
    assert [e["event_type"] for e in events] == [
        "request.received",
        "request.verification_requested",
        "request.verified",
    ]
    verified = json.loads(events[-1]["value"])
    assert verified["payload"]["due_date"] == body["due_date"]
    assert "15076500565" not in events[-1]["value"].decode()

    again = await api.post(f"/v1/requests/{waiting['id']}/verification", json=PHONE_CHECKS)
    assert again.status_code == 409, again.text


async def test_weak_evidence_leaves_the_request_waiting(
    submit: Submit, api: httpx.AsyncClient, pool: Any
) -> None:
    waiting = await _waiting(submit)
    weak = {"method": "email_link", "verified_by": "web"}

    response = await api.post(f"/v1/requests/{waiting['id']}/verification", json=weak)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "awaiting_verification"
    assert await pool.fetchval("select count(*) from outbox where event_type = 'request.verified'") == 0


@pytest.mark.parametrize("days", [3, 10])
async def test_the_days_a_request_waited_for_proof_move_its_due_date(
    submit: Submit, api: httpx.AsyncClient, pool: Any, days: int
) -> None:
    waiting = await _waiting(submit)
    await _paused_since(pool, waiting["id"], days)

    body = (await api.post(f"/v1/requests/{waiting['id']}/verification", json=PHONE_CHECKS)).json()

    assert body["status"] == "verified"
    assert body["paused_days"] == days
    before, after = date.fromisoformat(waiting["due_date"]), date.fromisoformat(body["due_date"])
    assert after == due_date(datetime.fromisoformat(waiting["received_at"]), paused_days=days)
    assert is_working_day(after)
    assert timedelta(days=days - 6) <= after - before <= timedelta(days=days + 6)  # Easter at worst
    stored = await pool.fetchrow(
        "select paused_since, due_date from requests where id = $1", uuid.UUID(waiting["id"])
    )
    assert stored["paused_since"] is None
    assert stored["due_date"] == after


async def test_an_extension_moves_the_due_date_by_the_months_granted(
    submit: Submit, api: httpx.AsyncClient, pool: Any
) -> None:
    created = (await submit(submission())).json()
    url = f"/v1/requests/{created['id']}/extension"

    one = await api.post(url, json={"months": 1, "reason": REASON})

    assert one.status_code == 200, one.text
    assert one.json()["extended"] is True
    received = datetime.fromisoformat(created["received_at"])
    assert date.fromisoformat(one.json()["due_date"]) == due_date(received, extension_months=1)
    assert one.json()["due_date"] > created["due_date"]

    two = await api.post(url, json={"months": 1, "reason": REASON}, headers=auth("ops"))
    assert two.status_code == 200, two.text
    assert date.fromisoformat(two.json()["due_date"]) == due_date(received, extension_months=2)

    three = await api.post(url, json={"months": 1, "reason": REASON})
    assert three.status_code == 409, three.text
    detail = (await api.get(f"/v1/requests/{created['id']}")).json()
    assert detail["due_date"] == two.json()["due_date"]
    assert (
        await pool.fetchval("select count(*) from outbox where event_type = 'request.deadline_extended'") == 2
    )


async def test_more_than_two_months_in_one_go_is_refused(submit: Submit, api: httpx.AsyncClient) -> None:
    created = (await submit(submission())).json()
    url = f"/v1/requests/{created['id']}/extension"

    assert (await api.post(url, json={"months": 2, "reason": REASON})).status_code == 200
    assert (await api.post(url, json={"months": 1, "reason": REASON})).status_code == 409
    too_many = await api.post(url, json={"months": 3, "reason": REASON})
    assert too_many.status_code == 422
    assert too_many.json()["detail"][0]["loc"] == ["body", "months"]


async def test_an_extension_after_the_first_month_is_refused(
    submit: Submit, api: httpx.AsyncClient, pool: Any
) -> None:
    created = (await submit(submission())).json()
    await pool.execute(
        "update requests set received_at = now() - interval '40 days' where id = $1",
        uuid.UUID(created["id"]),
    )

    response = await api.post(f"/v1/requests/{created['id']}/extension", json={"months": 1, "reason": REASON})

    assert response.status_code == 409, response.text
    assert (await api.get(f"/v1/requests/{created['id']}")).json()["extended"] is False


async def test_an_extension_needs_a_reason_and_a_deadline_keeper(
    submit: Submit, api: httpx.AsyncClient
) -> None:
    created = (await submit(submission())).json()
    url = f"/v1/requests/{created['id']}/extension"

    short = await api.post(url, json={"months": 1, "reason": "busy"})
    assert short.status_code == 422
    assert short.json()["detail"][0]["loc"] == ["body", "reason"]
    assert (await api.post(url, json={"months": 1})).status_code == 422
    assert (
        await api.post(url, json={"months": 1, "reason": REASON}, headers=auth("system"))
    ).status_code == 403


async def test_cancel_withdraws_a_request_once(submit: Submit, api: httpx.AsyncClient, pool: Any) -> None:
    created = (await submit(submission())).json()
    url = f"/v1/requests/{created['id']}/cancel"

    response = await api.post(url, json={"reason": "the subject withdrew it"})

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    history = (await api.get(f"/v1/requests/{created['id']}")).json()["history"]
    assert history[-1]["status"] == "cancelled"
    assert history[-1]["reason"] == "the subject withdrew it"
    assert await pool.fetchval("select count(*) from outbox where event_type = 'request.cancelled'") == 1

    assert (await api.post(url, json={"reason": "again"})).status_code == 409
    extend = await api.post(f"/v1/requests/{created['id']}/extension", json={"months": 1, "reason": REASON})
    assert extend.status_code == 409
    verify = await api.post(f"/v1/requests/{created['id']}/verification", json=PHONE_CHECKS)
    assert verify.status_code == 409
    assert (await api.post(url, json={"reason": "x"})).status_code == 422
    assert (await api.post(url, json={"reason": "by ops"}, headers=auth("ops"))).status_code == 403


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("GET", "", None),
        ("POST", "/verification", PHONE_CHECKS),
        ("POST", "/extension", {"months": 1, "reason": REASON}),
        ("POST", "/cancel", {"reason": "withdrawn"}),
    ],
)
async def test_an_unknown_id_is_404_and_a_malformed_one_422(
    api: httpx.AsyncClient, method: str, suffix: str, body: dict[str, Any] | None
) -> None:
    unknown = await api.request(method, f"/v1/requests/{uuid.uuid4()}{suffix}", json=body)
    assert unknown.status_code == 404, unknown.text

    malformed = await api.request(method, f"/v1/requests/not-a-uuid{suffix}", json=body)
    assert malformed.status_code == 422, malformed.text
    assert malformed.json()["detail"][0]["loc"] == ["path", "request_id"]
