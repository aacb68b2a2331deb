"""Verifying the audit trail's hash chains and anchoring each day's events in a digest.

The database computes every event's hash when it is written (migration 0005): the hash covers the
event and the previous event's hash in the same request's chain. Changing an event breaks its own
hash; recomputing it breaks the next event's link; rewriting a whole chain changes the digest of
every day it touched, and those digests are anchored (and can be published elsewhere).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

import asyncpg


@dataclass(frozen=True)
class BrokenLink:
    """The first event of a chain that does not verify, and why (no event content)."""

    reference: str | None
    request_id: str | None
    seq: int
    event_id: int
    problem: str


@dataclass(frozen=True)
class DayMismatch:
    day: date
    anchored_events: int
    events_now: int


@dataclass
class AuditReport:
    events: int = 0
    chains: int = 0
    anchored_days: int = 0
    broken: list[BrokenLink] = field(default_factory=list)
    days: list[DayMismatch] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.broken and not self.days


_FIRST_BREAK_PER_CHAIN = """
with chain as (
    select a.id, a.request_id, a.seq, a.prev_hash, a.hash, a.at, a.actor, a.action, a.detail,
           lag(a.hash) over w as expected_prev,
           row_number() over w as position
    from audit_events a
    {where}
    window w as (partition by a.request_id order by a.seq, a.id)
), checked as (
    select c.*,
           case
               when c.seq is distinct from c.position then 'an event is missing before this one'
               when c.prev_hash is distinct from c.expected_prev then 'the link to the previous event is broken'
               when c.hash is distinct from audit_event_digest(c.prev_hash, c.request_id, c.seq, c.at, c.actor,
                                                                c.action, c.detail)
                   then 'the event was changed after it was written'
           end as problem
    from chain c
)
select distinct on (k.request_id) k.request_id, k.seq, k.id, k.problem, r.reference
from checked k left join requests r on r.id = k.request_id
where k.problem is not null
order by k.request_id, k.seq, k.id
"""

_DAY_DIGESTS = """
select (at at time zone 'UTC')::date as day, count(*) as events,
       sha256(string_agg(hash, ''::bytea order by id)) as digest
from audit_events
where (at at time zone 'UTC')::date = any($1::date[])
group by 1
"""


async def verify(conn: asyncpg.Connection) -> AuditReport:
    """Check every chain and every anchored day; report the first broken link of each chain."""
    report = AuditReport()
    counts = await conn.fetchrow(
        "select count(*) as events, count(distinct coalesce(request_id::text, '-')) as chains from audit_events"
    )
    report.events, report.chains = counts["events"], counts["chains"]
    report.broken = _links(await conn.fetch(_FIRST_BREAK_PER_CHAIN.format(where="")))
    anchors = {r["day"]: r for r in await conn.fetch("select day, digest, events from audit_anchors")}
    report.anchored_days = len(anchors)
    report.days = await _day_mismatches(conn, anchors)
    return report


async def verify_request(conn: asyncpg.Connection, request_id: uuid.UUID) -> AuditReport:
    """Check one request's chain and the anchors of the days its events fall on (for an export)."""
    report = AuditReport(chains=1)
    report.events = await conn.fetchval("select count(*) from audit_events where request_id = $1", request_id)
    where = "where a.request_id = $1"
    report.broken = _links(await conn.fetch(_FIRST_BREAK_PER_CHAIN.format(where=where), request_id))
    anchors = {
        r["day"]: r
        for r in await conn.fetch(
            """select day, digest, events from audit_anchors where day in (
                   select distinct (at at time zone 'UTC')::date from audit_events where request_id = $1)""",
            request_id,
        )
    }
    report.anchored_days = len(anchors)
    report.days = await _day_mismatches(conn, anchors)
    return report


def _links(rows: list[asyncpg.Record]) -> list[BrokenLink]:
    return [
        BrokenLink(
            reference=row["reference"],
            request_id=str(row["request_id"]) if row["request_id"] else None,
            seq=row["seq"],
            event_id=row["id"],
            problem=row["problem"],
        )
        for row in rows
    ]


async def _day_mismatches(conn: asyncpg.Connection, anchors: dict[date, asyncpg.Record]) -> list[DayMismatch]:
    now = {r["day"]: r for r in await conn.fetch(_DAY_DIGESTS, list(anchors))}
    mismatches = []
    for day, anchored in sorted(anchors.items()):
        current = now.get(day)
        if current is None or current["digest"] != anchored["digest"]:
            mismatches.append(DayMismatch(day, anchored["events"], current["events"] if current else 0))
    return mismatches


async def anchor(conn: asyncpg.Connection, *, before: date) -> list[tuple[date, str]]:
    """Anchor every finished day (before `before`, UTC) that has events and no anchor yet."""
    rows = await conn.fetch(
        """insert into audit_anchors (day, digest, events)
           select (at at time zone 'UTC')::date, sha256(string_agg(hash, ''::bytea order by id)), count(*)
           from audit_events
           where (at at time zone 'UTC')::date < $1
             and (at at time zone 'UTC')::date not in (select day from audit_anchors)
           group by 1
           on conflict (day) do nothing
           returning day, encode(digest, 'hex') as digest""",
        before,
    )
    return sorted((r["day"], r["digest"]) for r in rows)
