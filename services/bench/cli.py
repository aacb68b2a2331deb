"""`dsr bench ...`: the benchmarks, each printing its figures and writing them as JSON.

Benchmarks are tooling, not services: each starts the servers it measures (embedded PostgreSQL,
the broker, the services under the supervisor) in a temporary directory and stops them at the end.
"""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from services.demo.newsletter_accounts import start_demo_newsletter
from services.launcher.ledger import LEDGER_DATABASE, prepare_ledger
from services.launcher.stopping import Stop, stop_on_signals
from services.runtime.settings import Settings

app = typer.Typer(help="Benchmarks that print their figures.")
console = Console(highlight=False)


@app.callback(invoke_without_command=True)
def bench(
    context: typer.Context,
    subjects: Annotated[int, typer.Option(help="People loaded into the demo systems.")] = 100_000,
    requests: Annotated[int, typer.Option(help="Requests of mixed types per worker count.")] = 6_000,
    steady_requests: Annotated[int, typer.Option(help="Access requests of the fixed-rate phase.")] = 1_500,
    rate: Annotated[float, typer.Option(help="Arrival rate of the fixed-rate phase (per second).")] = 50.0,
    workers: Annotated[list[int], typer.Option(help="Workers per service; repeat to compare.")] = [1],  # noqa: B006
    connections: Annotated[int, typer.Option(help="HTTP connections of the load client.")] = 32,
    mix: Annotated[
        list[str], typer.Option(help="Only these request types in the mixed phase; repeat (default: all).")
    ] = [],  # noqa: B006
    output: Annotated[Path, typer.Option(help="Where the figures go as JSON (the chart next to it).")] = Path(
        "bench-results/pipeline.json"
    ),
) -> None:
    """The whole pipeline: mixed requests through the public intake to their stored results."""
    if context.invoked_subcommand is not None:
        return
    from services.bench.pipeline import BenchPlan, check_mix, run_bench

    stop_on_signals()  # so that `finally` stops the embedded servers when the bench is killed
    plan = BenchPlan(
        subjects=subjects,
        steady_requests=steady_requests,
        steady_rate=rate,
        mixed_requests=requests,
        connections=connections,
        workers=tuple(workers),
        mix=tuple(mix),
    )
    try:
        check_mix(plan.mix)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--mix") from None
    try:
        run_bench(plan, output=output, console=console)
    except Stop:
        console.print("Stopped before the end; no figures written.")
        raise typer.Exit(1) from None


@app.command("intake")
def bench_intake(
    requests: Annotated[int, typer.Option(help="HTTP requests per phase.")] = 10_000,
    rate: Annotated[
        float, typer.Option(help="Fixed arrival rate of the second HTTP phase (per second).")
    ] = 1000,
    events: Annotated[int, typer.Option(help="Kafka intake events.")] = 20_000,
    workers: Annotated[int, typer.Option(help="Intake worker processes (sharing the API port).")] = 1,
    output: Annotated[Path, typer.Option(help="Where the figures go as JSON.")] = Path(
        "bench-results/intake.json"
    ),
) -> None:
    """HTTP intake throughput and latency, and Kafka intake throughput, against a fresh ledger."""
    import tempfile

    from services.bench.intake import run_intake_bench
    from services.bench.measure import process_ids, write_results
    from services.launcher.embedded_broker import EmbeddedBroker
    from services.launcher.embedded_postgres import EmbeddedPostgres
    from services.launcher.ports import free_port, free_ports
    from services.launcher.supervisor import Supervisor

    stop_on_signals()  # so that `finally` stops the embedded servers when the bench is killed
    root = Path(tempfile.mkdtemp(prefix="dsr-bench-"))
    postgres, broker = EmbeddedPostgres(root / "postgres"), EmbeddedBroker(root / "broker")
    supervisor: Supervisor | None = None
    try:
        with console.status("Starting PostgreSQL, the broker and intake..."):
            server_url = postgres.start()
            database_url = postgres.url(LEDGER_DATABASE)
            bootstrap = broker.start()
            settings = Settings(database_url=database_url, kafka_bootstrap=bootstrap)
            key = secrets.token_urlsafe(24)
            asyncio.run(prepare_ledger(server_url, database_url, settings))
            env = {
                "DSR_DATABASE_URL": database_url,
                "DSR_KAFKA_BOOTSTRAP": bootstrap,
                "DSR_API_KEYS": f"bench:system:{key}",
                "DSR_DATA_DIR": str(root),
                "DSR_LOG_LEVEL": "WARNING",
            }
            supervisor = Supervisor.for_services(
                env,
                root / "logs",
                free_port(),
                workers=workers,
                services=("intake",),
                child_port=free_ports(),
            )
            supervisor.start()
            supervisor.wait_ready(60)
        with console.status("") as status:
            results = asyncio.run(
                run_intake_bench(
                    supervisor.api_url,
                    key,
                    bootstrap,
                    database_url,
                    requests=requests,
                    rate=rate,
                    events=events,
                    progress=lambda text: status.update(text),
                    pids=process_ids(supervisor, postgres, broker),
                )
            )
        write_results(output, results)
        console.print(f"Figures written to {output}")
    except Stop:
        console.print("Stopped before the end; no figures written.")
        raise typer.Exit(1) from None
    finally:
        if supervisor is not None:
            supervisor.stop()
        broker.stop()
        postgres.stop()


