"""A real intake worker fed hypothesis-generated malformed `request.submitted` messages: each one is
dead-lettered with a reason code, the worker stays alive and still accepts a valid event afterwards.
After the run (Kafka and HTTP traffic full of the test subjects' identifiers), no national id, email
or phone number of the test data appears in the service's log, its metrics, its dead-letter reasons
or its rejection outcomes."""

from __future__ import annotations

import asyncio
import base64
import json
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from schemas.registry import DEAD_LETTER, INTAKE, INTAKE_OUTCOMES
from services.runtime.settings import Settings
from tests.abuse.corpus import PEOPLE, Case, corpus, valid_envelope
from tests.pipeline.support import AGENT_KEY, TopicTap, with_bad_check_digit
from tests.support.processes import ServiceProcess

pytestmark = pytest.mark.slow

DOCUMENTED_REASONS = {
    "malformed.empty",
    "malformed.too_large",
    "malformed.encoding",
    "malformed.json",
    "malformed.envelope",
    "unknown_event_type",
    "unsupported_schema_version",
    "invalid_payload",
    "illegal_transition",
    "unknown_request",
    "handler_failed",
}


async def _produce(settings: Settings, messages: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        enable_idempotence=False,
        acks="all",
        max_request_size=4 * 1024 * 1024,  # the over-limit messages must reach the broker
    )
    await producer.start()
    try:
        for key, value in messages:
            await producer.send_and_wait(settings.topic(INTAKE), value=value, key=key)
    finally:
        await producer.stop()


async def _http_traffic(url: str) -> None:
    """Valid and invalid submissions carrying the test subjects' identifiers, through the API."""
    headers = {"Authorization": f"Bearer {AGENT_KEY}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=10) as client:
        for who in PEOPLE[:2]:
            body: dict[str, Any] = {
                "type": "erasure",
                "channel": "phone",
                "subject": {"national_id": who.national_id, "email": who.email, "phone": who.phone},
            }
            assert (await client.post("/v1/requests", json=body)).status_code == 202
            bad = {
                **body,
                "subject": {"national_id": with_bad_check_digit(who.national_id), "email": who.email},
            }
            assert (await client.post("/v1/requests", json=bad)).status_code == 422
            broken_email = {**body, "subject": {"email": who.email.replace("@", "@@")}}
            assert (await client.post("/v1/requests", json=broken_email)).status_code == 422
            assert (await client.get(f"/v1/requests/{who.national_id}")).status_code == 422
            assert (
                await client.get("/v1/requests", params={"idempotency_key": who.email})
            ).status_code == 200


async def test_malformed_intake_events_are_dead_lettered_and_no_personal_data_leaks(
    settings: Settings, pool: Any, tmp_path: Path
) -> None:
    cases = corpus(50)
    assert {c.kind.split(":")[0] for c in cases} >= {
        "invalid utf-8",
        "wrong type",
        "missing envelope field",
        "missing payload field",
        "unknown major version",
        "over 1 MiB",
        "huge field",
    }
    # valid envelopes whose identifiers the handler refuses: dead-lettered by the handler's reason
    refused = []
    for who in PEOPLE[2:4]:
        data = valid_envelope(who)
        data["payload"]["subject"]["national_id"] = with_bad_check_digit(who.national_id)
        refused.append(
            Case("invalid national id", json.dumps(data).encode(), frozenset({"invalid_national_id"}))
        )
    valid = valid_envelope(PEOPLE[4], key="abuse-valid-after-the-storm")

    intake = ServiceProcess("intake", settings, tmp_path, {"DSR_LOG_LEVEL": "DEBUG"}).start()
    try:
        await asyncio.to_thread(intake.wait_ready, 60)
        async with (
            TopicTap(settings, DEAD_LETTER) as letters,
            TopicTap(settings, INTAKE_OUTCOMES) as outcomes,
        ):
            await _produce(settings, [(b"abuse", c.value) for c in [*cases, *refused]])
            await _produce(settings, [(b"abuse-valid", json.dumps(valid).encode())])
            expected = len(cases) + len(refused)
            assert await letters.wait_until(lambda got: len(got) >= expected, 60), len(letters.received)
            accepted = await outcomes.wait_until(
                lambda got: any(
                    r.json()["event_type"] == "request.accepted"
                    and r.json()["idempotency_key"] == valid["idempotency_key"]
                    for r in got
                ),
                30,
            )
            assert accepted, "the worker did not accept a valid event after the malformed ones"
            await _http_traffic(intake.url)
            async with httpx.AsyncClient(timeout=5) as client:
                assert (await client.get(f"{intake.url}/healthz")).status_code == 200
                metrics = (await client.get(f"{intake.url}/metrics")).text
            assert intake.process is not None and intake.process.poll() is None, "the intake worker died"
            dead = [r.json() for r in letters.received]
            rejections = [r.json() for r in outcomes.received if r.json()["event_type"] == "request.rejected"]
    finally:
        await asyncio.to_thread(intake.stop)
    log = intake.logs()

    # every malformed message was dead-lettered once, with a reason its kind allows
    by_value = {c.value: c for c in [*cases, *refused]}
    reasons: Counter[str] = Counter()
    for letter in dead:
        payload = letter["payload"]
        original = base64.b64decode(payload["original_value_b64"])
        assert original in by_value, "a dead letter for a message that was not sent"
        case = by_value.pop(original)
        assert payload["reason_code"] in case.reasons, (case.kind, payload["reason_code"])
        assert payload["consumer"] == "intake" and payload["source_topic"] == INTAKE
        reasons[payload["reason_code"]] += 1
    assert by_value == {}, f"not dead-lettered: {[c.kind for c in by_value.values()]}"
    assert set(reasons) - {"invalid_national_id"} <= DOCUMENTED_REASONS
    for reason, count in reasons.items():
        assert f'dsr_dead_letters_total{{consumer="intake",reason="{reason}"}} {float(count)}' in metrics
    assert len(rejections) == len(cases) + len(refused)  # each submitter is told, by its reason code
    assert await pool.fetchval("select count(*) from requests") == 1 + 2  # the valid event and two HTTP ones

    # no personal value of the test data in the log, the metrics, the dead-letter reasons or rejections
    reason_texts = [
        json.dumps({k: v for k, v in letter["payload"].items() if not k.startswith("original_")})
        for letter in dead
    ]
    reason_texts += [json.dumps(r["payload"]) for r in rejections]
    assert "dead-lettered" in log and len(log) > 10_000, "the log is not what this test thinks it greps"
    for who in PEOPLE:
        for value in who.values:
            for where, text in (("log", log), ("metrics", metrics), ("reasons", "\n".join(reason_texts))):
                assert value not in text, f"a personal value of the test data is in the {where}"
