"""`dsr bench erasure`: erase one subject with records in every system, end to end after the
search: plan, execution system by system, re-scan, certificate (JSON and HTML), status. The PDF is
timed on its own. Each run gets a new person written into every demo system first."""

from __future__ import annotations

import json
import re
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

import asyncpg

from services.artifacts.sealing import ConfiguredKeys, new_key_spec, open_sealed
from services.artifacts.store import ArtifactStore
from services.catalogue.dsn import database_url
from services.catalogue.model import Catalogue, IdentifierType
from services.demo.loader import database_name
from services.erasure.flow import Erasure
from services.erasure.render import certificate_pdf
from services.erasure.scopes import Scope
from services.erasure.settings import CertificatePdf, ErasureSettings
from services.erasure.systems import ErasureSystems
from services.locator.locate import Located, Locator
from services.locator.settings import LocatorSettings
from services.locator.store import save_findings
from services.systems.registry import SourceSystems

BASE_ID = 900_000_000


def _person(run: int) -> dict[str, Any]:
    n = BASE_ID + run * 10
    return {
        "n": n,
        "national_id": f"9{run:010d}",
        "email": f"bench.person{run}@eksempel.no",
        "phone": f"+479{run:07d}",
        "name": f"Bench Person {run}",
        "case_number": f"BENCH-{run}",
        "address": "Benkeveien 1, 0150 Oslo",
    }


STATEMENTS: dict[str, list[str]] = {
    "debt_collection": [
        """insert into cases values (:n, :case_number, 'Kreditor AS', 'closed', '2019-01-02', '2020-03-04', false, :national_id, :name, :address,
           :phone, :email, false)""",
        "insert into claims values (:n, :n, 'INV-B' || :case_number, 'Strøm', 1000, 10, 70, '2018-12-01', false)",
        "insert into payments values (:n, :n, '2019-06-01', 1080, '15030012345', false)",
        "insert into instalment_plans values (:n, :n, '2019-02-01', 6, 180, 'completed', false)",
        "insert into letters values (:n, :n, '2019-01-02', 'notice', 'post', :address, false)",
        "insert into case_notes values (:n, :n, '2019-01-05T10:00:00Z', 'agent', 'Ringte.', null, false)",
    ],
    "population_register": [
        "insert into address_updates values (:n, :national_id, :name, :address, null, '2018-01-01', '2019-01-03T03:00:00Z', :case_number, false)"
    ],
    "credit_bureau": [
        """insert into credit_reports values (:n, :national_id, :name, :case_number, '2019-01-04T08:00:00Z', 55, 1, 400000, 20000,
           'manual_follow_up', false)"""
    ],
    "telephony": [
        "insert into call_logs values (:n, '2019-01-05T09:00:00Z', :phone, 'inbound', 60, 'agent', :case_number, 'Ringte.', false)"
    ],
    "correspondence": [
        "insert into emails values (:n, '2019-01-06T09:00:00Z', 'inbound', :email, :name, 'Sak', 'Hei', :case_number, false)",
        "insert into form_submissions values (:n, '2024-05-05T10:00:00Z', 'contact', :name, :email, :phone, null, 'Hei', false)",
    ],
    "accounting": [
        """insert into ledger_entries values (:n, 'V-' || :case_number, '2019-06-01', '1920', 1080, 'Innbetaling', :name,
           '15030012345', :case_number, null, false)"""
    ],
    "aml": [
        """insert into aml_checks values (:n, :national_id, :name, 'client_contact', '912345678', null, '2024-01-10', 'passport',
           false, false, 'cleared', false)"""
    ],
    "crm": [
        "insert into contacts values (:n, 1, :name, 'Økonomisjef', :email, :phone, '2025-01-01', null, false)",
        "insert into contact_activities values (:n, :n, '2025-01-01T10:00:00Z', 'call', 'Samtale.', false)",
    ],
    "marketing": [
        "insert into newsletter_subscriptions values (:n, :email, :name, 'Kundeavisen', '2024-01-01T10:00:00Z', 'Ja', null, false)",
        "insert into event_signups values (:n, 'Webinar', :email, :name, :phone, null, '2024-02-01T10:00:00Z', true, false)",
        "insert into downloads values (:n, :email, 'guide.pdf', '2024-03-01T10:00:00Z', false)",
        "insert into survey_responses values (:n, :email, 'NPS', '9', '2024-04-01T10:00:00Z', false)",
    ],
    "invoicing": [
        """insert into invoices values (:n, 'BINV-' || :case_number, (select min(id) from clients), 'C-' || :case_number, :national_id, :name, :address, :email,
           :phone, '2026-04-01', '2026-04-20', 500, 'unpaid', false)""",
        "insert into invoice_lines values (:n, :n, 'Bredbånd', 1, 500)",
    ],
}


