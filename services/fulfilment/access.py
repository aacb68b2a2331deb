"""Access (Art. 15) and portability (Art. 20): from the findings to stored artifacts, then the status.

Read the found rows, the dates their retention counts from and what an earlier withdrawal of
consent stopped for them (the ledger's `stopped_purposes`); stop for a person's review when
special-category data, or free text that may name another person, would be released; refer
processor data to its controllers (one event per controller); render the extract in its formats
and store each one sealed; only then complete the request and announce it, all in the caller's
transaction.
"""

from __future__ import annotations

import json
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
from services.catalogue.text import stored_text
from services.erasure.notices import recipients_told
from services.erasure.outcome import stopped_purposes
from services.fulfilment import formats
from services.fulfilment.extract import (
    Company,
    EarlierStop,
    HeldRecord,
    RecordKey,
    Referral,
    SpecialRelease,
    assemble,
    learn_subject,
    record_key,
    released,
    special_fields,
    uncertain_free_text,
    with_stops,
)
from services.fulfilment.redaction import Identity
from services.fulfilment.sources import ControllerLink, SourceReader
from services.fulfilment.told import recipients_notified
from services.locator.scope import EMAIL_DIRECT, scope_note
from services.runtime.ledger import ANSWERED_BY_POST, audit, change_status
from services.runtime.outbox import enqueue

NAME = "fulfilment"
SPECIAL_CATEGORY_REVIEW = "special_category"
"""The status-history reason of a request waiting for a person to release Art. 9 data."""
FREE_TEXT_REVIEW = "other_person_in_free_text"
"""... waiting for a person to decide on free text that may name another person (Art. 15(4))."""
REVIEW_REASONS = (
    SPECIAL_CATEGORY_REVIEW,
    FREE_TEXT_REVIEW,
    f"{SPECIAL_CATEGORY_REVIEW}+{FREE_TEXT_REVIEW}",
)
"""Every reason an extract waits for a person with; one decision answers both questions."""


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


async def _audit_withheld(
    conn: asyncpg.Connection, request_id: uuid.UUID, actor: str, extract: Extract
) -> None:
    """What free text lost to Art. 15(4), by kind and count (never a value), for the audit trail."""
    kinds: dict[str, int] = {}
    texts_withheld = 0
    for record in extract.records:
        for redaction in record.redacted:
            if redaction.reason == "another_persons_identifier" and redaction.withheld:
                kinds[redaction.withheld] = kinds.get(redaction.withheld, 0) + (redaction.count or 0)
            elif redaction.reason == "mentions_another_person":
                texts_withheld += 1
    if kinds or texts_withheld:
        detail = {"identifiers": dict(sorted(kinds.items())), "texts_withheld": texts_withheld}
        await audit(conn, request_id, actor, "free_text_redacted", detail)


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

    async def records(
        self, conn: asyncpg.Connection, request_id: uuid.UUID, *, references: bool = True
    ) -> list[HeldRecord]:
        """The subject's rows as the systems hold them now, with their retention anchors and what
        earlier withdrawals of consent stopped for them (`references=False`: without the
        withdrawal's request reference)."""
        findings = await conn.fetch(
            'select system, "table", primary_key, categories from findings where request_id = $1', request_id
        )
        held = await self.sources.anchors(await self.sources.read(list(findings)))
        return with_stops(held, await self.stops(conn, held), references=references)

    async def stops(
        self, conn: asyncpg.Connection, records: list[HeldRecord]
    ) -> dict[RecordKey, EarlierStop]:
        """What earlier withdrawals stopped for the records of registers that list `purposes` (one
        ledger read, none when no such register holds a record)."""
        wanted = [r for r in records if self.catalogue.systems[r.system].tables[r.table].purposes]
        if not wanted:
            return {}
        found = await stopped_purposes(conn, [(r.system, r.table, r.primary_key) for r in wanted])
        return {
            record_key(system, table, json.loads(key)): EarlierStop(
                tuple((stored_text(p["purpose"]), p["legal_basis"]) for p in said["stopped"]),
                datetime.fromisoformat(said["stopped_at"]),
                said.get("request_reference"),
            )
            for (system, table, key), said in found.items()
        }

    def needs_review(self, records: list[HeldRecord], request_type: RequestType) -> bool:
        """Special-category data that this request would release: a person decides first."""
        portability = request_type == RequestType.portability
        return any(
            special_fields(self.catalogue, r)
            for r in released(self.catalogue, records, portability=portability)
        )

    def review_reason(
        self, records: list[HeldRecord], request_type: RequestType, identity: Identity
    ) -> str | None:
        """Why a person must look before this extract is released, if they must: special-category
        data, free text that may name someone else, or both (one decision answers both)."""
        portability = request_type == RequestType.portability
        reasons = []
        if self.needs_review(records, request_type):
            reasons.append(SPECIAL_CATEGORY_REVIEW)
        if uncertain_free_text(self.catalogue, records, identity, portability=portability):
            reasons.append(FREE_TEXT_REVIEW)
        return "+".join(reasons) or None

    async def fulfil(
        self,
        conn: asyncpg.Connection,
        request_id: uuid.UUID,
        *,
        actor: str = NAME,
        special: SpecialRelease | None = None,
        free_text: SpecialRelease | None = None,
    ) -> bool:
        """Build, store and complete; False (and `needs_review`) when a person must release Art. 9
        data or free text that may name another person first. The request must be `fulfilling`.

        `special` and `free_text` are a reviewer's decisions (`review.py`); given either, nothing
        waits for a review again, and what no decision covers is withheld."""
        request = await conn.fetchrow(
            f"""select reference, type, received_at, language, correlation_id, identity_scope,
                      {ANSWERED_BY_POST} as by_post
               from requests where id = $1""",
            request_id,
        )
        request_type = RequestType(request["type"])
        portability = request_type == RequestType.portability
        scope = request["identity_scope"]
        # A mailbox can be shared: on a confirmed email alone, whose earlier requests these were is
        # not known, so their references are left out (as the recipients they told are).
        records = await self.records(conn, request_id, references=scope != EMAIL_DIRECT)
        seeds: dict[IdentifierType, list[str]] = {}
        ours: dict[str, str] = {}
        for row in await conn.fetch(
            "select kind, value from request_identifiers where request_id = $1", request_id
        ):
            ours[row["kind"]] = row["value"]
            if row["kind"] in IdentifierType.__members__:
                seeds.setdefault(IdentifierType(row["kind"]), []).append(row["value"])
        identity = learn_subject(self.catalogue, seeds, records)
        reviewed = special is not None or free_text is not None
        if not reviewed and (why := self.review_reason(records, request_type, identity)):
            await change_status(conn, request_id, RequestStatus.needs_review, actor=actor, reason=why)
            return False
        links = await self.sources.controllers(records)
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
            identity=identity,
            referrals=referrals(links),
            special=special,
            portability=portability,
            notified=notified,
            free_text=free_text,
        )
        await _audit_withheld(conn, request_id, actor, extract)
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
