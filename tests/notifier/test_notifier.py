"""The notifier against a real ledger and a real SMTP server: once per event, retried with backoff,
bounces and failures audited, letters as PDF for the post, no national id in any email."""

from __future__ import annotations

import io
import re
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest
from pypdf import PdfReader

from schemas.requests import RequestSubmission
from services.intake import admission
from services.launcher.ports import free_port
from services.notifier.sink import MailSink
from services.runtime.settings import Settings
from tests.notifier.conftest import Pump, delivery, notice_settings

NATIONAL_ID = "15076500565"


async def _submit(pool: asyncpg.Pool, **body: object) -> uuid.UUID:
    submission = RequestSubmission.model_validate({"type": "access", "channel": "web_form", **body})
    async with pool.acquire() as conn, conn.transaction():
        result = await admission.submit(conn, submission, actor="test-form")
    return uuid.UUID(result.view.id)


def _email(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:8]}@example.no"


async def _audit(pool: asyncpg.Pool, request_id: uuid.UUID, action: str) -> list[dict[str, object]]:
    rows = await pool.fetch(
        "select detail from audit_events where request_id = $1 and action = $2 order by id",
        request_id,
        action,
    )
    return [r["detail"] for r in rows]


async def test_an_event_delivered_twice_sends_its_notice_once(
    pool: asyncpg.Pool, settings: Settings, mail_sink: MailSink
) -> None:
    address = _email("twice")
    request_id = await _submit(
        pool, subject={"email": address, "national_id": NATIONAL_ID}, details={"language": "en"}
    )
    pump = Pump(pool, settings)
    outcomes = await pump(times=2)
    assert outcomes.count("handled") == 2 and outcomes.count("duplicate") == 2, outcomes
    sender = delivery(pool, settings, notice_settings(mail_sink))
    assert await sender.run_due() == 2
    assert await sender.run_due() == 0
    mine = [m for m in mail_sink.messages if address in m.recipients]
    assert sorted(m.subject.split(" (")[0] for m in mine) == [
        "Confirm your request",
        "We have received your request",
    ]
    for mail in mine:
        assert NATIONAL_ID not in mail.body and not re.search(r"\d{11}", mail.body)
        assert "DSR-" in mail.body
    verification = next(m for m in mine if m.subject.startswith("Confirm"))
    assert re.search(r"/verify/[A-Za-z0-9_-]{20,}\?lang=en", verification.body)
    sent = await _audit(pool, request_id, "notice_sent")
    assert sorted(d["template"] for d in sent) == ["receipt", "verification_request"]
    # The unique key holds even when the same event is queued again by hand.
    assert await pool.fetchval("select count(*) from notices where request_id = $1", request_id) == 2


async def test_a_bounce_ends_the_notice_and_is_audited(
    pool: asyncpg.Pool, settings: Settings, mail_sink: MailSink
) -> None:
    address = _email("bounce")
    mail_sink.refuse(address)
    request_id = await _submit(pool, type="newsletter_unsubscribe", subject={"email": address})
    await Pump(pool, settings)()
    await delivery(pool, settings, notice_settings(mail_sink)).run_due()
    statuses = await pool.fetch("select status, last_error from notices where request_id = $1", request_id)
    assert {(r["status"], r["last_error"]) for r in statuses} == {("bounced", "smtp_550")}
    bounced = await _audit(pool, request_id, "notice_bounced")
    assert bounced and all(d["final"] for d in bounced)
    assert not [m for m in mail_sink.messages if address in m.recipients]


