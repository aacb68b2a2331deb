"""The hot statements' cached plans stay index lookups after the ledger grows.

The services' pools run every statement on a generic plan (`plan_cache_mode = force_generic_plan`,
see `services/runtime/db.py`), planned once per connection and kept until PostgreSQL invalidates
it (an ANALYZE or VACUUM of a table it reads, DDL). A plan made while the ledger was empty, as on a
fresh ledger at start-up, is kept while the tables grow by tens of thousands of rows until
autovacuum gets to them: if it is a sequential scan, each call reads the whole table (README,
"Measured performance": the Kafka intake's dedupe lookup did). So each statement below is prepared
on a pooled connection while the ledger is empty, run once there (as a service starting on a fresh
ledger does), then the ledger is bulk-loaded without any ANALYZE, and the same prepared statement's
plan, the one the services would go on using, must read the big tables through an index.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from services.runtime.db import create_pool, plan_afresh

ROOT = Path(__file__).resolve().parents[2]

# Terminal statuses, as `schemas.requests.TERMINAL_STATUSES` (checked below).
_TERMINAL = "array['completed','referred','refused','cancelled']::text[]"
_OPEN = "status not in ('cancelled', 'completed', 'referred', 'refused')"


@dataclass(frozen=True)
class Hot:
    name: str
    source: str  # the module the statement is copied from, verbatim up to whitespace
    sql: str
    args: str  # SQL literals for EXECUTE
    tables: tuple[str, ...]  # the big tables it must not scan
    afresh: bool = False  # run once a round under `plan_afresh` (a custom plan), not per request
    uses: tuple[str, ...] = ()  # indexes its plan must read


HOT = [
    Hot(
        "idempotency",
        "services/intake/requests.py",
        "select * from requests where idempotency_scope = $1 and idempotency_key = $2",
        "'test-system', 'key-4242'",
        ("requests",),
    ),
    Hot(
        "correlation",
        "services/intake/requests.py",
        "select * from requests where correlation_id = $1 order by created_at limit 1",
        "'corr-4242'",
        ("requests",),
    ),
    Hot(
        "request_by_id",
        "services/intake/requests.py",
        "select * from requests where id = $1",
        "'00000000-0000-0000-0000-000000004242'",
        ("requests",),
    ),
    Hot(
        "dedupe",
        "services/intake/admission.py",
        """with keys as (select * from unnest($1::text[], $2::text[]) as k(scope, key)),
                candidates as (
               select r.id from keys k cross join lateral (
                   select r.id from requests r
                   where r.idempotency_scope = k.scope and r.idempotency_key = k.key offset 0) r
               union
               select i.request_id from unnest($3::text[], $4::text[]) as t(kind, value) cross join lateral (
                   select i.request_id from request_identifiers i
                   where i.kind = t.kind and i.value = t.value offset 0) i)
           select r.*,
                  (select array_agg(array[i.kind, i.value]) from request_identifiers i where i.request_id = r.id)
                    as identifiers,
                  o.reference as original_reference
           from candidates c cross join lateral (select * from requests r where r.id = c.id offset 0) r
           left join lateral (select o.reference from requests o where o.id = r.duplicate_of offset 0) o on true
           where exists (select 1 from keys k where k.scope = r.idempotency_scope and k.key = r.idempotency_key)
              or (r.type = any($5::text[]) and r.duplicate_of is null and r.status <> all($6::text[]))
           order by r.received_at""",
        "array['test-system'], array['key-4242'], array['email','national_id'],"
        " array['p4242@example.org','01010104242'], array['access'], " + _TERMINAL,
        ("requests", "request_identifiers"),
    ),
    Hot(
        "inbox",
        "services/runtime/inbox.py",
        """insert into processed_events (consumer, event_id, topic, partition, "offset")
               values ($1, $2, $3, $4, $5) on conflict do nothing returning true""",
        "'locator', '00000000-0000-0000-0000-000000004242', 'dsr.requests.v1', 0, 4242",
        ("processed_events",),
    ),
    Hot(
        "relay_fetch",
        "services/runtime/relay.py",
        """select id, topic, key, value, created_at from outbox
               where producer = $1 and published_at is null order by id limit $2""",
        "'intake', 500",
        ("outbox",),
    ),
    Hot(
        "relay_mark",
        "services/runtime/relay.py",
        "update outbox set published_at = now() where id = any($1::bigint[])",
        "array[4242, 4243]::bigint[]",
        ("outbox",),
    ),
    Hot(
        "relay_pending",
        "services/runtime/relay.py",
        "select count(*) from outbox where producer = $1 and published_at is null",
        "'intake'",
        ("outbox",),
    ),
    Hot(
        "locator_waits",
        "services/locator/store.py",
        """select request_id, systems, waiting_since, attempts from locator_waits
           where next_attempt_at <= now() order by next_attempt_at limit 1 for update skip locked""",
        "",
        ("locator_waits",),
    ),
    Hot(
        "tracker_deadlines",
        "services/tracker/service.py",
        f"""select id, reference, due_date, sla_state, correlation_id from requests
           where {_OPEN} and paused_since is null and sla_state <> 'overdue'
             and due_date <= $1::date + $2::int""",
        "current_date, 7",
        ("requests",),
        afresh=True,
    ),
    Hot(
        "tracker_stuck",
        "services/tracker/service.py",
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
        "array['awaiting_verification','needs_review'], 600.0, array['requests','located','fulfilled']",
        # Finding the stuck requests must not read every request. Its joins to the outbox (no
        # index on request_id: one more index on the most written table) and back to the requests
        # by id read them whole only in a round that found stuck requests, a rare one.
        (),
        afresh=True,
        uses=("requests_stuck",),
    ),
    Hot(
        "notices_due",
        "services/notifier/delivery.py",
        """select * from notices where status = 'pending' and next_attempt_at <= now()
                           order by next_attempt_at, id limit 1 for update skip locked""",
        "",
        ("notices",),
    ),
]

# A ledger some weeks into production: most requests finished, each with two identifiers, its
# outbox rows (published) and inbox rows, a few searches waiting and notices still pending.
BULK_LOAD = """
insert into requests (id, reference, type, channel, status, received_at, due_date, subject,
                      correlation_id, idempotency_scope, idempotency_key, created_at, updated_at)
