"""Console sessions in PostgreSQL: a random 256-bit token in the cookie, only its hash stored.

A session ends when idle too long, when its absolute lifetime is over, or at sign-out; every worker
sees the same sessions. The CSRF token is derived from the session token, so it needs no storage
and changes with every sign-in.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from services.console.accounts import ConsoleRole


@dataclass(frozen=True)
class Session:
    account: str
    role: ConsoleRole
    token: str

    @property
    def csrf(self) -> str:
        return csrf_token(self.token)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def csrf_token(secret: str) -> str:
    return hmac.new(secret.encode(), b"dsr-console-csrf", hashlib.sha256).hexdigest()


def csrf_valid(secret: str, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(csrf_token(secret), presented)


async def start(conn: asyncpg.Connection, account: str, role: ConsoleRole, *, now: datetime) -> Session:
    """A new session (a new token at every sign-in: no fixation)."""
    token = secrets.token_urlsafe(32)
    await conn.execute(
        """insert into console_sessions (token_hash, account, role, created_at, last_seen_at)
           values ($1, $2, $3, $4, $4)""",
        token_hash(token),
        account,
        role.value,
        now,
    )
    return Session(account, role, token)


async def resume(
    conn: asyncpg.Connection,
    token: str,
    *,
    now: datetime,
    idle: timedelta,
    lifetime: timedelta,
    touch: bool = True,
) -> Session | None:
    """The live session of this token, or None: unknown, ended or expired. `touch` restarts its
    idle clock; a page's own polling does not (an open dashboard is not a person at work)."""
    live = """token_hash = $1 and ended_at is null and last_seen_at > $2::timestamptz - $3::interval
              and created_at > $2::timestamptz - $4::interval"""
    query = (
        f"update console_sessions set last_seen_at = $2 where {live} returning account, role"
        if touch
        else f"select account, role from console_sessions where {live}"
    )
    row = await conn.fetchrow(query, token_hash(token), now, idle, lifetime)
    return None if row is None else Session(row["account"], ConsoleRole(row["role"]), token)


async def end(conn: asyncpg.Connection, token: str, *, now: datetime) -> str | None:
    """End the session server-side; returns its account (None if it was not live)."""
    account: str | None = await conn.fetchval(
        "update console_sessions set ended_at = $2 where token_hash = $1 and ended_at is null returning account",
        token_hash(token),
        now,
    )
    return account
