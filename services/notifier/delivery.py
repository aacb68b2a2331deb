"""Sending queued notices: email through SMTP, letters as PDF into the print-and-post queue.

One notice per transaction: claim it (`skip locked`, so workers share the queue), issue its links
and secrets, send, mark it sent, commit. A failure rolls the links back and is recorded in a new
transaction with the next attempt's time (doubling waits); a bounce or too many attempts end it.
Every sent, failed and bounced notice is an audit event; nothing personal goes to the logs.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import asyncpg

from schemas.requests import RequestType
from services.artifacts.store import ArtifactStore
from services.documents.pdf import PdfDocument
from services.notifier.mail import Bounced
from services.notifier.notices import (
    TYPE_LABELS,
    CarriesNationalId,
    Medium,
    Rendered,
    Template,
    as_date,
    render,
)
from services.notifier.settings import NoticeSettings
from services.public.tokens import issue_status_secret, issue_verification
from services.runtime.db import TRANSIENT_ERRORS
from services.runtime.ledger import audit

NAME = "notifier"
log = logging.getLogger(__name__)


class Transport(Protocol):
    async def send(self, to: str, rendered: Rendered, language: str) -> None: ...


class Delivery:
    def __init__(
        self,
        pool: asyncpg.Pool,
        settings: NoticeSettings,
        transport: Transport,
        artifacts: ArtifactStore,
        *,
        download_link_days: float = 7,
    ):
        self.pool = pool
        self.settings = settings
        self.transport = transport
        self.artifacts = artifacts
        self.download_link_days = download_link_days

    async def run_due(self) -> int:
        """Deliver every notice due now; returns how many attempts were made."""
        attempts = 0
        while await self.deliver_one():
            attempts += 1
        return attempts

    async def forever(self) -> None:
        while True:
            try:
                await self.run_due()
            except TRANSIENT_ERRORS as exc:
                log.warning("notice delivery: ledger unavailable", extra={"error": type(exc).__name__})
            except Exception:
                log.exception("notice delivery failed; going on")
            await asyncio.sleep(self.settings.notice_poll_seconds)

    async def deliver_one(self) -> bool:
        """Attempt the oldest due notice; False when none is due."""
        claimed: asyncpg.Record | None = None
        async with self.pool.acquire() as conn:
            try:
                async with conn.transaction():
                    claimed = await conn.fetchrow(
                        """select * from notices where status = 'pending' and next_attempt_at <= now()
                           order by next_attempt_at, id limit 1 for update skip locked"""
                    )
                    if claimed is None:
                        return False
                    await self._send(conn, claimed)
            except Bounced as exc:
                assert claimed is not None
                await self._failed(conn, claimed, f"smtp_{exc.code}", final="bounced")
            except CarriesNationalId:
                assert claimed is not None
                await self._failed(conn, claimed, "carries_national_id", final="failed")
            except (smtplib.SMTPException, OSError, TimeoutError) as exc:
                assert claimed is not None
                await self._failed(conn, claimed, type(exc).__name__, final=None)
        return True

    async def _send(self, conn: asyncpg.Connection, notice: asyncpg.Record) -> None:
        template = Template(notice["template"])
        language = notice["language"]
        context = await self._context(conn, notice, template)
        rendered = render(template, language, context)
        if notice["medium"] == Medium.email:
            await self.transport.send(notice["recipient"], rendered, language)
        else:
            await conn.execute(
                "insert into letters (notice_id, request_id, pdf) values ($1, $2, $3)",
                notice["id"],
                notice["request_id"],
                await self._letter(conn, notice["request_id"], rendered, language),
            )
        await conn.execute(
            "update notices set status = 'sent', sent_at = now(), attempts = attempts + 1 where id = $1",
            notice["id"],
        )
        await audit(
            conn,
            notice["request_id"],
            NAME,
            "notice_sent",
            {
                "notice": notice["id"],
                "template": template.value,
                "medium": notice["medium"],
                "event": str(notice["event_id"]),
                "attempt": notice["attempts"] + 1,
            },
        )

    async def _failed(
        self, conn: asyncpg.Connection, notice: asyncpg.Record, error: str, *, final: str | None
    ) -> None:
        attempts = notice["attempts"] + 1
        if final is None and attempts >= self.settings.notice_max_attempts:
            final = "failed"
        wait = min(
            self.settings.notice_retry_initial_seconds * 2 ** (attempts - 1),
            self.settings.notice_retry_max_seconds,
        )
        async with conn.transaction():
            await conn.execute(
                """update notices set attempts = $2, last_error = $3, status = coalesce($4, status),
                          next_attempt_at = now() + $5 where id = $1""",
                notice["id"],
                attempts,
                error,
                final,
                timedelta(seconds=wait),
            )
            await audit(
                conn,
                notice["request_id"],
                NAME,
                "notice_bounced" if final == "bounced" else "notice_failed",
                {
                    "notice": notice["id"],
                    "template": notice["template"],
                    "medium": notice["medium"],
                    "attempt": attempts,
                    "error": error,
                    "final": final is not None,
                },
            )
        log.warning(
            "notice not delivered",
            extra={"template": notice["template"], "error": error, "attempt": attempts, "final": final},
        )

    async def _context(
        self, conn: asyncpg.Connection, notice: asyncpg.Record, template: Template
    ) -> dict[str, Any]:
        """The queued context, plus the links and secret issued now (their hashes stored now)."""
        stored = dict(notice["context"])
        request_id: uuid.UUID = notice["request_id"]
        base = self.settings.public_base_url.rstrip("/")
        now = datetime.now(UTC)
        language = notice["language"]
        context: dict[str, Any] = {
            **stored,
            "company": self.settings.company_name,
            "type_label": TYPE_LABELS[language][RequestType(stored["type"])],
            "status_url": f"{base}/status?lang={language}",
            "status_secret": await issue_status_secret(conn, request_id),
            "link_days": _days(self.settings.email_link_days),
        }
        if "due_date" in stored:
            context["due_date"] = as_date(stored["due_date"])
        if template is Template.verification_request:
            context["verify_url"] = None
            if stored.get("link") and notice["medium"] == Medium.email:
                token = await issue_verification(
                    conn, request_id, valid_for=timedelta(days=self.settings.email_link_days), now=now
                )
                context["verify_url"] = f"{base}/verify/{token}?lang={language}"
        if template is Template.completion:
            context["link_days"] = _days(self.download_link_days)
            context["downloads"] = []
            if notice["medium"] == Medium.email:
                for artifact in await self.artifacts.listing(conn, request_id):
                    token = await self.artifacts.issue_link(
                        conn,
                        artifact["id"],
                        issued_to="subject",
                        valid_for=timedelta(days=self.download_link_days),
                        now=now,
                    )
                    context["downloads"].append({"url": f"{base}/download/{token}?lang={language}"})
        if template is Template.erasure_done:
            context["kept"] = [
                {**item, "until": as_date(item["until"]) if item.get("until") else None}
                for item in stored["kept"]
            ]
        return context

    async def _letter(
        self, conn: asyncpg.Connection, request_id: uuid.UUID, rendered: Rendered, language: str
    ) -> bytes:
        """The letter as PDF: the address block, then the notice's text."""
        details = await conn.fetchval("select details from requests where id = $1", request_id) or {}
        document = PdfDocument(title=rendered.subject, language=language, author=self.settings.company_name)
        document.paragraph(str(details.get("postal_address") or ""))
        for paragraph in rendered.body.split("\n\n"):
            document.paragraph(paragraph.strip())
        return document.to_bytes()


def _days(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value
