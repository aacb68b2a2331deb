"""An ambiguous match resolved by a person: the shared phone's two people, one chosen (or none),
and the search that runs again finds exactly the chosen person's rows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg
import pytest

from services.catalogue.model import IdentifierType
from services.demo.generator import showcase_placements
from services.demo.loader import DemoSystems
from services.demo.showcase import SHARED_PHONE, showcase_subject
from services.locator.locate import Locator
from services.locator.manual import TaskConflict, answer_task
from services.locator.review import ReviewConflict, read_review, resolution_from, resolve_ambiguity
from services.locator.search import Candidate
from services.locator.service import LocatorFlow, RetryLoop
from services.systems.manual import manual_system
from tests.locator.conftest import locator_settings
from tests.locator.test_flow import deliver, found, history, insert_request


@pytest.fixture
def flow(locator: Locator, demo: DemoSystems) -> LocatorFlow:
    return LocatorFlow(locator, locator_settings(demo))


def review_as_stored(candidate: Candidate) -> dict[str, object]:
    return {"identifiers": candidate.identifiers, "systems": candidate.systems}


async def _phone_only_request(conn: asyncpg.Connection) -> uuid.UUID:
    request_id = uuid.uuid4()
    number = await conn.fetchval("select nextval('request_reference_seq')")
    await conn.execute(
        """insert into requests (id, reference, type, channel, status, received_at, due_date, subject, correlation_id)
           values ($1, $2, 'access', 'phone', 'verified', $3, $4, $5, $6)""",
        request_id,
        f"DSR-TEST-{number:06d}",
        datetime.now(UTC),
        datetime.now(UTC).date(),
        {"phone": SHARED_PHONE},
        str(request_id),
    )
    await conn.execute(
        "insert into request_identifiers (request_id, kind, value) values ($1, 'phone', $2)",
        request_id,
        SHARED_PHONE,
    )
    return request_id


async def _ambiguous(flow: LocatorFlow, pool: asyncpg.Pool, database_url: str) -> uuid.UUID:
    async with pool.acquire() as conn:
        request_id = await _phone_only_request(conn)
    assert await deliver(flow, pool, database_url, request_id) == "handled"
    assert await pool.fetchval("select status from requests where id = $1", request_id) == "needs_review"
    return request_id


@pytest.mark.parametrize("key", ["shared_phone_a", "shared_phone_b"])
async def test_choosing_one_person_finds_exactly_their_rows(
    key: str, flow: LocatorFlow, pool: asyncpg.Pool, database_url: str, demo: DemoSystems
) -> None:
    request_id = await _ambiguous(flow, pool, database_url)
    async with pool.acquire() as conn:
        review = await read_review(conn, request_id)
    assert review is not None and not review.resolved and len(review.candidates) == 2
    person = showcase_subject(key)
    [choice] = [i for i, c in enumerate(review.candidates) if person.email in c.identifiers.get("email", [])]
    # the shared phone is named as shared, not as either person's own
    assert all(SHARED_PHONE not in c.identifiers.get("phone", []) for c in review.candidates)

    async with pool.acquire() as conn, conn.transaction():
        await resolve_ambiguity(conn, request_id, choice=choice, actor="agent-kari")
    assert await RetryLoop(flow, pool, locator_settings(demo)).run_due() == 1

    assert await found(pool, request_id) == set(showcase_placements()[key])
    assert (await history(pool, request_id))[-1] == ("locating", "ambiguous match resolved")
    actions = await pool.fetch(
        "select actor, action from audit_events where request_id = $1 order by id", request_id
    )
    assert ("agent-kari", "locator.ambiguity_resolved") in [(a["actor"], a["action"]) for a in actions]
    assert actions[-1]["action"] == "locator.located"
    # the person not chosen leaves the ledger with the decision
    kept = await pool.fetchval("select candidates from locator_reviews where request_id = $1", request_id)
    assert kept == [review_as_stored(review.candidates[choice])]
    # decided once: a second decision is refused
    async with pool.acquire() as conn, conn.transaction():
        with pytest.raises(ReviewConflict):
            await resolve_ambiguity(conn, request_id, choice=0, actor="agent-kari")


async def test_choosing_nobody_concludes_with_no_findings(
    flow: LocatorFlow, pool: asyncpg.Pool, database_url: str, demo: DemoSystems
) -> None:
    request_id = await _ambiguous(flow, pool, database_url)
    async with pool.acquire() as conn, conn.transaction():
        with pytest.raises(ReviewConflict):
            await resolve_ambiguity(conn, request_id, choice=7, actor="agent-kari")
    async with pool.acquire() as conn, conn.transaction():
        await resolve_ambiguity(conn, request_id, choice=None, actor="agent-kari")
    assert await RetryLoop(flow, pool, locator_settings(demo)).run_due() == 1
    assert await found(pool, request_id) == set()
    event_type = await pool.fetchval(
        "select event_type from outbox where request_id = $1 order by id desc limit 1", request_id
    )
    assert event_type == "request.located"


async def test_an_answered_manual_task_lets_the_waiting_search_conclude(
    locator: Locator, demo: DemoSystems, pool: asyncpg.Pool, database_url: str
) -> None:
    manual = Locator(locator.plans, {**locator.systems, "telephony": manual_system("telephony")})
    flow = LocatorFlow(manual, locator_settings(demo))
    async with pool.acquire() as conn:
        request_id = await insert_request(conn, "open_case_debtor")
    await deliver(flow, pool, database_url, request_id)
    task_id = await pool.fetchval("select id from manual_tasks where request_id = $1", request_id)
    async with pool.acquire() as conn, conn.transaction():
        assert await answer_task(conn, task_id, found=False, note="", actor="agent-kari") == request_id
        with pytest.raises(TaskConflict):
            await answer_task(conn, task_id, found=False, note="", actor="agent-kari")
    assert await RetryLoop(flow, pool, locator_settings(demo)).run_due() == 1
    placed = {ref for ref in showcase_placements()["open_case_debtor"] if ref.system != "telephony"}
    assert await found(pool, request_id) == placed
    assert (
        await pool.fetchval(
            "select event_type from outbox where request_id = $1 order by id desc limit 1", request_id
        )
        == "request.located"
    )


def test_a_choice_seeds_the_chosen_persons_own_identifiers_and_sets_the_shared_ones_aside() -> None:
    candidates = [
        {"identifiers": {"email": ["a@x.no"], "national_id": ["21849010023"]}, "systems": {"crm": 1}},
        {"identifiers": {"email": ["b@x.no", "c@x.no"]}, "systems": {"marketing": 2}},
    ]
    shared = [["phone", SHARED_PHONE]]
    first = resolution_from(candidates, shared, 0)
    assert not first.nobody
    assert first.seeds == {IdentifierType.email: "a@x.no", IdentifierType.national_id: "21849010023"}
    assert first.shared == {(IdentifierType.phone, SHARED_PHONE)}
    assert resolution_from(candidates, shared, 1).seeds == {}  # two emails cannot seed one search
    assert resolution_from(candidates, shared, None).nobody
