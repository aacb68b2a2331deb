"""Fulfilment's flow: `request.located` in, the right fulfilled, `request.fulfilled` out.

Access and portability requests get their extract (`access.py`): JSON, HTML and (for an answer
by post) PDF, or the portability zip, stored encrypted; the request is completed in the same
transaction, so never before its artifacts exist. Erasure and the other rights go to
`services.erasure` (plans, the erasure worker in `background`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from schemas.envelope import Envelope
from schemas.events import RequestFulfilled, SubjectLocated
from schemas.registry import FULFILLED, LOCATED
from schemas.requests import RequestStatus, RequestType
from services.artifacts.sealing import ConfiguredKeys
from services.artifacts.store import ArtifactStore
from services.catalogue.loader import load_catalogue
from services.catalogue.model import Catalogue
from services.erasure import service as erasure
from services.fulfilment.access import AccessFulfilment
from services.fulfilment.extract import Company
from services.fulfilment.sources import SourceReader
from services.runtime.consumer import EventConsumer
from services.runtime.host import Runtime, ServiceSpec
from services.runtime.ledger import change_status
from services.runtime.outbox import enqueue
from services.runtime.settings import Settings
from services.systems.registry import SourceSystems

NAME = "fulfilment"
log = logging.getLogger(__name__)


class Fulfilment:
    """The handler with what it needs: the catalogue, the source systems, the artifact store."""

    def __init__(
        self,
        catalogue: Catalogue,
        sources: SourceReader,
        artifacts: ArtifactStore,
        company: Company | None = None,
        *,
        rights: erasure.Rights | None = None,
    ):
        self.catalogue = catalogue
        self.sources = sources
        self.artifacts = artifacts
        self.access = AccessFulfilment(catalogue, sources, artifacts, company or company_of(Settings()))
        self.rights = rights

    async def on_located(self, conn: asyncpg.Connection, event: Envelope[Any]) -> None:
        payload: SubjectLocated = event.payload
        assert event.request_id is not None
        await change_status(conn, event.request_id, RequestStatus.fulfilling, actor=NAME)
        if self.rights is not None and payload.type in erasure.HANDLED:  # erasure and the other rights
            await self.rights.on_located(conn, event.request_id, payload.type)
            return
        artifacts, final = 0, RequestStatus.completed
        if payload.type in (RequestType.access, RequestType.portability):
            # Stores the artifacts, then completes (or refers) and announces; or waits for a
            # person's review of special-category data (`review.py`).
            await self.access.fulfil(conn, event.request_id)
            return
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


def company_of(settings: Settings) -> Company:
    return Company(
        controller=settings.controller_name,
        dpo_name=settings.dpo_name,
        dpo_email=settings.dpo_email,
        dpo_phone=settings.dpo_phone,
        dpo_address=settings.dpo_address,
    )


def reader(catalogue: Catalogue, server_url: str | None) -> SourceReader:
    systems = SourceSystems.configured(
        catalogue, server_url=server_url, read_only=True, application_name="dsr-fulfilment"
    )
    return SourceReader(catalogue, systems)


def build(runtime: Runtime) -> Fulfilment:
    settings = runtime.settings
    catalogue = load_catalogue(settings.catalogue_dir)
    return Fulfilment(
        catalogue,
        reader(catalogue, settings.database_url),
        ArtifactStore(ConfiguredKeys.parse(settings.artifact_keys)),
        company_of(settings),
        rights=erasure.build_rights(catalogue, runtime),
    )


def build_access(settings: Settings) -> AccessFulfilment:
    """Access fulfilment from configuration, for the API's review endpoint (and the DPO console)."""
    catalogue = load_catalogue(settings.catalogue_dir)
    return AccessFulfilment(
        catalogue,
        reader(catalogue, settings.database_url),
        ArtifactStore(ConfiguredKeys.parse(settings.artifact_keys)),
        company_of(settings),
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
