"""Erasure tests change the demo systems, so they get loads of their own: one shared by the tests
that each erase a different showcase subject, and a fresh one for tests that need a clean slate.

A load costs about as much as a test (1-2 s to make, 1 s to drop) and a ledger a few tenths of a
second: tests that do not interfere share one (`rights_demo`, `module_pool`) and undo what they
change in it, rather than each making its own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import pytest

from schemas.envelope import Envelope
from schemas.events import SubjectLocated
from schemas.requests import RequestType
from services.artifacts.sealing import ConfiguredKeys, open_sealed
from services.artifacts.store import ArtifactStore
from services.catalogue.dsn import database_url
from services.catalogue.loader import load_catalogue
from services.catalogue.model import Catalogue, IdentifierType
from services.demo.loader import DemoSystems, create_demo_systems, database_name, drop_demo_systems
from services.demo.showcase import showcase_subject
from services.erasure.flow import Erasure
from services.erasure.rights import Rights
from services.erasure.settings import ErasureSettings
from services.erasure.systems import ErasureSystems
from services.erasure.worker import run_once
from services.fulfilment.service import Fulfilment
from services.fulfilment.sources import SourceReader
from services.launcher.embedded_postgres import EmbeddedPostgres
from services.locator.locate import Located, Locator
from services.locator.manual import answer_task, open_task
from services.locator.settings import LocatorSettings
from services.locator.store import save_findings

KEYS = ConfiguredKeys.parse("k1:" + "A" * 43)
HASH_SECRET = "erasure-test-secret-0123456789"
HASH_KEY = ErasureSettings(erasure_hash_key=HASH_SECRET).hash_key("")


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return load_catalogue("catalogue")


async def _load(postgres: EmbeddedPostgres) -> DemoSystems:
    prefix = f"era{uuid.uuid4().hex[:8]}_"
    return await create_demo_systems(postgres.url(), subjects=0, seed=7, prefix=prefix)


@pytest.fixture(scope="session")
async def shared_demo(postgres: EmbeddedPostgres) -> AsyncIterator[DemoSystems]:
    demo = await _load(postgres)
    yield demo
    await drop_demo_systems(postgres.url(), prefix=demo.prefix)


@pytest.fixture(scope="session")
async def second_demo(postgres: EmbeddedPostgres) -> AsyncIterator[DemoSystems]:
    """Another shared load, for tests that need a subject the first load's tests erase."""
    demo = await _load(postgres)
    yield demo
    await drop_demo_systems(postgres.url(), prefix=demo.prefix)


@pytest.fixture(scope="session")
async def rights_demo(postgres: EmbeddedPostgres) -> AsyncIterator[DemoSystems]:
    """A load for the rectification and consent-purpose tests, whose debtors must be as loaded
    (the other shared loads erase them). Each test works on subjects of its own, and removes the
    schema change or trigger it adds and restores the rows it corrects."""
    demo = await _load(postgres)
    yield demo
    await drop_demo_systems(postgres.url(), prefix=demo.prefix)


@pytest.fixture(scope="module")
async def module_pool(postgres: EmbeddedPostgres, ledger_template: str) -> AsyncIterator[asyncpg.Pool]:
    """One ledger for a module's tests that do not interfere (each its own requests, on subjects or
    loads of its own): a copy of the migrated template made and dropped once per module."""
    from services.runtime.db import create_pool

    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(postgres.url())
    try:
        await admin.execute(f"create database {name} template {ledger_template}")
    finally:
        await admin.close()
    pool = await create_pool(postgres.url(name), min_size=1, max_size=5)
    yield pool
    await pool.close()
    admin = await asyncpg.connect(postgres.url())
    try:
        await admin.execute(f"drop database if exists {name} with (force)")
    finally:
        await admin.close()


@pytest.fixture
async def fresh_demo(postgres: EmbeddedPostgres) -> AsyncIterator[DemoSystems]:
    demo = await _load(postgres)
    yield demo
    await drop_demo_systems(postgres.url(), prefix=demo.prefix)