select ('00000000-0000-0000-0000-' || lpad(n::text, 12, '0'))::uuid, 'DSR-' || n,
       (array['access','erasure','marketing_opt_out'])[1 + n % 3], 'web',
       case when n % 50 = 0 then 'locating' when n % 97 = 0 then 'needs_review' else 'completed' end,
       now() - make_interval(mins => n), current_date + 30 - n / 2000, '{}'::jsonb,
       'corr-' || n, 'test-system', 'key-' || n,
       now() - make_interval(mins => n), now() - make_interval(mins => n)
from generate_series(1, $1) as n;
insert into request_identifiers (request_id, kind, value)
select ('00000000-0000-0000-0000-' || lpad(n::text, 12, '0'))::uuid, k.kind,
       case k.kind when 'email' then 'p' || n || '@example.org' else lpad(n::text, 11, '0') end
from generate_series(1, $1) as n cross join (values ('email'), ('national_id')) as k(kind);
insert into outbox (producer, topic, key, value, event_id, event_type, request_id, published_at)
select (array['intake','locator','fulfilment','notifier'])[1 + n % 4],
       (array['requests','located','fulfilled','notices'])[1 + n % 4], null, '\\x00'::bytea,
       gen_random_uuid(), 'request.submitted',
       ('00000000-0000-0000-0000-' || lpad((1 + n % $1)::text, 12, '0'))::uuid, now()
from generate_series(1, 4 * $1) as n;
insert into processed_events (consumer, event_id, topic, partition, "offset")
select (array['locator','fulfilment','notifier','tracker'])[1 + n % 4], gen_random_uuid(),
       'dsr.requests.v1', n % 4, n
from generate_series(1, 4 * $1) as n;
insert into locator_waits (request_id, systems, next_attempt_at)
select ('00000000-0000-0000-0000-' || lpad(n::text, 12, '0'))::uuid, array['crm'],
       now() + make_interval(secs => n)
from generate_series(1, $1, 100) as n;
insert into notices (event_id, request_id, recipient, medium, template, language, context, status,
                     next_attempt_at, sent_at)
select gen_random_uuid(), ('00000000-0000-0000-0000-' || lpad((1 + n % $1)::text, 12, '0'))::uuid,
       'p' || n || '@example.org', 'email', 'received', 'nb', '{}'::jsonb,
       case when n % 200 = 0 then 'pending' else 'sent' end, now() - make_interval(mins => n), now()
