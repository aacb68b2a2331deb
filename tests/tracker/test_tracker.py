"""The tracker against a real ledger: each deadline step once, stuck requests driven on."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from prometheus_client import generate_latest

from schemas.registry import INTAKE_OUTCOMES, REQUESTS
from services.intake.domain.deadline import OSLO
from services.runtime.outbox import enqueue
from services.tracker.service import check_deadlines, redrive_stuck, refresh_gauges
from tests.support.ledger import insert_verified_request, verified_event


async def _request_due_in(pool, days: int, status: str = "verified") -> uuid.UUID:  # type: ignore[no-untyped-def]
    async with pool.acquire() as conn:
        request_id = await insert_verified_request(conn)
        due = datetime.now(OSLO).date() + timedelta(days=days)
        await conn.execute(
            "update requests set due_date = $2, status = $3 where id = $1", request_id, due, status
        )
    return request_id


async def test_each_deadline_step_happens_once_with_its_event(pool) -> None:  # type: ignore[no-untyped-def]
    calm = await _request_due_in(pool, 20)
    risky = await _request_due_in(pool, 3)
    late = await _request_due_in(pool, -2)
    done = await _request_due_in(pool, -2, status="completed")
    assert await check_deadlines(pool, at_risk_days=7) == 2
    assert await check_deadlines(pool, at_risk_days=7) == 0  # once only
    states = dict(await pool.fetch("select id, sla_state from requests"))
    assert states == {calm: "on_track", risky: "at_risk", late: "overdue", done: "on_track"}
    events = await pool.fetch(
        "select event_type, request_id from outbox where topic = 'dsr.sla.v1' order by id"
    )
    assert sorted((e["event_type"], e["request_id"]) for e in events) == sorted(
        [("request.at_risk", risky), ("request.overdue", late)]
    )
    # the at-risk one goes overdue later: one more event, never a second at-risk
    await pool.execute("update requests set due_date = due_date - 10 where id = $1", risky)
    assert await check_deadlines(pool, at_risk_days=7) == 1
    assert await pool.fetchval("select count(*) from outbox where topic = 'dsr.sla.v1'") == 3


async def test_a_paused_clock_does_not_run(pool) -> None:  # type: ignore[no-untyped-def]
    waiting = await _request_due_in(pool, -5, status="awaiting_verification")
    await pool.execute("update requests set paused_since = now() where id = $1", waiting)
    assert await check_deadlines(pool, at_risk_days=7) == 0


async def test_a_stuck_request_gets_its_last_event_republished_once_per_period(pool) -> None:  # type: ignore[no-untyped-def]
    stuck = await _request_due_in(pool, 20)
    waiting_for_review = await _request_due_in(pool, 20, status="needs_review")
    fresh = await _request_due_in(pool, 20)
    async with pool.acquire() as conn:
        for request_id in (stuck, waiting_for_review, fresh):
            await enqueue(conn, REQUESTS, verified_event(request_id))
        await conn.execute("update outbox set published_at = now()")
        await conn.execute(
            "update requests set updated_at = now() - interval '1 hour' where id = any($1::uuid[])",
            [stuck, waiting_for_review],
        )
    assert await redrive_stuck(pool, stuck_after_seconds=600) == 1
    assert await pool.fetchval("select request_id from outbox where published_at is null") == stuck
    assert await redrive_stuck(pool, stuck_after_seconds=600) == 0  # progress clock was reset
    assert await pool.fetchval("select count(*) from audit_events where action = 'redriven'") == 1


async def test_the_redrive_republishes_the_pipeline_event_not_the_outcome_to_plan_and_pay(pool) -> None:  # type: ignore[no-untyped-def]
    """Found by the fault suite: a Kafka submission's last outbox event is its outcome to Plan & Pay
    (`request.accepted`, written after `request.verified`). When the broker forgot the verified
    event, republishing the outcome drove nothing and the request stayed `verified` for ever."""
    stuck = await _request_due_in(pool, 20)
    async with pool.acquire() as conn:
        await enqueue(conn, REQUESTS, verified_event(stuck))
        accepted = verified_event(stuck).model_copy(update={"event_id": uuid.uuid4()})
        await enqueue(conn, INTAKE_OUTCOMES, accepted, key="pp-key")
        await conn.execute("update outbox set published_at = now()")
        await conn.execute("update requests set updated_at = now() - interval '1 hour' where id = $1", stuck)
    assert await redrive_stuck(pool, stuck_after_seconds=600) == 1
    republished = await pool.fetch("select topic from outbox where published_at is null")
    assert [r["topic"] for r in republished] == [REQUESTS]


async def test_gauges_count_open_requests_without_ids_in_labels(pool) -> None:  # type: ignore[no-untyped-def]
    await _request_due_in(pool, -1)
    await _request_due_in(pool, 5)
    await refresh_gauges(pool, at_risk_days=7)
    text = generate_latest().decode()
    assert 'dsr_requests_open{channel="phone",status="verified",type="access"} 2.0' in text
    assert "dsr_requests_overdue 1.0" in text and "dsr_requests_at_risk 1.0" in text
    assert 'dsr_requests_open_by_days_left{bucket="overdue"} 1.0' in text
    assert "DSR-" not in text
