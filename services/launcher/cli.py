"""The `dsr` command: run the whole pipeline, or one service, or maintenance tasks."""

from __future__ import annotations

import asyncio
import fcntl
import os
import secrets
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from services.demo.newsletter_accounts import NewsletterServer, start_demo_newsletter
from services.demo.placement import DemoSources
from services.runtime.settings import Settings

if TYPE_CHECKING:
    from services.launcher.supervisor import Supervisor
    from services.notifier.sink import MailSink

app = typer.Typer(help="GDPR data subject request pipeline.", no_args_is_help=True, add_completion=False)
console = Console(highlight=False)

LEDGER_DATABASE = "dsr"


def _service_spec(name: str):  # type: ignore[no-untyped-def]
    if name == "intake":
        from services.intake.app import SPEC
    elif name == "locator":
        from services.locator.service import SPEC
    elif name == "fulfilment":
        from services.fulfilment.service import SPEC
    elif name == "tracker":
        from services.tracker.service import SPEC
    elif name == "notifier":
        from services.notifier.service import SPEC
    else:
        raise typer.BadParameter(
            f"unknown service {name!r}; one of intake, locator, fulfilment, tracker, notifier"
        )
    return SPEC


@app.command()
def serve(service: Annotated[str, typer.Argument(help="intake, locator or fulfilment")]) -> None:
    """Run one service in this process (what `dsr up` starts, and what a container runs)."""
    from services.runtime.host import serve as run

    spec = _service_spec(service)
    settings = Settings()
    if not settings.database_url or not settings.kafka_bootstrap:
        raise typer.BadParameter("DSR_DATABASE_URL and DSR_KAFKA_BOOTSTRAP must be set (or use `dsr up`)")
    run(spec, settings)


def _artifact_keys(data_dir: Path) -> str:
    """An artifact encryption key kept in the data directory, so extracts stay readable after a restart."""
    from services.artifacts.sealing import new_key_spec

    file = data_dir / "artifact-keys"
    if file.exists():
        return file.read_text().strip()
    spec = new_key_spec()
    file.touch(mode=0o600)
    file.write_text(spec + "\n")
    return spec


def _api_keys(data_dir: Path) -> str:
    """Generated keys for one agent, one system and one ops caller, kept across restarts."""
    file = data_dir / "api-keys"
    if file.exists():
        return file.read_text().strip()
    keys = ",".join(f"local-{role}:{role}:{secrets.token_urlsafe(24)}" for role in ("system", "agent", "ops"))
    file.touch(mode=0o600)
    file.write_text(keys + "\n")
    return keys


DEMO_CONSOLE_ACCOUNTS = (("demo-agent", "agent"), ("demo-dpo", "dpo"), ("demo-ops", "ops"))


def _demo_console_logins(data_dir: Path) -> list[tuple[str, str, str]]:
    """Demo console accounts (name, role, password), kept in the data directory like the API keys."""
    file = data_dir / "console-accounts"
    if file.exists():
        return [
            (name, role, password)
            for name, role, password in (line.split(":", 2) for line in file.read_text().split())
        ]
    logins = [(name, role, secrets.token_urlsafe(12)) for name, role in DEMO_CONSOLE_ACCOUNTS]
    file.touch(mode=0o600)
    file.write_text("".join(f"{name}:{role}:{password}\n" for name, role, password in logins))
    return logins


def _console_env(demo: bool, data_dir: Path) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    """Console accounts come from configuration; only the demo makes its own (and, being local
    HTTP, cookies without `Secure`)."""
    from services.console.accounts import hash_password
    from services.console.settings import ConsoleSettings

    configured = ConsoleSettings().console_accounts
    if configured or not demo:
        return ({"DSR_CONSOLE_ACCOUNTS": configured} if configured else {}), []
    logins = _demo_console_logins(data_dir)
    spec = ",".join(f"{name}:{role}:{hash_password(password)}" for name, role, password in logins)
    env = {"DSR_CONSOLE_ACCOUNTS": spec}
    if "DSR_CONSOLE_COOKIE_SECURE" not in os.environ:
        env["DSR_CONSOLE_COOKIE_SECURE"] = "false"
    return env, logins


