"""Session fixtures: one real PostgreSQL server and one real Kafka-protocol broker for the whole run.

Each test gets its own database (a copy of a migrated template) and its own topic prefix, so
tests never see each other's rows or messages.
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from hypothesis import settings as hypothesis_settings

from services.demo.newsletter_accounts import NewsletterServer
from services.demo.placement import DemoSources
from services.launcher.embedded_broker import EmbeddedBroker
from services.launcher.embedded_postgres import EmbeddedPostgres
from services.runtime.kafka import ensure_topics
from services.runtime.migrator import migrate
from services.runtime.settings import Settings

TEMPLATE = "dsr_template"

# Property tests check behaviour, not speed (speed is measured by `dsr bench`): on a loaded 2-core
# CI machine, with servers and browsers beside them, an example can take longer than Hypothesis's
# default 200 ms deadline without anything being wrong.
hypothesis_settings.register_profile("dsr", deadline=None)
hypothesis_settings.load_profile("dsr")


@pytest.fixture(scope="session", autouse=True)
def demo_sources(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoSources]:
    """The demo's systems outside PostgreSQL for the whole run: a folder for the SQLite systems and
    newsletter accounts, and one real newsletter API server on loopback serving every account
    (each demo load is its own account). The environment names them, as `dsr up --demo` does."""
    files_dir = tmp_path_factory.mktemp("sources")
    token = secrets.token_urlsafe(24)
    server = NewsletterServer(files_dir / "newsletter", token).start()
    sources = DemoSources(files_dir, server.url, token)
    values = {
        **sources.env(""),  # the unprefixed demo load's account, for services started without a prefix
        "DSR_DEMO_NEWSLETTER_URL": server.url,
        "DSR_DEMO_NEWSLETTER_TOKEN": token,
    }
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    yield sources
    server.stop()
    for name, value in previous.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(tmp_path_factory.mktemp("postgres"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    server = EmbeddedBroker(tmp_path_factory.mktemp("broker"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
async def ledger_template(postgres: EmbeddedPostgres) -> str:
    conn = await asyncpg.connect(postgres.url())
    try:
        await conn.execute(f"drop database if exists {TEMPLATE}")
        await conn.execute(f"create database {TEMPLATE}")
    finally:
        await conn.close()
    conn = await asyncpg.connect(postgres.url(TEMPLATE))
    try:
        await migrate(conn)
    finally:
        await conn.close()
    return TEMPLATE


@pytest.fixture
async def database_url(postgres: EmbeddedPostgres, ledger_template: str) -> AsyncIterator[str]:
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(postgres.url())
    try:
        await admin.execute(f"create database {name} template {ledger_template}")
    finally:
        await admin.close()
    yield postgres.url(name)
    admin = await asyncpg.connect(postgres.url())
    try:
        await admin.execute(f"drop database if exists {name} with (force)")
    finally:
        await admin.close()


@pytest.fixture
async def settings(database_url: str, broker: EmbeddedBroker, tmp_path: Path) -> Settings:
    settings = Settings(
        database_url=database_url,
        kafka_bootstrap=broker.bootstrap,
        topic_prefix=f"t{uuid.uuid4().hex[:8]}.",
        data_dir=tmp_path / "data",
        api_keys="test-system:system:system-secret-0123456789,test-agent:agent:agent-secret-0123456789,"
        "test-ops:ops:ops-secret-01234567890,test-dpo:dpo:dpo-secret-01234567890",
        artifact_keys="k2:" + "B" * 43 + ",k1:" + "A" * 43,
        outbox_poll_seconds=0.5,
        consumer_commit_interval=0.5,
    )
    await ensure_topics(settings)
    return settings


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    from services.runtime.db import create_pool

    pool = await create_pool(database_url, min_size=1, max_size=5)
    yield pool
    await pool.close()


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("DSR_LOG_LEVEL", "INFO")


_skipped_browser_tests: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and "browser" in report.keywords:
        _skipped_browser_tests.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under CI=true a skipped browser test is a failure: CI installs Chromium, so a skip hides a bug."""
    if os.environ.get("CI") == "true" and _skipped_browser_tests:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                f"FAILED: browser tests were skipped under CI=true: {_skipped_browser_tests}", red=True
            )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
