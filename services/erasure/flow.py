"""Erasure in the ledger: a plan is stored, approved (by rule or by an agent), executed system by
system, checked by searching again, certified, and the request finished.

Every step leaves its state in PostgreSQL, so a worker killed anywhere resumes where it stopped:
the plan is stored with the event that caused it; each system's part is applied in one source
transaction and then recorded as done together with its ledger entries; the end (re-scan,
certificate, schedule, notices, status) is one ledger transaction that runs once per plan.
Applying a system's part again changes nothing, so a crash between the two commits is harmless.

This module is the flow; its parts: `outage` (a system away: wait, then review), `rescan` (search
again, read back), `ending` (the closing transaction) and `followups` (what the end leaves for
later: schedule, restrictions, stopped purposes, suppression, recipients' notices).
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime

import asyncpg

from schemas.requests import RequestStatus
from services.artifacts.store import ArtifactStore
from services.catalogue.drift.audit import note_drift
from services.catalogue.model import Catalogue
from services.erasure import metrics
from services.erasure.ending import NAME, PlanEnd
from services.erasure.outage import CLEAR_WAIT, wait_for_system
from services.erasure.plan import ErasurePlan, PlannedRecord, build_plan
from services.erasure.rescan import Rescanner
from services.erasure.retention import Method
from services.erasure.scopes import Scope
from services.erasure.settings import ErasureSettings
from services.erasure.systems import ErasureSystems, changes_of, controllers
from services.erasure.tasks import open_tasks
from services.locator.locate import Locator
from services.runtime.faults import crash_point
from services.runtime.ledger import audit, change_status
from services.systems.contract import SystemUnknown


class Erasure:
    """Plans and executes erasures (and the narrower rights built on the same plan)."""

    def __init__(
        self,
        catalogue: Catalogue,
        systems: ErasureSystems,
        locator: Locator,
        artifacts: ArtifactStore,
        settings: ErasureSettings,
        hash_key: bytes,
    ) -> None:
        self.hash_key = hash_key
        self.catalogue = catalogue
        self.systems = systems
        self.locator = locator
        self.artifacts = artifacts
        self.settings = settings
        self.rescanner = Rescanner(catalogue, systems, locator, hash_key)
        self.ending = PlanEnd(catalogue, artifacts, settings, hash_key)
        metrics.known(catalogue.systems)

    # ------------------------------------------------------------------------------------ plan

    async def plan(
        self,
        conn: asyncpg.Connection,
        request_id: uuid.UUID,
        scope: Scope,
        *,
        today: date | None = None,
        actor: str = NAME,
    ) -> tuple[uuid.UUID, str]:
        """Decide every found record and store the plan (once per request); returns its id and
        status. A plan that needs a person moves the request to `needs_review`."""
        existing = await conn.fetchrow(
            "select id, status from erasure_plans where request_id = $1 and kind = 'request'", request_id
        )
        if existing is not None:
            return existing["id"], existing["status"]
        found = await conn.fetch(
            'select system, "table", primary_key from findings where request_id = $1', request_id
        )
        facts, fingerprints = await self.systems.read_facts(
            (r["system"], r["table"], r["primary_key"]) for r in found
        )
        manual = self.systems.manual_systems()
        plan = build_plan(
            self.catalogue,
            facts,
            today=today or datetime.now(UTC).date(),
            fingerprints=fingerprints,
            approval_required=self.settings.erasure_approval_required,
            scope=scope,
            controllers=await controllers(self.systems, facts),
            manual_systems=manual,
            found_by_agent=await found_by_agent(conn, request_id) & manual,
        )
        review = plan.review_reasons
        status = "needs_review" if review else "approved"
        plan_id = uuid.uuid4()
        await conn.execute(
            """insert into erasure_plans (id, request_id, kind, status, plan, review_reasons)
               values ($1, $2, 'request', $3, $4, $5)""",
            plan_id,
            request_id,
            status,
            plan.to_json(),
            review,
        )
        metrics.planned(scope.value, status)
        counts: dict[str, int] = defaultdict(int)
        for record in plan.records:
            counts[record.decision.action.value] += 1
        await audit(
            conn,
            request_id,
            actor,
            "erasure_planned",
            {
                "plan_id": str(plan_id),
                "scope": scope.value,
                "actions": dict(counts),
                "review": review,
                "manual": list(plan.manual_systems),
            },
        )
        await note_drift(conn, request_id, actor, f"erasure_plan:{scope.value}")
        if review:
            await change_status(
                conn,
                request_id,
                RequestStatus.needs_review,
                actor=actor,
                reason=f"erasure plan needs approval: {', '.join(review)}",
            )
        await conn.execute("select pg_notify('dsr_erasure', $1)", str(plan_id))
        return plan_id, status

    # --------------------------------------------------------------------------------- execute

    async def execute(self, pool: asyncpg.Pool, plan_id: uuid.UUID) -> bool:
        """Run an approved plan to its end; False when it is not approved, not due yet (waiting
        for a system), another worker has it, it now waits for agents (manual steps), or a system
        could not be reached (the wait is recorded: `_unreachable`)."""
        async with pool.acquire() as conn:
            locked = await conn.fetchval(
                "select pg_try_advisory_lock(hashtext('dsr_erasure_plan'), hashtext($1))", str(plan_id)
            )
            if not locked:
                return False
            try:
                row = await conn.fetchrow(
                    """select status, plan, request_id,
                              coalesce(next_attempt_at > now(), false) as not_due
                       from erasure_plans where id = $1""",
                    plan_id,
                )
                if row is None or row["status"] != "approved" or row["not_due"]:
                    return False
                plan = ErasurePlan.from_json(row["plan"])
                try:
                    return await self._run(conn, plan_id, row["request_id"], plan)
                except SystemUnknown as exc:
                    await wait_for_system(conn, self.settings, plan_id, row["request_id"], exc)
                    return False
            finally:
                await conn.execute(
                    "select pg_advisory_unlock(hashtext('dsr_erasure_plan'), hashtext($1))", str(plan_id)
                )

    async def _run(
        self,
        conn: asyncpg.Connection,
        plan_id: uuid.UUID,
        request_id: uuid.UUID | None,
        plan: ErasurePlan,
    ) -> bool:
        done = {
            r["system"]
            for r in await conn.fetch("select system from erasure_plan_systems where plan_id = $1", plan_id)
        }
        for system, records in plan.by_system():
            if system in done:
                continue
            started = time.perf_counter()
            changed = await self.systems.apply(system, changes_of(records))
            async with conn.transaction():
                await self._record_system(conn, plan_id, system, records, changed)
            metrics.system_done(system, records, time.perf_counter() - started)
            crash_point("erasure.after_system")  # the fault suite kills a worker here
        if (
            plan.manual
            and request_id is not None
            and await self._await_agents(conn, plan_id, request_id, plan)
        ):
            return False
        await self._finish(conn, plan_id, request_id, plan)
        return True

    async def _await_agents(
        self, conn: asyncpg.Connection, plan_id: uuid.UUID, request_id: uuid.UUID, plan: ErasurePlan
    ) -> bool:
        """Open the manual steps' tasks (once); True when some are still open: the plan then waits
        in `awaiting_manual` until the last is confirmed (`tasks.confirm_task`)."""
        async with conn.transaction():
            status = await conn.fetchval("select status from erasure_plans where id = $1 for update", plan_id)
            if status != "approved":
                return True
            waiting = await open_tasks(
                conn,
                plan_id,
                request_id,
                plan,
                now=datetime.now(UTC),
                days=self.settings.erasure_manual_task_days,
            )
            if not waiting:
                return False
            await conn.execute(
                f"""update erasure_plans set status = 'awaiting_manual', {CLEAR_WAIT} where id = $1""",
                plan_id,
            )
            await audit(
                conn,
                request_id,
                NAME,
                "erasure.awaiting_manual",
                {"plan_id": str(plan_id), "systems": waiting},
            )
        return True

    async def _record_system(
        self,
        conn: asyncpg.Connection,
        plan_id: uuid.UUID,
        system: str,
        records: Sequence[PlannedRecord],
        changed: int,
    ) -> None:
        await conn.execute(
            """insert into erasure_plan_systems (plan_id, system, changed) values ($1, $2, $3)
               on conflict do nothing""",
            plan_id,
            system,
            changed,
        )
        await conn.execute(  # the system that was away is back: its outage is over
            f"update erasure_plans set {CLEAR_WAIT} where id = $1 and unreachable_system = $2",
            plan_id,
            system,
        )
        await conn.executemany(
            """insert into erasure_ledger (plan_id, system, "table", record_key, method, columns, fingerprint)
               values ($1, $2, $3, $4, $5, $6, $7) on conflict do nothing""",
            [
                (
                    plan_id,
                    system,
                    r.table,
                    dict(r.key),
                    r.decision.method.value,
                    list(r.decision.columns),
                    r.fingerprint,
                )
                for r in records
                if r.decision.method is not Method.none
            ],
        )

    async def _finish(
        self,
        conn: asyncpg.Connection,
        plan_id: uuid.UUID,
        request_id: uuid.UUID | None,
        plan: ErasurePlan,
    ) -> None:
        """The end of a plan, once: re-scan, certificate, schedule, notices, the request's status."""
        rescan = await self.rescanner.rescan(conn, request_id, plan) if request_id is not None else None
        async with conn.transaction():
            ended = await self.ending.end(conn, plan_id, request_id, plan, rescan, datetime.now(UTC))
        if ended:  # committed: counted once per plan
            metrics.plan_executed(plan, rescan)


async def found_by_agent(conn: asyncpg.Connection, request_id: uuid.UUID) -> set[str]:
    """The systems an agent's manual search found the subject in (`answer.found`)."""
    rows = await conn.fetch(
        """select system from manual_tasks
           where request_id = $1 and kind = 'search' and status = 'answered'
             and coalesce((answer->>'found')::boolean, false)""",
        request_id,
    )
    return {row["system"] for row in rows}
