"""Sign-in rate limiting per account and per client address, counted in PostgreSQL so that it
holds across workers. Both are stored as hashes: a user name field sometimes receives a password."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import asyncpg


def _digest(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value.strip().lower()}".encode()).hexdigest()


async def serialise(conn: asyncpg.Connection, account: str, address: str) -> None:
    """Hold this account's and this address's attempts one at a time until the transaction ends, so
    that parallel guesses (on any worker) cannot all pass the count before any is recorded."""
    await conn.execute(
        "select pg_advisory_xact_lock(hashtextextended(k, 0)) from unnest($1::text[]) as k order by k",
        [f"dsr-signin:{_digest('account', account)}", f"dsr-signin:{_digest('address', address)}"],
    )


async def refused(
    conn: asyncpg.Connection,
    account: str,
    address: str,
    *,
    now: datetime,
    window: timedelta,
    max_account: int,
    max_address: int,
) -> bool:
    """True when the account or the address has failed too often within the window."""
    row = await conn.fetchrow(
        """select (select count(*) from console_signin_attempts
                   where account = $1 and not succeeded and at > $3::timestamptz - $4::interval) as by_account,
                  (select count(*) from console_signin_attempts
                   where address = $2 and not succeeded and at > $3::timestamptz - $4::interval) as by_address""",
        _digest("account", account),
        _digest("address", address),
        now,
        window,
    )
    assert row is not None
    return bool(row["by_account"] >= max_account or row["by_address"] >= max_address)


async def record(
    conn: asyncpg.Connection, account: str, address: str, *, succeeded: bool, now: datetime
) -> None:
    """Count an attempt; a success clears the account's failures (not the address's)."""
    if succeeded:
        await conn.execute(
            "delete from console_signin_attempts where account = $1 and not succeeded",
            _digest("account", account),
        )
    await conn.execute(
        "insert into console_signin_attempts (account, address, succeeded, at) values ($1, $2, $3, $4)",
        _digest("account", account),
        _digest("address", address),
        succeeded,
        now,
    )
