"""The secrets the subject receives: email confirmation links and status secrets.

Only a SHA-256 of each is stored, so the ledger cannot hand out working links or secrets.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import datetime, timedelta
from enum import StrEnum

import asyncpg


def _hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


async def issue_verification(
    conn: asyncpg.Connection, request_id: uuid.UUID, *, valid_for: timedelta, now: datetime
) -> str:
    token = secrets.token_urlsafe(32)
    await conn.execute(
        "insert into email_verifications (token_hash, request_id, expires_at) values ($1, $2, $3)",
        _hash(token),
        request_id,
        now + valid_for,
    )
    return token


class LinkRefused(StrEnum):
    unknown = "unknown"
    spent = "spent"  # used already, or expired


async def peek_verification(
    conn: asyncpg.Connection, token: str, *, now: datetime
) -> uuid.UUID | LinkRefused:
    """The request a link confirms, without spending it (the page asks before it confirms)."""
    row = await conn.fetchrow(
        "select request_id, used_at, expires_at from email_verifications where token_hash = $1", _hash(token)
    )
    if row is None:
        return LinkRefused.unknown
    if row["used_at"] is not None or row["expires_at"] <= now:
        return LinkRefused.spent
    request_id: uuid.UUID = row["request_id"]
    return request_id


async def spend_verification(
    conn: asyncpg.Connection, token: str, *, now: datetime
) -> uuid.UUID | LinkRefused:
    """Spend a link: it works once, before it expires."""
    request_id = await conn.fetchval(
        """update email_verifications set used_at = $2
           where token_hash = $1 and used_at is null and expires_at > $2 returning request_id""",
        _hash(token),
        now,
    )
    if request_id is None:
        known = await conn.fetchval(
            "select true from email_verifications where token_hash = $1", _hash(token)
        )
        return LinkRefused.spent if known else LinkRefused.unknown
    result: uuid.UUID = request_id
    return result


async def issue_status_secret(conn: asyncpg.Connection, request_id: uuid.UUID) -> str:
    """A secret for the status page, sent with a notice; every one a request was sent works."""
    secret = "-".join(secrets.token_hex(3).upper() for _ in range(4))
    await conn.execute(
        "insert into status_secrets (secret_hash, request_id) values ($1, $2)", _hash(secret), request_id
    )
    return secret


async def check_status_secret(conn: asyncpg.Connection, reference: str, secret: str) -> uuid.UUID | None:
    """The request whose reference and secret these are; None for any mismatch (no hint which)."""
    normalised = secret.strip().upper().replace(" ", "")
    rows = await conn.fetch(
        """select s.secret_hash, s.request_id from status_secrets s join requests r on r.id = s.request_id
           where r.reference = $1""",
        reference.strip().upper(),
    )
    wanted = _hash(normalised)
    for row in rows:
        if hmac.compare_digest(bytes(row["secret_hash"]), wanted):
            request_id: uuid.UUID = row["request_id"]
            return request_id
    return None
