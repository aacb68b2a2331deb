"""Extract benchmark: build, encrypt and store the extract of a subject with 200 records.

The subject is the `open_case_debtor` showcase debtor, with rows from every table of every demo
system added until they hold `records` rows (the invoicing rows are referred, as in production).
Timed separately: reading the rows and their retention anchors from the systems; JSON + HTML
(assemble, render, seal, store, in one ledger transaction); PDF (render, seal, store).
`dsr bench extract` wires this in.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from services.artifacts.sealing import ConfiguredKeys, new_key_spec
from services.artifacts.store import ArtifactKind, ArtifactStore
from services.catalogue.dsn import database_url
from services.catalogue.loader import load_catalogue
from services.catalogue.model import Catalogue, IdentifierType
from services.demo.generator import showcase_placements
from services.demo.loader import database_name
from services.demo.showcase import showcase_subject
from services.fulfilment import formats
from services.fulfilment.access import referrals
from services.fulfilment.extract import Company, SpecialRelease, assemble, learn_subject
from services.fulfilment.sources import SourceReader
from services.locator.settings import LocatorSettings
from services.runtime.db import create_pool
from services.runtime.migrator import migrate
from services.runtime.settings import Settings
from services.systems.registry import SourceSystems

SUBJECT = "open_case_debtor"


@dataclass(frozen=True)
class Timing:
    p50_ms: float
    p95_ms: float
    mean_ms: float
    cpu_p50_ms: float
    """This process's CPU time per iteration: the cost without the other processes' contention."""


@dataclass(frozen=True)
class ExtractBench:
    records: int
    iterations: int
    read: Timing
    json_html: Timing
    pdf: Timing
    sizes: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _timing(samples: list[tuple[float, float]]) -> Timing:
    ordered = sorted(wall for wall, _ in samples)
    return Timing(
        p50_ms=round(1000 * statistics.median(ordered), 2),
        p95_ms=round(1000 * ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 2),
        mean_ms=round(1000 * statistics.fmean(ordered), 2),
        cpu_p50_ms=round(1000 * statistics.median(cpu for _, cpu in samples), 2),
    )


async def _findings(catalogue: Catalogue, server_url: str, prefix: str, wanted: int) -> list[dict[str, Any]]:
    """The subject's own rows, then rows of every personal table, round-robin, up to `wanted`."""
    findings = [
        {"system": r.system, "table": r.table, "primary_key": {"id": str(r.id)}, "categories": []}
        for r in sorted(showcase_placements()[SUBJECT])
    ]
    tables = [
        (system_name, table_name)
        for system_name, system in sorted(catalogue.systems.items())
        for table_name, table in sorted(system.tables.items())
        if table.purpose is not None
    ]
    per_table = -(-(wanted - len(findings)) // len(tables))
    extra: list[list[dict[str, Any]]] = []
    for system, table in tables:
        # picking sample rows is the bench's own business: straight from the demo database
        conn = await asyncpg.connect(database_url(server_url, database_name(system, prefix)))
        try:
            ids = await conn.fetch(f'select id from "{table}" order by id desc limit $1', per_table)
        finally:
            await conn.close()
        extra.append(
            [
                {"system": system, "table": table, "primary_key": {"id": str(r["id"])}, "categories": []}
                for r in ids
            ]
        )
    for index in range(per_table):
        for rows in extra:
            if index < len(rows) and len(findings) < wanted:
                findings.append(rows[index])
    return findings


async def _measure(fn: Callable[[], Awaitable[None]], iterations: int) -> list[tuple[float, float]]:
    """(wall, CPU) seconds per call; the CPU time includes none of the database server's work."""
    samples = []
    for _ in range(iterations):
        started, cpu = time.perf_counter(), time.process_time()
        await fn()
        samples.append((time.perf_counter() - started, time.process_time() - cpu))
    return samples


async def bench_extract(
    server_url: str, *, prefix: str, records: int = 200, iterations: int = 50, warmup: int = 5
) -> ExtractBench:
    """`server_url`'s server holds the demo systems under `prefix`; the ledger goes in a new database."""
    settings = Settings()
    catalogue = load_catalogue(settings.catalogue_dir)
    sources = SourceReader(
        catalogue,
        SourceSystems.configured(
            catalogue,
            server_url=server_url,
            read_only=True,
            application_name="dsr-bench",
            settings=LocatorSettings(demo_database_prefix=prefix),
        ),
    )
    admin = await asyncpg.connect(server_url)
    ledger_name = f"bench_ledger_{uuid.uuid4().hex[:8]}"
    await admin.execute(f'create database "{ledger_name}"')
    ledger = await create_pool(database_url(server_url, ledger_name), min_size=1, max_size=2)
    try:
        async with ledger.acquire() as conn:
            await migrate(conn)
        store = ArtifactStore(ConfiguredKeys.parse(new_key_spec()))
        company = Company(settings.controller_name, settings.dpo_name, settings.dpo_email)
        subject = showcase_subject(SUBJECT)
        seeds = {
            IdentifierType.national_id: [subject.national_id],
            IdentifierType.email: [subject.email],
            IdentifierType.phone: [subject.phone],
        }
        request_id = uuid.uuid4()
        await ledger.execute(
            """insert into requests (id, reference, type, channel, status, received_at, due_date, subject, correlation_id)
               values ($1, 'DSR-BENCH-000001', 'access', 'phone', 'fulfilling', now(), current_date, '{}', 'bench')""",
            request_id,
        )
        findings = await _findings(catalogue, server_url, prefix, records)
        held: list[Any] = []

        async def read() -> None:
            held[:] = await sources.anchors(await sources.read(findings))

        read_samples = await _measure(read, max(5, iterations // 5))
        links = await sources.controllers(held)
        sizes: dict[str, int] = {}

        def build() -> Any:
            return assemble(
                catalogue,
                reference="DSR-BENCH-000001",
                received_at=datetime.now(UTC),
                records=held,
                generated_at=datetime.now(UTC),
                company=company,
                language="nb",
                identity=learn_subject(catalogue, seeds, held),
                referrals=referrals(links),
                special=SpecialRelease.release,
            )

        async def json_html() -> None:
            extract = build()
            content = {
                ArtifactKind.extract_json: ("application/json", formats.to_json(extract)),
                ArtifactKind.extract_html: ("text/html; charset=utf-8", formats.to_html(extract).encode()),
            }
            async with ledger.acquire() as conn, conn.transaction():
                for kind, (media_type, body) in content.items():
                    sizes[kind.value] = len(body)
                    await store.put(
                        conn,
                        request_id=request_id,
                        kind=kind,
                        media_type=media_type,
                        filename=f"bench.{kind.value}",
                        content=body,
                        actor="bench",
                    )

        extract = build()

        async def pdf() -> None:
            body = formats.to_pdf(extract)
            sizes["extract_pdf"] = len(body)
            async with ledger.acquire() as conn, conn.transaction():
                await store.put(
                    conn,
                    request_id=request_id,
                    kind=ArtifactKind.extract_pdf,
                    media_type="application/pdf",
                    filename="bench.pdf",
                    content=body,
                    actor="bench",
                )

        await _measure(json_html, warmup)
        json_html_samples = await _measure(json_html, iterations)
        await _measure(pdf, 1)
        pdf_samples = await _measure(pdf, max(5, iterations // 5))
        return ExtractBench(
            records=len(held),
            iterations=iterations,
            read=_timing(read_samples),
            json_html=_timing(json_html_samples),
            pdf=_timing(pdf_samples),
            sizes=sizes,
        )
    finally:
        await ledger.close()
        await sources.close()
        await admin.execute(f'drop database if exists "{ledger_name}" with (force)')
        await admin.close()
