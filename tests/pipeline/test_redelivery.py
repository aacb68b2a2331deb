"""The same `request.submitted` bytes delivered twice by the broker: one request, an outcome for each."""

from __future__ import annotations

import asyncio

import pytest

from schemas.registry import INTAKE, INTAKE_OUTCOMES
from tests.pipeline.support import (
    MissingRedeliveryOutcome,
    TopicTap,
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


async def test_the_same_event_bytes_twice_make_one_request_and_two_accepted_outcomes(
    settings, pool, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    [national_id] = national_ids(1, seed=3)
    key = "pp-redelivery-1"
    event = to_bytes(submitted_event(submission(national_id), idempotency_key=key))

    async with (
        services(settings, tmp_path, "intake") as [intake],
        TopicTap(settings, INTAKE_OUTCOMES) as outcomes,
    ):
        await publish(settings, INTAKE, [(key.encode(), event), (key.encode(), event)])

        async def both_deliveries_consumed() -> bool:
            counts = await consumed(intake, "intake")
            return sum(counts.values()) >= 2

        await eventually(both_deliveries_consumed, timeout=30)
        counts = await consumed(intake, "intake")
        await eventually(lambda: outbox_drained(pool), timeout=10)
        await outcomes.wait_until(lambda r: len(r) >= 2, timeout=1.5)  # let the tap catch up
        await asyncio.sleep(0.3)
        assert intake.process is not None and intake.process.poll() is None

    assert counts == {("request.submitted", "handled"): 1, ("request.submitted", "duplicate"): 1}
    rows = await pool.fetch("select id, reference from requests where idempotency_key = $1", key)
    assert len(rows) == 1
    assert await pool.fetchval("select count(*) from requests") == 1
    assert await pool.fetchval("select count(*) from processed_events where consumer = 'intake'") == 1
    answers = [r.json() for r in outcomes.received]
    assert answers, "no outcome at all"
    assert all(a["event_type"] == "request.accepted" for a in answers), answers
    assert {a["payload"]["reference"] for a in answers} == {rows[0]["reference"]}
    assert {a["payload"]["request_id"] for a in answers} == {str(rows[0]["id"])}
    assert all(r.key == key.encode() for r in outcomes.received)
    if len(answers) != 2:
        raise MissingRedeliveryOutcome(f"{len(answers)} accepted outcome(s) for 2 deliveries of one event")
