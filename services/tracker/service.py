"""The tracker's flow: timers over the ledger's open requests, re-drive of stuck ones, metrics.

Every loop reads the ledger, so nothing depends on Kafka having kept anything: a broker that
forgot its topics only delays requests until the re-drive republishes their last events.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

import asyncpg

from schemas.envelope import Envelope
from schemas.events import DeadlineAtRisk, DeadlineMissed
from schemas.registry import FULFILLED, LOCATED, REQUESTS, SLA
from schemas.requests import TERMINAL_STATUSES
from services.catalogue.drift.check import check_systems
from services.catalogue.drift.findings import SystemCheck
from services.catalogue.drift.settings import DriftSettings
from services.catalogue.loader import load_catalogue
from services.catalogue.model import Catalogue
from services.intake.domain.deadline import OSLO
from services.runtime.consumer import EventConsumer
from services.runtime.db import plan_afresh
from services.runtime.host import Runtime, ServiceSpec
from services.runtime.ledger import audit
from services.runtime.outbox import enqueue
from services.tracker import metrics
from services.tracker.deadlines import SlaState, days_left_bucket, escalates, sla_state
from services.tracker.drift import DriftTimer

NAME = "tracker"
log = logging.getLogger(__name__)
_TERMINAL = [s.value for s in TERMINAL_STATUSES]
# Open requests, said as the partial indexes `requests_open` and `requests_stuck` say it: the
# services' generic plans use a partial index only for a condition spelled like its predicate, never
# for `status <> all($1)`, and would read every request each round.
_OPEN = "status not in (" + ", ".join(f"'{status}'" for status in sorted(_TERMINAL)) + ")"
# Waiting for a person is not being stuck: these are driven on by people, not by re-publishing.
_WAITING_FOR_PEOPLE = ["awaiting_verification", "needs_review"]
# The topics whose events move a request from one service to the next. A request's last event can
# be on another topic (the intake outcome to Plan & Pay, a referral, a notice): republishing that
# one would drive nothing.
_PIPELINE_TOPICS = [REQUESTS, LOCATED, FULFILLED]


def _today() -> Any:
    return datetime.now(OSLO).date()


async def check_deadlines(pool: asyncpg.Pool, *, at_risk_days: int) -> int:
    """Move requests to at risk / overdue, each step once, with its event; returns how many moved.

    A paused clock (waiting for identity proof) does not run, so such requests are left alone.
    """
    today = _today()
    async with pool.acquire() as conn, conn.transaction():
        await plan_afresh(conn)
        rows = await conn.fetch(
            f"""select id, reference, due_date, sla_state, correlation_id from requests
               where {_OPEN} and paused_since is null and sla_state <> 'overdue'
                 and due_date <= $1::date + $2::int""",
            today,
            at_risk_days,
        )
    moved = 0
    for row in rows:
        old = SlaState(row["sla_state"])
        new = sla_state(row["due_date"], today, at_risk_days=at_risk_days)
        if escalates(old, new):
            moved += await _escalate(pool, row, old, new, today)
    return moved


async def _escalate(pool: asyncpg.Pool, row: asyncpg.Record, old: SlaState, new: SlaState, today: Any) -> int:
    async with pool.acquire() as conn, conn.transaction():
        # the guard on the old state makes a second tracker's attempt a no-op
        changed = await conn.fetchval(
            "update requests set sla_state = $2 where id = $1 and sla_state = $3 returning true",
            row["id"],
            new.value,
            old.value,
        )
        if not changed:
            return 0
        common: dict[str, Any] = {
            "producer": NAME,
            "request_id": row["id"],
            "correlation_id": row["correlation_id"],
        }
        event: Envelope[Any]
        if new is SlaState.overdue:
            event = Envelope[DeadlineMissed](
                event_type="request.overdue",
                payload=DeadlineMissed(
                    reference=row["reference"],
                    due_date=row["due_date"],
                    days_overdue=(today - row["due_date"]).days,
                ),
                **common,
            )
        else:
            event = Envelope[DeadlineAtRisk](
                event_type="request.at_risk",
                payload=DeadlineAtRisk(
                    reference=row["reference"],
                    due_date=row["due_date"],
                    days_left=(row["due_date"] - today).days,
                ),
                **common,
            )
        await enqueue(conn, SLA, event)
        await audit(conn, row["id"], NAME, f"deadline_{new.value}", {"due_date": row["due_date"]})
    metrics.SLA_TRANSITIONS.labels(new.value).inc()
    return 1


async def redrive_stuck(pool: asyncpg.Pool, *, stuck_after_seconds: float) -> int:
    """Republish the last pipeline event of each request that made no progress for a while.

    Its consumer handles it if it never arrived (a broker that forgot its topics) and skips it if
    it did (the inbox): re-drive never doubles an effect.
    """
    async with pool.acquire() as conn, conn.transaction():
        await plan_afresh(conn)
        rows = await conn.fetch(
            f"""with stuck as (
                   select id from requests
                   where {_OPEN} and status <> all($1::text[])
                     and updated_at < now() - make_interval(secs => $2)
                   order by updated_at limit 500
                   for no key update skip locked),
               last_event as (
                   select distinct on (o.request_id) o.id, o.request_id from outbox o
                   join stuck s on s.id = o.request_id
                   where o.topic = any($3::text[])
                   order by o.request_id, o.id desc),
               republished as (
                   update outbox set published_at = null from last_event l where outbox.id = l.id
                   returning outbox.request_id, outbox.event_type)
               update requests r set updated_at = now() from republished p where r.id = p.request_id
               returning r.id, p.event_type""",
            _WAITING_FOR_PEOPLE,
            stuck_after_seconds,
            _PIPELINE_TOPICS,
        )
        for row in rows:
            await audit(conn, row["id"], NAME, "redriven", {"event_type": row["event_type"]})
    if rows:
        metrics.REDRIVES.inc(len(rows))
        log.info("stuck requests driven on", extra={"count": len(rows)})
    return len(rows)


async def refresh_gauges(pool: asyncpg.Pool, *, at_risk_days: int) -> None:
    today = _today()
    rows = await pool.fetch(
        """select status, type, channel, due_date, paused_since is not null as paused from requests
           where status <> all($1::text[]) and duplicate_of is null""",
        _TERMINAL,
    )
    open_counts: dict[tuple[str, str, str], int] = {}
    buckets: dict[str, int] = {}
    at_risk = overdue = 0
    for row in rows:
        key = (row["status"], row["type"], row["channel"])
        open_counts[key] = open_counts.get(key, 0) + 1
        bucket = days_left_bucket(row["due_date"], today)
        buckets[bucket] = buckets.get(bucket, 0) + 1
        if not row["paused"]:
            state = sla_state(row["due_date"], today, at_risk_days=at_risk_days)
            at_risk += state is SlaState.at_risk
            overdue += state is SlaState.overdue
    metrics.OPEN.clear()
    for (status, request_type, channel), count in open_counts.items():
        metrics.OPEN.labels(status, request_type, channel).set(count)
    for name in ("overdue", "0-2", "3-7", "8-14", "15-31", "32+"):
        metrics.OPEN_BY_DAYS_LEFT.labels(name).set(buckets.get(name, 0))
    metrics.AT_RISK.set(at_risk)
    metrics.OVERDUE.set(overdue)


async def on_fulfilled(conn: asyncpg.Connection, event: Envelope[Any]) -> None:
    row = await conn.fetchrow(
        "select type, channel, received_at from requests where id = $1", event.request_id
    )
    if row is not None:
        seconds = (event.occurred_at - row["received_at"]).total_seconds()
        metrics.TIME_TO_COMPLETE.labels(row["type"], row["channel"]).observe(max(seconds, 0.0))


async def _every(seconds: float, step: Any) -> None:
    while True:
        try:
            await step()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the database away: try again next round
            log.warning("tracker round failed", extra={"error": type(exc).__name__})
        await asyncio.sleep(seconds)


def loops(runtime: Runtime) -> list[Any]:
    settings, pool = runtime.settings, runtime.pool
    return [
        _every(settings.tracker_interval, lambda: check_deadlines(pool, at_risk_days=settings.at_risk_days)),
        _every(
            settings.tracker_interval, lambda: redrive_stuck(pool, stuck_after_seconds=settings.stuck_after)
        ),
        _every(settings.tracker_interval, lambda: refresh_gauges(pool, at_risk_days=settings.at_risk_days)),
        drift_timer(runtime).forever(settings.tracker_interval),
    ]


def drift_timer(runtime: Runtime) -> DriftTimer:
    """The catalogue's drift check over the systems as the services reach them (`services/tracker/drift.py`)."""
    settings = runtime.settings
    drift = DriftSettings()

    async def check(catalogue: Catalogue) -> list[SystemCheck]:
        return await check_systems(catalogue, server_url=settings.database_url, settings=drift)

    return DriftTimer(
        runtime.pool, load=lambda: load_catalogue(settings.catalogue_dir), checker=check, settings=drift
    )


def consumers(runtime: Runtime) -> list[EventConsumer]:
    return [
        EventConsumer(
            NAME,
            FULFILLED,
            {"request.fulfilled": on_fulfilled},
            pool=runtime.pool,
            dead_letters=runtime.dead_letters,
            settings=runtime.settings,
        )
    ]


SPEC = ServiceSpec(NAME, consumers=consumers, background=loops, title="DSR SLA tracker")
