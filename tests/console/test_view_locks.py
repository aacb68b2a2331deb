"""A console page view while the pipeline changes the same request: the view's audit event and the
writer's must not deadlock (the detail page then answered 500, and the browser test waited 30 s
for a status badge that never came)."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from schemas.requests import RequestStatus, RequestSubmission
from services.intake import admission
from services.runtime.ledger import audit, change_status, lock_request

BODY = {
    "type": "erasure",
    "channel": "phone",
    "subject": {"case_number": "SAK-77"},
    "verification": {
        "method": "phone_checks",
        "checks": ["national_id", "address", "case_number"],
        "verified_by": "agent-kari",
    },
}


async def _view(pool: asyncpg.Pool, request_id: uuid.UUID) -> None:
    """What the detail page writes: its `console.viewed` event, in the page's transaction."""
    async with pool.acquire() as conn, conn.transaction():
        await audit(conn, request_id, "agent-kari", "console.viewed", {})


async def test_a_page_view_does_not_deadlock_with_a_writer_holding_the_request(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn, conn.transaction():
        result = await admission.submit(conn, RequestSubmission.model_validate(BODY), actor="agent-kari")
    request_id = uuid.UUID(result.view.id)
    async with pool.acquire() as writer, writer.transaction():
        # A writer has locked the request (the locator's retry does, and then searches for seconds)...
        assert (await lock_request(writer, request_id)) is not None
        view = asyncio.create_task(_view(pool, request_id))
        await asyncio.sleep(0.3)  # ...a person opens the request meanwhile...
        # ...and the writer goes on to its own audit event and status change. With `for update` the
        # view held the audit-chain lock and waited for the row: a deadlock, one of them aborted.
        await audit(writer, request_id, "locator", "locator.searched", {})
        await change_status(writer, request_id, RequestStatus.locating, actor="locator")
    await asyncio.wait_for(view, 10)
    async with pool.acquire() as conn:
        actions = [
            r["action"]
            for r in await conn.fetch(
                "select action from audit_events where request_id = $1 order by seq", request_id
            )
        ]
        status = await conn.fetchval("select status from requests where id = $1", request_id)
    assert "console.viewed" in actions and "locator.searched" in actions and status == "locating"