@dataclass
class Harness:
    """Everything a test needs to take a showcase subject from `located` to a finished erasure."""

    catalogue: Catalogue
    demo: DemoSystems
    pool: asyncpg.Pool
    erasure: Erasure
    rights: Rights
    fulfilment: Fulfilment
    sources: dict[str, asyncpg.Pool] = field(default_factory=dict)
    """Straight connections to the demo databases, for tests that look or change behind the pipeline."""

    async def source(self, system: str) -> asyncpg.Pool:
        if system not in self.sources:
            self.sources[system] = await asyncpg.create_pool(
                database_url(self.demo.server_url, database_name(system, self.demo.prefix)),
                min_size=0,
                max_size=2,
            )
        return self.sources[system]

    async def located(
        self,
        key: str,
        kind: RequestType = RequestType.erasure,
        details: dict[str, Any] | None = None,
        *,
        answered: Mapping[str, bool] | None = None,
    ) -> uuid.UUID:
        """A request for showcase subject `key`, located by the real locator (status `locating`).

        `answered`: manual systems (no interface) an agent has searched by hand, and whether the
        subject was found there: their search tasks are opened and answered first."""
        subject = showcase_subject(key)
        request_id = uuid.uuid4()
        async with self.pool.acquire() as conn, conn.transaction():
            number = await conn.fetchval("select nextval('request_reference_seq')")
            await conn.execute(
                """insert into requests (id, reference, type, channel, status, received_at, due_date, subject,
                                         correlation_id, details)
                   values ($1, $2, $3, 'phone', 'locating', $4, $5, $6, $7, $8)""",
                request_id,
                f"DSR-TEST-{number:06d}",
                kind.value,
                datetime.now(UTC),
                datetime.now(UTC).date(),
                {"national_id": subject.national_id},
                str(request_id),
                details or {},
            )
            identifiers = {"national_id": subject.national_id, "email": subject.email, "phone": subject.phone}
            await conn.executemany(
                "insert into request_identifiers (request_id, kind, value) values ($1, $2, $3)",
                [(request_id, k, v) for k, v in identifiers.items()],
            )
            for system, found in (answered or {}).items():
                await open_task(conn, request_id, system, now=datetime.now(UTC), days=5)
                task_id = await conn.fetchval(
                    "select id from manual_tasks where request_id = $1 and system = $2 and kind = 'search'",
                    request_id,
                    system,
                )
                await answer_task(conn, task_id, found=found, note="searched by hand", actor="agent-kari")
            outcome = await self.erasure.locator.locate(
                {IdentifierType(k): v for k, v in identifiers.items()}, answered=set(answered or {})
            )
            assert isinstance(outcome, Located)
            await save_findings(conn, request_id, outcome.findings)
        return request_id

    async def fulfil(self, request_id: uuid.UUID) -> None:
        """Deliver `request.located` to fulfilment (which dispatches to erasure), then let the
        erasure worker run what is due."""
        await self.deliver(request_id)
        await run_once(self.erasure, self.pool)

    async def deliver(self, request_id: uuid.UUID) -> None:
        kind = await self.pool.fetchval("select type from requests where id = $1", request_id)
        event = Envelope[SubjectLocated](
            event_type="request.located",
            producer="locator",
            request_id=request_id,
            payload=SubjectLocated(type=RequestType(kind), finding_count=0, systems_searched=10),
        )
        async with self.pool.acquire() as conn, conn.transaction():
            await self.fulfilment.on_located(conn, event)

    async def fulfil_pending(self) -> None:
        await run_once(self.erasure, self.pool)

    async def status(self, request_id: uuid.UUID) -> str:
        return await self.pool.fetchval("select status from requests where id = $1", request_id)  # type: ignore[no-any-return]

    async def artifacts(self, request_id: uuid.UUID) -> dict[str, bytes]:
        """The request's artifacts by kind, decrypted (one of each kind: an extract's formats)."""
        rows = await self.pool.fetch(
            "select id, kind, key_id, sealed from artifacts where request_id = $1", request_id
        )
        return {r["kind"]: open_sealed(r["sealed"], KEYS.key(r["key_id"]), r["id"].bytes) for r in rows}

    async def certificates(self, request_id: uuid.UUID) -> list[dict[str, Any]]:
        """Every certificate artifact of the request, the JSON ones decrypted."""
        import json

        rows = await self.pool.fetch(
            """select id, media_type, key_id, sealed from artifacts
               where request_id = $1 and kind = 'erasure_certificate' order by created_at""",
            request_id,
        )
        out = []
        for row in rows:
            body = open_sealed(row["sealed"], KEYS.key(row["key_id"]), row["id"].bytes)
            out.append({"media_type": row["media_type"], "body": body})
        return [
            {**json.loads(c["body"]), "_media_types": [r["media_type"] for r in rows]}
            for c in out
            if c["media_type"] == "application/json"
        ]

    async def rows(self, system: str, sql: str, *args: Any) -> list[asyncpg.Record]:
        pool = await self.source(system)
        return await pool.fetch(sql, *args)  # type: ignore[no-any-return]


def demo_at(server_url: str, prefix: str) -> DemoSystems:
    """Where a demo load is, for a worker process that did not load it (the files and the
    newsletter server from the environment the test run set)."""
    return DemoSystems(server_url, prefix, seed=0, subjects=0, row_counts={}, loaded=False)


async def harness_for(
    catalogue: Catalogue, demo: DemoSystems, pool: asyncpg.Pool, **settings: Any
) -> Harness:
    locator_settings = LocatorSettings.model_validate(
        {"demo_database_prefix": demo.prefix, "locator_system_cooldown_seconds": 0.0}
    )
    systems = ErasureSystems(
        catalogue,
        demo.source_systems(catalogue, read_only=False),
        hash_key=HASH_KEY,
    )
    locator = Locator.from_catalogue(
        catalogue, server_url=demo.server_url, settings=locator_settings, env=demo.env
    )
    erasure = Erasure(
        catalogue,
        systems,
        locator,
        ArtifactStore(KEYS),
        ErasureSettings.model_validate({"erasure_pdf": False, **settings}),
        HASH_KEY,
    )
    rights = Rights(erasure, HASH_KEY)
    reader = SourceReader(catalogue, demo.source_systems(catalogue))
    return Harness(
        catalogue,
        demo,
        pool,
        erasure,
        rights,
        Fulfilment(catalogue, reader, ArtifactStore(KEYS), rights=rights),
    )


@pytest.fixture
async def harness(
    catalogue: Catalogue, shared_demo: DemoSystems, pool: asyncpg.Pool
) -> AsyncIterator[Harness]:
    h = await harness_for(catalogue, shared_demo, pool)
    yield h
    await close(h)


@pytest.fixture
async def fresh(catalogue: Catalogue, fresh_demo: DemoSystems, pool: asyncpg.Pool) -> AsyncIterator[Harness]:
    h = await harness_for(catalogue, fresh_demo, pool)
    yield h
    await close(h)


@pytest.fixture
async def second(
    catalogue: Catalogue, second_demo: DemoSystems, pool: asyncpg.Pool
) -> AsyncIterator[Harness]:
    h = await harness_for(catalogue, second_demo, pool)
    yield h
    await close(h)


async def close(h: Harness) -> None:
    for pool in h.sources.values():
        await pool.close()
    await h.erasure.systems.close()
    await h.erasure.locator.close()
    await h.fulfilment.sources.close()


TODAY = date(2026, 11, 24)
