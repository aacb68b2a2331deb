"""`dsr bench engines`: one subject's search on each engine, through the real adapter.

Each SQL engine (PostgreSQL on the embedded server, SQLite in a file, MariaDB when Debian's
`mariadb-server` is installed) holds the sample system (`sample.py`): its rows plus `customers`
filler customers, each with a case and a letter, every value distinct (so that the indexes are
what answers). The HTTP engine is the demo newsletter SaaS (in a process of its own, apart from
the measured adapter as under `dsr up --demo`) reached through `catalogue/systems/marketing.yaml`,
its account filled with the demo generator's marketing rows for as many people. MariaDB is skipped,
saying how to install it, where `mariadbd` is missing.

For random existing subjects, after a warm-up, it times through `SourceSystems(...)[name]` (the
adapter as the services build it):
- one search round for the subject's identifiers (national id, email and phone; the email for the
  HTTP system), with the statements (HTTP calls) it sent;
- a whole locate through the locator's own driver (`Locator.locate`: `Search.next_round`,
  `absorb`, `settle`, `finish`), with its rounds (sequential round trips) and statements.
Requests go one at a time; to the HTTP system they are spaced to its declared rate limit (the
catalogue's 500 calls/s), so that the adapter's limiter does not hold them back: the figures are
latency, not queueing behind the limit.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from services.catalogue.dsn import database_url, sqlite_file
from services.catalogue.loader import DEFAULT_CATALOGUE, load_catalogue
from services.catalogue.model import Catalogue, IdentifierType, System
from services.demo.generator import DemoGenerator
from services.demo.newsletter_accounts import NewsletterServer, account_file
from services.demo.newsletter_api import NewsletterStore
from services.demo.placement import NEWSLETTER_TOKEN_ENV, NEWSLETTER_URL_ENV
from services.demo.tables import NEWSLETTER_SUBSCRIPTIONS
from services.locator.locate import Located, Locator
from services.locator.settings import LocatorSettings
from services.systems.contract import SourceSystem
from services.systems.drivers import missing_driver
from services.systems.registry import SourceSystems
from services.systems.sample import (
    ROWS,
    SYSTEM,
    ddl_tables,
    fixture_catalogue,
    fixture_system,
    fresh_postgres_database,
    insert_rows,
)

ENGINES: tuple[str, ...] = ("postgresql", "sqlite", "mariadb", "http")

TARGET_P50_MS: dict[str, float] = {"mariadb": 5.0, "sqlite": 2.0, "http": 10.0}
"""The p50 each engine should reach on this machine (PostgreSQL: no worse than before)."""

HTTP_SYSTEM = "marketing"
HOST = "127.0.0.1"
DATABASE = "dsr_bench_engines"
"""The PostgreSQL database the bench makes (and drops) on the server."""
MARIADB_URL_ENV = "DSR_BENCH_MARIADB_URL"
ACCOUNT = "bench_marketing"

FILLER_FIRST_ID = 1_000
"""Filler customers, cases and letters get ids from here (the sample rows' are below)."""


@dataclass(frozen=True)
class EnginesPlan:
    customers: int = 100_000
    requests: int = 1_000
    """Measured requests per figure (after `warmup`)."""
    warmup: int = 100
    engines: tuple[str, ...] = ENGINES
    seed: int = 1
    chunk: int = 5_000
    """Customers inserted per executemany."""


@dataclass(frozen=True)
class Timing:
    requests: int
    p50_ms: float
    p99_ms: float
    mean_ms: float
    statements_per_request: float
    """Statements (HTTP calls) the adapter sent per request."""
    rounds_per_request: float
    """Sequential round trips per request (a round's calls to one system go out together)."""
    rows_per_request: float
    """Rows found (a search) or owned (a locate) per request."""
    outcomes: dict[str, int] = field(default_factory=dict)
    paced_calls_per_second: float | None = None
    """Requests were spaced to this rate of calls (the system's declared rate limit)."""


@dataclass(frozen=True)
class EngineFigures:
    engine: str
    system: str
    rows: int
    """Rows in the system's tables."""
    load_seconds: float
    search: Timing
    locate: Timing
    target_p50_ms: float | None

    def met(self, timing: Timing) -> bool | None:
        return None if self.target_p50_ms is None else timing.p50_ms <= self.target_p50_ms

    def as_dict(self) -> dict[str, Any]:
        figures = asdict(self)
        figures["search"]["target_met"] = self.met(self.search)
        figures["locate"]["target_met"] = self.met(self.locate)
        return figures


@dataclass
class _Where:
    """One engine's system, loaded: how the services would reach it, and who is in it."""

    catalogue: Catalogue
    system: str
    server_url: str | None = None
    files_dir: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    pick: Callable[[random.Random], dict[IdentifierType, str]] = lambda _rng: {}
    """A random existing subject's identifiers."""
    pace: float | None = None
    """Calls a second the system allows (its declared rate limit): requests are spaced so that the
    adapter's limiter never holds one back, and the figures are latency, not queueing."""
    rows: int = 0
    load_seconds: float = 0.0


class Skipped(Exception):
    """An engine this machine cannot run (the message says how to get it)."""


# -------------------------------------------------------------------------------------------- rows


def filler_customer(index: int) -> dict[str, Any]:
    """Filler customer `index` (from 0): values no other customer has."""
    return {
        "id": FILLER_FIRST_ID + index,
        "customer_number": f"B-{index:07d}",
        "national_id": f"{50_000_000_000 + index}",
        "email": f"person{index}@bench.example",
        "phone": f"+474{index:07d}",
        "name": f"Person {index}",
        "born_on": date(1950 + index % 50, 1 + index % 12, 1 + index % 28),
        "restricted": False,
    }


def filler_rows(first: int, count: int) -> dict[str, list[dict[str, Any]]]:
    """Filler customers `first`.. with a case and a letter each."""
    rows: dict[str, list[dict[str, Any]]] = {"customers": [], "cases": [], "letters": []}
    for index in range(first, first + count):
        key = FILLER_FIRST_ID + index
        rows["customers"].append(filler_customer(index))
        rows["cases"].append(
            {
                "id": key,
                "case_number": f"BS-{index:07d}",
                "customer_id": key,
                "amount": Decimal(index % 100_000) / 100,
                "opened_at": datetime(2024, 1, 1, tzinfo=UTC),
                "closed_on": None,
                "restricted": False,
            }
        )
        rows["letters"].append(
            {"id": key, "case_id": key, "body": "Varsel om inkasso", "sent_on": date(2024, 1, 2)}
        )
    return rows


def _seeds(customer: Mapping[str, Any]) -> dict[IdentifierType, str]:
    return {
        IdentifierType.national_id: customer["national_id"],
        IdentifierType.email: customer["email"],
        IdentifierType.phone: customer["phone"],
    }


def _rows_progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


async def _load_sql(admin_url: str, system: System, plan: EnginesPlan, console: Console, label: str) -> int:
    """The sample system's schema, its rows and the filler customers, then fresh statistics;
    returns the rows loaded."""
    metadata, tables = ddl_tables(system)
    engine = create_async_engine(admin_url, poolclass=NullPool)
    total = sum(len(rows) for rows in ROWS.values())
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.drop_all)
            await conn.run_sync(metadata.create_all)
            await insert_rows(conn, tables, ROWS)
        with _rows_progress(console) as progress:
            task = progress.add_task(f"Loading {label}: customers", total=plan.customers)
            for first in range(0, plan.customers, plan.chunk):
                count = min(plan.chunk, plan.customers - first)
                async with engine.begin() as conn:
                    await insert_rows(conn, tables, filler_rows(first, count))
                total += 3 * count
                progress.advance(task, count)
        async with engine.begin() as conn:
            if engine.dialect.name in ("mysql", "mariadb"):
                await conn.exec_driver_sql(f"ANALYZE TABLE {', '.join(tables)}")
            else:
                await conn.exec_driver_sql("ANALYZE")
    finally:
        await engine.dispose()
    return total


