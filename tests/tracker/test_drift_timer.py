"""The scheduled drift check: one tracker worker checks at a time whatever their number, the gauges
read the ledger in every worker, and in a real tracker process over the demo systems `dsr demo
drift`'s column of emails shows on `/metrics` and in the ledger at the next round, then resolves.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import yaml
from prometheus_client import generate_latest

from services.catalogue.drift import store
from services.catalogue.drift.check import check_systems
from services.catalogue.drift.findings import SystemCheck
from services.catalogue.drift.settings import DriftSettings
from services.catalogue.loader import DEFAULT_CATALOGUE, load_catalogue
from services.catalogue.model import Catalogue
from services.demo.drift import make_drift
from services.demo.loader import DemoSystems, create_demo_systems, drop_demo_systems
from services.launcher.embedded_postgres import EmbeddedPostgres
from services.runtime.settings import Settings
from services.tracker import metrics
from services.tracker.drift import DriftTimer
from tests.support.processes import ServiceProcess


def _catalogue(database: str, *, title: str = "CRM") -> Catalogue:
    return Catalogue.model_validate(
        {
            "taxonomy": yaml.safe_load((DEFAULT_CATALOGUE / "taxonomy.yaml").read_text()),
            "parties": yaml.safe_load((DEFAULT_CATALOGUE / "parties.yaml").read_text()),
            "systems": {
                "crm": {
                    "title": {"nb": f"Kunderegister ({title})", "en": title},
                    "description": {"nb": "Kontakter.", "en": "Contacts."},
                    "connection": {"database": database},
                    "role": {"kind": "controller"},
                    "tables": {
                        "contacts": {
                            "description": {"nb": "Kontaktpersoner.", "en": "Contact persons."},
                            "primary_key": ["id"],
                            "columns": {
                                "id": {"type": "bigint", "categories": ["system.key"]},
                                "email": {
                                    "type": "text",
                                    "categories": ["user.contact.email"],
                                    "identifier": "email",
                                },
                            },
                        }
                    },
                },
                "newsletter": {
                    "title": {"nb": "Arkiv", "en": "Archive"},
                    "description": {"nb": "Papirarkiv.", "en": "Paper archive."},
                    "connection": {"engine": "manual"},
                    "role": {"kind": "controller"},
                    "tables": {
                        "boxes": {
                            "description": {"nb": "Esker.", "en": "Boxes."},
                            "primary_key": ["id"],
                            "columns": {"id": {"type": "bigint", "categories": ["system.key"]}},
                        }
                    },
                },
            },
        }
    )


@pytest.fixture
async def source(postgres: EmbeddedPostgres) -> AsyncIterator[str]:
    name = f"drift_src_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(postgres.url())
    await admin.execute(f"create database {name}")
    await admin.close()
    conn = await asyncpg.connect(postgres.url(name))
    await conn.execute(
        """create table contacts (id bigint primary key, email text);
           insert into contacts select i, 'person' || i || '@example.no' from generate_series(1, 30) i"""
    )
    await conn.close()
    yield name
    admin = await asyncpg.connect(postgres.url())
    await admin.execute(f"drop database {name} with (force)")
    await admin.close()


class Counted:
    """The real check, counting how often it runs (each run reaches the real database)."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.runs = 0

    async def __call__(self, catalogue: Catalogue) -> Sequence[SystemCheck]:
        self.runs += 1
        return await check_systems(catalogue, server_url=self.server_url, settings=DriftSettings(), env={})


def _timer(pool: asyncpg.Pool, catalogue: Catalogue, checker: Counted, **settings: Any) -> DriftTimer:
    return DriftTimer(
        pool,
        load=lambda: catalogue,
        checker=checker,
        settings=DriftSettings.model_validate({"catalogue_drift_seconds": 600, **settings}),
    )


def _sample(name: str, **labels: str) -> float | None:
    """The value this process's registry serves for `name` with these labels (None: no such series)."""
    for line in generate_latest().decode().splitlines():
        if not line.startswith((f"{name}{{", f"{name} ")):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


