"""A batch of submissions stored together answers exactly as the same submissions one by one.

The Kafka intake stores a run of events set-based and the HTTP intake group-commits concurrent
requests; both must be indistinguishable from sending each submission alone, in order: a retry of
an earlier key (even one earlier in the same batch) is a replay, a second open request for the same
subject a linked duplicate, an invalid one an error that stores nothing.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.requests import RequestSubmission
from services.intake import admission
from services.intake.domain.identifiers import InvalidIdentifier
from services.intake.group_commit import GroupCommit
from tests.intake.helpers import PHONE_CHECKS, person

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
BAD_NATIONAL_ID = "15076500566"  # the README's number with its last check digit changed

# A small world, so that keys, subjects and types collide often.
_subject = st.sampled_from(
    [
        {"national_id": person(1)},
        {"national_id": person(2)},
        {"email": "kari@example.no"},
        {"national_id": person(1), "email": "kari@example.no"},
        {"national_id": BAD_NATIONAL_ID},
    ]
)
_item = st.tuples(
    _subject,
    st.sampled_from(["access", "erasure", "newsletter_unsubscribe"]),
    st.sampled_from(["phone", "web_form"]),
    st.sampled_from(["agent", "system"]),
    st.sampled_from([None, "k1", "k2"]),
)


def _pending(item: tuple[Any, ...]) -> admission.Pending:
    subject, request_type, channel, actor, key = item
    body: dict[str, Any] = {"type": request_type, "channel": channel, "subject": subject}
    if channel == "phone":
        body["verification"] = PHONE_CHECKS
    return admission.Pending(RequestSubmission.model_validate(body), actor, key)


def _shape(results: list[admission.Submitted | InvalidIdentifier]) -> list[tuple[Any, ...]]:
    """Each answer with request ids replaced by the position of the submission that created it."""
    creator = {
        r.view.id: i for i, r in enumerate(results) if isinstance(r, admission.Submitted) and r.created
    }
    shape: list[tuple[Any, ...]] = []
    for result in results:
        if isinstance(result, InvalidIdentifier):
            shape.append(("invalid", result.reason_code, result.field))
        else:
            shape.append(
                (
                    result.created,
                    result.replayed,
                    result.view.status,
                    creator.get(result.view.id, "stored before"),
                    result.duplicate_of is not None,
                )
            )
    return shape


async def _rows(conn: asyncpg.Connection) -> list[tuple[Any, ...]]:
    rows = await conn.fetch(
        """select r.type, r.status, r.duplicate_of is not null as linked, r.idempotency_key,
                  (select count(*) from request_status_history h where h.request_id = r.id) as history,
                  (select count(*) from audit_events a where a.request_id = r.id) as audits,
                  (select count(*) from outbox o where o.request_id = r.id) as events
           from requests r order by r.type, r.status, r.idempotency_key nulls first"""
    )
    return sorted((tuple(r) for r in rows), key=repr)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=st.lists(_item, min_size=1, max_size=12))
async def test_a_batch_answers_and_stores_as_one_by_one(pool: asyncpg.Pool, items: list[Any]) -> None:
    pending = [_pending(item) for item in items]
    async with pool.acquire() as conn:
        one_by_one: list[admission.Submitted | InvalidIdentifier] = []
        tx = conn.transaction()
        await tx.start()
        for p in pending:
            try:
                one_by_one.append(
                    await admission.submit(
                        conn, p.submission, actor=p.actor, idempotency_key=p.idempotency_key, now=NOW
                    )
                )
            except InvalidIdentifier as exc:
                one_by_one.append(exc)
        stored_one_by_one = await _rows(conn)
        await tx.rollback()

        tx = conn.transaction()
        await tx.start()
        batched = await admission.submit_many(conn, pending, now=NOW)
        stored_batched = await _rows(conn)
        await tx.rollback()

    assert _shape(batched) == _shape(one_by_one)
    assert stored_batched == stored_one_by_one


async def test_concurrent_group_commits_make_one_request_per_subject(pool: asyncpg.Pool) -> None:
    """Forty submissions for four subjects from many clients at once: four requests, 36 linked answers."""
    commit = GroupCommit(pool, accept_synthetic=False, max_batch=8, transactions=3)
    subjects = [{"national_id": person(n)} for n in range(20, 24)]
    pending = [_pending((subjects[i % 4], "access", "phone", "agent", None)) for i in range(40)]
    results = await asyncio.gather(*(commit.submit(p) for p in pending))
    created = [r for r in results if r.created]
    assert len(created) == 4
    by_subject: dict[str, set[str]] = {}
    for p, r in zip(pending, results, strict=True):
        by_subject.setdefault(p.submission.subject.national_id or "", set()).add(r.view.reference)
    assert all(len(references) == 1 for references in by_subject.values())
    async with pool.acquire() as conn:
        assert await conn.fetchval("select count(*) from requests where duplicate_of is null") == 4
        assert await conn.fetchval("select count(*) from requests where duplicate_of is not null") == 36


async def test_an_invalid_submission_fails_alone_in_a_group_commit(pool: asyncpg.Pool) -> None:
    commit = GroupCommit(pool, accept_synthetic=False, max_batch=8, transactions=1)
    good = [_pending(({"national_id": person(30 + i)}, "access", "phone", "agent", None)) for i in range(5)]
    bad = _pending(({"national_id": BAD_NATIONAL_ID}, "access", "phone", "agent", None))
    outcomes = await asyncio.gather(
        *(commit.submit(p) for p in [*good[:2], bad, *good[2:]]), return_exceptions=True
    )
    assert isinstance(outcomes[2], InvalidIdentifier) and outcomes[2].reason_code == "invalid_national_id"
    assert all(isinstance(o, admission.Submitted) and o.created for i, o in enumerate(outcomes) if i != 2)


@pytest.mark.parametrize("size", [1, 50])
async def test_every_stored_row_of_a_batch_has_its_audit_chain(pool: asyncpg.Pool, size: int) -> None:
    pending = [
        _pending(({"national_id": person(100 + size + i)}, "access", "phone", "agent", None))
        for i in range(size)
    ]
    async with pool.acquire() as conn, conn.transaction():
        results = await admission.submit_many(conn, pending, now=NOW)
    ids = [r.view.id for r in results if isinstance(r, admission.Submitted)]
    async with pool.acquire() as conn:
        chains = await conn.fetch(
            "select request_id, array_agg(seq order by seq) as seqs, array_agg(action order by seq) as actions "
            "from audit_events where request_id = any($1::uuid[]) group by request_id",
            ids,
        )
    assert len(chains) == size
    for chain in chains:
        assert chain["seqs"] == [1, 2, 3]
        assert chain["actions"] == ["received", "verification_recorded", "status_changed"]


async def test_of_two_open_requests_received_at_one_instant_a_duplicate_joins_the_first_created(
    pool: asyncpg.Pool,
) -> None:
    """An unsubscribe needs no proof, so a weak one is open and verified; a phoned one with the same
    contact is stronger and so not its duplicate; a third, weak again, duplicates both, and joins
    the first. Every request here is received at one instant (`NOW`): creation order decides,
    alone and in a batch (hypothesis found the stored ones coming back in another order)."""

    def unsubscribe(email: str, channel: str) -> admission.Pending:
        body: dict[str, Any] = {
            "type": "newsletter_unsubscribe",
            "channel": channel,
            "subject": {"email": email},
        }
        if channel == "phone":
            body["verification"] = PHONE_CHECKS
        return admission.Pending(RequestSubmission.model_validate(body), "agent", None)

    async with pool.acquire() as conn:
        for round_ in range(8):
            email = f"unsubscribe-{round_}@example.no"
            tx = conn.transaction()
            await tx.start()
            first, stronger, third = [
                await admission.submit(conn, p.submission, actor=p.actor, now=NOW)
                for p in (
                    unsubscribe(email, "web_form"),
                    unsubscribe(email, "phone"),
                    unsubscribe(email, "web_form"),
                )
            ]
            await tx.rollback()
            assert first.created and stronger.created and stronger.duplicate_of is None
            assert third.duplicate_of == first.view.reference, round_
