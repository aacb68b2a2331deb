"""Sessions and sign-in limits against the real ledger: expiry, sign-out, a new token each time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from services.console import sessions, throttle
from services.console.accounts import ConsoleRole

IDLE, LIFETIME = timedelta(minutes=15), timedelta(hours=8)
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


async def _resume(conn: asyncpg.Connection, token: str, at: datetime) -> sessions.Session | None:
    return await sessions.resume(conn, token, now=at, idle=IDLE, lifetime=LIFETIME)


async def test_a_session_lives_while_used_and_ends_idle_old_or_signed_out(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        first = await sessions.start(conn, "agent-kari", ConsoleRole.agent, now=T0)
        second = await sessions.start(conn, "agent-kari", ConsoleRole.agent, now=T0)
        assert first.token != second.token and first.csrf != second.csrf
        assert len(first.token) >= 43  # 256 bits, URL-safe base64
        stored = await conn.fetchval(
            "select count(*) from console_sessions where token_hash = $1", first.token.encode()
        )
        assert stored == 0  # only hashes are stored

        # used every 10 minutes: alive until the absolute lifetime
        at = T0
        while at + timedelta(minutes=10) < T0 + LIFETIME:
            at += timedelta(minutes=10)
            assert await _resume(conn, first.token, at) is not None
        assert await _resume(conn, first.token, T0 + LIFETIME + timedelta(minutes=1)) is None

        # idle longer than the timeout: ended, and stays ended
        assert await _resume(conn, second.token, T0 + IDLE + timedelta(seconds=1)) is None

        third = await sessions.start(conn, "dpo-nina", ConsoleRole.dpo, now=T0)
        live = await _resume(conn, third.token, T0 + timedelta(minutes=1))
        assert live is not None and live.role is ConsoleRole.dpo
        assert await sessions.end(conn, third.token, now=T0 + timedelta(minutes=2)) == "dpo-nina"
        assert await _resume(conn, third.token, T0 + timedelta(minutes=3)) is None
        assert await sessions.end(conn, third.token, now=T0 + timedelta(minutes=3)) is None


def test_the_csrf_token_is_bound_to_its_session() -> None:
    token = "a" * 43
    assert sessions.csrf_valid(token, sessions.csrf_token(token))
    assert not sessions.csrf_valid("b" * 43, sessions.csrf_token(token))
    assert not sessions.csrf_valid(token, None)


async def test_failed_sign_ins_are_limited_per_account_and_per_address(pool: asyncpg.Pool) -> None:
    window = timedelta(minutes=15)

    async def refused(account: str, address: str, at: datetime) -> bool:
        async with pool.acquire() as conn:
            return await throttle.refused(
                conn, account, address, now=at, window=window, max_account=3, max_address=5
            )

    async with pool.acquire() as conn:
        for i in range(3):
            await throttle.record(conn, "agent-kari", f"10.0.0.{i}", succeeded=False, now=T0)
    assert await refused("agent-kari", "10.9.9.9", T0)  # the account, from any address
    assert await refused("AGENT-KARI ", "10.9.9.9", T0)  # however it is spelled
    assert not await refused("agent-ola", "10.0.0.1", T0)
    assert not await refused("agent-kari", "10.9.9.9", T0 + window + timedelta(seconds=1))  # window over

    async with pool.acquire() as conn:
        for name in ("a", "b", "c", "d", "e"):
            await throttle.record(conn, name, "10.1.1.1", succeeded=False, now=T0)
        stored = await conn.fetch("select account, address from console_signin_attempts")
    assert await refused("someone-new", "10.1.1.1", T0)  # the address, for any account
    assert all("agent" not in row["account"] and "10." not in row["address"] for row in stored)


async def test_polling_does_not_keep_a_session_alive(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        session = await sessions.start(conn, "ops-per", ConsoleRole.ops, now=T0)
        for minutes in range(5, 15, 5):
            at = T0 + timedelta(minutes=minutes)
            assert await sessions.resume(
                conn, session.token, now=at, idle=IDLE, lifetime=LIFETIME, touch=False
            )
        assert await _resume(conn, session.token, T0 + IDLE + timedelta(seconds=1)) is None
