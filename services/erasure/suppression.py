"""The marketing suppression list: keyed hashes of a person's email, phone and national id, kept so
that someone who opted out (or had their marketing data erased) is never added back. The list holds
no identifier in clear; a sign-up is checked against it before it is stored."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping

import asyncpg

from services.erasure.hashing import keyed_hash
from services.intake.domain.identifiers import InvalidIdentifier, normalise_email, normalise_phone

KINDS = ("email", "phone", "national_id")


def normalised(kind: str, value: str) -> str | None:
    """The form identifiers are stored in (intake's), or None when it is not one."""
    try:
        if kind == "email":
            return normalise_email(value)
        if kind == "phone":
            return normalise_phone(value)
    except InvalidIdentifier:
        return None
    digits = re.sub(r"\D", "", value)
    return digits if len(digits) == 11 else None


def entry(key: bytes, kind: str, value: str) -> str:
    return keyed_hash(key, f"suppression:{kind}:{value}")


async def suppress(
    conn: asyncpg.Connection, key: bytes, identifiers: Mapping[str, str], *, request_id: uuid.UUID | None
) -> int:
    """Add the person's identifiers (already normalised) to the list; returns entries added."""
    rows = [
        (entry(key, kind, value), kind, request_id) for kind, value in identifiers.items() if kind in KINDS
    ]
    added = 0
    for row in rows:
        status = await conn.execute(
            "insert into suppressions (hash, kind, request_id) values ($1, $2, $3) on conflict do nothing",
            *row,
        )
        added += int(status.rsplit(" ", 1)[-1])
    return added


async def is_suppressed(conn: asyncpg.Connection, key: bytes, identifiers: Mapping[str, str | None]) -> bool:
    """Whether any of these identifiers (as given by a sign-up form) is on the list."""
    hashes = [
        entry(key, kind, value)
        for kind, raw in identifiers.items()
        if kind in KINDS and raw
        for value in [normalised(kind, raw)]
        if value is not None
    ]
    if not hashes:
        return False
    return bool(await conn.fetchval("select exists(select 1 from suppressions where hash = any($1))", hashes))
