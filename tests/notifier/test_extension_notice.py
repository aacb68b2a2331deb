"""The extension rule: the extension and its notice's event commit together inside the first month,
and the notice goes out with the reason; after the first month the extension is refused and the
subject is told nothing new."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from schemas.requests import RequestSubmission
from services.intake import admission, errors, lifecycle
from services.intake.domain.deadline import OSLO, due_date
from services.notifier.sink import MailSink
from services.runtime.settings import Settings
from tests.notifier.conftest import Pump, delivery, notice_settings

REASON = "We must search eleven systems, two of them by hand."


async def _phone_request(pool: asyncpg.Pool, email: str, days_ago: int) -> uuid.UUID:
    submission = RequestSubmission.model_validate(
        {
            "type": "access",
            "channel": "phone",
            "received_at": (datetime.now(UTC) - timedelta(days=days_ago)).isoformat(),
            "subject": {"national_id": "15076500565", "email": email},
            "verification": {
                "method": "phone_checks",
                "checks": ["national_id", "address", "case_number"],
                "verified_by": "agent-ola",
            },
            "details": {"language": "en"},
        }
    )
    async with pool.acquire() as conn, conn.transaction():
        return uuid.UUID((await admission.submit(conn, submission, actor="test-agent")).view.id)


async def test_the_extension_notice_is_sent_inside_the_first_month(
    pool: asyncpg.Pool, settings: Settings, mail_sink: MailSink
) -> None:
    email = f"ext-{uuid.uuid4().hex[:8]}@example.no"
    request_id = await _phone_request(pool, email, days_ago=20)
    pump = Pump(pool, settings)
    await pump()
    async with pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        await lifecycle.extend(
            conn, request_id, months=2, reason=REASON, actor="agent", now=datetime.now(UTC)
        )
        # The notice's event is written by the extension itself, in its transaction...
        assert (
            await conn.fetchval(
                "select count(*) from outbox where request_id = $1 and event_type = 'request.deadline_extended'",
                request_id,
            )
            == 1
        )
        await transaction.rollback()
    # ...so an extension that does not commit leaves no event, and one that does always has it.
    assert await pool.fetchval("select extended from requests where id = $1", request_id) is False
    async with pool.acquire() as conn, conn.transaction():
        view = await lifecycle.extend(
            conn, request_id, months=2, reason=REASON, actor="agent", now=datetime.now(UTC)
        )
    await pump()
    await delivery(pool, settings, notice_settings(mail_sink)).run_due()
    notices = [
        m for m in mail_sink.messages if email in m.recipients and m.subject.startswith("We need more time")
    ]
    assert len(notices) == 1
    body = notices[0].body
    assert REASON in body and "2 months" in body and "Datatilsynet" in body
    row = await pool.fetchrow(
        "select received_at, paused_days, due_date from requests where id = $1", request_id
    )
    first_month_ends = due_date(row["received_at"], paused_days=row["paused_days"])
    sent_at = await pool.fetchval(
        "select sent_at from notices where request_id = $1 and template = 'extension'", request_id
    )
    assert sent_at.astimezone(OSLO).date() <= first_month_ends
    assert view.due_date == row["due_date"].isoformat() and row["due_date"] > first_month_ends


async def test_an_extension_after_the_first_month_is_refused_and_nothing_is_sent(
    pool: asyncpg.Pool, settings: Settings, mail_sink: MailSink
) -> None:
    email = f"late-{uuid.uuid4().hex[:8]}@example.no"
    request_id = await _phone_request(pool, email, days_ago=40)
    with pytest.raises(errors.Conflict, match="before the first month ends"):
        async with pool.acquire() as conn, conn.transaction():
            await lifecycle.extend(
                conn, request_id, months=1, reason=REASON, actor="agent", now=datetime.now(UTC)
            )
    assert (
        await pool.fetchval(
            "select count(*) from outbox where request_id = $1 and event_type = 'request.deadline_extended'",
            request_id,
        )
        == 0
    )
    await Pump(pool, settings)()
    await delivery(pool, settings, notice_settings(mail_sink)).run_due()
    assert not [m for m in mail_sink.messages if email in m.recipients and "more time" in m.subject]
    assert await pool.fetchval("select extended from requests where id = $1", request_id) is False
