"""1,000 `request.submitted` events from a plain Kafka client into a running intake process.

A tenth are malformed in every way an integrator gets it wrong; some valid ones are sent twice
(the same bytes again, or the same idempotency key with a new event id). Every valid logical
submission must become exactly one request, every event must get an outcome, every malformed one
must be dead-lettered with a reason code, no reason may quote a national id, and the intake must
keep running.
"""

from __future__ import annotations

import base64
import json
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from schemas.registry import DEAD_LETTER, INTAKE, INTAKE_OUTCOMES
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
    with_bad_check_digit,
)
from tests.support.kafka import eventually

pytestmark = pytest.mark.slow

TOTAL = 1000
MALFORMED = 100
SAME_BYTES_AGAIN = 25
SAME_KEY_NEW_EVENT = 25
DISTINCT_VALID = TOTAL - MALFORMED - SAME_BYTES_AGAIN - SAME_KEY_NEW_EVENT  # 850

TYPES = [
    "access",
    "portability",
    "rectification",
    "erasure",
    "restriction",
    "objection",
    "marketing_opt_out",
    "consent_withdrawal",
    "newsletter_unsubscribe",
]

# kind -> (reason code, field path) the intake must answer with
MALFORMED_KINDS: dict[str, tuple[str, str | None]] = {
    "invalid_utf8": ("malformed.encoding", None),
    "invalid_json": ("malformed.json", None),
    "missing_event_id": ("malformed.envelope", "event_id"),
    "unknown_event_type": ("unknown_event_type", "event_type"),
    "schema_version_2": ("unsupported_schema_version", "schema_version"),
    "bad_check_digits": ("invalid_national_id", "payload.subject.national_id"),
    "no_identifiers": ("invalid_payload", "payload.subject"),
    "received_at_on_plan_and_pay": ("field_forbidden_for_channel", "payload.received_at"),
}
# the kinds whose bytes are not a JSON object: no idempotency key can be read from them
UNREADABLE = {"invalid_utf8", "invalid_json"}


@dataclass(frozen=True)
class Sent:
    key: str  # the idempotency key, also the Kafka message key
    value: bytes
    kind: str  # "valid", "same_bytes_again", "same_key_new_event", or a malformed kind
    event_id: str | None
    correlation_id: str | None


def _valid(rng: random.Random, national_id: str, key: str) -> Sent:
    extra: dict[str, Any] = {}
    if rng.random() < 0.3:
        extra["verification"] = {"method": "bankid", "verified_by": "plan-and-pay"}
    if rng.random() < 0.2:
        extra.setdefault("details", {})["language"] = "en"
    payload = submission(national_id, rng.choice(TYPES))
    if "details" in extra and "details" in payload:
        payload["details"].update(extra.pop("details"))
    payload.update(extra)
    envelope = submitted_event(payload, idempotency_key=key)
    return Sent(key, to_bytes(envelope), "valid", envelope["event_id"], envelope["correlation_id"])


def _malformed(kind: str, national_id: str, key: str) -> Sent:
    payload = submission(national_id)
    envelope = submitted_event(payload, idempotency_key=key)
    value: bytes | None = None
    if kind == "invalid_utf8":  # a producer that writes Latin-1
        payload["subject"]["name"] = "Bjørn Ødegård"
        value = json.dumps(envelope, ensure_ascii=False).encode("latin-1")
    elif kind == "invalid_json":  # truncated
        value = to_bytes(envelope)[:-9]
    elif kind == "missing_event_id":
        del envelope["event_id"]
    elif kind == "unknown_event_type":
        envelope["event_type"] = "request.withdrawn"
    elif kind == "schema_version_2":
        envelope["schema_version"] = "2.0"
    elif kind == "bad_check_digits":
        payload["subject"]["national_id"] = with_bad_check_digit(national_id)
    elif kind == "no_identifiers":
        payload["subject"] = {"name": "Kari Nordmann"}
    elif kind == "received_at_on_plan_and_pay":
        payload["received_at"] = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    else:
        raise AssertionError(kind)
    return Sent(key, value or to_bytes(envelope), kind, envelope.get("event_id"), envelope["correlation_id"])