def _sql_subject(customers: int) -> Callable[[random.Random], dict[IdentifierType, str]]:
    """A random filler customer's identifiers (without filler: one of the sample's people)."""
    people = [customer for customer in ROWS["customers"] if customer["national_id"] and customer["phone"]]

    def pick(rng: random.Random) -> dict[IdentifierType, str]:
        return _seeds(filler_customer(rng.randrange(customers)) if customers else rng.choice(people))

    return pick


# ------------------------------------------------------------------------------------------ places


@contextmanager
def _postgresql(plan: EnginesPlan, root: Path, server_url: str | None, console: Console) -> Iterator[_Where]:
    from services.launcher.embedded_postgres import EmbeddedPostgres

    postgres = None
    if server_url is None:
        postgres = EmbeddedPostgres(root / "postgres")
        with console.status("Starting the embedded PostgreSQL..."):
            server_url = postgres.start()
    try:
        asyncio.run(fresh_postgres_database(server_url, DATABASE))
        system = fixture_system({"engine": "postgresql", "database": DATABASE})
        admin = database_url(server_url, DATABASE).replace("postgresql://", "postgresql+asyncpg://", 1)
        started = time.perf_counter()
        rows = asyncio.run(_load_sql(admin, system, plan, console, "PostgreSQL"))
        yield _Where(
            fixture_catalogue(system),
            SYSTEM,
            server_url=server_url,
            pick=_sql_subject(plan.customers),
            rows=rows,
            load_seconds=time.perf_counter() - started,
        )
    finally:
        if postgres is not None:
            postgres.stop()
        else:
            asyncio.run(fresh_postgres_database(server_url, DATABASE, create=False))