@app.command("erasure")
def bench_erasure(
    runs: Annotated[int, typer.Option(help="Subjects erased (after two warm-up runs).")] = 30,
    subjects: Annotated[int, typer.Option(help="Demo people besides the showcase subjects.")] = 1000,
    output: Annotated[Path, typer.Option(help="Where the figures go as JSON.")] = Path(
        "bench-results/erasure.json"
    ),
) -> None:
    """Erase a subject with records in every system: plan, execution, re-scan, certificate (JSON+HTML)."""
    import json

    from services.bench.erasure import main as run_bench

    stop_on_signals()
    figures = json.dumps(run_bench(runs=runs, subjects=subjects, print_line=console.print), indent=2)
    console.print(figures)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(figures + "\n")
    console.print(f"Figures written to {output}")


@app.command("locator")
def bench_locator(
    subjects: Annotated[list[int], typer.Option(help="People loaded; repeat to compare sizes.")] = [10_000],  # noqa: B006
    requests: Annotated[int, typer.Option(help="Subjects located per size.")] = 2000,
    output: Annotated[Path, typer.Option(help="Where the figures go as JSON.")] = Path(
        "bench-results/locator.json"
    ),
) -> None:
    """Locate random subjects across every demo system, one at a time; p50/p99, queries, round trips."""
    import json
    import tempfile

    from services.bench.locate import bench_locate
    from services.demo.loader import create_demo_systems
    from services.launcher.embedded_postgres import EmbeddedPostgres

    stop_on_signals()  # so that `finally` stops the embedded servers when the bench is killed
    root = Path(tempfile.mkdtemp(prefix="dsr-bench-"))
    postgres = EmbeddedPostgres(root / "postgres")
    newsletter, sources = start_demo_newsletter(root, process=True)
    results = {}
    try:
        server_url = postgres.start()
        for size in subjects:
            prefix = f"b{size}_"
            with console.status(f"Loading {size:,} people into the demo systems..."):
                asyncio.run(
                    create_demo_systems(server_url, subjects=size, seed=42, prefix=prefix, sources=sources)
                )
            with console.status(f"Locating {requests:,} subjects among {size:,}..."):
                figures = asyncio.run(
                    bench_locate(server_url, prefix=prefix, requests=requests, sources=sources)
                )
            results[size] = figures.as_dict()
            console.print(
                f"{size:>10,} people: p50 {figures.p50_ms:.2f} ms  p99 {figures.p99_ms:.2f} ms  "
                f"queries/request {figures.queries_per_request:.1f}  round trips/request "
                f"{figures.round_trips_per_request:.1f}  (PostgreSQL systems alone: p50 "
                f"{figures.postgresql_p50_ms:.2f} ms  p99 {figures.postgresql_p99_ms:.2f} ms)"
            )
        if len(subjects) > 1:
            first, last = results[subjects[0]]["p50_ms"], results[subjects[-1]]["p50_ms"]
            console.print(f"p50 growth {subjects[0]:,} → {subjects[-1]:,}: {100 * (last / first - 1):+.0f}%")
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(results, indent=2) + "\n")
        console.print(f"Figures written to {output}")
    except Stop:
        console.print("Stopped before the end; no figures written.")
        raise typer.Exit(1) from None
    finally:
        newsletter.stop()
        postgres.stop()