def _plan(seed: int = 1000) -> tuple[list[Sent], set[str]]:
    """The 1,000 messages in publishing order, and every national id they hold (valid or not)."""
    rng = random.Random(seed)
    ids = national_ids(DISTINCT_VALID + MALFORMED, seed=seed)
    run = f"{rng.getrandbits(32):08x}"
    messages = [_valid(rng, ids[i], f"pp-{run}-{i:04d}") for i in range(DISTINCT_VALID)]
    kinds = list(MALFORMED_KINDS)
    messages += [
        _malformed(kinds[j % len(kinds)], ids[DISTINCT_VALID + j], f"pp-{run}-bad-{j:03d}")
        for j in range(MALFORMED)
    ]
    rng.shuffle(messages)
    originals = rng.sample([m for m in messages if m.kind == "valid"], SAME_BYTES_AGAIN + SAME_KEY_NEW_EVENT)
    for n, original in enumerate(originals):
        if n < SAME_BYTES_AGAIN:
            again = Sent(
                original.key, original.value, "same_bytes_again", original.event_id, original.correlation_id
            )
        else:  # a retry by the integrator: same submission and key, a new event
            envelope = json.loads(original.value)
            envelope = submitted_event(envelope["payload"], idempotency_key=original.key)
            again = Sent(
                original.key,
                to_bytes(envelope),
                "same_key_new_event",
                envelope["event_id"],
                envelope["correlation_id"],
            )
        position = messages.index(original)
        messages.insert(rng.randint(position + 1, len(messages)), again)
    used = set(ids) | {with_bad_check_digit(i) for i in ids[DISTINCT_VALID:]}
    assert len(messages) == TOTAL
    return messages, used