async def test_two_workers_check_once_per_interval_and_agree_on_the_gauges(
    pool: asyncpg.Pool, postgres: EmbeddedPostgres, source: str
) -> None:
    catalogue = _catalogue(source)
    checker = Counted(postgres.url())
    first, second = _timer(pool, catalogue, checker), _timer(pool, catalogue, checker)
    # exported at 0 from start-up, for every catalogued system and kind
    assert _sample("dsr_catalogue_undescribed_personal_columns", system="crm") == 0
    assert _sample("dsr_catalogue_drift_findings", system="newsletter", kind="missing_table") == 0
    before = _sample("dsr_catalogue_drift_checks_total", system="crm", outcome="checked") or 0

    results = await asyncio.gather(first.round(), second.round())
    assert checker.runs == 1 and sum(r is not None for r in results) == 1
    assert list(await asyncio.gather(first.round(), second.round())) == [None, None]  # not due again
    assert checker.runs == 1
    assert _sample("dsr_catalogue_drift_checks_total", system="crm", outcome="checked") == before + 1
    assert (
        _sample("dsr_catalogue_drift_checks_total", system="newsletter", outcome="not_checkable") is not None
    )

    conn = await asyncpg.connect(postgres.url(source))
    await conn.execute(
        "alter table contacts add column backup_email text; update contacts set backup_email = email"
    )
    await conn.close()
    async with pool.acquire() as ledger:
        await store.check_soon(ledger)
    results = await asyncio.gather(first.round(), second.round())
    assert checker.runs == 2
    [recorded] = [r for r in results if r is not None]
    assert [(f.table, f.column, f.personal) for f in recorded.opened] == [("contacts", "backup_email", True)]
    await second.refresh_gauges()
    assert _sample("dsr_catalogue_undescribed_personal_columns", system="crm") == 1
    assert _sample("dsr_catalogue_undescribed_columns", system="crm") == 1
    assert _sample("dsr_catalogue_drift_findings", system="crm", kind="undescribed_column") == 1
    assert (_sample("dsr_catalogue_drift_last_check_timestamp_seconds") or 0) > time.time() - 60
    text = generate_latest().decode()
    assert "@example.no" not in text and "person1" not in text


async def test_a_changed_catalogue_is_checked_at_once_and_a_lost_lease_keeps_the_other_workers_results(
    pool: asyncpg.Pool, postgres: EmbeddedPostgres, source: str
) -> None:
    checker = Counted(postgres.url())
    assert await _timer(pool, _catalogue(source), checker).round() is not None
    assert await _timer(pool, _catalogue(source), checker).round() is None  # same catalogue: not due
    assert await _timer(pool, _catalogue(source, title="CRM (renamed)"), checker).round() is not None
    assert checker.runs == 2

    # a worker whose lease ran out (it hung) finds its results refused: the next holder's stand
    slow = _timer(pool, _catalogue(source), checker)
    async with pool.acquire() as conn:
        await store.check_soon(conn)
        assert await store.claim(conn, holder=slow.holder, digest="x", lease_seconds=60)
        await conn.execute("update catalogue_drift_schedule set lease_until = now() - interval '1 second'")
        assert await store.claim(conn, holder="tracker-other", digest="x", lease_seconds=60)
        assert not await store.finish(conn, holder=slow.holder, digest="x", interval_seconds=600)
        assert await store.finish(conn, holder="tracker-other", digest="x", interval_seconds=600)
        assert not await store.claim(conn, holder=slow.holder, digest="x", lease_seconds=60)  # not due


