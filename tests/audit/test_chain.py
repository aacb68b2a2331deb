"""The audit trail is tamper-evident: any change made directly in the database is found."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import asyncpg

from schemas.requests import RequestStatus, RequestSubmission
from services.audit.chain import anchor, verify
from services.intake import admission
from services.runtime.ledger import audit, change_status

BODY = {
    "type": "access",
    "channel": "phone",
    "subject": {"national_id": "15076500565"},
    "verification": {
        "method": "phone_checks",
        "checks": ["national_id", "address", "case_number"],
        "verified_by": "a",
    },
}


async def _requests(pool: asyncpg.Pool, count: int) -> list[str]:
    ids = []
    for n in range(count):
        body = {**BODY, "subject": {"case_number": f"SAK-{n}"}}
        async with pool.acquire() as conn, conn.transaction():
            result = await admission.submit(conn, RequestSubmission.model_validate(body), actor="agent-1")
            await change_status(conn, result.view.id, RequestStatus.locating, actor="locator")  # type: ignore[arg-type]
            await audit(conn, None, "ops", "key_rotated", {"keys": 1})
        ids.append(result.view.id)
    return ids


async def test_an_untouched_trail_verifies(pool) -> None:  # type: ignore[no-untyped-def]
    await _requests(pool, 3)
    async with pool.acquire() as conn:
        report = await verify(conn)
    assert report.intact
    assert report.events >= 12 and report.chains == 4  # three requests and the events of no request
    seqs = await pool.fetch(
        "select seq from audit_events where request_id is not null order by request_id, seq"
    )
    assert all(r["seq"] >= 1 for r in seqs)


async def test_an_altered_row_is_named_as_the_first_broken_link(pool) -> None:  # type: ignore[no-untyped-def]
    ids = await _requests(pool, 3)
    target = await pool.fetchrow(
        "select id, seq from audit_events where request_id = $1 order by seq offset 1 limit 1", ids[1]
    )
    await pool.execute(
        "update audit_events set detail = jsonb_set(detail, '{reason}', '\"edited\"') where id = $1",
        target["id"],
    )
    async with pool.acquire() as conn:
        report = await verify(conn)
    assert not report.intact
    assert [(b.request_id, b.seq, b.problem) for b in report.broken] == [
        (str(ids[1]), target["seq"], "the event was changed after it was written")
    ]
    assert report.broken[0].reference is not None and report.broken[0].reference.startswith("DSR-")


async def test_a_recomputed_hash_breaks_the_next_link_and_a_deleted_event_leaves_a_gap(pool) -> None:  # type: ignore[no-untyped-def]
    ids = await _requests(pool, 2)
    first = await pool.fetchrow("select * from audit_events where request_id = $1 and seq = 1", ids[0])
    await pool.execute(
        """update audit_events set actor = 'someone-else',
               hash = audit_event_digest(prev_hash, request_id, seq, at, 'someone-else', action, detail)
           where id = $1""",
        first["id"],
    )
    await pool.execute("delete from audit_events where request_id = $1 and seq = 2", ids[1])
    async with pool.acquire() as conn:
        report = await verify(conn)
    problems = {(b.request_id, b.seq): b.problem for b in report.broken}
    assert problems == {
        (str(ids[0]), 2): "the link to the previous event is broken",
        (str(ids[1]), 3): "an event is missing before this one",
    }


async def test_a_rewritten_chain_is_caught_by_the_day_anchor(pool) -> None:  # type: ignore[no-untyped-def]
    ids = await _requests(pool, 1)
    yesterday = datetime.now(UTC) - timedelta(days=1)
    await pool.execute("update audit_events set at = $1", yesterday)
    # re-chain so that every link verifies with the moved timestamps, as a careful forger would
    await pool.execute("drop trigger audit_chain on audit_events")
    rows = await pool.fetch("select * from audit_events order by request_id nulls first, seq")
    prev: dict[object, bytes | None] = {}
    for row in rows:
        digest = await pool.fetchval(
            "select audit_event_digest($1, $2, $3, $4, $5, $6, $7)",
            prev.get(row["request_id"]),
            row["request_id"],
            row["seq"],
            row["at"],
            row["actor"],
            row["action"],
            row["detail"],
        )
        await pool.execute(
            "update audit_events set prev_hash = $2, hash = $3 where id = $1",
            row["id"],
            prev.get(row["request_id"]),
            digest,
        )
        prev[row["request_id"]] = digest
    async with pool.acquire() as conn:
        anchored = await anchor(conn, before=datetime.now(UTC).date())
        assert [day for day, _ in anchored] == [yesterday.date()]
        assert (await verify(conn)).intact
        # now the forger edits an event and recomputes the rest of the chain
        await conn.execute(
            "update audit_events set actor = 'forger' where request_id = $1 and seq = 1", ids[0]
        )
        rows = await conn.fetch("select * from audit_events where request_id = $1 order by seq", ids[0])
        previous = None
        for row in rows:
            digest = await conn.fetchval(
                "select audit_event_digest($1, $2, $3, $4, $5, $6, $7)",
                previous,
                row["request_id"],
                row["seq"],
                row["at"],
                row["actor"],
                row["action"],
                row["detail"],
            )
            await conn.execute(
                "update audit_events set prev_hash = $2, hash = $3 where id = $1", row["id"], previous, digest
            )
            previous = digest
        report = await verify(conn)
    assert report.broken == []
    assert [d.day for d in report.days] == [yesterday.date()]


def test_dsr_audit_verify_exits_non_zero_and_names_the_break(database_url: str) -> None:
    import asyncio

    async def tamper() -> None:
        from services.runtime.db import create_pool

        pool = await create_pool(database_url)
        try:
            ids = await _requests(pool, 1)
            await pool.execute(
                "update audit_events set action = 'nothing_happened' where request_id = $1 and seq = 1",
                ids[0],
            )
        finally:
            await pool.close()

    asyncio.run(tamper())
    result = subprocess.run(
        [sys.executable, "-m", "services.launcher.cli", "audit", "verify"],
        env={"DSR_DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "BROKEN DSR-" in result.stdout and "#1" in result.stdout
    assert "changed after it was written" in result.stdout
