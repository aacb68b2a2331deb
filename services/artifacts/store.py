"""Storing artifacts sealed, handing out one-time links to them, and purging them on schedule.

Every store, link, download and purge is an audit event on the request.
"""

from __future__ import annotations

import base64
import hashlib
import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import asyncpg
from cryptography.exceptions import InvalidTag

from services.artifacts.sealing import KeyProvider, UnknownKey, open_sealed, seal
from services.runtime.ledger import audit


class ArtifactKind(StrEnum):
    extract_json = "extract_json"
    extract_html = "extract_html"
    extract_pdf = "extract_pdf"
    portability_zip = "portability_zip"
    erasure_certificate = "erasure_certificate"


@dataclass(frozen=True)
class Download:
    artifact_id: uuid.UUID
    filename: str
    media_type: str
    content: bytes


class Refused(StrEnum):
    """Why a link gives no file; the API tells unknown (or forged) apart from spent."""

    unknown = "unknown"
    spent = "spent"  # used already, expired, or its artifact purged


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def new_token() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


class ArtifactStore:
    def __init__(self, keys: KeyProvider):
        self.keys = keys

    async def put(
        self,
        conn: asyncpg.Connection,
        *,
        request_id: uuid.UUID,
        kind: ArtifactKind,
        media_type: str,
        filename: str,
        content: bytes,
        actor: str,
    ) -> uuid.UUID:
        artifact_id = uuid.uuid4()
        key_id, key = self.keys.current()
        await conn.execute(
            """insert into artifacts (id, request_id, kind, media_type, filename, size, key_id, sealed)
               values ($1, $2, $3, $4, $5, $6, $7, $8)""",
            artifact_id,
            request_id,
            kind.value,
            media_type,
            filename,
            len(content),
            key_id,
            seal(content, key, artifact_id.bytes),
        )
        await audit(
            conn, request_id, actor, "artifact_stored", {"artifact": str(artifact_id), "kind": kind.value}
        )
        return artifact_id

    async def issue_link(
        self,
        conn: asyncpg.Connection,
        artifact_id: uuid.UUID,
        *,
        issued_to: str,
        valid_for: timedelta,
        now: datetime,
    ) -> str:
        """A one-time token for the artifact; only its hash is stored.

        One live link per artifact and recipient: a new one ends the recipient's earlier links that
        were not used yet (a listing called again, a status page opened twice), so a link copied
        from an old page or mail no longer opens the file. Serialised per artifact and recipient."""
        token = new_token()
        await conn.execute(
            "select pg_advisory_xact_lock(hashtextextended($1, 0))", f"dsr:link:{artifact_id}:{issued_to}"
        )
        row = await conn.fetchrow(
            """with ended as (update download_tokens set expires_at = $5
                              where artifact_id = $2 and issued_to = $3 and used_at is null
                                and expires_at > $5
                              returning 1),
                    t as (insert into download_tokens (token_hash, artifact_id, issued_to, expires_at)
                          values ($1, $2, $3, $4) returning artifact_id)
               select a.request_id, (select count(*) from ended) as ended
               from artifacts a join t on t.artifact_id = a.id""",
            _hash(token),
            artifact_id,
            issued_to,
            now + valid_for,
            now,
        )
        detail: dict[str, object] = {"artifact": str(artifact_id), "expires": now + valid_for}
        if row["ended"]:
            detail["ended_earlier"] = row["ended"]
        await audit(conn, row["request_id"], issued_to, "download_link_issued", detail)
        return token

    async def redeem(self, conn: asyncpg.Connection, token: str, *, now: datetime) -> Download | Refused:
        """Spend the token and return the file: a token works once, before it expires."""
        row = await conn.fetchrow(
            """update download_tokens t set used_at = $2
               from artifacts a
               where t.token_hash = $1 and t.used_at is null and t.expires_at > $2
                 and a.id = t.artifact_id and a.sealed is not null
               returning a.id, a.request_id, a.filename, a.media_type, a.key_id, a.sealed, t.issued_to""",
            _hash(token),
            now,
        )
        if row is None:
            known = await conn.fetchval(
                "select true from download_tokens where token_hash = $1", _hash(token)
            )
            return Refused.spent if known else Refused.unknown
        try:
            content = open_sealed(row["sealed"], self.keys.key(row["key_id"]), row["id"].bytes)
        except (InvalidTag, UnknownKey):
            raise RuntimeError(
                "an artifact could not be opened: its key or its ciphertext is wrong"
            ) from None
        await audit(
            conn, row["request_id"], row["issued_to"], "artifact_downloaded", {"artifact": str(row["id"])}
        )
        return Download(row["id"], row["filename"], row["media_type"], content)

    async def listing(self, conn: asyncpg.Connection, request_id: uuid.UUID) -> list[asyncpg.Record]:
        return list(
            await conn.fetch(
                """select id, kind, media_type, size, created_at from artifacts
                   where request_id = $1 and purged_at is null order by created_at""",
                request_id,
            )
        )

    async def purge(self, conn: asyncpg.Connection, *, older_than: datetime, actor: str) -> int:
        """Drop the ciphertext of artifacts stored before `older_than`; the row and its audit stay."""
        rows = await conn.fetch(
            """update artifacts set sealed = null, purged_at = now()
               where purged_at is null and created_at < $1 returning id, request_id, kind""",
            older_than,
        )
        for row in rows:
            await audit(
                conn,
                row["request_id"],
                actor,
                "artifact_purged",
                {"artifact": str(row["id"]), "kind": row["kind"]},
            )
        return len(rows)