@app.command("extract")
def bench_extract(
    records: Annotated[int, typer.Option(help="Records the subject holds across all systems.")] = 200,
    iterations: Annotated[int, typer.Option(help="Extracts built for the JSON + HTML figure.")] = 50,
    output: Annotated[Path, typer.Option(help="Where the figures go as JSON.")] = Path(
        "bench-results/extract.json"
    ),
) -> None:
    """Build, encrypt and store one subject's extract: p50/p95 of JSON + HTML, and of PDF."""
    import json
    import tempfile

    from services.bench.extract import bench_extract as run
    from services.demo.loader import create_demo_systems
    from services.launcher.embedded_postgres import EmbeddedPostgres

    stop_on_signals()  # so that `finally` stops the embedded server when the bench is killed
    postgres = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="dsr-bench-")) / "postgres")
    try:
        server_url = postgres.start()
        with console.status("Loading the demo systems..."):
            asyncio.run(create_demo_systems(server_url, subjects=1000, seed=42, prefix="bx_"))
        with console.status(f"Building {iterations} extracts of {records} records..."):
            figures = asyncio.run(run(server_url, prefix="bx_", records=records, iterations=iterations))
        for label, timing in (("read", figures.read), ("JSON+HTML", figures.json_html), ("PDF", figures.pdf)):
            console.print(
                f"{label:>10} ({figures.records} records): p50 {timing.p50_ms:.1f} ms  "
                f"p95 {timing.p95_ms:.1f} ms  (CPU p50 {timing.cpu_p50_ms:.1f} ms)"
            )
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(figures.as_dict(), indent=2) + "\n")
        console.print(f"Figures written to {output}")
    except Stop:
        console.print("Stopped before the end; no figures written.")
        raise typer.Exit(1) from None
    finally:
        postgres.stop()


@app.command("engines")
def bench_engines(
    customers: Annotated[int, typer.Option(min=0, help="Filler customers, with a case each.")] = 100_000,
    requests: Annotated[int, typer.Option(min=2, help="Measured searches, and locates, per engine.")] = 1000,
    engine: Annotated[
        list[str],
        typer.Option(help="postgresql, sqlite, mariadb or http; repeat (default: all)."),
    ] = [],  # noqa: B006
    output: Annotated[Path, typer.Option(help="Where the figures go as JSON.")] = Path(
        "bench-results/engines.json"
    ),
) -> None:
    """One subject's search and locate on each engine through its adapter: p50/p99, statements, rounds."""
    from services.bench.engines import ENGINES, EnginesPlan, run_engines_bench

    unknown = sorted(set(engine) - set(ENGINES))
    if unknown:
        raise typer.BadParameter(f"{', '.join(unknown)}: one of {', '.join(ENGINES)}", param_hint="--engine")
    stop_on_signals()  # so that `finally` stops the servers the bench started when it is killed
    plan = EnginesPlan(customers=customers, requests=requests, engines=tuple(engine) or ENGINES)
    try:
        run_engines_bench(plan, console=console, output=output)
    except Stop:
        console.print("Stopped before the end; no figures written.")
        raise typer.Exit(1) from None