# Everything but the last check holds; the last (an outcome for a byte-identical re-send) fails on a bug.
# `raises` keeps any other failed assertion a real failure.
async def test_a_thousand_intake_events_each_get_one_effect_and_an_outcome(settings, pool, tmp_path) -> None:  # type: ignore[no-untyped-def]
    messages, used_ids = _plan()
    by_key: dict[str, list[Sent]] = defaultdict(list)
    for m in messages:
        by_key[m.key].append(m)
    valid_keys = {m.key for m in messages if m.kind == "valid"}
    malformed = [m for m in messages if m.kind in MALFORMED_KINDS]
    distinct_valid_events = {m.event_id for m in messages if m.key in valid_keys}
    assert len(valid_keys) == DISTINCT_VALID and len(malformed) == MALFORMED
    assert Counter(m.kind for m in malformed) == {
        k: (13 if i < 4 else 12) for i, k in enumerate(MALFORMED_KINDS)
    }

    async with (
        services(settings, tmp_path, "intake") as [intake],
        TopicTap(settings, INTAKE_OUTCOMES) as outcomes,
        TopicTap(settings, DEAD_LETTER) as letters,
    ):
        started = time.monotonic()
        await publish(settings, INTAKE, [(m.key.encode(), m.value) for m in messages])
        published = time.monotonic()

        async def all_consumed() -> bool:
            return sum((await consumed(intake, "intake")).values()) >= TOTAL

        await eventually(all_consumed, timeout=90, interval=0.2)
        consumed_at = time.monotonic()
        await eventually(lambda: outbox_drained(pool), timeout=30)
        # every message answered at least once, every malformed one dead-lettered
        expected_min = len(distinct_valid_events) + MALFORMED
        assert await outcomes.wait_until(lambda r: len(r) >= expected_min, timeout=30), len(outcomes.received)
        assert await letters.wait_until(lambda r: len(r) >= MALFORMED, timeout=30), len(letters.received)
        answered_at = max(r.at for r in [*outcomes.received, *letters.received])
        await outcomes.wait_until(lambda r: len(r) > TOTAL, timeout=1.0)  # room for anything extra to show up
        counts = await consumed(intake, "intake")

        assert intake.process is not None and intake.process.poll() is None, "the intake process died"
        async with httpx.AsyncClient(base_url=intake.url, timeout=5) as http:
            ready = await http.get("/readyz")
            metrics_text = (await http.get("/metrics")).text
        assert ready.status_code == 200, ready.text

    print(
        f"\n[intake load] {TOTAL} events ({len(valid_keys)} distinct valid submissions, "
        f"{SAME_BYTES_AGAIN} byte-identical re-sends, {SAME_KEY_NEW_EVENT} same-key re-sends, {MALFORMED} malformed): "
        f"published in {published - started:.2f} s, consumed by intake in {consumed_at - started:.2f} s, "
        f"every outcome and dead letter on its topic {answered_at - started:.2f} s after the first send "
        f"({TOTAL / (answered_at - started):.0f} events/s)"
    )

    # the consumer's own account: every message seen once
    assert counts == {
        ("request.submitted", "handled"): len(distinct_valid_events),
        ("request.submitted", "duplicate"): SAME_BYTES_AGAIN,
        ("request.submitted", "dead_lettered"): sum(
            1 for m in malformed if m.kind in {"bad_check_digits", "received_at_on_plan_and_pay"}
        ),
        ("unknown", "dead_lettered"): sum(
            1 for m in malformed if m.kind not in {"bad_check_digits", "received_at_on_plan_and_pay"}
        ),
    }, counts

    # the ledger: exactly one request per valid logical submission, none for a malformed one
    rows = await pool.fetch(
        "select idempotency_scope, idempotency_key, count(*) as n, min(id::text) as id, min(reference) as reference,"
        " min(status) as status from requests group by 1, 2"
    )
    assert await pool.fetchval("select count(*) from requests") == DISTINCT_VALID
    assert {r["idempotency_key"] for r in rows} == valid_keys
    assert all(r["n"] == 1 and r["idempotency_scope"] == "plan-and-pay" for r in rows)
    assert await pool.fetchval("select count(*) from requests where duplicate_of is not null") == 0
    stored = {r["idempotency_key"]: r for r in rows}
    assert await pool.fetchval("select count(*) from processed_events where consumer = 'intake'") == len(
        distinct_valid_events
    )

    # outcomes, keyed by the idempotency key
    answers: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in outcomes.received:
        assert r.key is not None
        answers[r.key.decode()].append(r.json())
    assert set(answers) == set(by_key), set(by_key) ^ set(answers)
    for key in valid_keys:
        row, got, sent = stored[key], answers[key], by_key[key]
        assert all(a["event_type"] == "request.accepted" for a in got), got
        assert {a["payload"]["reference"] for a in got} == {row["reference"]}
        assert {a["payload"]["request_id"] for a in got} == {row["id"]}
        assert all(a["payload"]["status"] == row["status"] == "verified" for a in got)
        assert all(a["payload"]["duplicate_of"] is None and a["idempotency_key"] == key for a in got)
        assert {a["correlation_id"] for a in got} <= {m.correlation_id for m in sent}
        distinct_events = len({m.event_id for m in sent})
        assert distinct_events <= len(got) <= len(sent), (key, [m.kind for m in sent], got)
    for m in malformed:
        [answer] = answers[m.key]
        reason_code, field_path = MALFORMED_KINDS[m.kind]
        assert answer["event_type"] == "request.rejected"
        assert (m.kind, answer["payload"]) == (m.kind, {"reason_code": reason_code, "field_path": field_path})
        if m.kind not in UNREADABLE:
            assert answer["idempotency_key"] == m.key
            assert answer["payload"]["field_path"]
        if m.event_id is not None and m.kind not in UNREADABLE:
            assert answer["correlation_id"] == m.correlation_id

    # dead letters: exactly the malformed ones, each with its reason code and the original bytes
    assert len(letters.received) == MALFORMED
    malformed_by_value = {m.value: m for m in malformed}
    assert len(malformed_by_value) == MALFORMED
    seen: set[bytes] = set()
    for r in letters.received:
        letter = r.json()
        assert letter["event_type"] == "dead_letter.recorded"
        original = base64.b64decode(letter["payload"]["original_value_b64"])
        m = malformed_by_value[original]
        seen.add(original)
        assert letter["payload"]["reason_code"] == MALFORMED_KINDS[m.kind][0], m.kind
        assert letter["payload"]["consumer"] == "intake"
        assert letter["payload"]["source_topic"] == INTAKE
        assert base64.b64decode(letter["payload"]["original_key_b64"]) == m.key.encode() == r.key
    assert seen == set(malformed_by_value)
    for reason_code in {code for code, _ in MALFORMED_KINDS.values()}:
        n = sum(1 for m in malformed if MALFORMED_KINDS[m.kind][0] == reason_code)
        assert (
            f'dsr_dead_letters_total{{consumer="intake",reason="{reason_code}"}} {float(n)}' in metrics_text
        )

    # no reason, field path or outcome quotes a national id it was sent
    for r in outcomes.received:
        assert not any(i in r.value.decode() for i in used_ids)
    for r in letters.received:
        payload = r.json()["payload"]
        public = {k: v for k, v in payload.items() if k not in {"original_value_b64", "original_key_b64"}}
        assert not any(i in json.dumps(public) for i in used_ids)

    # every event has an outcome: a byte-identical re-send as well (it is delivered, so it is answered)
    unanswered = [key for key in valid_keys if len(answers[key]) < len(by_key[key])]
    if unanswered:
        raise MissingRedeliveryOutcome(
            f"{len(unanswered)} of {SAME_BYTES_AGAIN} byte-identical re-sends got no outcome of their own"
        )
