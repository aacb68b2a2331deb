"""Abuse protection for the public form without a third-party CAPTCHA: counters in PostgreSQL.

Buckets are keyed hashes (HMAC-SHA-256 under a key derived from the artifact key) of the client
address or of an identifier, so the table holds neither in clear and a hash cannot be reversed by
trying every IPv4 address. Each check locks its bucket for the transaction, so concurrent
submissions cannot both slip under a limit.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta

import asyncpg

from schemas.requests import TERMINAL_STATUSES
from services.intake.domain.submission import Identifiers

_TERMINAL = [s.value for s in TERMINAL_STATUSES]


@dataclass(frozen=True)
class Refusal:
    """Why a submission is refused: an error code the page words, and a count where it helps."""

    code: str
    count: int = 0


def bucket(key: bytes, kind: str, value: str) -> bytes:
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).digest()


async def hit(conn: asyncpg.Connection, bucket_hash: bytes, *, limit: int, window: timedelta) -> bool:
    """Count one attempt in the bucket; False when it would be more than `limit` in `window`."""
    await conn.execute("select pg_advisory_xact_lock(hashtextextended(encode($1, 'hex'), 0))", bucket_hash)
    recent = await conn.fetchval(
        "select count(*) from public_rate_events where bucket = $1 and at > now() - $2::interval",
        bucket_hash,
        window,
    )
    if recent >= limit:
        return False
    await conn.execute(
        "delete from public_rate_events where bucket = $1 and at < now() - interval '1 day'", bucket_hash
    )
    await conn.execute("insert into public_rate_events (bucket) values ($1)", bucket_hash)
    return True


async def check_identifiers(
    conn: asyncpg.Connection, key: bytes, identifiers: Identifiers, *, per_hour: int, max_open: int
) -> Refusal | None:
    """Per identifier: at most `per_hour` submissions an hour, at most `max_open` open requests."""
    pairs = identifiers.pairs()
    open_count = await conn.fetchval(
        """select coalesce(max(n), 0) from (
               select count(distinct r.id) as n from unnest($1::text[], $2::text[]) as t(kind, value)
               cross join lateral (  -- an index lookup per identifier, even on a plan cached while small
                   select request_id from request_identifiers
                   where kind = t.kind and value = t.value offset 0) i
               join requests r on r.id = i.request_id
               where r.status <> all($3::text[]) and r.duplicate_of is null
               group by t.kind, t.value) as per_identifier""",
        [k for k, _ in pairs],
        [v for _, v in pairs],
        _TERMINAL,
    )
    if open_count >= max_open:
        return Refusal("open_requests", open_count)
    for kind, value in sorted(pairs):
        if not await hit(conn, bucket(key, kind, value), limit=per_hour, window=timedelta(hours=1)):
            return Refusal("rate_identifier")
    return None
