"""The rights other than access, from `request.located` on: which path each type takes.

Erasure, unsubscribe, consent withdrawal, opt-out and restriction become an erasure plan of their
scope (`scopes.py`); an objection becomes a task for the data protection officer, whose decision
(upheld: restrict or erase what rests on legitimate interest) becomes such a plan; rectification
corrects the rectifiable columns it names and tells the recipients.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import asyncpg

from schemas.envelope import Envelope
from schemas.events import RestrictionLifting
from schemas.registry import NOTICES
from schemas.requests import RequestStatus, RequestType
from services.catalogue.model import Catalogue
from services.erasure.ending import NAME, finish_request
from services.erasure.flow import Erasure
from services.erasure.notices import notify_recipients
from services.erasure.rectification import NOT_APPLIED, UNPROVEN, plan_corrections, prove, row_id
from services.erasure.scopes import SCOPE_OF_TYPE, Scope
from services.erasure.suppression import suppress
from services.erasure.systems import ErasureSystems
from services.runtime.ledger import audit, change_status
from services.runtime.outbox import enqueue

HANDLED = frozenset(SCOPE_OF_TYPE) | {RequestType.objection, RequestType.rectification}


class NoTask(Exception):
    """Nothing waits for this decision (no open objection, no restriction to lift)."""


class Rights:
    def __init__(self, erasure: Erasure, hash_key: bytes) -> None:
        self.erasure = erasure
        self.hash_key = hash_key

    @property
    def catalogue(self) -> Catalogue:
        return self.erasure.catalogue

    @property
    def systems(self) -> ErasureSystems:
        return self.erasure.systems

    async def on_located(self, conn: asyncpg.Connection, request_id: uuid.UUID, kind: RequestType) -> None:
        """Called by fulfilment with the request in `fulfilling`, inside the event's transaction."""
        if kind is RequestType.objection:
            await conn.execute(
                "insert into objection_tasks (request_id) values ($1) on conflict do nothing", request_id
            )
            await change_status(
                conn, request_id, RequestStatus.needs_review, actor=NAME, reason="objection: the DPO decides"
            )
            return
        if kind is RequestType.rectification:
            await self.rectify(conn, request_id)
            return
        if kind is RequestType.marketing_opt_out:
            await self.suppress_request(conn, request_id)
        await self.erasure.plan(conn, request_id, SCOPE_OF_TYPE[kind])

    async def suppress_request(self, conn: asyncpg.Connection, request_id: uuid.UUID) -> int:
        identifiers = {
            r["kind"]: r["value"]
            for r in await conn.fetch(
                "select kind, value from request_identifiers where request_id = $1", request_id
            )
        }
        added = await suppress(conn, self.hash_key, identifiers, request_id=request_id)
        await audit(conn, request_id, NAME, "marketing_suppressed", {"entries": added})
        return added

    # ----------------------------------------------------------------------------- objection

    async def decide_objection(
        self,
        conn: asyncpg.Connection,
        request_id: uuid.UUID,
        *,
        actor: str,
        upheld: bool,
        outcome: str | None,
        reason: str,
    ) -> str:
        """The DPO's decision: upheld, processing on legitimate interest stops (`restrict` or
        `erase`, planned like an erasure); dismissed, the request completes with the reason."""
        task = await conn.fetchrow(
            "select id from objection_tasks where request_id = $1 and status = 'open' for update", request_id
        )
        if task is None:
            raise NoTask(str(request_id))
        if upheld and outcome not in ("restrict", "erase"):
            raise ValueError("an upheld objection says whether to restrict or erase")
        await conn.execute(
            """update objection_tasks set status = $2, decided_by = $3, decided_at = now(), outcome = $4,
               reason = $5 where id = $1""",
            task["id"],
            "upheld" if upheld else "dismissed",
            actor,
            outcome if upheld else None,
            reason,
        )
        await audit(
            conn,
            request_id,
            actor,
            "objection_decided",
            {"upheld": upheld, "outcome": outcome if upheld else None, "reason": reason},
        )
        if not upheld:
            await finish_request(
                conn,
                request_id,
                RequestType.objection,
                RequestStatus.completed,
                "objection dismissed",
                actor=actor,
            )
            return "dismissed"
        await change_status(
            conn, request_id, RequestStatus.fulfilling, actor=actor, reason="objection upheld"
        )
        scope = Scope.objection_erase if outcome == "erase" else Scope.objection_restrict
        _plan_id, status = await self.erasure.plan(conn, request_id, scope, actor=actor)
        return status

    # --------------------------------------------------------------------------- restriction

    async def announce_lift(self, conn: asyncpg.Connection, request_id: uuid.UUID, *, actor: str) -> int:
        """Tell the subject that their restriction will be lifted (Art. 18(3)); lifting needs this."""
        reference = await conn.fetchval("select reference from requests where id = $1", request_id)
        status = await conn.execute(
            """update restrictions set lift_notified_at = now()
               where request_id = $1 and lifted_at is null and lift_notified_at is null""",
            request_id,
        )
        count = int(status.rsplit(" ", 1)[-1])
        if count == 0:
            raise NoTask(str(request_id))
        await enqueue(
            conn,
            NOTICES,
            Envelope[RestrictionLifting](
                event_type="subject.restriction_lifting",
                producer=NAME,
                request_id=request_id,
                payload=RestrictionLifting(reference=reference, record_count=count, lifted_by=actor),
            ),
        )
        await audit(conn, request_id, actor, "restriction_lift_announced", {"records": count})
        return count

    async def lift(self, conn: asyncpg.Connection, request_id: uuid.UUID, *, actor: str) -> int:
        """Lift a restriction the subject has been told about: the rows are usable again."""
        rows = await conn.fetch(
            """select id, system, "table", record_key from restrictions
               where request_id = $1 and lifted_at is null and lift_notified_at is not null for update""",
            request_id,
        )
        if not rows:
            raise NoTask(str(request_id))
        for row in rows:
            await self.systems.set_restricted(row["system"], row["table"], row["record_key"], False)
        await conn.execute(
            "update restrictions set lifted_at = now(), lifted_by = $2 where id = any($1)",
            [r["id"] for r in rows],
            actor,
        )
        await audit(conn, request_id, actor, "restriction_lifted", {"records": len(rows)})
        return len(rows)

    # ---------------------------------------------------------------------------- rectification

    async def rectify(self, conn: asyncpg.Connection, request_id: uuid.UUID) -> None:
        """Apply the request's corrections to the rectifiable columns of the subject's records
        (`rectification.py`), read every found row back and prove it: the new value in place, no
        old value left in a rectifiable column; an old value kept in a column that is not
        rectifiable is named with its reason. The proof is stored (`rectification_proofs`) and
        audited, values only as keyed hashes. Corrections naming no rectifiable column found, or a
        value that cannot be written, and a proof that fails (a concurrent write put an old value
        back) leave the request to a person (`needs_review`), never `completed`."""
        details = await conn.fetchval("select details from requests where id = $1", request_id)
        corrections: Mapping[str, str] = (details or {}).get("corrections") or {}
        findings = await conn.fetch(
            'select system, "table", primary_key from findings where request_id = $1', request_id
        )
        manual = self.systems.manual_systems()
        found = [(r["system"], r["table"], dict(r["primary_key"])) for r in findings]
        readable = [f for f in found if f[0] not in manual]
        before = await self.systems.read_rows(readable)
        plan = plan_corrections(self.catalogue, corrections, [(f, before.get(row_id(*f))) for f in readable])
        replaced: list[tuple[str, str, str, Any]] = []
        affected: dict[tuple[str, str], set[str]] = defaultdict(set)
        counts: dict[tuple[str, str], int] = defaultdict(int)
        for system, items in plan.by_system().items():
            for table_name, _key, old, _new in await self.systems.rectify(system, items):
                replaced += [(system, table_name, column, value) for column, value in old.items()]
                for recipient in self.catalogue.systems[system].tables[table_name].recipients:
                    affected[(recipient, "rectified")].add(f"{system}.{table_name}")
                    counts[(recipient, "rectified")] += 1
        after = await self.systems.read_rows(readable)
        proof = prove(
            self.catalogue,
            plan,
            readable,
            after,
            self.hash_key,
            old_values=replaced,
            unreadable=sorted({f[0] for f in found if f[0] in manual}),
        )
        record = proof.as_dict()
        await conn.execute(
            """insert into rectification_proofs (request_id, verified, proof) values ($1, $2, $3)
               on conflict (request_id) do update set verified = excluded.verified, proof = excluded.proof,
                   checked_at = now()""",
            request_id,
            proof.verified,
            record,
        )
        await audit(
            conn,
            request_id,
            NAME,
            "rectified",
            {
                "changes": record["corrected"],
                "not_applied": list(plan.not_applied),
                "invalid": list(plan.invalid),
            },
        )
        await audit(conn, request_id, NAME, "rectification_proof", record)
        reference = await conn.fetchval("select reference from requests where id = $1", request_id)
        await notify_recipients(conn, request_id, reference, affected, counts)
        if not corrections or plan.not_applied or plan.invalid or proof.unreadable:
            named = [
                *(f"{name} names no rectifiable column found" for name in plan.not_applied),
                *(f"{name} is not a valid value for its column" for name in plan.invalid),
                *(f"{system} has no interface: an agent corrects it" for system in proof.unreadable),
            ]
            await change_status(
                conn,
                request_id,
                RequestStatus.needs_review,
                actor=NAME,
                reason=f"{NOT_APPLIED}: {'; '.join(named) or 'no corrections'}",
            )
            return
        if not proof.verified:
            await change_status(
                conn,
                request_id,
                RequestStatus.needs_review,
                actor=NAME,
                reason=f"{UNPROVEN}: {'; '.join(proof.problems)}",
            )
            return
        await finish_request(
            conn,
            request_id,
            RequestType.rectification,
            RequestStatus.completed,
            f"{len(proof.corrected)} values corrected in {len({(c['system'], c['table'], str(c['key'])) for c in proof.corrected})} "
            f"records; read back: {proof.rows_checked} records hold no old value",
        )
