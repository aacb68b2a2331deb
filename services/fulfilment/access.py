"""Access (Art. 15) and portability (Art. 20): from the findings to stored artifacts, then the status.

Read the found rows and the dates their retention counts from; stop for a person's review when
special-category data would be released; refer processor data to its controllers (one event per
controller); render the extract in its formats and store each one sealed; only then complete the
request and announce it, all in the caller's transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from schemas.envelope import Envelope
from schemas.events import ReferredToController, RequestFulfilled
from schemas.extract import Extract, ExtractScope
from schemas.registry import FULFILLED, REFERRALS
from schemas.requests import RequestStatus, RequestType
from services.artifacts.store import ArtifactKind, ArtifactStore
from services.catalogue.model import Catalogue, IdentifierType
from services.erasure.notices import recipients_told
from services.fulfilment import formats
from services.fulfilment.extract import (
    Company,
    HeldRecord,
    Referral,
    SpecialRelease,
    assemble,
    is_portable,
    is_processor_data,
    learn_subject,
    special_fields,
)
from services.fulfilment.sources import ControllerLink, SourceReader
from services.fulfilment.told import recipients_notified
from services.locator.scope import EMAIL_DIRECT, scope_note
from services.runtime.ledger import ANSWERED_BY_POST, audit, change_status
from services.runtime.outbox import enqueue

NAME = "fulfilment"
SPECIAL_CATEGORY_REVIEW = "special_category"
"""The status-history reason of a request waiting for a person to release Art. 9 data."""


@dataclass(frozen=True)
class Rendered:
    kind: ArtifactKind
    media_type: str
    filename: str
    content: bytes


def render(extract: Extract, *, portability: bool, with_pdf: bool = True) -> list[Rendered]:
    """The artifacts of one extract: JSON, HTML and PDF for access; the zip for portability."""
    name = extract.reference
    if portability:
        return [
            Rendered(
                ArtifactKind.portability_zip,
                "application/zip",
                f"{name}-portability.zip",
                formats.to_portability_zip(extract),
            )
        ]
    rendered = [
        Rendered(
            ArtifactKind.extract_json, "application/json", f"{name}-extract.json", formats.to_json(extract)
        ),
        Rendered(
            ArtifactKind.extract_html,
            "text/html; charset=utf-8",
            f"{name}-extract.html",
            formats.to_html(extract).encode(),
        ),
    ]
    if with_pdf:
        rendered.append(
            Rendered(
                ArtifactKind.extract_pdf, "application/pdf", f"{name}-extract.pdf", formats.to_pdf(extract)
            )
        )
    return rendered


def referrals(links: list[ControllerLink]) -> list[Referral]:
    by_system: dict[str, list[ControllerLink]] = {}
    for link in links:
        by_system.setdefault(link.system, []).append(link)
    return [
        Referral(system, tuple(sorted(link.name for link in found)), sum(link.record_count for link in found))
        for system, found in sorted(by_system.items())
    ]


class AccessFulfilment:
    """Access and portability with what they need: the catalogue, the systems, the artifact store."""

    def __init__(
        self, catalogue: Catalogue, sources: SourceReader, artifacts: ArtifactStore, company: Company
    ):
        self.catalogue = catalogue
        self.sources = sources
        self.artifacts = artifacts
        self.company = company

    async def records(self, conn: asyncpg.Connection, request_id: uuid.UUID) -> list[HeldRecord]:
        """The subject's rows as the systems hold them now, with their retention anchors."""
        findings = await conn.fetch(
            'select system, "table", primary_key, categories from findings where request_id = $1', request_id
        )
        return await self.sources.anchors(await self.sources.read(list(findings)))

    def needs_review(self, records: list[HeldRecord], request_type: RequestType) -> bool:
        """Special-category data that this request would release: a person decides first."""
        return any(
            special_fields(self.catalogue, r)
            for r in self._released(records, request_type == RequestType.portability)
        )

    def _released(self, records: list[HeldRecord], portability: bool) -> list[HeldRecord]:
        ours = [r for r in records if not is_processor_data(self.catalogue, r.system)]
        if portability:
            ours = [r for r in ours if is_portable(self.catalogue.systems[r.system].tables[r.table])]
        return ours

    async def fulfil(
        self,
        conn: asyncpg.Connection,
        request_id: uuid.UUID,
        *,
        actor: str = NAME,
        special: SpecialRelease | None = None,
    ) -> bool:
        """Build, store and complete; False (and `needs_review`) when a person must release Art. 9
        data first. The request must be `fulfilling`."""
        request = await conn.fetchrow(
            f"""select reference, type, received_at, language, correlation_id, identity_scope,
                      {ANSWERED_BY_POST} as by_post
               from requests where id = $1""",
            request_id,
        )
        request_type = RequestType(request["type"])
        portability = request_type == RequestType.portability
        records = await self.records(conn, request_id)
        if special is None and self.needs_review(records, request_type):
            await change_status(
                conn, request_id, RequestStatus.needs_review, actor=actor, reason=SPECIAL_CATEGORY_REVIEW
            )
            return False
        seeds: dict[IdentifierType, list[str]] = {}
        ours: dict[str, str] = {}
        for row in await conn.fetch(
            "select kind, value from request_identifiers where request_id = $1", request_id
        ):
            ours[row["kind"]] = row["value"]
            if row["kind"] in IdentifierType.__members__:
                seeds.setdefault(IdentifierType(row["kind"]), []).append(row["value"])
        links = await self.sources.controllers(records)
        scope = request["identity_scope"]
        notified = []
        if not portability and scope != EMAIL_DIRECT:
            # A mailbox can be shared: on a confirmed email alone, whose earlier changes these
            # were is not known, so none are listed (the scope note says what is left out).
            told = await recipients_told(conn, ours)
            notified = recipients_notified(self.catalogue, ours, told, request["language"])
        extract = assemble(
            self.catalogue,
            reference=request["reference"],
            received_at=request["received_at"],
            records=records,
            generated_at=datetime.now(UTC),
            company=self.company,
            language=request["language"],
            identity=learn_subject(self.catalogue, seeds, records),
            referrals=referrals(links),
            special=special,
            portability=portability,
            notified=notified,
        )
        if (note := scope_note(scope, request["language"])) is not None:
            extract = extract.model_copy(
                update={"scope": ExtractScope(**note)}
            )  # what an email alone leaves out
        # The PDF is for the printed letter; rendering one costs more than all the rest, so it is
        # made only when the answer goes by post.
        rendered = render(extract, portability=portability, with_pdf=request["by_post"])
        for artifact in rendered:
            await self.artifacts.put(
                conn,
                request_id=request_id,
                kind=artifact.kind,
                media_type=artifact.media_type,
                filename=artifact.filename,
                content=artifact.content,
                actor=actor,
            )
        await self._refer(conn, request_id, request, request_type, links)
        final = RequestStatus.completed
        reason = "extract stored" if not portability else "portability package stored"
        if not extract.records and links:
            final, reason = RequestStatus.referred, "processor data only: referred to the controllers"
        await change_status(conn, request_id, final, actor=actor, reason=reason)
        fulfilled = Envelope[RequestFulfilled](
            event_type="request.fulfilled",
            producer=NAME,
            request_id=request_id,
            correlation_id=request["correlation_id"],
            payload=RequestFulfilled(type=request_type, status=final, artifact_count=len(rendered)),
        )
        await enqueue(conn, FULFILLED, fulfilled)
        return True

    async def _refer(
        self,
        conn: asyncpg.Connection,
        request_id: uuid.UUID,
        request: asyncpg.Record,
        request_type: RequestType,
        links: list[ControllerLink],
    ) -> None:
        """One referral event per controller client; the audit names systems and counts only."""
        for link in links:
            referral = Envelope[ReferredToController](
                event_type="request.referred_to_controller",
                producer=NAME,
                request_id=request_id,
                correlation_id=request["correlation_id"],
                payload=ReferredToController(
                    reference=request["reference"],
                    type=request_type,
                    system=link.system,
                    controller=link.name,
                    controller_org_number=link.org_number,
                    record_count=link.record_count,
                ),
            )
            await enqueue(conn, REFERRALS, referral)
        if links:
            await audit(
                conn,
                request_id,
                NAME,
                "referred_to_controllers",
                # the controllers are client companies, named so the referral notice can name them
                {
                    "systems": sorted({link.system for link in links}),
                    "controllers": sorted({link.name for link in links}),
                },
            )
