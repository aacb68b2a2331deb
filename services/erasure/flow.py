"""Erasure in the ledger: a plan is stored, approved (by rule or by an agent), executed system by
system, checked by searching again, certified, and the request finished.

Every step leaves its state in PostgreSQL, so a worker killed anywhere resumes where it stopped:
the plan is stored with the event that caused it; each system's part is applied in one source
transaction and then recorded as done together with its ledger entries; the end (re-scan,
certificate, schedule, notices, status) is one ledger transaction that runs once per plan.
Applying a system's part again changes nothing, so a crash between the two commits is harmless.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import asyncpg

from schemas.envelope import Envelope
from schemas.events import RequestFulfilled
from schemas.registry import FULFILLED
from schemas.requests import RequestStatus, RequestType
from services.artifacts.store import ArtifactKind, ArtifactStore
from services.catalogue.drift.audit import note_drift
from services.catalogue.model import Catalogue
from services.documents.templates import Language
from services.erasure import metrics
from services.erasure.certificate import (
    FoundRow,
    Rescan,
    RowId,
    certificate,
    check_rescan,
    personal_residue,
    row_id,
    unsearched,
)
from services.erasure.notices import notify_recipients
from services.erasure.plan import ErasurePlan, PlannedRecord, build_plan
from services.erasure.purposes import unstopped
from services.erasure.render import certificate_html, certificate_pdf
from services.erasure.retention import Action, Method
from services.erasure.scopes import Scope
from services.erasure.settings import CertificatePdf, ErasureSettings
from services.erasure.suppression import suppress
from services.erasure.systems import ErasureSystems, changes_of, controllers
from services.erasure.tasks import confirmations, open_tasks
from services.locator.locate import Located, Locator, Waiting
from services.locator.request_search import search_request
from services.runtime.faults import crash_point
from services.runtime.ledger import ANSWERED_BY_POST, audit, change_status
from services.runtime.outbox import enqueue
from services.systems.contract import SystemUnknown

NAME = "fulfilment"
log = logging.getLogger(__name__)

UNREACHABLE = "system_unreachable"
"""The review reason (plan) and reason code (status history) of a system away too long."""
_CLEAR_WAIT = "attempts = 0, next_attempt_at = null, unreachable_since = null, unreachable_system = null"

CHANGE_WORD = {Action.erase: "erased", Action.anonymise: "anonymised", Action.restrict: "restricted"}


class RescanWaiting(SystemUnknown):
    """The re-scan could not read a system (down, or timing out): the plan stays approved and the
    worker tries its end again later, as it does when a system cannot be changed."""

    def __init__(self, systems: Sequence[str]) -> None:
        named = sorted(systems) or ["unknown"]
        super().__init__(named[0], "rescan_unreadable")
        self.systems = tuple(named)


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
                    await self._unreachable(conn, plan_id, row["request_id"], exc)
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
                f"""update erasure_plans set status = 'awaiting_manual', {_CLEAR_WAIT} where id = $1""",
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

    async def _unreachable(
        self, conn: asyncpg.Connection, plan_id: uuid.UUID, request_id: uuid.UUID | None, exc: SystemUnknown
    ) -> None:
        """A system could not be reached: the plan waits, longer each time (doubling, capped), and
        once the system has been away `erasure_unreachable_review_seconds` the request goes to
        review with the system named. A person's approval runs it again (`review.approve_plan`)."""
        system, cause = exc.system, exc.cause
        systems = getattr(exc, "systems", (system,))
        metrics.UNREACHABLE_ROUNDS.labels(system).inc()
        log.warning(
            "erasure plan waits for a source system",
            extra={"plan_id": str(plan_id), "system": system, "error": cause},
        )
        settings = self.settings
        async with conn.transaction():
            row = await conn.fetchrow(
                """update erasure_plans set
                       attempts = case when unreachable_system = $2 then attempts + 1 else 1 end,
                       unreachable_since = case when unreachable_system = $2
                                                then coalesce(unreachable_since, now()) else now() end,
                       unreachable_system = $2
                   where id = $1 and status = 'approved'
                   returning attempts, unreachable_since, now() as now""",
                plan_id,
                system,
            )
            if row is None:
                return
            attempts, since, now = row["attempts"], row["unreachable_since"], row["now"]
            away = (now - since).total_seconds()
            detail = {
                "plan_id": str(plan_id),
                "system": system,
                "systems": list(systems),
                "cause": cause,
                "attempts": attempts,
                "since": since.isoformat(),
            }
            # A scheduled plan has no request to review: it goes on waiting at the longest interval
            # (the metric and its alert show it).
            if away >= settings.erasure_unreachable_review_seconds and request_id is not None:
                await conn.execute(
                    """update erasure_plans set status = 'needs_review', review_reasons = $2,
                              next_attempt_at = null where id = $1""",
                    plan_id,
                    [UNREACHABLE],
                )
                await audit(conn, request_id, NAME, "erasure.system_unreachable_review", detail)
                current = await conn.fetchval("select status from requests where id = $1", request_id)
                if current == RequestStatus.fulfilling.value:
                    await change_status(
                        conn,
                        request_id,
                        RequestStatus.needs_review,
                        actor=NAME,
                        reason=f"{UNREACHABLE}: {system} could not be reached for "
                        f"{int(away)} s ({attempts} attempts); approve the plan again once it is back",
                    )
                return
            wait = min(
                settings.erasure_retry_initial_seconds * 2 ** (attempts - 1),
                settings.erasure_retry_max_seconds,
            )
            await conn.execute(
                "update erasure_plans set next_attempt_at = now() + make_interval(secs => $2) where id = $1",
                plan_id,
                wait,
            )
            if attempts == 1:  # the first round of an outage; the columns count the rest
                await audit(conn, request_id, NAME, "erasure.system_unreachable", detail)

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
            f"update erasure_plans set {_CLEAR_WAIT} where id = $1 and unreachable_system = $2",
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

    async def _rescan(self, conn: asyncpg.Connection, request_id: uuid.UUID, plan: ErasurePlan) -> Rescan:
        # the same search the locator ran: with a person's resolution of shared values, the scope
        outcome = await search_request(conn, self.locator, request_id)
        if isinstance(outcome, Waiting) and outcome.systems:
            raise RescanWaiting(outcome.systems)
        if not isinstance(outcome, Located):
            return unsearched()
        found: list[FoundRow] = [
            (
                f.row.system,
                f.row.table,
                dict(zip(f.primary_key_columns, f.row.key, strict=True)),
                f.chain,
            )
            for f in outcome.findings
        ]
        return check_rescan(
            plan,
            found,
            [(s, t, k, ()) for s, t, k in plan.untouched],
            await self._residue(plan, found),
            await self._stops(plan),
        )

    async def _stops(self, plan: ErasurePlan) -> dict[RowId, tuple[str, ...]]:
        """Every row whose consent purposes were to stop, read back now: what it still shows of
        them (an emptied column holding a value, a mark not set). A row no longer there holds
        nothing; rows in systems an agent changes by hand are confirmed by the agent instead."""
        by_hand = set(plan.manual_systems)
        records = [r for r in plan.records if r.decision.purposes is not None and r.system not in by_hand]
        if not records:
            return {}
        values = await self.systems.read_rows((r.system, r.table, r.key) for r in records)
        out = {}
        for record in records:
            row = row_id(record.system, record.table, record.key)
            assert record.decision.purposes is not None
            out[row] = unstopped(record.decision.purposes, values.get(row))
        return out

    async def _residue(self, plan: ErasurePlan, found: Sequence[FoundRow]) -> dict[RowId, tuple[str, ...]]:
        """What each anonymised row the re-scan found still holds, read now (after the plan ran);
        a row that cannot be read is left out, and so is never excused."""
        anonymised = {
            row_id(r.system, r.table, r.key): r for r in plan.records if r.decision.action is Action.anonymise
        }
        records = [anonymised[row] for s, t, k, _ in found if (row := row_id(s, t, k)) in anonymised]
        if not records:
            return {}
        values = await self.systems.read_rows((r.system, r.table, r.key) for r in records)
        residue = {}
        for record in records:
            row = row_id(record.system, record.table, record.key)
            left = personal_residue(self.catalogue, record, values.get(row), self.hash_key)
            if left is not None:
                residue[row] = left
        return residue

    async def _finish(
        self,
        conn: asyncpg.Connection,
        plan_id: uuid.UUID,
        request_id: uuid.UUID | None,
        plan: ErasurePlan,
    ) -> None:
        """The end of a plan, once: re-scan, certificate, schedule, notices, the request's status."""
        rescan = await self._rescan(conn, request_id, plan) if request_id is not None else None
        async with conn.transaction():
            ended = await self._end(conn, plan_id, request_id, plan, rescan)
        if ended:  # committed: counted once per plan
            metrics.plan_executed(plan, rescan)

    async def _end(
        self,
        conn: asyncpg.Connection,
        plan_id: uuid.UUID,
        request_id: uuid.UUID | None,
        plan: ErasurePlan,
        rescan: Rescan | None,
    ) -> bool:
        """`_finish`'s ledger transaction; True when it ended the plan, False when another run had."""
        now = datetime.now(UTC)
        status = await conn.fetchval("select status from erasure_plans where id = $1 for update", plan_id)
        if status != "approved":
            return False
        await conn.execute(
            f"""update erasure_plans set status = 'executed', executed_at = $2, rescan = $3, {_CLEAR_WAIT}
                where id = $1""",
            plan_id,
            now,
            None if rescan is None else rescan.as_dict(),
        )
        await self._schedule(conn, plan, request_id)
        if request_id is None or rescan is None:
            await audit(conn, None, NAME, "scheduled_erasure_executed", {"plan_id": str(plan_id)})
            return True
        request = await conn.fetchrow(
            f"""select reference, type, language,
                      {ANSWERED_BY_POST} as by_post
               from requests where id = $1""",
            request_id,
        )
        recipients = await self._notify_recipients(conn, request_id, request["reference"], plan)
        await self._remember(conn, request_id, plan)
        content = certificate(
            self.catalogue,
            plan,
            reference=request["reference"],
            request_type=request["type"],
            executed_at=now,
            rescan=rescan,
            recipients=[self.catalogue.parties.recipients[r].name for r in recipients],
            controllers=plan.controllers,
            manual=await confirmations(conn, plan_id),
        )
        stored = await self.store_certificate(
            conn, request_id, content, request["language"], by_post=bool(request["by_post"])
        )
        await audit(
            conn,
            request_id,
            NAME,
            "erasure_executed",
            {"plan_id": str(plan_id), "summary": content["summary"], "rescan": rescan.as_dict()},
        )
        if content["purposes"]:  # catalogue words and counts only: no personal data
            await audit(conn, request_id, NAME, "consent_purposes_stopped", {"tables": content["purposes"]})
        if plan.controllers:
            await audit(
                conn, request_id, NAME, "referred_to_controllers", {"systems": sorted(plan.controllers)}
            )
        current = await conn.fetchval("select status from requests where id = $1", request_id)
        if current != RequestStatus.fulfilling.value:  # cancelled meanwhile: the record stays
            await audit(conn, request_id, NAME, "erasure_finished_after", {"status": current})
            return True
        if not rescan.clean:
            await change_status(
                conn,
                request_id,
                RequestStatus.needs_review,
                actor=NAME,
                reason=_unclean_reason(rescan),
            )
            return True
        final = RequestStatus.referred if plan.referred_only else RequestStatus.completed
        reason = "referred to the controller" if plan.referred_only else "erasure executed, re-scan clean"
        await finish_request(conn, request_id, RequestType(request["type"]), final, reason, stored)
        return True

    async def store_certificate(
        self,
        conn: asyncpg.Connection,
        request_id: uuid.UUID,
        content: dict[str, Any],
        language: str,
        *,
        by_post: bool,
    ) -> int:
        """JSON and HTML always, PDF as configured (by default when the answer goes by post, since
        the PDF is the letter's content); returns how many artifacts were stored."""
        lang: Language = "en" if language == "en" else "nb"
        reference = content["reference"]
        documents = [
            ("application/json", "json", json.dumps(content, ensure_ascii=False, indent=2).encode()),
            ("text/html; charset=utf-8", "html", certificate_html(content, lang).encode()),
        ]
        pdf = self.settings.erasure_pdf
        if pdf is CertificatePdf.always or (pdf is CertificatePdf.post and by_post):
            documents.append(("application/pdf", "pdf", certificate_pdf(content, lang)))
        for media_type, suffix, body in documents:
            await self.artifacts.put(
                conn,
                request_id=request_id,
                kind=ArtifactKind.erasure_certificate,
                media_type=media_type,
                filename=f"{reference}-erasure-certificate.{suffix}",
                content=body,
                actor=NAME,
            )
        return len(documents)

    async def _schedule(
        self, conn: asyncpg.Connection, plan: ErasurePlan, request_id: uuid.UUID | None
    ) -> None:
        """Records kept until a date are erased on that date by the scheduler."""
        await conn.executemany(
            """insert into erasure_schedule (system, "table", record_key, due_on, request_id)
               values ($1, $2, $3, $4, $5)
               on conflict (system, "table", record_key) do update
                   set due_on = excluded.due_on, status = 'pending', done_at = null""",
            [
                (r.system, r.table, dict(r.key), r.decision.until, request_id)
                for r in plan.records
                if r.decision.action is Action.retain and r.decision.until is not None
            ],
        )

    async def _remember(self, conn: asyncpg.Connection, request_id: uuid.UUID, plan: ErasurePlan) -> None:
        """Restrictions made on request are recorded (to be lifted later); erased marketing data
        puts the person on the suppression list so they are not added back."""
        stops = [r for r in plan.records if r.decision.purposes is not None]
        await conn.executemany(  # what a later extract says of these rows (`stopped_purposes`)
            """insert into stopped_purposes (request_id, system, "table", record_key, purposes)
               values ($1, $2, $3, $4, $5) on conflict (system, "table", record_key, request_id) do nothing""",
            [
                (
                    request_id,
                    r.system,
                    r.table,
                    dict(r.key),
                    {
                        "stopped": [p.as_dict() for p in r.decision.purposes.stopped],
                        "continuing": [p.as_dict() for p in r.decision.purposes.continuing],
                    },
                )
                for r in stops
                if r.decision.purposes is not None
            ],
        )
        if plan.scope in (Scope.restriction.value, Scope.objection_restrict.value):
            await conn.executemany(
                """insert into restrictions (request_id, system, "table", record_key)
                   values ($1, $2, $3, $4) on conflict do nothing""",
                [
                    (request_id, r.system, r.table, dict(r.key))
                    for r in plan.records
                    if r.decision.mark_restricted
                ],
            )
        if any(r.system == "marketing" and r.decision.action is Action.erase for r in plan.records):
            identifiers = {
                r["kind"]: r["value"]
                for r in await conn.fetch(
                    "select kind, value from request_identifiers where request_id = $1", request_id
                )
            }
            await suppress(conn, self.hash_key, identifiers, request_id=request_id)

    async def _notify_recipients(
        self, conn: asyncpg.Connection, request_id: uuid.UUID, reference: str, plan: ErasurePlan
    ) -> list[str]:
        """One notice per recipient and kind of change, naming the affected tables (Art. 19)."""
        affected: dict[tuple[str, str], set[str]] = defaultdict(set)
        counts: dict[tuple[str, str], int] = defaultdict(int)
        for record in plan.records:
            d = record.decision
            word = CHANGE_WORD.get(d.action)
            if d.action is Action.retain and d.mark_restricted:
                word = "restricted"
            if d.purposes is not None:  # a withdrawn consent: columns emptied, or a purpose marked
                word = "erased" if d.columns else "restricted"
            if word is None or (d.method is Method.none and not d.mark_restricted and not d.marks):
                continue
            table = self.catalogue.systems[record.system].tables[record.table]
            for recipient in table.recipients:
                affected[(recipient, word)].add(f"{record.system}.{record.table}")
                counts[(recipient, word)] += 1
        return await notify_recipients(conn, request_id, reference, affected, counts)


