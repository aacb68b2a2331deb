"""Fulfilment's flow: `request.located` in, the right fulfilled, `request.fulfilled` out.

An access request gets its extract: the found rows read from their systems, each with its purpose,
legal basis, recipients, retention and source, stored encrypted; the request is completed in the
same transaction, so never before its artifact exists. Erasure and the other rights go to
`services.erasure` (plans, the erasure worker in `background`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from schemas.envelope import Envelope
from schemas.events import RequestFulfilled, SubjectLocated
from schemas.registry import FULFILLED, LOCATED
from schemas.requests import RequestStatus, RequestType
from services.artifacts.sealing import ConfiguredKeys
from services.artifacts.store import ArtifactKind, ArtifactStore
from services.catalogue.loader import load_catalogue
from services.catalogue.model import Catalogue
from services.erasure import service as erasure
from services.fulfilment.extract import HeldRecord, assemble, holds_special_category
from services.fulfilment.sources import SourceReader
from services.locator.settings import LocatorSettings
from services.runtime.consumer import EventConsumer
from services.runtime.host import Runtime, ServiceSpec
from services.runtime.ledger import audit, change_status
from services.runtime.outbox import enqueue

NAME = "fulfilment"
log = logging.getLogger(__name__)


class Fulfilment:
    """The handler with what it needs: the catalogue, the source systems, the artifact store."""

    def __init__(
        self,
        catalogue: Catalogue,
        sources: SourceReader,
        artifacts: ArtifactStore,
        rights: erasure.Rights | None = None,
    ):
        self.catalogue = catalogue
        self.sources = sources
        self.artifacts = artifacts
        self.rights = rights

    async def on_located(self, conn: asyncpg.Connection, event: Envelope[Any]) -> None:
        payload: SubjectLocated = event.payload
        assert event.request_id is not None
        await change_status(conn, event.request_id, RequestStatus.fulfilling, actor=NAME)
        if self.rights is not None and payload.type in erasure.HANDLED:  # erasure and the other rights
            await self.rights.on_located(conn, event.request_id, payload.type)
            return
        artifacts, final = 0, RequestStatus.completed
        if payload.type is RequestType.access:
            findings = await conn.fetch(
                'select system, "table", primary_key, categories from findings where request_id = $1',
                event.request_id,
            )
            records = await self.sources.read(list(findings))
            if holds_special_category(self.catalogue, records):
                # A person confirms the release of special-category data (the console's review).
                await change_status(
                    conn, event.request_id, RequestStatus.needs_review, actor=NAME, reason="special_category"
                )
                return
            final, reason = await self._store_extract(conn, event.request_id, records)
            artifacts = 1
        else:
            reason = "walking skeleton"
        await change_status(conn, event.request_id, final, actor=NAME, reason=reason)
        fulfilled = Envelope[RequestFulfilled](
            event_type="request.fulfilled",
            producer=NAME,
            request_id=event.request_id,
            correlation_id=event.correlation_id,
            payload=RequestFulfilled(type=payload.type, status=final, artifact_count=artifacts),
        )
        await enqueue(conn, FULFILLED, fulfilled)

    async def _store_extract(
        self, conn: asyncpg.Connection, request_id: uuid.UUID, records: list[HeldRecord]
    ) -> tuple[RequestStatus, str]:
        """Store the extract; a subject whose only data is held for clients is referred to them."""
        request = await conn.fetchrow("select reference, received_at from requests where id = $1", request_id)
        controllers = await self.sources.controllers(records)
        extract = assemble(
            self.catalogue,
            reference=request["reference"],
            received_at=request["received_at"],
            records=records,
            generated_at=datetime.now(UTC),
            controllers=controllers,
        )
        await self.artifacts.put(
            conn,
            request_id=request_id,
            kind=ArtifactKind.extract_json,
            media_type="application/json",
            filename=f"{request['reference']}-extract.json",
            content=json.dumps(extract, ensure_ascii=False, indent=2).encode(),
            actor=NAME,
        )
        if controllers:
            await audit(conn, request_id, NAME, "referred_to_controllers", {"systems": sorted(controllers)})
        if not extract["records"] and controllers:
            return RequestStatus.referred, "processor data only: referred to the controller"
        return RequestStatus.completed, "extract stored"


def build(runtime: Runtime) -> Fulfilment:
    settings = runtime.settings
    catalogue = load_catalogue(settings.catalogue_dir)
    prefix = LocatorSettings().demo_database_prefix
    return Fulfilment(
        catalogue,
        SourceReader(catalogue, server_url=settings.database_url, database_prefix=prefix),
        ArtifactStore(ConfiguredKeys.parse(settings.artifact_keys)),
        erasure.build_rights(catalogue, runtime),
    )


def consumers(runtime: Runtime) -> list[EventConsumer]:
    fulfilment = build(runtime)
    return [
        EventConsumer(
            NAME,
            LOCATED,
            {"request.located": fulfilment.on_located},
            pool=runtime.pool,
            dead_letters=runtime.dead_letters,
            settings=runtime.settings,
        )
    ]


async def purge_artifacts(runtime: Runtime) -> None:
    """Hourly: artifacts older than the retention period lose their content (audited)."""
    store = ArtifactStore(ConfiguredKeys.parse(runtime.settings.artifact_keys))
    while True:
        cutoff = datetime.now(UTC) - timedelta(days=runtime.settings.artifact_retention_days)
        try:
            async with runtime.pool.acquire() as conn, conn.transaction():
                await store.purge(conn, older_than=cutoff, actor=NAME)
        except Exception as exc:  # the database away: next hour
            log.warning("artifact purge failed", extra={"error": type(exc).__name__})
        await asyncio.sleep(3600)


def background(runtime: Runtime) -> list[Coroutine[Any, Any, None]]:
    rights = erasure.build_rights(load_catalogue(runtime.settings.catalogue_dir), runtime)
    return [purge_artifacts(runtime), *erasure.background(rights, runtime)]


SPEC = ServiceSpec(NAME, consumers=consumers, background=background, title="DSR fulfilment")
