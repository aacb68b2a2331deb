"""A source system that stays unreachable while an approved plan runs: the plan waits with doubling
waits kept in the ledger, then the request goes to review with the system named; once the system
is back a person approves the plan again and it runs, changing nothing twice."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from prometheus_client import REGISTRY

from services.catalogue.model import Catalogue
from services.demo.loader import DemoSystems
from services.erasure.plan import ErasurePlan
from services.erasure.review import approve_plan
from services.launcher.ports import free_port
from services.systems.contract import Applied, Guard, RowChange, SourceSystem
from services.systems.guard import Limits
from services.systems.postgresql import PostgresSystem
from tests.erasure.conftest import Harness, close, harness_for

REVIEW_SECONDS = 3.0


class Counting:
    """An adapter that counts the changes applied through it (and otherwise is the real one)."""

    def __init__(self, inner: SourceSystem) -> None:
        self.inner = inner
        self.applied: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def apply(self, changes: Sequence[RowChange], guard: Guard | None = None) -> list[Applied]:
        self.applied.append(len(changes))
        return await self.inner.apply(changes, guard)


@pytest.fixture
async def h(catalogue: Catalogue, fresh_demo: DemoSystems, pool: asyncpg.Pool) -> AsyncIterator[Harness]:
    harness = await harness_for(
        catalogue, fresh_demo, pool, erasure_unreachable_review_seconds=REVIEW_SECONDS
    )
    yield harness
    await close(harness)


async def _wait(h: Harness, plan_id: uuid.UUID) -> asyncpg.Record:
    return await h.pool.fetchrow(
        """select status, attempts, unreachable_system, unreachable_since, review_reasons,
                  next_attempt_at - now() as due_in
           from erasure_plans where id = $1""",
        plan_id,
    )


def _waiting(system: str) -> float | None:
    return REGISTRY.get_sample_value("dsr_erasure_plans_waiting", {"system": system})


async def test_an_unreachable_system_is_retried_with_backoff_then_reviewed_then_run_once(h: Harness) -> None:
    request_id = await h.located("closed_case_debtor")
    await h.deliver(request_id)  # the plan is approved by rule; the worker runs it
    row = await h.pool.fetchrow("select id, plan from erasure_plans where request_id = $1", request_id)
    plan_id, plan = row["id"], ErasurePlan.from_json(row["plan"])
    order = [system for system, _ in plan.by_system()]
    assert len(order) >= 2
    first, broken = order[0], order[-1]

    registry = h.erasure.systems.systems
    real = registry[broken]
    counting = Counting(registry[first])
    registry.replace(first, counting)
    closed = f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere"  # nothing listens there
    registry.replace(
        broken,
        PostgresSystem(
            broken,
            h.catalogue.systems[broken],
            registry.plans.get(broken),
            closed,
            limits=Limits(timeout=0.5, attempts=1, cooldown=0.0),
            read_only=False,
            application_name="dsr-test",
        ),
    )

    # First round: the systems before it are done, the plan waits 5 s.
    await h.fulfil_pending()
    assert await h.status(request_id) == "fulfilling"
    wait = await _wait(h, plan_id)
    assert (wait["status"], wait["attempts"], wait["unreachable_system"]) == ("approved", 1, broken)
    assert timedelta(seconds=3) < wait["due_in"] <= timedelta(seconds=5)
    done = {r["system"] for r in await h.pool.fetch("select system from erasure_plan_systems")}
    assert first in done and broken not in done
    assert counting.applied and len(counting.applied) == 1
    assert _waiting(broken) == 1.0
    audit = await h.pool.fetch(
        "select detail from audit_events where request_id = $1 and action = 'erasure.system_unreachable'",
        request_id,
    )
    assert [a["detail"]["system"] for a in audit] == [broken]

    await h.fulfil_pending()  # not due: the wait holds, with several rounds as with several workers
    assert (await _wait(h, plan_id))["attempts"] == 1

    await h.pool.execute("update erasure_plans set next_attempt_at = now() where id = $1", plan_id)
    await h.fulfil_pending()
    wait = await _wait(h, plan_id)
    assert wait["attempts"] == 2 and timedelta(seconds=8) < wait["due_in"] <= timedelta(seconds=10)
    assert await h.status(request_id) == "fulfilling"

    # Away longer than the review time: to review, the system named.
    since = wait["unreachable_since"]
    now = await h.pool.fetchval("select now()")
    await asyncio.sleep(max(0.0, REVIEW_SECONDS - (now - since).total_seconds()) + 0.1)
    await h.pool.execute("update erasure_plans set next_attempt_at = now() where id = $1", plan_id)
    await h.fulfil_pending()
    assert await h.status(request_id) == "needs_review"
    wait = await _wait(h, plan_id)
    assert wait["status"] == "needs_review" and list(wait["review_reasons"]) == ["system_unreachable"]
    assert wait["unreachable_system"] == broken and wait["attempts"] == 3
    reason = await h.pool.fetchval(
        "select reason from request_status_history where request_id = $1 order by id desc limit 1", request_id
    )
    assert reason.startswith("system_unreachable: ") and broken in reason
    assert _waiting(broken) == 0.0  # reviewed: no longer waiting by itself
    await h.fulfil_pending()  # a plan in review does not run
    assert len(counting.applied) == 1

    # Back, and approved again by a person: it runs to its end; nothing is changed twice.
    registry.replace(broken, real)
    async with h.pool.acquire() as conn, conn.transaction():
        await approve_plan(conn, request_id, actor="dpo-nina", note="the system is back")
    assert (await _wait(h, plan_id))["unreachable_system"] is None
    await h.fulfil_pending()
    assert await h.status(request_id) == "completed"
    assert len(counting.applied) == 1  # the first system was not changed again
    systems = await h.pool.fetch(
        "select system, changed from erasure_plan_systems where plan_id = $1", plan_id
    )
    assert sorted(r["system"] for r in systems) == sorted(order)
    ledger = await h.pool.fetchval("select count(*) from erasure_ledger where plan_id = $1", plan_id)
    assert ledger == sum(1 for r in plan.records if r.decision.method.value != "none")
    assert len(await h.certificates(request_id)) == 1
    wait = await _wait(h, plan_id)
    assert (wait["status"], wait["attempts"], wait["unreachable_system"]) == ("executed", 0, None)