def _unclean_reason(rescan: Rescan) -> str:
    if not rescan.searched:
        return "re-scan could not finish"
    if rescan.unexpected:
        return "re-scan found records the plan did not keep"
    tables = sorted({f"{s}.{t}" for (s, t, _k), _c in rescan.unstopped})
    return f"consent_purpose_not_stopped: {', '.join(tables)} still hold what the withdrawn consent stopped"


async def finish_request(
    conn: asyncpg.Connection,
    request_id: uuid.UUID,
    request_type: RequestType,
    final: RequestStatus,
    reason: str,
    artifacts: int = 0,
    *,
    actor: str = NAME,
) -> None:
    await change_status(conn, request_id, final, actor=actor, reason=reason)
    await enqueue(
        conn,
        FULFILLED,
        Envelope[RequestFulfilled](
            event_type="request.fulfilled",
            producer=NAME,
            request_id=request_id,
            payload=RequestFulfilled(type=request_type, status=final, artifact_count=artifacts),
        ),
    )


async def found_by_agent(conn: asyncpg.Connection, request_id: uuid.UUID) -> set[str]:
    """The systems an agent's manual search found the subject in (`answer.found`)."""
    rows = await conn.fetch(
        """select system from manual_tasks
           where request_id = $1 and kind = 'search' and status = 'answered'
             and coalesce((answer->>'found')::boolean, false)""",
        request_id,
    )
    return {row["system"] for row in rows}
