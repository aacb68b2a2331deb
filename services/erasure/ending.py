"""The end of a plan, once, in one ledger transaction: the plan marked executed with its re-scan,
what it leaves for later (`followups`), the certificate stored, the audit trail, and the request's
status (completed, referred, or to review when the re-scan was not clean).

The plan row is locked `for update` and must still be `approved`, so two workers racing to the
end finish it once; a request cancelled meanwhile keeps its record and its status.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import asyncpg

from schemas.envelope import Envelope
from schemas.events import RequestFulfilled
from schemas.registry import FULFILLED
from schemas.requests import RequestStatus, RequestType
from services.artifacts.store import ArtifactKind, ArtifactStore
from services.catalogue.model import Catalogue
from services.documents.templates import Language
from services.erasure.certificate import Rescan, certificate
from services.erasure.followups import remember, schedule_kept, tell_recipients
from services.erasure.outage import CLEAR_WAIT
from services.erasure.plan import ErasurePlan
from services.erasure.render import certificate_html, certificate_pdf
from services.erasure.settings import CertificatePdf, ErasureSettings
from services.erasure.tasks import confirmations
from services.runtime.ledger import ANSWERED_BY_POST, audit, change_status
from services.runtime.outbox import enqueue

NAME = "fulfilment"


class PlanEnd:
    """Ends executed plans: certificate, follow-ups, status."""

    def __init__(
        self, catalogue: Catalogue, artifacts: ArtifactStore, settings: ErasureSettings, hash_key: bytes
    ) -> None:
        self.catalogue = catalogue
        self.artifacts = artifacts
        self.settings = settings
        self.hash_key = hash_key

    async def end(
        self,
        conn: asyncpg.Connection,
        plan_id: uuid.UUID,
        request_id: uuid.UUID | None,
        plan: ErasurePlan,
        rescan: Rescan | None,
        now: datetime,
    ) -> bool:
        """Run inside the caller's transaction; True when it ended the plan, False when another
        run had."""
        status = await conn.fetchval("select status from erasure_plans where id = $1 for update", plan_id)
        if status != "approved":
            return False
        await conn.execute(
            f"""update erasure_plans set status = 'executed', executed_at = $2, rescan = $3, {CLEAR_WAIT}
                where id = $1""",
            plan_id,
            now,
            None if rescan is None else rescan.as_dict(),
        )
        await schedule_kept(conn, plan, request_id)
        if request_id is None or rescan is None:
            await audit(conn, None, NAME, "scheduled_erasure_executed", {"plan_id": str(plan_id)})
            return True
        request = await conn.fetchrow(
            f"""select reference, type, language,
                      {ANSWERED_BY_POST} as by_post
               from requests where id = $1""",
            request_id,
        )
        recipients = await tell_recipients(conn, self.catalogue, request_id, request["reference"], plan)
        await remember(conn, self.hash_key, request_id, plan)
        content = certificate(
            self.catalogue,
            plan,
            reference=request["reference"],
            request_type=request["type"],
            executed_at=now,
            rescan=rescan,
            recipients=[self.catalogue.parties.recipients[r].name for r in recipients],
            controllers=plan.controllers,
            manual=await confirmations(conn, plan_id),
            language=request["language"],  # the catalogue's texts in the request's language
        )
        stored = await self.store_certificate(
            conn, request_id, content, request["language"], by_post=bool(request["by_post"])
        )
        await self._audit(conn, request_id, plan_id, plan, content, rescan)
        current = await conn.fetchval("select status from requests where id = $1", request_id)
        if current != RequestStatus.fulfilling.value:  # cancelled meanwhile: the record stays
            await audit(conn, request_id, NAME, "erasure_finished_after", {"status": current})
            return True
        if not rescan.clean:
            await change_status(
                conn, request_id, RequestStatus.needs_review, actor=NAME, reason=unclean_reason(rescan)
            )
            return True
        final = RequestStatus.referred if plan.referred_only else RequestStatus.completed
        reason = "referred to the controller" if plan.referred_only else "erasure executed, re-scan clean"
        await finish_request(conn, request_id, RequestType(request["type"]), final, reason, stored)
        return True

    async def _audit(
        self,
        conn: asyncpg.Connection,
        request_id: uuid.UUID,
        plan_id: uuid.UUID,
        plan: ErasurePlan,
        content: dict[str, Any],
        rescan: Rescan,
    ) -> None:
        await audit(
            conn,
            request_id,
            NAME,
            "erasure_executed",
            {"plan_id": str(plan_id), "summary": content["summary"], "rescan": rescan.as_dict()},
        )
        if content["purposes"]:  # catalogue words and counts only: no personal data
            await audit(conn, request_id, NAME, "consent_purposes_stopped", {"tables": content["purposes"]})
        if plan.controllers:
            await audit(
                conn, request_id, NAME, "referred_to_controllers", {"systems": sorted(plan.controllers)}
            )

    async def store_certificate(
        self,
        conn: asyncpg.Connection,
        request_id: uuid.UUID,
        content: dict[str, Any],
        language: str,
        *,
        by_post: bool,
    ) -> int:
        """JSON and HTML always, PDF as configured (by default when the answer goes by post, since
        the PDF is the letter's content); returns how many artifacts were stored."""
        lang: Language = "en" if language == "en" else "nb"
        reference = content["reference"]
        documents = [
            ("application/json", "json", json.dumps(content, ensure_ascii=False, indent=2).encode()),
            ("text/html; charset=utf-8", "html", certificate_html(content, lang).encode()),
        ]
        pdf = self.settings.erasure_pdf
        if pdf is CertificatePdf.always or (pdf is CertificatePdf.post and by_post):
            documents.append(("application/pdf", "pdf", certificate_pdf(content, lang)))
        for media_type, suffix, body in documents:
            await self.artifacts.put(
                conn,
                request_id=request_id,
                kind=ArtifactKind.erasure_certificate,
                media_type=media_type,
                filename=f"{reference}-erasure-certificate.{suffix}",
                content=body,
                actor=NAME,
            )
        return len(documents)


def unclean_reason(rescan: Rescan) -> str:
    """The status history's reason for a re-scan that was not clean (reason codes, table names)."""
    if not rescan.searched:
        return "re-scan could not finish"
    if rescan.unexpected:
        return "re-scan found records the plan did not keep"
    tables = sorted({f"{s}.{t}" for (s, t, _k), _c in rescan.unstopped})
    return f"consent_purpose_not_stopped: {', '.join(tables)} still hold what the withdrawn consent stopped"


async def finish_request(
    conn: asyncpg.Connection,
    request_id: uuid.UUID,
    request_type: RequestType,
    final: RequestStatus,
    reason: str,
    artifacts: int = 0,
    *,
    actor: str = NAME,
) -> None:
    """The request's final status and its `request.fulfilled` event, in the caller's transaction."""
    await change_status(conn, request_id, final, actor=actor, reason=reason)
    await enqueue(
        conn,
        FULFILLED,
        Envelope[RequestFulfilled](
            event_type="request.fulfilled",
            producer=NAME,
            request_id=request_id,
            payload=RequestFulfilled(type=request_type, status=final, artifact_count=artifacts),
        ),
    )
