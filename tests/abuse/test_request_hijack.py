"""Issue 22, medium: duplicate detection never joins a request to one of lower assurance or with other
contact details. A stranger's unverified web-form request for someone's national id, with the
stranger's own email, can neither absorb the person's verified request (which would cancel it and
send its notices and download link to the stranger) nor be answered with that request's reference.
The same person's stronger request supersedes their weaker one (same contact details)."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from schemas.requests import RequestSubmission
from services.intake import admission
from services.public.pages import ACTOR as WEB_FORM
from tests.intake.helpers import PHONE_CHECKS, person

STRANGER = "stranger@example.com"


def _form(national_id: str, email: str) -> RequestSubmission:
    return RequestSubmission.model_validate(
        {"type": "access", "channel": "web_form", "subject": {"national_id": national_id, "email": email}}
    )


def _phone(national_id: str, email: str | None = None) -> RequestSubmission:
    subject: dict[str, Any] = {"national_id": national_id, **({"email": email} if email else {})}
    return RequestSubmission.model_validate(
        {"type": "access", "channel": "phone", "subject": subject, "verification": PHONE_CHECKS}
    )


async def _submit(pool: asyncpg.Pool, submission: RequestSubmission, actor: str) -> admission.Submitted:
    async with pool.acquire() as conn, conn.transaction():
        return await admission.submit(conn, submission, actor=actor)


async def _stored(pool: asyncpg.Pool, request_id: str) -> asyncpg.Record:
    row = await pool.fetchrow("select * from requests where id = $1", uuid.UUID(request_id))
    assert row is not None
    return row


async def test_a_verified_request_is_not_folded_into_a_strangers_unverified_one(pool: asyncpg.Pool) -> None:
    national_id = person(11)
    strangers = await _submit(pool, _form(national_id, STRANGER), WEB_FORM)
    assert strangers.view.status == "awaiting_verification"

    agents = await _submit(pool, _phone(national_id), "test-agent")

    assert agents.created and agents.duplicate_of is None
    assert agents.view.reference != strangers.view.reference and agents.view.status == "verified"
    row = await _stored(pool, agents.view.id)
    assert row["duplicate_of"] is None and row["status"] == "verified"
    assert STRANGER not in str(row["subject"]) and STRANGER not in str(row["details"])
    # the stranger's request is left as it was (a stranger's, it is not superseded either)
    assert (await _stored(pool, strangers.view.id))["status"] == "awaiting_verification"
    # the verified request announces itself (to be located and fulfilled), the stranger's nothing new
    events = await pool.fetch(
        "select event_type from outbox where request_id = $1 order by id", uuid.UUID(agents.view.id)
    )
    assert [e["event_type"] for e in events] == ["request.received", "request.verified"]


async def test_a_strangers_request_is_not_answered_with_the_persons_verified_request(
    pool: asyncpg.Pool,
) -> None:
    national_id = person(12)
    agents = await _submit(pool, _phone(national_id), "test-agent")
    strangers = await _submit(pool, _form(national_id, STRANGER), WEB_FORM)
    assert strangers.created and strangers.duplicate_of is None
    assert strangers.view.reference != agents.view.reference  # the receipt names no one else's request
    assert strangers.view.status == "awaiting_verification"
    assert (await _stored(pool, agents.view.id))["status"] == "verified"


async def test_the_same_persons_stronger_request_supersedes_the_weaker_one(pool: asyncpg.Pool) -> None:
    national_id, email = person(13), "kari.nordmann@example.no"
    weaker = await _submit(pool, _form(national_id, email), WEB_FORM)
    stronger = await _submit(pool, _phone(national_id, email), "test-agent")
    assert stronger.created and stronger.view.status == "verified"
    old = await _stored(pool, weaker.view.id)
    assert old["status"] == "cancelled" and old["duplicate_of"] is None
    reason = await pool.fetchval(
        "select reason from request_status_history where request_id = $1 order by id desc limit 1", old["id"]
    )
    assert reason == f"superseded by {stronger.view.reference}"
    assert await pool.fetchval(
        "select count(*) from outbox where request_id = $1 and event_type = 'request.cancelled'", old["id"]
    )
    # and a weaker one after the stronger, with the same contact details, joins it as before
    again = await _submit(pool, _form(national_id, email.upper()), WEB_FORM)
    assert not again.created and again.duplicate_of == stronger.view.reference
