"""The erasure worker in the fulfilment service: runs approved plans and, on their date, the
erasures of records that were kept until then. Its state lives in PostgreSQL (plans, schedule), so
it survives restarts, and `for update skip locked` / advisory locks let several workers share it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import UTC, date, datetime

import asyncpg

from services.erasure import metrics
from services.erasure.flow import Erasure
from services.erasure.plan import build_plan
from services.erasure.retention import Action
from services.erasure.tasks import mark_overdue
from services.systems.contract import SystemUnknown

log = logging.getLogger(__name__)


async def run_approved(erasure: Erasure, pool: asyncpg.Pool, *, limit: int = 20) -> int:
    """Execute approved plans that are due, oldest first, `erasure_concurrency` at a time (a plan
    mostly waits on the source systems); returns how many ran to their end here. A plan waiting
    for a system that could not be reached is due again at its `next_attempt_at`."""
    ids = await pool.fetch(
        """select id from erasure_plans
           where status = 'approved' and (next_attempt_at is null or next_attempt_at <= now())
           order by created_at limit $1""",
        limit,
    )
    slots = asyncio.Semaphore(max(1, erasure.settings.erasure_concurrency))

    async def run(plan_id: uuid.UUID) -> bool:
        async with slots:
            try:
                return await erasure.execute(pool, plan_id)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, SystemUnknown) as exc:
                # The ledger away (a source system away is the plan's own wait, recorded by
                # `execute`): this plan waits for the next round, the others go on.
                log.warning(
                    "erasure plan failed", extra={"plan_id": str(plan_id), "error": type(exc).__name__}
                )
                return False

    return sum(await asyncio.gather(*(run(row["id"]) for row in ids)))


async def schedule_due(
    erasure: Erasure, pool: asyncpg.Pool, *, today: date | None = None
) -> uuid.UUID | None:
    """Turn due scheduled records into one approved plan (kind `scheduled`); None when none is due.

    The records are decided again on `today`: one whose period has ended is erased, one still held
    (a new legal claim) is kept and rescheduled by the plan's own end step."""
    today = today or datetime.now(UTC).date()
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            """select id, system, "table", record_key from erasure_schedule
               where status = 'pending' and due_on <= $1 order by due_on limit 200 for update skip locked""",
            today,
        )
        if not rows:
            return None
        facts, fingerprints = await erasure.systems.read_facts(
            (r["system"], r["table"], r["record_key"]) for r in rows
        )
        plan = build_plan(erasure.catalogue, facts, today=today, fingerprints=fingerprints)
        plan_id = uuid.uuid4()
        await conn.execute(
            "insert into erasure_plans (id, kind, status, plan) values ($1, 'scheduled', 'approved', $2)",
            plan_id,
            plan.to_json(),
        )
        metrics.planned(metrics.SCHEDULED, "approved")
        await conn.execute(
            "update erasure_schedule set status = 'done', done_at = now() where id = any($1)",
            [r["id"] for r in rows],
        )
        erased = sum(r.decision.action in (Action.erase, Action.anonymise) for r in plan.records)
        await conn.execute(
            "insert into audit_events (request_id, actor, action, detail) values (null, 'fulfilment', $1, $2)",
            "scheduled_erasure_planned",
            {"plan_id": str(plan_id), "records": len(rows), "due": erased},
        )
    return plan_id


async def run_once(erasure: Erasure, pool: asyncpg.Pool, *, today: date | None = None) -> int:
    while await schedule_due(erasure, pool, today=today) is not None:
        pass
    while await mark_overdue(pool) > 0:
        pass
    ran = await run_approved(erasure, pool)
    await metrics.refresh(pool, erasure.catalogue.systems)
    return ran


async def erasure_loop(erasure: Erasure, pool: asyncpg.Pool, poll_seconds: float) -> None:
    """Forever: wake on a new plan (NOTIFY) or every `poll_seconds`, and run what is due."""
    wake = asyncio.Event()

    def _notified(*_args: object) -> None:
        wake.set()

    listener: asyncpg.Connection | None = None
    try:
        while True:
            try:
                if listener is None or listener.is_closed():
                    listener = await pool.acquire()
                    await listener.add_listener("dsr_erasure", _notified)
                await run_once(erasure, pool)
            except Exception as exc:  # a system or the ledger away: the next round retries
                log.warning("erasure round failed", extra={"error": type(exc).__name__})
                if listener is not None:
                    await pool.release(listener)
                    listener = None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), poll_seconds)
            wake.clear()
    finally:
        if listener is not None:
            await listener.remove_listener("dsr_erasure", _notified)
            await pool.release(listener)