from generate_series(1, 2 * $1) as n;
"""


async def bulk_load(conn: asyncpg.Connection, requests: int) -> None:
    for statement in BULK_LOAD.split(";\n"):
        if statement.strip():
            await conn.execute(statement.replace("$1", str(int(requests))))


def scans(plan: dict[str, Any]) -> list[tuple[str, str]]:
    """(node type, relation) of every node of a JSON plan that reads a relation."""
    found = []
    if "Relation Name" in plan:
        found.append((plan["Node Type"], plan["Relation Name"]))
    for child in plan.get("Plans", []):
        found.extend(scans(child))
    return found


async def explain(conn: asyncpg.Connection, hot: Hot) -> dict[str, Any]:
    """The plan the prepared statement `hot.name` runs with now, as its service runs it."""
    args = f"({hot.args})" if hot.args else ""
    async with conn.transaction():
        if hot.afresh:
            await plan_afresh(conn)
        raw = await conn.fetchval(f"explain (format json) execute {hot.name}{args}")
    plan: dict[str, Any] = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]
    return plan


def indexes(plan: dict[str, Any]) -> set[str]:
    found = {plan["Index Name"]} if "Index Name" in plan else set()
    for child in plan.get("Plans", []):
        found |= indexes(child)
    return found


def seq_scans(plan: dict[str, Any], hot: Hot) -> list[str]:
    """The big tables the plan reads whole, and the indexes it should read but does not."""
    whole = [table for node, table in scans(plan) if node == "Seq Scan" and table in hot.tables]
    return whole + [f"no {index}" for index in hot.uses if index not in indexes(plan)]


async def prepare_all(conn: asyncpg.Connection) -> None:
    """PREPARE every hot statement and run it once, as a service starting on this ledger does."""
    for hot in HOT:
        await conn.execute(f"prepare {hot.name} as {hot.sql}")
        args = f"({hot.args})" if hot.args else ""
        await conn.execute(f"execute {hot.name}{args}")


def _normalised(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_the_statements_are_the_services_own() -> None:
    from schemas.requests import TERMINAL_STATUSES
    from services.tracker import service as tracker

    terminal = sorted(s.value for s in TERMINAL_STATUSES)
    assert sorted(_TERMINAL.split("[")[1].split("]")[0].replace("'", "").split(",")) == terminal
    assert tracker._OPEN == _OPEN
    for hot in HOT:
        source = _normalised((ROOT / hot.source).read_text().replace("{_OPEN}", tracker._OPEN))
        assert _normalised(hot.sql) in source, f"{hot.name}: not (or no longer) in {hot.source}"
        if hot.afresh:
            assert "await plan_afresh(conn)" in source, hot.name


async def _unanalysed(conn: asyncpg.Connection) -> None:
    """Keep autovacuum off the big tables: the test stands for the minutes before it gets there."""
    for table in {table for hot in HOT for table in hot.tables}:
        await conn.execute(f"alter table {table} set (autovacuum_enabled = false)")


async def test_plans_cached_on_an_empty_ledger_read_the_grown_ledger_by_index(database_url: str) -> None:
    admin = await asyncpg.connect(database_url)
    pool = await create_pool(database_url, min_size=1, max_size=1)
    try:
        await _unanalysed(admin)
        async with pool.acquire() as conn:
            assert await conn.fetchval("show plan_cache_mode") == "force_generic_plan"
            await prepare_all(conn)  # planned while every table is empty, as on a fresh ledger
            await bulk_load(admin, 20_000)
            found = {hot.name: seq_scans(await explain(conn, hot), hot) for hot in HOT}
            # and on a connection that plans them now, on the grown tables, without statistics
            for hot in HOT:
                await conn.execute(f"deallocate {hot.name}")
            await prepare_all(conn)
            fresh = {hot.name: seq_scans(await explain(conn, hot), hot) for hot in HOT}
    finally:
        await pool.close()
        await admin.close()
    assert {name: tables for name, tables in found.items() if tables} == {}
    assert {name: tables for name, tables in fresh.items() if tables} == {}


async def test_start_up_analyses_tables_with_rows_and_no_statistics_never_empty_ones(
    database_url: str,
) -> None:
    from services.runtime.migrator import migrate

    conn = await asyncpg.connect(database_url)
    try:
        await _unanalysed(conn)
        reltuples = "select reltuples from pg_class where oid = $1::regclass"
        await migrate(conn)  # nothing to apply; every table empty
        assert await conn.fetchval(reltuples, "requests") < 0  # left unanalysed: the 10-page floor holds
        await bulk_load(conn, 2_000)  # as a ledger restored from a dump, without statistics
        await migrate(conn)
        assert await conn.fetchval(reltuples, "requests") == 2_000
        assert await conn.fetchval(reltuples, "outbox") == 8_000
        assert await conn.fetchval(reltuples, "letters") < 0
    finally:
        await conn.close()
