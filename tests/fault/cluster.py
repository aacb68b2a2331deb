"""The fault suite's own stack: two embedded PostgreSQL servers, one broker, a newsletter SaaS API,
five service processes.

Not the session fixtures: the nemesis SIGSTOPs the ledger's server and wipes the broker, which would
break every other test sharing them. One source system (correspondence) lives on a second PostgreSQL
server of its own, so "its database is down" is a real server stopped, not a refused login: the
catalogue is copied with that system's connection pointing at an environment variable. The
marketing system is the demo newsletter SaaS (its own HTTP server here, stopped with the second
database server); telephony is an SQLite file.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from services.demo.loader import create_demo_systems
from services.demo.newsletter_accounts import NewsletterServer
from services.demo.placement import DemoSources
from services.launcher.embedded_broker import EmbeddedBroker
from services.launcher.embedded_postgres import EmbeddedPostgres
from services.launcher.ledger import LEDGER_DATABASE, prepare_ledger
from services.launcher.ports import free_port
from services.notifier.sink import MailSink
from services.runtime.settings import Settings
from tests.support.processes import ServiceProcess

SERVICES = ("intake", "locator", "fulfilment", "tracker", "notifier")
SYSTEM_KEY = "fault-system-secret-0123456789"
DETACHED_SYSTEM = "correspondence"  # the source system on the second server
DETACHED_ENV = "DSR_FAULT_CORRESPONDENCE_DSN"
LOCKED_SYSTEM = "crm"  # the source system whose table the nemesis locks (a connector timeout)
LOCKED_TABLE = "contacts"
HTTP_SYSTEM = "marketing"  # behind the newsletter API, down with the second server

# Short retry and poll settings, so recovery from every fault fits the test's time budget.
FAST = {
    "DSR_ACCEPT_SYNTHETIC_IDS": "true",
    "DSR_LOG_LEVEL": "INFO",
    "DSR_DB_POOL_MAX": "4",
    "DSR_LOCATOR_SYSTEM_TIMEOUT": "1.0",
    "DSR_LOCATOR_SYSTEM_ATTEMPTS": "2",
    "DSR_LOCATOR_SYSTEM_COOLDOWN_SECONDS": "1.0",
    "DSR_LOCATOR_RETRY_POLL_SECONDS": "0.5",
    "DSR_LOCATOR_RETRY_INITIAL_SECONDS": "1.0",
    "DSR_LOCATOR_RETRY_MAX_SECONDS": "4.0",
    "DSR_TRACKER_INTERVAL": "1.0",
    "DSR_STUCK_AFTER": "6.0",
    "DSR_NOTICE_POLL_SECONDS": "0.5",
    "DSR_NOTICE_RETRY_INITIAL_SECONDS": "1.0",
    "DSR_NOTICE_RETRY_MAX_SECONDS": "4.0",
    "DSR_ERASURE_POLL_SECONDS": "0.5",
    "DSR_ERASURE_PDF": "false",
    "DSR_SMTP_HOST": "127.0.0.1",
    "DSR_SMTP_TLS": "none",
    "DSR_SMTP_TIMEOUT": "3.0",
}


@dataclass
class Cluster:
    root: Path
    subjects: int
    seed: int = 7
    ledger_server: EmbeddedPostgres = field(init=False)
    source_server: EmbeddedPostgres = field(init=False)
    broker: EmbeddedBroker = field(init=False)
    newsletter: NewsletterServer = field(init=False)
    mail: MailSink | None = None
    settings: Settings | None = None
    services: dict[str, ServiceProcess] = field(default_factory=dict)
    start_exits: list[str] = field(default_factory=list)  # services that exited while starting again

    def __post_init__(self) -> None:
        self.ledger_server = EmbeddedPostgres(self.root / "pg")
        self.source_server = EmbeddedPostgres(self.root / "pg2")
        self.broker = EmbeddedBroker(self.root / "broker")
        self.newsletter = NewsletterServer(self.root / "sources" / "newsletter", secrets.token_urlsafe(24))

    @property
    def sources(self) -> DemoSources:
        return DemoSources(self.root / "sources", self.newsletter.url, self.newsletter.token)

    @property
    def log_dir(self) -> Path:
        return self.root / "logs"

    @property
    def database_url(self) -> str:
        return self.ledger_server.url(LEDGER_DATABASE)

    def intake(self) -> ServiceProcess:
        return self.services["intake"]

    async def start(self, crash_at: dict[str, str] | None = None) -> None:
        """Start both servers and the broker, load the demo systems, start every service."""
        await asyncio.gather(
            asyncio.to_thread(self.ledger_server.start), asyncio.to_thread(self.source_server.start)
        )
        bootstrap = await asyncio.to_thread(self.broker.start)
        await asyncio.to_thread(self.newsletter.start)
        # The same deterministic load on both servers: the catalogue reads correspondence from the
        # second (its files, unused, go elsewhere).
        await asyncio.gather(
            create_demo_systems(
                self.ledger_server.url(), subjects=self.subjects, seed=self.seed, sources=self.sources
            ),
            create_demo_systems(
                self.source_server.url(),
                subjects=self.subjects,
                seed=self.seed,
                sources=DemoSources(self.root / "unused-sources"),
            ),
        )
        catalogue = self._catalogue()
        self.mail = MailSink(free_port(), None).start()
        key = base64.b64encode(b"F" * 32).decode()
        self.settings = Settings(
            database_url=self.database_url,
            kafka_bootstrap=bootstrap,
            topic_prefix="",
            data_dir=self.root / "data",
            api_keys=f"fault-system:system:{SYSTEM_KEY}",
            artifact_keys=f"f1:{key}",
            outbox_poll_seconds=0.5,
            consumer_commit_interval=0.5,
        )
        await prepare_ledger(self.ledger_server.url(), self.database_url, self.settings)
        env = {
            **FAST,
            **self.sources.env(""),
            "DSR_CATALOGUE_DIR": str(catalogue),
            DETACHED_ENV: self.source_server.url(f"demo_{DETACHED_SYSTEM}"),
            "DSR_SMTP_PORT": str(self.mail.port),
        }
        crash_at = crash_at or {}
        for name in SERVICES:
            extra = {**env, **({"DSR_FAULT_CRASH_AT": crash_at[name]} if name in crash_at else {})}
            self.services[name] = ServiceProcess(name, self.settings, self.log_dir, extra).start()
        await asyncio.gather(*(asyncio.to_thread(s.wait_ready, 60.0) for s in self.services.values()))

    def _catalogue(self) -> Path:
        """A copy of the catalogue with the detached system's database named by an environment variable."""
        source = Settings().catalogue_dir
        target = self.root / "catalogue"
        shutil.copytree(source, target, dirs_exist_ok=True)
        path = target / "systems" / f"{DETACHED_SYSTEM}.yaml"
        text = path.read_text()
        original = f"  database: demo_{DETACHED_SYSTEM}\n"
        assert original in text, "the catalogue's connection line moved"
        path.write_text(text.replace(original, f"  env: {DETACHED_ENV}\n"))
        return target

    async def restart(self, name: str, *, without_crash: bool = True) -> None:
        """Start a service again on its own port and log file (after it was killed). One that exits
        during start-up (e.g. the broker went away meanwhile) is started again, as `dsr up`'s
        supervisor does; each such exit is noted in `start_exits`."""
        process = self.services[name]
        if without_crash:
            process.extra_env.pop("DSR_FAULT_CRASH_AT", None)
        for _ in range(3):
            process.start()
            try:
                await asyncio.to_thread(process.wait_ready, 60.0)
                return
            except AssertionError:
                if process.process is None or process.process.poll() is None:
                    raise  # alive but not ready in time
                self.start_exits.append(name)
                await asyncio.sleep(1.0)
        raise AssertionError(f"{name} exited during start-up three times")

    def stop(self) -> None:
        for process in self.services.values():
            process.stop()
        if self.mail is not None:
            self.mail.stop()
        self.newsletter.stop()
        self.broker.stop()
        for server in (self.ledger_server, self.source_server):
            with contextlib.suppress(Exception):
                server.stop()

    def logs(self) -> dict[str, str]:
        return {name: process.logs() for name, process in self.services.items()}