async def test_a_catalogue_that_does_not_load_leaves_the_tracker_running(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    broken = tmp_path / "catalogue"
    (broken / "systems").mkdir(parents=True)
    (broken / "systems" / "crm.yaml").write_text("title: [")
    timer = DriftTimer(
        pool,
        load=lambda: load_catalogue(broken),
        checker=Counted("postgresql://nowhere/"),
        settings=DriftSettings(),
    )
    assert await timer.round() is None and timer.catalogue is None


# ------------------------------------------------------------------------------ a real tracker


@pytest.fixture
async def demo(postgres: EmbeddedPostgres) -> AsyncIterator[DemoSystems]:
    prefix = f"drf{uuid.uuid4().hex[:6]}_"
    systems = await create_demo_systems(postgres.url(), subjects=0, seed=5, prefix=prefix)
    yield systems
    await drop_demo_systems(postgres.url(), prefix=prefix)


def _scrape(url: str, system: str) -> float | None:
    found = re.search(
        rf'^dsr_catalogue_undescribed_personal_columns\{{system="{system}"\}} (\S+)$',
        httpx.get(f"{url}/metrics", timeout=5).text,
        re.M,
    )
    return float(found.group(1)) if found else None


async def _until(what: str, probe: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await probe()
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
async def test_a_real_tracker_finds_dsr_demo_drift_at_its_next_round_and_sees_it_resolve(
    settings: Settings, pool: asyncpg.Pool, demo: DemoSystems, postgres: EmbeddedPostgres, tmp_path: Path
) -> None:
    load_catalogue(DEFAULT_CATALOGUE)  # the demo's catalogue must load for the tracker to check it
    env = {
        **demo.env,
        "DSR_TRACKER_INTERVAL": "0.3",
        "DSR_CATALOGUE_DRIFT_SECONDS": "3600",  # only the first check and `dsr demo drift` make it run
        "DSR_LOG_LEVEL": "INFO",
    }
    tracker = ServiceProcess("tracker", settings, tmp_path / "logs", env).start()
    try:
        tracker.wait_ready()
        assert _scrape(tracker.url, "crm") == 0  # exported before any check

        async def checked() -> Any:
            return await pool.fetchval("select count(*) from catalogue_drift_systems") == 10

        await _until("the first check after start-up", checked)
        async with pool.acquire() as conn:
            assert await store.open_findings(conn) == []  # the demo matches its catalogue
            states = await store.system_states(conn)
        assert states["marketing"].outcome.value == "not_checkable"
        assert {s.outcome.value for name, s in states.items() if name != "marketing"} == {"checked"}

        drifted = await make_drift(postgres.url(), prefix=demo.prefix, ledger_url=settings.database_url)
        assert drifted.scheduled and drifted.rows > 0
        started = time.monotonic()

        async def found() -> Any:
            async with pool.acquire() as conn:
                return await store.open_findings(conn)

        [finding] = await _until("the drift", found)
        seconds = time.monotonic() - started
        assert (finding.system, finding.table, finding.column, finding.personal) == (
            "crm",
            "contacts",
            "backup_email",
            True,
        )
        assert finding.detail["suggestion"]["identifier"] == "email"
        assert seconds < 5, f"the drift took {seconds:.1f} s to appear"
        await _until("the metric", lambda: asyncio.sleep(0, _scrape(tracker.url, "crm") == 1))

        await make_drift(postgres.url(), prefix=demo.prefix, ledger_url=settings.database_url, undo=True)

        async def resolved() -> Any:
            return await pool.fetchval(
                "select resolved_at is not null from catalogue_drift_findings where column_name = 'backup_email'"
            )

        await _until("the drift to resolve", resolved)
        await _until("the metric back at 0", lambda: asyncio.sleep(0, _scrape(tracker.url, "crm") == 0))
        emails = [row["email"] for row in await _contacts(postgres, demo)]
        metrics_text = httpx.get(f"{tracker.url}/metrics", timeout=5).text
    finally:
        tracker.stop()
    log = tracker.log_file.read_text()
    assert "catalogue drift found" in log and "backup_email" in log
    leaked = [email for email in emails if email and (email in log or email in metrics_text)]
    assert not leaked, "a sampled email reached the log or /metrics"


async def _contacts(postgres: EmbeddedPostgres, demo: DemoSystems) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(demo.url("crm"))
    try:
        return list(await conn.fetch("select email from contacts"))
    finally:
        await conn.close()


def test_every_series_starts_at_zero_for_each_system() -> None:
    from services.tracker.drift import export_series

    export_series(["drift_probe_system"])
    assert _sample("dsr_catalogue_undescribed_columns", system="drift_probe_system") == 0
    assert (
        _sample("dsr_catalogue_drift_checks_total", system="drift_probe_system", outcome="unreachable") == 0
    )
    metrics.UNDESCRIBED_COLUMNS.remove("drift_probe_system")
