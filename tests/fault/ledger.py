"""The checker's one read of the world at the end: the ledger database, the topics, the caught mail."""

from __future__ import annotations

import json
import re

import asyncpg

from services.audit.chain import verify
from tests.fault.checker import AuditEvent, Ledger, Request, StatusChange

_LINK = re.compile(r"https?://\S+")


async def read_ledger(conn: asyncpg.Connection, *, notified_topic: list[bytes], mails: list[str]) -> Ledger:
    """Everything the checks look at. `notified_topic`: what the notices topic still holds (the broker
    forgot what came before its restart; the outbox holds every event ever written, once)."""
    ledger = Ledger()
    for row in await conn.fetch("select id::text, type, status, idempotency_key from requests"):
        ledger.requests[row["id"]] = Request(row["id"], row["type"], row["status"], row["idempotency_key"])
    for row in await conn.fetch(
        """select request_id::text, status, reason, extract(epoch from at)::float8 as at
           from request_status_history order by id"""
    ):
        ledger.statuses.setdefault(row["request_id"], []).append(
            StatusChange(row["status"], row["reason"], row["at"])
        )
    for row in await conn.fetch(
        """select request_id::text, seq, action, detail->>'from' as source, detail->>'to' as target
           from audit_events where request_id is not null order by request_id, seq, id"""
    ):
        ledger.audit.setdefault(row["request_id"], []).append(
            AuditEvent(row["seq"], row["action"], row["source"], row["target"])
        )
    report = await verify(conn)
    ledger.broken_chains = {link.request_id or "-": link.problem for link in report.broken}
    ledger.artifacts = [
        (r["request_id"], r["kind"], r["media_type"])
        for r in await conn.fetch("select request_id::text, kind, media_type from artifacts")
    ]
    ledger.erasure_plans = [
        (r["id"], r["request_id"], r["status"])
        for r in await conn.fetch(
            "select id::text, request_id::text, status from erasure_plans where kind = 'request'"
        )
    ]
    ledger.recipient_notices = [
        (r["request_id"], r["recipient"], r["change"])
        for r in await conn.fetch("select request_id::text, recipient, change from recipient_notices")
    ]
    outbox = [
        bytes(r["value"])
        for r in await conn.fetch("select value from outbox where event_type = 'recipient.notified'")
    ]
    for value in [*outbox, *notified_topic]:
        envelope = json.loads(value)
        if envelope.get("event_type") != "recipient.notified":
            continue
        payload = envelope["payload"]
        ledger.notified_events.append(
            (envelope["event_id"], envelope["request_id"], payload["recipient"], payload["change"])
        )
    ledger.notices = [
        (r["request_id"], r["template"], r["recipient"])
        for r in await conn.fetch("select request_id::text, template, recipient from notices")
    ]
    # one-time links differ between two sendings of the same notice: compare the rest
    ledger.mails = [_LINK.sub("<link>", text) for text in mails]
    return ledger


async def unfinished(conn: asyncpg.Connection) -> dict[str, int]:
    rows = await conn.fetch(
        """select status, count(*) from requests
           where status not in ('completed', 'referred', 'refused', 'cancelled') group by 1"""
    )
    return {r["status"]: r["count"] for r in rows}
