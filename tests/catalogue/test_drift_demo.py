"""The drift check over a demo load, as a user meets it: `dsr catalogue drift` against the demo's
systems (exit 0 as loaded; `dsr demo drift`'s column of emails makes it exit 1, naming the column and
the suggestion and no value; `--undo` puts it right), and the audit trail: a locate or an erasure
plan that runs while a system has open personal drift says so (the result may be incomplete),
naming the systems; without drift, or once it is resolved, nothing is added."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from typer.testing import CliRunner

from services.catalogue.cli import app
from services.catalogue.drift import store
from services.catalogue.drift.audit import ACTION, note_drift
from services.catalogue.drift.findings import CheckOutcome, DriftKind, Finding, SystemCheck
from services.catalogue.loader import DEFAULT_CATALOGUE, load_catalogue
from services.catalogue.model import Catalogue
from services.demo.drift import make_drift
from services.demo.loader import DemoSystems, create_demo_systems, drop_demo_systems
from services.erasure.scopes import Scope
from services.launcher.embedded_postgres import EmbeddedPostgres
from services.locator.service import LocatorFlow
from services.locator.settings import LocatorSettings
from tests.erasure.conftest import Harness, close, harness_for
from tests.support.ledger import insert_verified_request, verified_event

DRIFT = Finding("crm", DriftKind.undescribed_column, "contacts", "backup_email", True, {"type": "text"})
OTHER = Finding("aml", DriftKind.missing_column, "aml_checks", "note", False, {})


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(DEFAULT_CATALOGUE)


@pytest.fixture(scope="module")
async def demo(postgres: EmbeddedPostgres) -> AsyncIterator[DemoSystems]:
    prefix = f"dra{uuid.uuid4().hex[:6]}_"
    systems = await create_demo_systems(postgres.url(), subjects=0, seed=9, prefix=prefix)
    yield systems
    await drop_demo_systems(postgres.url(), prefix=prefix)


@pytest.fixture
async def harness(catalogue: Catalogue, demo: DemoSystems, pool: asyncpg.Pool) -> AsyncIterator[Harness]:
    h = await harness_for(catalogue, demo, pool)
    yield h
    await close(h)


async def _drift(pool: asyncpg.Pool, *findings: Finding) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await store.record(
            conn,
            [
                SystemCheck("crm", CheckOutcome.checked, [f for f in findings if f.system == "crm"]),
                SystemCheck("aml", CheckOutcome.checked, [f for f in findings if f.system == "aml"]),
            ],
            catalogued=["crm", "aml"],
        )


async def _noted(pool: asyncpg.Pool, request_id: uuid.UUID) -> list[dict[str, object]]:
    rows = await pool.fetch(
        "select actor, detail from audit_events where request_id = $1 and action = $2 order by id",
        request_id,
        ACTION,
    )
    return [{"actor": row["actor"], **row["detail"]} for row in rows]


async def test_a_locate_while_the_crm_has_drifted_records_it_and_one_after_the_fix_does_not(
    harness: Harness, pool: asyncpg.Pool, demo: DemoSystems
) -> None:
    flow = LocatorFlow(
        harness.erasure.locator, LocatorSettings.model_validate({"demo_database_prefix": demo.prefix})
    )
    await _drift(pool, DRIFT, OTHER)
    async with pool.acquire() as conn, conn.transaction():
        drifted = await insert_verified_request(conn)
        await flow.on_verified(conn, verified_event(drifted))
    [noted] = await _noted(pool, drifted)
    assert noted["actor"] == "locator" and noted["stage"] == "locate"
    assert noted["systems"] == ["crm"] and noted["findings"] == {"crm": 1}  # aml's drift is not personal
    assert "incomplete" in str(noted["note"])

    await _drift(pool)  # the catalogue describes the column now: resolved
    async with pool.acquire() as conn, conn.transaction():
        clean = await insert_verified_request(conn)
        await flow.on_verified(conn, verified_event(clean))
    assert await _noted(pool, clean) == []
    assert await pool.fetchval("select count(*) from audit_events where request_id = $1", clean) > 0


async def test_an_erasure_plan_made_while_a_system_has_drifted_records_it(
    harness: Harness, pool: asyncpg.Pool
) -> None:
    request_id = await harness.located("client_contact_aml")
    await _drift(pool, DRIFT)
    async with pool.acquire() as conn, conn.transaction():
        await harness.erasure.plan(conn, request_id, Scope.erasure)
    [noted] = await _noted(pool, request_id)
    assert noted["stage"] == "erasure_plan:erasure" and noted["systems"] == ["crm"]


async def test_note_drift_writes_nothing_without_open_personal_drift(pool: asyncpg.Pool) -> None:
    await _drift(pool, OTHER)
    async with pool.acquire() as conn, conn.transaction():
        request_id = await insert_verified_request(conn)
        assert await note_drift(conn, request_id, "locator", "locate") == []
        await _drift(pool, DRIFT)
        assert await note_drift(conn, request_id, "locator", "locate", systems=["aml"]) == []
        assert await note_drift(conn, request_id, "locator", "locate", systems=["crm", "aml"]) == ["crm"]
    assert len(await _noted(pool, request_id)) == 1


def _drift_command(demo: DemoSystems, *args: str) -> tuple[int, str]:
    env = {**demo.env, "DSR_DATABASE_URL": demo.server_url}
    result = CliRunner().invoke(app, ["drift", str(DEFAULT_CATALOGUE), *args], env=env)
    return result.exit_code, result.output


def test_dsr_catalogue_drift_on_the_demo_then_after_dsr_demo_drift_then_after_undo(demo: DemoSystems) -> None:
    code, output = _drift_command(demo)
    assert code == 0, output
    assert "crm: matches the catalogue" in output and "marketing: not checkable (http_system" in output
    assert "9 system(s) checked, 0 unreachable: 0 finding(s)" in output

    drifted = asyncio.run(make_drift(demo.server_url, prefix=demo.prefix))
    assert drifted.rows > 0 and not drifted.scheduled  # no ledger named: nothing to schedule
    try:
        code, output = _drift_command(demo)
        assert code == 1, output
        assert "crm: 1 finding(s), 1 personal; 1 undescribed column(s)" in output
        assert (
            "PERSONAL undescribed_column crm.contacts.backup_email: column not in the catalogue (text); suggested: email ("
            in output
        )
        assert "@" not in output  # counts, never a sampled value
        code, raw = _drift_command(demo, "--json", "--system", "crm")
        assert code == 1
        report = json.loads(raw)
        [crm] = report["systems"]
        assert (
            crm["undescribed_personal"] == 1
            and crm["findings"][0]["detail"]["suggestion"]["identifier"] == "email"
        )
    finally:
        asyncio.run(make_drift(demo.server_url, prefix=demo.prefix, undo=True))
    assert _drift_command(demo, "--system", "crm")[0] == 0


def test_dsr_catalogue_drift_names_an_unknown_system_and_an_unreachable_one(demo: DemoSystems) -> None:
    code, output = _drift_command(demo, "--system", "nope")
    assert code == 2 and "no system nope in the catalogue" in output
    env = {**demo.env, "DSR_DATABASE_URL": demo.server_url, "DSR_DEMO_DATABASE_PREFIX": "absent_"}
    result = CliRunner().invoke(app, ["drift", str(DEFAULT_CATALOGUE), "--system", "crm"], env=env)
    assert result.exit_code == 3, result.output
    assert (
        "crm: UNREACHABLE (cannot read the database: no such database on the server): drift unknown"
        in result.output
    )