async def write_person(server_url: str, prefix: str, run: int) -> dict[str, Any]:
    """One new person with records in every demo system (ids far above the generator's), written
    straight into the demo databases as their own applications would."""
    p = _person(run)
    for system, statements in STATEMENTS.items():
        conn = await asyncpg.connect(database_url(server_url, database_name(system, prefix)))
        try:
            async with conn.transaction():
                for statement in statements:
                    sql, args = _bind(statement, p)
                    await conn.execute(sql, *args)
        finally:
            await conn.close()
    return p


def _bind(template: str, values: dict[str, Any]) -> tuple[str, list[Any]]:
    """`:name` placeholders to `$n` parameters, numbered in order of first use."""
    order: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in order:
            order.append(name)
        return f"${order.index(name) + 1}"

    sql = re.sub(r"(?<!:):([a-z_]+)", number, template)
    return sql, [values[name] for name in order]


async def _request(pool: asyncpg.Pool, person: dict[str, Any], locator: Locator) -> tuple[uuid.UUID, float]:
    """A located erasure request for the person (the search is timed apart: it is the locator's)."""
    request_id = uuid.uuid4()
    async with pool.acquire() as conn, conn.transaction():
        number = await conn.fetchval("select nextval('request_reference_seq')")
        await conn.execute(
            """insert into requests (id, reference, type, channel, status, received_at, due_date, subject, correlation_id)
               values ($1, $2, 'erasure', 'phone', 'fulfilling', now(), current_date, '{}'::jsonb, $3)""",
            request_id,
            f"DSR-BENCH-{number:06d}",
            str(request_id),
        )
        seeds = {k: person[k] for k in ("national_id", "email", "phone")}
        await conn.executemany(
            "insert into request_identifiers (request_id, kind, value) values ($1, $2, $3)",
            [(request_id, k, v) for k, v in seeds.items()],
        )
        started = time.perf_counter()
        outcome = await locator.locate({IdentifierType(k): v for k, v in seeds.items()})
        located = time.perf_counter() - started
        assert isinstance(outcome, Located), outcome
        await save_findings(conn, request_id, outcome.findings)
    return request_id, located


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run_erasure_bench(
    catalogue: Catalogue,
    *,
    server_url: str,
    database_url: str,
    prefix: str,
    runs: int,
    progress: Callable[[str], None] = lambda _text: None,
) -> dict[str, Any]:
    from services.runtime.db import create_pool

    key = ErasureSettings(erasure_hash_key="bench").hash_key("")
    systems = ErasureSystems(
        catalogue,
        SourceSystems(catalogue, server_url=server_url, database_prefix=prefix, read_only=False),
        hash_key=key,
    )
    locator = Locator.from_catalogue(
        catalogue, server_url=server_url, settings=LocatorSettings(demo_database_prefix=prefix), env={}
    )
    keys = ConfiguredKeys.parse(new_key_spec())
    artifacts = ArtifactStore(keys)
    erasure = Erasure(
        catalogue, systems, locator, artifacts, ErasureSettings(erasure_pdf=CertificatePdf.never), key
    )
    pool = await create_pool(database_url, min_size=2, max_size=4)
    totals, locates, pdfs, records, statuses = [], [], [], [], []
    try:
        for run in range(runs + 2):  # two warm-up runs, not counted
            person = await write_person(server_url, prefix, run)
            request_id, located = await _request(pool, person, locator)
            started = time.perf_counter()
            async with pool.acquire() as conn, conn.transaction():
                plan_id, _status = await erasure.plan(conn, request_id, Scope.erasure)
            await erasure.execute(pool, plan_id)
            elapsed = time.perf_counter() - started
            status = await pool.fetchval("select status from requests where id = $1", request_id)
            plan = await pool.fetchrow("select plan, rescan from erasure_plans where id = $1", plan_id)
            content = await _certificate(pool, keys, request_id)
            pdf_started = time.perf_counter()
            certificate_pdf(content, "nb")
            pdf = time.perf_counter() - pdf_started
            if run >= 2:
                totals.append(elapsed)
                locates.append(located)
                pdfs.append(pdf)
                records.append(len(plan["plan"]["records"]))
                statuses.append(status)
            progress(f"run {run + 1}/{runs + 2}: {elapsed * 1000:.0f} ms ({status})")
    finally:
        await pool.close()
        await systems.close()
        await locator.close()
    systems_touched = sorted(STATEMENTS)
    return {
        "runs": runs,
        "systems_with_records": len(systems_touched),
        "records_per_subject": statistics.median(records),
        "statuses": sorted(set(statuses)),
        "erasure_ms": {
            "p50": round(_percentile(totals, 0.5) * 1000, 1),
            "p95": round(_percentile(totals, 0.95) * 1000, 1),
            "max": round(max(totals) * 1000, 1),
        },
        "pdf_ms": {
            "p50": round(_percentile(pdfs, 0.5) * 1000, 1),
            "p95": round(_percentile(pdfs, 0.95) * 1000, 1),
        },
        "locate_ms": {"p50": round(_percentile(locates, 0.5) * 1000, 1)},
        "target_p50_ms": 200,
        "measured_on": date.today().isoformat(),
    }