@contextmanager
def _sqlite(plan: EnginesPlan, root: Path, console: Console) -> Iterator[_Where]:
    files = root / "sqlite"
    files.mkdir(parents=True, exist_ok=True)
    system = fixture_system({"engine": "sql", "dialect": "sqlite", "database": SYSTEM})
    started = time.perf_counter()
    admin = f"sqlite+aiosqlite:///{sqlite_file(files, SYSTEM)}"
    rows = asyncio.run(_load_sql(admin, system, plan, console, "SQLite"))
    yield _Where(
        fixture_catalogue(system),
        SYSTEM,
        files_dir=files,
        pick=_sql_subject(plan.customers),
        rows=rows,
        load_seconds=time.perf_counter() - started,
    )


@contextmanager
def _mariadb(plan: EnginesPlan, root: Path, console: Console) -> Iterator[_Where]:
    from services.launcher.mariadb import INSTALL_HINT, MariaDBServer, mariadb_available

    if not mariadb_available():
        raise Skipped(f"Debian's mariadb-server is not installed ({INSTALL_HINT})")
    system = fixture_system({"engine": "sql", "dialect": "mariadb", "env": MARIADB_URL_ENV})
    if (missing := missing_driver(system.connection)) is not None:
        raise Skipped(missing)
    server = MariaDBServer(root / "mariadb")
    try:
        with console.status("Starting MariaDB..."):
            server.start()
        started = time.perf_counter()
        rows = asyncio.run(_load_sql(server.url(), system, plan, console, "MariaDB"))
        yield _Where(
            fixture_catalogue(system),
            SYSTEM,
            env={MARIADB_URL_ENV: server.url()},
            pick=_sql_subject(plan.customers),
            rows=rows,
            load_seconds=time.perf_counter() - started,
        )
    finally:
        server.teardown()


