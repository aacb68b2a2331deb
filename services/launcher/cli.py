"""The `dsr` command: run the whole pipeline, or one service, or maintenance tasks."""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from services.demo.newsletter_accounts import NewsletterServer, start_demo_newsletter
from services.demo.placement import DemoSources
from services.launcher.credentials import api_keys as local_api_keys
from services.launcher.credentials import artifact_keys, console_env
from services.launcher.ledger import LEDGER_DATABASE, prepare_ledger
from services.launcher.stopping import Stop, ignore_signals, stop_on_signals
from services.runtime.settings import Settings

if TYPE_CHECKING:
    from services.launcher.supervisor import Supervisor
    from services.notifier.sink import MailSink

app = typer.Typer(help="GDPR data subject request pipeline.", no_args_is_help=True, add_completion=False)
console = Console(highlight=False)


def _service_spec(name: str):  # type: ignore[no-untyped-def]
    if name == "intake":
        from services.api.app import SPEC
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

    stop_on_signals(signal.SIGINT, signal.SIGTERM)
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
            api_keys = settings.api_keys or local_api_keys(data_dir)
            asyncio.run(prepare_ledger(server_url, database_url, settings))
        sources = DemoSources(data_dir / "sources")
        if demo:
            newsletter, sources = start_demo_newsletter(data_dir, keep=True)
            _load_demo_data(server_url or database_url, settings.demo_subjects, sources)
        env = {
            **sources.env(""),
            "DSR_DATABASE_URL": database_url,
            "DSR_KAFKA_BOOTSTRAP": bootstrap,
            "DSR_API_KEYS": api_keys,
            "DSR_ARTIFACT_KEYS": settings.artifact_keys or artifact_keys(data_dir),
            "DSR_DATA_DIR": str(data_dir),
            "DSR_DEMO": "true" if demo else "false",
            "DSR_ACCEPT_SYNTHETIC_IDS": "true" if demo or settings.accept_synthetic_ids else "false",
        }
        if demo:
            mail_sink, mail_env = _demo_mail_sink(data_dir, settings.api_port)
            env.update(mail_env)
        accounts_env, console_logins = console_env(demo, data_dir)
        env.update(accounts_env)
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
    except Stop:
        console.print("Stopping...")
    except (RuntimeError, TimeoutError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    finally:
        ignore_signals()
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
    from services.bench.cli import app as bench_app
    from services.catalogue.cli import app as catalogue_app
    from services.console.cli import app as console_app
    from services.demo.cli import app as demo_app
    from services.erasure.cli import app as erasure_app

    app.add_typer(catalogue_app, name="catalogue", help="The data catalogue: check it.")
    app.add_typer(demo_app, name="demo", help="The demo source systems and showcase subjects.")
    app.add_typer(audit_app, name="audit", help="The audit trail: verify its hash chains, anchor days.")
    app.add_typer(erasure_app, name="erasure", help="Erasure: replay the erasure ledger after a restore.")
    app.add_typer(console_app, name="console", help="The agent console: hash a password for an account.")
    app.add_typer(bench_app, name="bench")


_mount_subcommands()


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