async def _prepare_ledger(server_url: str | None, database_url: str, settings: Settings) -> None:
    import asyncpg

    from services.runtime.kafka import ensure_topics
    from services.runtime.migrator import migrate

    if server_url is not None:  # embedded server: make the ledger database on first start
        conn = await asyncpg.connect(server_url)
        try:
            if not await conn.fetchval("select 1 from pg_database where datname = $1", LEDGER_DATABASE):
                await conn.execute(f'create database "{LEDGER_DATABASE}"')
        finally:
            await conn.close()
    conn = await asyncpg.connect(database_url)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    await ensure_topics(settings)


class _Stop(Exception):
    pass


def _raise_stop(signum: int, _frame: object) -> None:
    raise _Stop()


def _stop_on_sigterm() -> None:
    signal.signal(signal.SIGTERM, _raise_stop)


@app.command()
def up(
    demo: Annotated[
        bool, typer.Option("--demo", help="Also load the demo data and accept synthetic ids.")
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=4,
            help="Processes per service: they share the topics' partitions (4), and the API's workers its port.",
        ),
    ] = 1,
) -> None:
    """Start the whole pipeline: embedded PostgreSQL and broker unless configured, then every service."""
    from services.launcher.embedded_broker import EmbeddedBroker
    from services.launcher.embedded_postgres import EmbeddedPostgres
    from services.launcher.supervisor import Supervisor

    started = time.monotonic()
    settings = Settings()
    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    lock = (data_dir / "up.lock").open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        console.print(f"[red]Another `dsr up` is running on {data_dir}.[/red]")
        raise typer.Exit(1) from None

    signal.signal(signal.SIGINT, _raise_stop)
    signal.signal(signal.SIGTERM, _raise_stop)
    postgres = None if settings.database_url else EmbeddedPostgres(data_dir / "postgres")
    broker = None if settings.kafka_bootstrap else EmbeddedBroker(data_dir / "broker")
    supervisor: Supervisor | None = None
    mail_sink: MailSink | None = None
    newsletter: NewsletterServer | None = None
    try:
        with console.status("Starting PostgreSQL and the broker..."):
            server_url = postgres.start() if postgres else None
            database_url = postgres.url(LEDGER_DATABASE) if postgres else str(settings.database_url)
            bootstrap = broker.start() if broker else str(settings.kafka_bootstrap)
            settings = settings.model_copy(
                update={"database_url": database_url, "kafka_bootstrap": bootstrap}
            )
            api_keys = settings.api_keys or _api_keys(data_dir)
            asyncio.run(_prepare_ledger(server_url, database_url, settings))
        sources = DemoSources(data_dir / "sources")
        if demo:
            newsletter, sources = start_demo_newsletter(data_dir, keep=True)
            _load_demo_data(server_url or database_url, settings.demo_subjects, sources)
        env = {
            **sources.env(""),
            "DSR_DATABASE_URL": database_url,
            "DSR_KAFKA_BOOTSTRAP": bootstrap,
            "DSR_API_KEYS": api_keys,
            "DSR_ARTIFACT_KEYS": settings.artifact_keys or _artifact_keys(data_dir),
            "DSR_DATA_DIR": str(data_dir),
            "DSR_DEMO": "true" if demo else "false",
            "DSR_ACCEPT_SYNTHETIC_IDS": "true" if demo or settings.accept_synthetic_ids else "false",
        }
        if demo:
            mail_sink, mail_env = _demo_mail_sink(data_dir, settings.api_port)
            env.update(mail_env)
        console_env, console_logins = _console_env(demo, data_dir)
        env.update(console_env)
        supervisor = Supervisor.for_services(env, data_dir / "logs", settings.api_port, workers)
        with console.status("Starting services..."):
            supervisor.start(settings.api_host)
            supervisor.wait_ready(settings.startup_timeout)
        _print_ready(
            supervisor,
            database_url,
            bootstrap,
            api_keys,
            data_dir,
            time.monotonic() - started,
            console_logins,
        )
        if mail_sink is not None:
            print(
                f"Mail the subject receives (demo SMTP sink): {supervisor.children[0].url}/demo/mail",
                flush=True,
            )
        if newsletter is not None:
            print(
                f"Newsletter SaaS of the demo (the marketing system, over HTTP): {newsletter.url}", flush=True
            )
        while True:
            for name in supervisor.watch_once():
                console.print(f"[yellow]{name} exited; restarted[/yellow]")
            time.sleep(0.2)
    except _Stop:
        console.print("Stopping...")
    except (RuntimeError, TimeoutError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if supervisor is not None:
            supervisor.stop()
        if mail_sink is not None:
            mail_sink.stop()
        if newsletter is not None:
            newsletter.stop()
        if broker is not None:
            broker.stop()
        if postgres is not None:
            postgres.stop()
        console.print("Stopped.")


def _demo_mail_sink(data_dir: Path, api_port: int) -> tuple[MailSink, dict[str, str]]:
    """A local SMTP sink for the demo (issue 11): notices land in `data_dir/demo-mail`, shown at
    `/demo/mail`. The demo always uses it: a demo must never mail real people."""
    from services.launcher.ports import free_port
    from services.notifier.sink import MailSink

    sink = MailSink(free_port(), data_dir / "demo-mail").start()
    env = {
        "DSR_SMTP_HOST": "127.0.0.1",
        "DSR_SMTP_PORT": str(sink.port),
        "DSR_SMTP_TLS": "none",
        "DSR_DEMO_MAIL_DIR": str(data_dir / "demo-mail"),
        "DSR_PUBLIC_BASE_URL": os.environ.get("DSR_PUBLIC_BASE_URL", f"http://127.0.0.1:{api_port}"),
    }
    return sink, env


def _load_demo_data(server_url: str, subjects: int, sources: DemoSources) -> None:
    """The demo source systems: databases on the same server, telephony's SQLite file and the
    newsletter SaaS's account in the data directory; a second start reuses what is loaded."""
    from services.demo.loader import create_demo_systems

    with console.status(f"Loading the demo source systems ({subjects:,} people)..."):
        demo = asyncio.run(create_demo_systems(server_url, subjects=subjects, seed=42, sources=sources))
    verb = "Loaded" if demo.loaded else "Reused"
    console.print(f"{verb} demo data: {demo.total_rows:,} rows in {len(demo.row_counts)} systems")


def _print_ready(
    supervisor: Supervisor,
    database_url: str,
    bootstrap: str,
    api_keys: str,
    data_dir: Path,
    seconds: float,
    console_logins: list[tuple[str, str, str]] | None = None,
) -> None:
    api = supervisor.api_url
    print(f"API: {api}  (OpenAPI document: {api}/openapi.json)", flush=True)
    print(f"Kafka: {bootstrap}", flush=True)
    print(f"PostgreSQL: {database_url}", flush=True)
    for child in supervisor.children:
        print(f"Service {child.name}: {child.url}  (/healthz /readyz /metrics)", flush=True)
    print("API keys (Authorization: Bearer <secret>):", flush=True)
    for entry in api_keys.split(","):
        name, role, secret = entry.strip().split(":", 2)
        print(f"  {name} ({role}): {secret}", flush=True)
    _print_console(supervisor, console_logins or [])
    print(f"Logs: {data_dir / 'logs'}", flush=True)
    print(f"Ready in {seconds:.1f} s. Press Ctrl-C to stop.", flush=True)


def _print_console(supervisor: Supervisor, logins: list[tuple[str, str, str]]) -> None:
    api = supervisor.children[0]
    print(f"Console: {api.url}/console  (SLA page: {api.url}/sla)", flush=True)
    for name, role, password in logins:
        print(f"  sign in as {name} ({role}) with password {password}", flush=True)


def _mount_subcommands() -> None:
    from services.audit.cli import app as audit_app
    from services.catalogue.cli import app as catalogue_app
    from services.console.cli import app as console_app
    from services.demo.cli import app as demo_app
    from services.erasure.cli import app as erasure_app

    app.add_typer(catalogue_app, name="catalogue", help="The data catalogue: check it.")
    app.add_typer(demo_app, name="demo", help="The demo source systems and showcase subjects.")
    app.add_typer(audit_app, name="audit", help="The audit trail: verify its hash chains, anchor days.")
    app.add_typer(erasure_app, name="erasure", help="Erasure: replay the erasure ledger after a restore.")
    app.add_typer(console_app, name="console", help="The agent console: hash a password for an account.")


_mount_subcommands()

bench_app = typer.Typer(help="Benchmarks that print their figures.")
app.add_typer(bench_app, name="bench")


@bench_app.callback(invoke_without_command=True)
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
    from services.launcher.pipeline_bench import BenchPlan, check_mix, run_bench

    _stop_on_sigterm()  # so that `finally` stops the embedded servers when the bench is killed
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
    except _Stop:
        console.print("Stopped before the end; no figures written.")
        raise typer.Exit(1) from None


@bench_app.command("intake")
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

    from services.launcher.bench import process_ids, run_intake_bench, write_results
    from services.launcher.embedded_broker import EmbeddedBroker
    from services.launcher.embedded_postgres import EmbeddedPostgres
    from services.launcher.ports import free_port, free_ports
    from services.launcher.supervisor import Supervisor

    _stop_on_sigterm()  # so that `finally` stops the embedded servers when the bench is killed
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
            asyncio.run(_prepare_ledger(server_url, database_url, settings))
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
    except _Stop:
        console.print("Stopped before the end; no figures written.")
        raise typer.Exit(1) from None
    finally:
        if supervisor is not None:
            supervisor.stop()
        broker.stop()
        postgres.stop()


@bench_app.command("erasure")
def bench_erasure(
    runs: Annotated[int, typer.Option(help="Subjects erased (after two warm-up runs).")] = 30,
    subjects: Annotated[int, typer.Option(help="Demo people besides the showcase subjects.")] = 1000,
    output: Annotated[Path, typer.Option(help="Where the figures go as JSON.")] = Path(
        "bench-results/erasure.json"
    ),
) -> None:
    """Erase a subject with records in every system: plan, execution, re-scan, certificate (JSON+HTML)."""
    import json

    from services.erasure.bench import main as run_bench

    _stop_on_sigterm()
    figures = json.dumps(run_bench(runs=runs, subjects=subjects, print_line=console.print), indent=2)
    console.print(figures)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(figures + "\n")
    console.print(f"Figures written to {output}")


@bench_app.command("locator")
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

    from services.demo.loader import create_demo_systems
    from services.launcher.embedded_postgres import EmbeddedPostgres
    from services.locator.bench import bench_locate

    _stop_on_sigterm()  # so that `finally` stops the embedded servers when the bench is killed
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
    except _Stop:
        console.print("Stopped before the end; no figures written.")
        raise typer.Exit(1) from None
    finally:
        newsletter.stop()
        postgres.stop()


@bench_app.command("extract")
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

    from services.demo.loader import create_demo_systems
    from services.fulfilment.bench import bench_extract as run
    from services.launcher.embedded_postgres import EmbeddedPostgres

    _stop_on_sigterm()  # so that `finally` stops the embedded server when the bench is killed
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
    except _Stop:
        console.print("Stopped before the end; no figures written.")
        raise typer.Exit(1) from None
    finally:
        postgres.stop()


@bench_app.command("engines")
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
    from services.systems.bench import ENGINES, EnginesPlan, run_engines_bench

    unknown = sorted(set(engine) - set(ENGINES))
    if unknown:
        raise typer.BadParameter(f"{', '.join(unknown)}: one of {', '.join(ENGINES)}", param_hint="--engine")
    _stop_on_sigterm()  # so that `finally` stops the servers the bench started when it is killed
    plan = EnginesPlan(customers=customers, requests=requests, engines=tuple(engine) or ENGINES)
    try:
        run_engines_bench(plan, console=console, output=output)
    except _Stop:
        console.print("Stopped before the end; no figures written.")
        raise typer.Exit(1) from None


@app.command()
def migrate() -> None:
    """Apply the ledger's migrations to DSR_DATABASE_URL."""
    import asyncpg

    from services.runtime.migrator import migrate as apply

    settings = Settings()
    if not settings.database_url:
        raise typer.BadParameter("DSR_DATABASE_URL must be set")

    async def run() -> list[str]:
        conn = await asyncpg.connect(settings.database_url)
        try:
            return await apply(conn)
        finally:
            await conn.close()

    applied = asyncio.run(run())
    console.print(f"Applied {len(applied)} migration(s): {', '.join(applied) or 'none needed'}")


def main() -> None:
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    app()


if __name__ == "__main__":
    main()