@contextmanager
def _http(plan: EnginesPlan, root: Path, console: Console) -> Iterator[_Where]:
    """The demo newsletter server in a process of its own, one account holding the demo generator's
    marketing rows for `customers` people; the subjects are random subscribers."""
    data_dir = root / "newsletter"
    data_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    emails: list[str] = []
    rows = 0
    email = NEWSLETTER_SUBSCRIPTIONS.columns.index("email")
    store = NewsletterStore(account_file(data_dir, ACCOUNT))
    try:
        with _rows_progress(console) as progress:
            task = progress.add_task("Loading the newsletter account: people", total=plan.customers)
            for chunk in DemoGenerator(seed=42, subjects=plan.customers).chunks():
                marketing = {
                    table: found for table, found in chunk.rows.items() if table.system == HTTP_SYSTEM
                }
                rows += sum(store.load(marketing, replace=False).values())
                emails += [str(row[email]) for row in marketing.get(NEWSLETTER_SUBSCRIPTIONS, [])]
                progress.advance(task, chunk.people)
    finally:
        store.close()
    load_seconds = time.perf_counter() - started
    server = NewsletterServer(data_dir, secrets.token_urlsafe(24), host=HOST, process=True)
    try:
        with console.status("Starting the demo newsletter server..."):
            server.start(timeout=30)
        base = load_catalogue(DEFAULT_CATALOGUE)
        spec = base.systems[HTTP_SYSTEM]
        catalogue = Catalogue(taxonomy=base.taxonomy, parties=base.parties, systems={HTTP_SYSTEM: spec})
        limit = spec.api.rate_limit if spec.api is not None else None

        def pick(rng: random.Random) -> dict[IdentifierType, str]:
            return {IdentifierType.email: rng.choice(emails)}

        yield _Where(
            catalogue,
            HTTP_SYSTEM,
            env={NEWSLETTER_URL_ENV: server.account_url(ACCOUNT), NEWSLETTER_TOKEN_ENV: server.token},
            pick=pick,
            pace=limit.per_second if limit is not None else None,
            rows=rows,
            load_seconds=load_seconds,
        )
    finally:
        server.stop()


# --------------------------------------------------------------------------------------- measuring


async def _timed(
    adapter: SourceSystem,
    subjects: list[dict[IdentifierType, str]],
    warmup: int,
    call: Callable[[dict[IdentifierType, str]], Awaitable[tuple[int, int, str]]],
    pace: float | None = None,
) -> Timing:
    """`call` per subject (returning rows, rounds and an outcome name), one at a time, the first
    `warmup` unmeasured; with `pace`, each next call waits until its calls fit that rate."""
    latencies: list[float] = []
    statements: list[int] = []
    rounds: list[int] = []
    rows: list[int] = []
    outcomes: dict[str, int] = {}
    for index, subject in enumerate(subjects):
        before = adapter.statements
        started = time.perf_counter()
        found, trips, outcome = await call(subject)
        elapsed = (time.perf_counter() - started) * 1000
        if pace:
            await asyncio.sleep((adapter.statements - before) / pace - elapsed / 1000)
        if index < warmup:
            continue
        latencies.append(elapsed)
        statements.append(adapter.statements - before)
        rounds.append(trips)
        rows.append(found)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")  # cuts[k - 1]: the k-th percentile
    return Timing(
        requests=len(latencies),
        p50_ms=round(cuts[49], 3),
        p99_ms=round(cuts[98], 3),
        mean_ms=round(statistics.fmean(latencies), 3),
        statements_per_request=round(statistics.fmean(statements), 2),
        rounds_per_request=round(statistics.fmean(rounds), 2),
        rows_per_request=round(statistics.fmean(rows), 2),
        outcomes=dict(sorted(outcomes.items())),
        paced_calls_per_second=pace,
    )


async def _measure(engine: str, where: _Where, plan: EnginesPlan, root: Path) -> EngineFigures:
    settings = LocatorSettings(demo_database_prefix="", source_files_dir=where.files_dir or root)
    systems = SourceSystems.configured(
        where.catalogue,
        server_url=where.server_url,
        read_only=True,
        application_name="dsr-bench",
        settings=settings,
        env=where.env,
    )
    adapter = systems[where.system]
    locator = Locator(
        {where.system: systems.plans[where.system]},
        {where.system: adapter},
        max_rounds=settings.locator_max_rounds,
    )

    async def search(subject: dict[IdentifierType, str]) -> tuple[int, int, str]:
        found = await adapter.search({kind: {value} for kind, value in subject.items()}, {})
        return len(found), 1, "found" if found else "nothing"

    async def locate(subject: dict[IdentifierType, str]) -> tuple[int, int, str]:
        outcome = await locator.locate(subject)
        if isinstance(outcome, Located):
            return len(outcome.findings), outcome.rounds, "Located"
        return 0, getattr(outcome, "rounds", 0), type(outcome).__name__

    try:
        health = await adapter.health()
        if not health.ok:
            raise RuntimeError(f"{engine}: the system does not answer ({health.cause})")
        rng = random.Random(plan.seed)
        need = plan.warmup + plan.requests
        subjects = [where.pick(rng) for _ in range(need)]
        searched = await _timed(adapter, subjects, plan.warmup, search, where.pace)
        subjects = [where.pick(rng) for _ in range(need)]
        located = await _timed(adapter, subjects, plan.warmup, locate, where.pace)
    finally:
        await systems.close()
    return EngineFigures(
        engine,
        where.system,
        where.rows,
        round(where.load_seconds, 1),
        searched,
        located,
        TARGET_P50_MS.get(engine),
    )


