"""One running stack for the console tests: a ledger, the demo systems (50 people and the showcase),
and intake (with the console), the locator and fulfilment as real processes, started once per module."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from argon2 import PasswordHasher

from services.demo.loader import create_demo_systems, drop_demo_systems
from services.demo.placement import DemoSources
from services.launcher.embedded_broker import EmbeddedBroker
from services.launcher.embedded_postgres import EmbeddedPostgres
from services.runtime.kafka import ensure_topics
from services.runtime.settings import Settings
from tests.support.processes import ServiceProcess

# Cheap Argon2 parameters for test accounts: verification uses the parameters in the hash.
_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@dataclass(frozen=True)
class Stack:
    url: str
    database_url: str
    passwords: dict[str, str]  # account name -> password
    processes: list[ServiceProcess]


ACCOUNTS = {"agent-kari": "agent", "agent-ola": "agent", "dpo-nina": "dpo", "ops-per": "ops"}


@pytest.fixture(scope="module")
async def stack(
    postgres: EmbeddedPostgres,
    broker: EmbeddedBroker,
    ledger_template: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Stack]:
    name = f"console_{uuid.uuid4().hex[:10]}"
    prefix = f"con{uuid.uuid4().hex[:6]}_"
    admin = await asyncpg.connect(postgres.url())
    try:
        await admin.execute(f"create database {name} template {ledger_template}")
    finally:
        await admin.close()
    await create_demo_systems(postgres.url(), subjects=50, seed=11, prefix=prefix)
    passwords = {account: secrets.token_urlsafe(12) for account in ACCOUNTS}
    spec = ",".join(f"{a}:{role}:{_HASHER.hash(passwords[a])}" for a, role in ACCOUNTS.items())
    root = tmp_path_factory.mktemp("console")
    settings = Settings(
        database_url=postgres.url(name),
        kafka_bootstrap=broker.bootstrap,
        topic_prefix=f"c{uuid.uuid4().hex[:8]}.",
        data_dir=root / "data",
        api_keys="test-agent:agent:agent-secret-0123456789",
        artifact_keys="k1:" + "A" * 43,
        outbox_poll_seconds=0.5,
        consumer_commit_interval=0.5,
    )
    await ensure_topics(settings)
    env = {
        "DSR_CONSOLE_ACCOUNTS": spec,
        "DSR_CONSOLE_COOKIE_SECURE": "false",
        "DSR_CONSOLE_SIGNIN_MAX_FAILURES_ACCOUNT": "3",
        "DSR_ACCEPT_SYNTHETIC_IDS": "true",
        **DemoSources.from_env().env(prefix),
        "DSR_LOCATOR_RETRY_POLL_SECONDS": "0.2",
        "DSR_LOG_LEVEL": "INFO",
    }
    processes = [
        ServiceProcess(service, settings, Path(root / "logs"), env).start()
        for service in ("intake", "locator", "fulfilment")
    ]
    try:
        for process in processes:
            await asyncio.to_thread(process.wait_ready, 60.0)
        yield Stack(processes[0].url, postgres.url(name), passwords, processes)
    except BaseException:
        for process in processes:
            print(f"--- {process.service} log (tail) ---\n{process.logs()[-4000:]}")
        raise
    finally:
        for process in processes:  # graceful shutdown is not what these tests are about: stop at once
            if process.process is not None and process.process.poll() is None:
                process.process.kill()
                await asyncio.to_thread(process.process.wait, 10)
        await drop_demo_systems(postgres.url(), prefix=prefix)
        admin = await asyncpg.connect(postgres.url())
        try:
            await admin.execute(f"drop database if exists {name} with (force)")
        finally:
            await admin.close()