async def _certificate(pool: asyncpg.Pool, keys: ConfiguredKeys, request_id: uuid.UUID) -> dict[str, Any]:
    """The stored JSON certificate, opened again (the PDF is timed on the real content)."""
    row = await pool.fetchrow(
        """select id, key_id, sealed from artifacts
           where request_id = $1 and kind = 'erasure_certificate' and media_type = 'application/json'""",
        request_id,
    )
    return json.loads(open_sealed(row["sealed"], keys.key(row["key_id"]), row["id"].bytes))  # type: ignore[no-any-return]


def main(*, runs: int, subjects: int, print_line: Callable[[str], None]) -> dict[str, Any]:
    """Start an embedded PostgreSQL in a temporary directory, load the demo systems, run, stop."""
    import asyncio
    import tempfile
    from pathlib import Path

    from services.catalogue.loader import load_catalogue
    from services.demo.loader import create_demo_systems
    from services.launcher.embedded_postgres import EmbeddedPostgres
    from services.runtime.migrator import migrate

    root = Path(tempfile.mkdtemp(prefix="dsr-bench-erasure-"))
    catalogue_dir = Path(__file__).resolve().parents[2] / "catalogue"
    postgres = EmbeddedPostgres(root / "postgres")
    server_url = postgres.start()
    try:

        async def run() -> dict[str, Any]:
            admin = await asyncpg.connect(server_url)
            try:
                await admin.execute("create database dsr")
            finally:
                await admin.close()
            conn = await asyncpg.connect(postgres.url("dsr"))
            try:
                await migrate(conn)
            finally:
                await conn.close()
            print_line(f"Loading the demo systems ({subjects:,} people besides the showcase)...")
            await create_demo_systems(server_url, subjects=subjects, seed=7)
            return await run_erasure_bench(
                load_catalogue(catalogue_dir),
                server_url=server_url,
                database_url=postgres.url("dsr"),
                prefix="",
                runs=runs,
                progress=print_line,
            )

        return asyncio.run(run())
    finally:
        postgres.stop()