# ---------------------------------------------------------------------------------------- the run


def _place(
    engine: str, plan: EnginesPlan, root: Path, server_url: str | None, console: Console
) -> AbstractContextManager[_Where]:
    if engine == "postgresql":
        return _postgresql(plan, root, server_url, console)
    if engine == "sqlite":
        return _sqlite(plan, root, console)
    if engine == "mariadb":
        return _mariadb(plan, root, console)
    if engine == "http":
        return _http(plan, root, console)
    raise ValueError(f"unknown engine {engine!r}; one of {', '.join(ENGINES)}")


def run_engines_bench(
    plan: EnginesPlan,
    *,
    console: Console,
    output: Path | None = None,
    server_url: str | None = None,
) -> dict[str, Any]:
    """Every engine of `plan` in turn (one engine's server at a time); a table per engine, and
    the figures as JSON in `output`. `server_url`: a PostgreSQL server to use instead of starting
    the embedded one (the bench makes and drops its own database there)."""
    for engine in plan.engines:
        if engine not in ENGINES:
            raise ValueError(f"unknown engine {engine!r}; one of {', '.join(ENGINES)}")
    if plan.requests < 2 or plan.customers < 0 or plan.warmup < 0:
        raise ValueError("at least 2 requests, and no negative customers or warm-up")
    root = Path(tempfile.mkdtemp(prefix="dsr-bench-engines-"))
    results: dict[str, Any] = {}
    try:
        for engine in plan.engines:
            try:
                with (
                    _place(engine, plan, root, server_url, console) as where,
                    console.status(f"{engine}: timing {plan.requests:,} searches and locates..."),
                ):
                    figures = asyncio.run(_measure(engine, where, plan, root))
            except Skipped as exc:
                console.print(f"[yellow]{engine}: skipped: {exc}[/yellow]")
                results[engine] = {"engine": engine, "skipped": str(exc)}
                continue
            print_engine(console, figures)
            results[engine] = figures.as_dict()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    document = {
        "plan": {**asdict(plan), "engines": list(plan.engines)},
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "targets_p50_ms": TARGET_P50_MS,
        "engines": results,
    }
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(document, indent=2) + "\n")
        console.print(f"Figures written to {output}")
    return document


def print_engine(console: Console, figures: EngineFigures) -> None:
    """A table of the engine's two figures against its target (p50)."""
    table = Table(
        title=(
            f"{figures.engine}: system {figures.system}, {figures.rows:,} rows "
            f"(loaded in {figures.load_seconds:.1f} s)"
        ),
        title_justify="left",
        caption=(
            "search: one round for the subject's identifiers; locate: every round until nothing new. "
            "stmts: statements (HTTP calls) per request; rounds: sequential round trips."
        ),
        caption_justify="left",
    )
    for heading in ("", "p50 ms", "p99 ms", "mean ms", "stmts", "rounds", "rows", "target", "met"):
        table.add_column(heading, justify="right" if heading else "left")
    for label, timing in (("search", figures.search), ("locate", figures.locate)):
        met = figures.met(timing)
        table.add_row(
            label,
            f"{timing.p50_ms:.2f}",
            f"{timing.p99_ms:.2f}",
            f"{timing.mean_ms:.2f}",
            f"{timing.statements_per_request:.2f}",
            f"{timing.rounds_per_request:.2f}",
            f"{timing.rows_per_request:.2f}",
            "—" if figures.target_p50_ms is None else f"≤ {figures.target_p50_ms:g}",
            "" if met is None else ("[green]✓[/green]" if met else "[red]✗[/red]"),
        )
    console.print(table)
    if figures.search.paced_calls_per_second:
        console.print(
            f"Requests spaced to {figures.search.paced_calls_per_second:g} calls/s, the system's declared "
            "rate limit (back to back, they would wait for the adapter's limiter)."
        )
