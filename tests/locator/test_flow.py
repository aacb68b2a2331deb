"""The locator's flow through its EventConsumer against a real ledger and the demo systems:
findings, status history and the outbox; a system that goes down and comes back; a manual system."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from services.demo.generator import showcase_placements
from services.demo.loader import DemoSystems, database_name
from services.demo.rows import RowRef
from services.demo.showcase import showcase_subject
from services.launcher.embedded_postgres import EmbeddedPostgres
from services.locator.locate import Locator
from services.locator.service import LocatorFlow, RetryLoop, verified_consumer
from services.runtime.outbox import encode
from services.runtime.settings import Settings
from services.systems.manual import manual_system
from tests.locator.conftest import locator_settings
from tests.support.ledger import verified_event


class NoDeadLetters:
    """The flow under test never dead-letters; fail loudly if it tries."""

    async def publish(self, **kwargs: Any) -> None:
        raise AssertionError(f"dead-lettered: {kwargs.get('reason_code')}")


async def insert_request(conn: asyncpg.Connection, key: str) -> uuid.UUID:
    """A verified request for showcase subject `key`, with the identifiers intake would store."""
    subject = showcase_subject(key)
    request_id = uuid.uuid4()
    number = await conn.fetchval("select nextval('request_reference_seq')")
    await conn.execute(
        """insert into requests (id, reference, type, channel, status, received_at, due_date, subject, correlation_id)
           values ($1, $2, 'access', 'phone', 'verified', $3, $4, $5, $6)""",
        request_id,
        f"DSR-TEST-{number:06d}",
        datetime.now(UTC),
        datetime.now(UTC).date(),
        {"national_id": subject.national_id},
        str(request_id),
    )
    await conn.executemany(
        "insert into request_identifiers (request_id, kind, value) values ($1, $2, $3)",
        [
            (request_id, "national_id", subject.national_id),
            (request_id, "email", subject.email),
            (request_id, "phone", subject.phone),
        ],
    )
    return request_id


async def deliver(
    flow: LocatorFlow,
    pool: asyncpg.Pool,
    database_url: str,
    request_id: uuid.UUID,
    value: bytes | None = None,
) -> str:
    consumer = verified_consumer(
        flow,
        pool=pool,
        dead_letters=NoDeadLetters(),
        settings=Settings(database_url=database_url),  # type: ignore[arg-type]
    )
    return await consumer.handle_message(
        key=str(request_id).encode(),
        value=value or encode(verified_event(request_id)),
        partition=0,
        offset=0,
    )


async def found(pool: asyncpg.Pool, request_id: uuid.UUID) -> set[RowRef]:
    rows = await pool.fetch(
        'select system, "table", primary_key from findings where request_id = $1', request_id
    )
    return {RowRef(r["system"], r["table"], int(r["primary_key"]["id"])) for r in rows}


async def history(pool: asyncpg.Pool, request_id: uuid.UUID) -> list[tuple[str, str | None]]:
    rows = await pool.fetch(
        "select status, reason from request_status_history where request_id = $1 order by id", request_id
    )
    return [(r["status"], r["reason"]) for r in rows]


async def outbox(pool: asyncpg.Pool, request_id: uuid.UUID) -> list[tuple[str, dict[str, Any]]]:
    import json

    rows = await pool.fetch(
        "select event_type, value from outbox where request_id = $1 order by id", request_id
    )
    return [(r["event_type"], json.loads(r["value"])["payload"]) for r in rows]


@pytest.fixture
def flow(locator: Locator, demo: DemoSystems) -> LocatorFlow:
    return LocatorFlow(locator, locator_settings(demo))


async def test_a_verified_request_is_located_with_findings_chains_and_counts(
    flow: LocatorFlow, pool: asyncpg.Pool, database_url: str
) -> None:
    async with pool.acquire() as conn:
        request_id = await insert_request(conn, "open_case_debtor")
    event = encode(verified_event(request_id))
    assert await deliver(flow, pool, database_url, request_id, event) == "handled"

    placed = showcase_placements()["open_case_debtor"]
    assert await found(pool, request_id) == set(placed)
    chains = await pool.fetch("select matched_by, categories from findings where request_id = $1", request_id)
    assert all(r["matched_by"][0]["via"] == "request" and r["categories"] for r in chains)
    assert await history(pool, request_id) == [("locating", None)]
    [(event_type, payload)] = await outbox(pool, request_id)
    assert event_type == "request.located"
    assert payload["finding_count"] == len(placed)
    expected: dict[str, int] = {}
    for ref in placed:
        expected[ref.system] = expected.get(ref.system, 0) + 1
    assert payload["findings_by_system"] == expected
    assert "ola" not in json_text(payload).lower() and "14837810060" not in json_text(payload)
    # Delivered twice: one effect.
    assert await deliver(flow, pool, database_url, request_id, event) == "duplicate"


def json_text(value: Any) -> str:
    import json

    return json.dumps(value)


async def test_the_shared_phone_goes_to_review_with_counts_and_no_personal_data(
    flow: LocatorFlow, pool: asyncpg.Pool, database_url: str
) -> None:
    async with pool.acquire() as conn:
        request_id = await insert_request(conn, "shared_phone_a")
    await deliver(flow, pool, database_url, request_id)
    assert await pool.fetchval("select status from requests where id = $1", request_id) == "needs_review"
    assert await history(pool, request_id) == [("locating", None), ("needs_review", "ambiguous_identity")]
    [(event_type, payload)] = await outbox(pool, request_id)
    assert event_type == "request.review_required"
    assert payload["reason_code"] == "ambiguous_identity" and payload["counts"]["email"] == 2
    assert "+47" not in json_text(payload) and "@" not in json_text(payload)
    assert await found(pool, request_id) == set()


async def test_the_unknown_person_has_no_findings_and_moves_on(
    flow: LocatorFlow, pool: asyncpg.Pool, database_url: str
) -> None:
    async with pool.acquire() as conn:
        request_id = await insert_request(conn, "unknown_person")
    await deliver(flow, pool, database_url, request_id)
    assert await found(pool, request_id) == set()
    [(event_type, payload)] = await outbox(pool, request_id)
    assert (event_type, payload["finding_count"], payload["findings_by_system"]) == ("request.located", 0, {})


@pytest.fixture
async def crm_down(postgres: EmbeddedPostgres, demo: DemoSystems) -> AsyncIterator[Any]:
    """Stops the demo CRM database (no new connections, existing ones terminated); `up()` restores it."""
    name = database_name("crm", demo.prefix)
    admin = await asyncpg.connect(postgres.url())

    async def up() -> None:
        await admin.execute(f'alter database "{name}" allow_connections true')

    await admin.execute(f'alter database "{name}" allow_connections false')
    await admin.execute("select pg_terminate_backend(pid) from pg_stat_activity where datname = $1", name)
    try:
        yield up
    finally:
        await up()
        await admin.close()


async def test_a_system_that_is_down_is_waited_for_never_reported_empty_and_resumed(
    flow: LocatorFlow, pool: asyncpg.Pool, database_url: str, crm_down: Any
) -> None:
    async with pool.acquire() as conn:
        request_id = await insert_request(conn, "client_contact_aml")
    assert await deliver(flow, pool, database_url, request_id) == "handled"  # the partition moves on

    assert await found(pool, request_id) == set()
    assert await outbox(pool, request_id) == []
    assert await history(pool, request_id) == [("locating", "waiting for: crm")]
    wait = await pool.fetchrow(
        "select systems, attempts from locator_waits where request_id = $1", request_id
    )
    assert (list(wait["systems"]), wait["attempts"]) == (["crm"], 1)

    loop = RetryLoop(flow, pool, flow.settings)
    await pool.execute("update locator_waits set next_attempt_at = now()")
    assert await loop.run_due() == 1  # still down: waits again, longer
    assert await pool.fetchval("select attempts from locator_waits where request_id = $1", request_id) == 2
    assert await outbox(pool, request_id) == []

    await crm_down()
    await pool.execute("update locator_waits set next_attempt_at = now()")
    assert await loop.run_due() == 1
    assert await found(pool, request_id) == set(showcase_placements()["client_contact_aml"])
    assert [e for e, _ in await outbox(pool, request_id)] == ["request.located"]
    assert await pool.fetchval("select count(*) from locator_waits") == 0


async def test_a_system_down_past_the_configured_time_sends_the_request_to_review(
    locator: Locator, demo: DemoSystems, pool: asyncpg.Pool, database_url: str, crm_down: Any
) -> None:
    flow = LocatorFlow(locator, locator_settings(demo, locator_unavailable_review_seconds=0.05))
    async with pool.acquire() as conn:
        request_id = await insert_request(conn, "client_contact_aml")
    await deliver(flow, pool, database_url, request_id)
    await pool.execute("update locator_waits set next_attempt_at = now()")
    assert await RetryLoop(flow, pool, flow.settings).run_due() == 1
    assert await pool.fetchval("select status from requests where id = $1", request_id) == "needs_review"
    [(event_type, payload)] = await outbox(pool, request_id)
    assert (event_type, payload["reason_code"], payload["systems"]) == (
        "request.review_required",
        "system_unavailable",
        ["crm"],
    )
    assert await found(pool, request_id) == set()


async def test_a_manual_system_opens_a_task_for_an_agent_and_the_request_waits(
    locator: Locator, demo: DemoSystems, pool: asyncpg.Pool, database_url: str
) -> None:
    manual = Locator(locator.plans, {**locator.systems, "telephony": manual_system("telephony")})
    flow = LocatorFlow(manual, locator_settings(demo, locator_manual_task_days=3))
    async with pool.acquire() as conn:
        request_id = await insert_request(conn, "open_case_debtor")
    await deliver(flow, pool, database_url, request_id)
    task = await pool.fetchrow("select system, status, due_at - created_at as days from manual_tasks")
    assert (task["system"], task["status"], task["days"].days) == ("telephony", "open", 3)
    assert await history(pool, request_id) == [("locating", "waiting for: telephony")]
    assert await outbox(pool, request_id) == []