async def test_an_unreachable_server_is_retried_with_backoff_then_failed(
    pool: asyncpg.Pool, settings: Settings, mail_sink: MailSink, caplog: pytest.LogCaptureFixture
) -> None:
    address = _email("down")
    request_id = await _submit(pool, type="newsletter_unsubscribe", subject={"email": address})
    await Pump(pool, settings)()
    down = notice_settings(mail_sink, smtp_port=free_port(), notice_retry_initial_seconds=60)
    sender = delivery(pool, settings, down)
    assert await sender.run_due() == 1  # one attempt, then it waits a minute
    row = await pool.fetchrow("select * from notices where request_id = $1", request_id)
    assert row["status"] == "pending" and row["attempts"] == 1
    assert (row["next_attempt_at"] - datetime.now(UTC)).total_seconds() > 50
    assert row["last_error"] == "ConnectionRefusedError"
    # Make the next attempts due at once: the last one gives up.
    quick = delivery(pool, settings, notice_settings(mail_sink, smtp_port=down.smtp_port))
    for _ in range(2):
        await pool.execute("update notices set next_attempt_at = now() where request_id = $1", request_id)
        await quick.run_due()
    row = await pool.fetchrow("select * from notices where request_id = $1", request_id)
    assert row["status"] == "failed" and row["attempts"] == 3
    failures = await _audit(pool, request_id, "notice_failed")
    assert [d["final"] for d in failures] == [False, False, True]
    assert all(set(d) == {"notice", "template", "medium", "attempt", "error", "final"} for d in failures)
    logged = [r for r in caplog.records if r.getMessage() == "notice not delivered"]
    assert len(logged) == 3
    assert not [r for r in caplog.records if address in r.getMessage() or address in str(r.__dict__)]


async def test_a_letter_request_gets_a_pdf_in_the_print_queue(
    pool: asyncpg.Pool, settings: Settings, mail_sink: MailSink
) -> None:
    request_id = await _submit(
        pool,
        type="marketing_opt_out",
        channel="letter",
        subject={"national_id": NATIONAL_ID, "name": "Ørjan Ås"},
        details={"postal_address": "Storgata 1\n0155 Oslo", "language": "nb"},
    )
    await Pump(pool, settings)()
    before = len(mail_sink.messages)
    await delivery(pool, settings, notice_settings(mail_sink)).run_due()
    assert len(mail_sink.messages) == before  # nothing by email
    letters = await pool.fetch("select pdf from letters where request_id = $1", request_id)
    assert len(letters) == 1
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(letters[0]["pdf"])).pages)
    assert "Vi har mottatt kravet ditt" in text and "Storgata 1" in text
    assert NATIONAL_ID not in text


@pytest.mark.parametrize(
    ("status", "subject"), [("refused", "Your request is refused"), ("completed", "Your request is done")]
)
async def test_a_final_status_is_told(
    pool: asyncpg.Pool, settings: Settings, mail_sink: MailSink, status: str, subject: str
) -> None:
    from schemas.envelope import Envelope
    from schemas.events import RequestFulfilled
    from schemas.registry import FULFILLED
    from services.runtime.ledger import change_status
    from services.runtime.outbox import enqueue

    address = _email("final")
    request_id = await _submit(
        pool, type="marketing_opt_out", subject={"email": address}, details={"language": "en"}
    )
    async with pool.acquire() as conn, conn.transaction():
        from schemas.requests import RequestStatus

        await change_status(conn, request_id, RequestStatus.locating, actor="test")
        await change_status(conn, request_id, RequestStatus.needs_review, actor="test")
        await change_status(
            conn, request_id, RequestStatus(status), actor="test", reason="Manifestly unfounded."
        )
        await enqueue(
            conn,
            FULFILLED,
            Envelope[RequestFulfilled](
                event_type="request.fulfilled",
                producer="fulfilment",
                request_id=request_id,
                payload=RequestFulfilled(type="marketing_opt_out", status=RequestStatus(status)),
            ),
        )
    await Pump(pool, settings)()
    await delivery(pool, settings, notice_settings(mail_sink)).run_due()
    mine = [m for m in mail_sink.messages if address in m.recipients and m.subject.startswith(subject)]
    assert len(mine) == 1
    if status == "refused":
        assert "Manifestly unfounded." in mine[0].body and "Datatilsynet" in mine[0].body
