"""Locator benchmark: locate random demo people against loaded demo systems, one at a time.

Reports latency percentiles per subject, statements (queries) and sequential round trips per
request. `dsr bench locator` wires this in; the demo must be loaded (`dsr demo load`).
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import asyncpg

from services.catalogue.dsn import database_url
from services.catalogue.loader import load_catalogue
from services.catalogue.model import IdentifierType
from services.demo.loader import database_name
from services.demo.newsletter_api import KINDS, NewsletterStore
from services.demo.placement import NEWSLETTER_SYSTEMS, DemoSources
from services.locator.locate import Located, Locator, NeedsReview
from services.locator.settings import LocatorSettings
from services.runtime.settings import Settings

_SAMPLES: tuple[tuple[str, str, str, tuple[tuple[IdentifierType, str], ...]], ...] = (
    (
        "debt_collection",
        "cases",
        "debtor_national_id, debtor_email, debtor_phone",
        (
            (IdentifierType.national_id, "debtor_national_id"),
            (IdentifierType.email, "debtor_email"),
            (IdentifierType.phone, "debtor_phone"),
        ),
    ),
    (
        "invoicing",
        "invoices",
        "recipient_national_id, recipient_email, recipient_phone",
        (
            (IdentifierType.national_id, "recipient_national_id"),
            (IdentifierType.email, "recipient_email"),
            (IdentifierType.phone, "recipient_phone"),
        ),
    ),
    ("marketing", "newsletter_subscriptions", "email", ((IdentifierType.email, "email"),)),
)


@dataclass(frozen=True)
class LocatorBench:
    requests: int
    p50_ms: float
    p99_ms: float
    mean_ms: float
    queries_per_request: float
    """Statements sent per request (one per system per round)."""
    round_trips_per_request: float
    """Sequential rounds per request (each round's statements run concurrently)."""
    outcomes: dict[str, int]
    findings_per_request: float
    postgresql_p50_ms: float = 0.0
    """The same people located in the PostgreSQL systems alone (the engine's own figure, comparable
    with the figures from before the demo ran systems on other engines)."""
    postgresql_p99_ms: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def sample_subjects(
    server_url: str, prefix: str, n: int, seed: int, sources: DemoSources | None = None
) -> list[dict[IdentifierType, str]]:
    """`n` random people: a third each from debtors, invoice recipients and newsletter subscribers
    (read straight from where each system keeps them)."""
    rng = random.Random(seed)
    people: list[dict[IdentifierType, str]] = []
    for index, (system, table, columns, kinds) in enumerate(_SAMPLES):
        want = n // len(_SAMPLES) + (1 if index < n % len(_SAMPLES) else 0)
        if system in NEWSLETTER_SYSTEMS:
            rows = _newsletter_sample(sources or DemoSources.from_env(), system, prefix, table, want, rng)
        else:
            rows = await _postgres_sample(
                server_url, database_name(system, prefix), table, columns, want, rng
            )
        for row in rows:
            person = {kind: row[column] for kind, column in kinds if row[column] is not None}
            if person:
                people.append(person)
    rng.shuffle(people)
    return people


async def _postgres_sample(
    server_url: str, database: str, table: str, columns: str, want: int, rng: random.Random
) -> list[Mapping[str, Any]]:
    conn = await asyncpg.connect(database_url(server_url, database))
    try:
        top = await conn.fetchval(f"select max(id) from {table}")
        ids = [rng.randint(1, top) for _ in range(want)]
        return list(await conn.fetch(f"select {columns} from {table} where id = any($1::bigint[])", ids))
    finally:
        await conn.close()


def _newsletter_sample(
    sources: DemoSources, system: str, prefix: str, table: str, want: int, rng: random.Random
) -> list[Mapping[str, Any]]:
    store = NewsletterStore(sources.newsletter_file(system, prefix))
    try:
        kind = KINDS[table]
        top = store.find(kind, {}, limit=1)[1]  # ids run 1..count, as the generator numbers rows
        rows = [store.get(kind, rng.randint(1, top)) for _ in range(want)] if top else []
        return [row for row in rows if row is not None]
    finally:
        store.close()


async def bench_locate(
    server_url: str,
    *,
    prefix: str = "",
    requests: int = 1000,
    seed: int = 1,
    warmup: int = 100,
    catalogue_dir: Path | str | None = None,
    sources: DemoSources | None = None,
) -> LocatorBench:
    """Locate `requests` random people (after `warmup` unmeasured ones) one at a time, across every
    system and, apart, across the PostgreSQL systems alone; `sources` says where the systems
    outside PostgreSQL are."""
    sources = sources or DemoSources.from_env()
    settings = LocatorSettings(demo_database_prefix=prefix, source_files_dir=sources.files_dir)
    catalogue = load_catalogue(catalogue_dir or Settings().catalogue_dir)
    locator = Locator.from_catalogue(
        catalogue, server_url=server_url, settings=settings, env=sources.env(prefix)
    )
    postgres = [name for name, system in locator.systems.items() if system.engine == "postgresql"]
    postgres_only = Locator(
        {name: plan for name, plan in locator.plans.items() if name in postgres},
        {name: locator.systems[name] for name in postgres},
        max_rounds=locator.max_rounds,
    )
    people = await sample_subjects(server_url, prefix, requests + warmup, seed, sources)
    postgres_latencies: list[float] = []
    latencies: list[float] = []
    statements: list[int] = []
    rounds: list[int] = []
    findings: list[int] = []
    outcomes: dict[str, int] = {}
    try:
        for index, person in enumerate(people):
            started = time.perf_counter()
            outcome = await locator.locate(person)
            elapsed = (time.perf_counter() - started) * 1000
            if index < warmup:
                continue
            latencies.append(elapsed)
            name = type(outcome).__name__
            outcomes[name] = outcomes.get(name, 0) + 1
            if isinstance(outcome, Located | NeedsReview):
                statements.append(outcome.statements)
                rounds.append(outcome.rounds)
            if isinstance(outcome, Located):
                findings.append(len(outcome.findings))
            started = time.perf_counter()
            await postgres_only.locate(person)
            postgres_latencies.append((time.perf_counter() - started) * 1000)
    finally:
        await locator.close()
    latencies.sort()
    postgres_latencies.sort()
    return LocatorBench(
        requests=len(latencies),
        p50_ms=round(statistics.median(latencies), 3),
        p99_ms=round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 3),
        mean_ms=round(statistics.fmean(latencies), 3),
        queries_per_request=round(statistics.fmean(statements), 2) if statements else 0.0,
        round_trips_per_request=round(statistics.fmean(rounds), 2) if rounds else 0.0,
        outcomes=outcomes,
        findings_per_request=round(statistics.fmean(findings), 2) if findings else 0.0,
        postgresql_p50_ms=round(statistics.median(postgres_latencies), 3),
        postgresql_p99_ms=round(
            postgres_latencies[min(len(postgres_latencies) - 1, int(len(postgres_latencies) * 0.99))], 3
        ),
    )
