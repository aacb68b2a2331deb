"""The drift check on real servers: PostgreSQL (the session's), SQLite files and MariaDB (Debian's
`mariadbd`, one per module). A table as catalogued has no drift; then columns are added (one with
emails, one with flags), dropped and retyped and a table added: each is reported exactly once, a
second check opens nothing new, and once the schema is put back every finding resolves. The
ledger is the real one (a migrated database per test); no sampled value is logged or stored.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import yaml
from sqlalchemy.ext.asyncio import create_async_engine

from services.catalogue.drift import store
from services.catalogue.drift.check import check_systems
from services.catalogue.drift.findings import CheckOutcome, DriftKind
from services.catalogue.drift.settings import DriftSettings
from services.catalogue.loader import DEFAULT_CATALOGUE
from services.catalogue.model import Catalogue
from services.launcher.embedded_postgres import EmbeddedPostgres
from tests.support.mariadb import MariaDBServer, require_mariadb

EMAILS = [f"kunde{i}.hemmelig@example.no" for i in range(12)]
SECRET = "hemmelig@example.no"  # in every sampled value: must never be logged or stored


def catalogue_for(connection: dict[str, Any]) -> Catalogue:
    """The real taxonomy and parties, and one system as the YAML would describe it."""
    return Catalogue.model_validate(
        {
            "taxonomy": yaml.safe_load((DEFAULT_CATALOGUE / "taxonomy.yaml").read_text()),
            "parties": yaml.safe_load((DEFAULT_CATALOGUE / "parties.yaml").read_text()),
            "systems": {
                "crm": {
                    "title": {"nb": "Kunderegister", "en": "CRM"},
                    "description": {"nb": "Kontakter hos virksomheter.", "en": "Contacts at organisations."},
                    "connection": connection,
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
                                "agent": {"type": "text", "categories": ["system.processing"]},
                                "restricted": {"type": "boolean", "categories": ["system.processing"]},
                            },
                        },
                        "organisations": {
                            "description": {"nb": "Virksomheter.", "en": "Organisations (no personal data)."},
                            "primary_key": ["id"],
                            "columns": {
                                "id": {"type": "bigint", "categories": ["system.key"]},
                                "name": {"type": "text", "categories": ["organisation.name"]},
                            },
                        },
                    },
                }
            },
        }
    )


@dataclass
class Engine:
    """One server holding the CRM: its SQLAlchemy URL, how the catalogue reaches it, and its DDL."""

    name: str
    url: str
    connection: dict[str, Any]
    server_url: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    files_dir: Path | None = None
    retype: Callable[[str, str], list[str]] = lambda column, kind: []

    async def run(self, *statements: str) -> None:
        engine = create_async_engine(self.url)
        try:
            async with engine.begin() as conn:
                for statement in statements:
                    await conn.exec_driver_sql(statement)
        finally:
            await engine.dispose()

    async def create(self) -> None:
        values = ", ".join(f"({i}, '{EMAILS[i]}', 'agent-{i % 3}', false)" for i in range(len(EMAILS)))
        await self.run(
            "drop table if exists audit_log",
            "drop table if exists contacts",
            "drop table if exists organisations",
            "create table contacts (id bigint primary key, email text, agent text, restricted boolean)",
            f"insert into contacts values {values}",
            "create table organisations (id bigint primary key, name text)",
            "insert into organisations values (1, 'Firma AS'), (2, 'Selskap ASA')",
        )

    def settings(self) -> DriftSettings:
        values: dict[str, Any] = {"catalogue_drift_timeout": 10.0, "catalogue_drift_sample": 20}
        if self.files_dir is not None:
            values["source_files_dir"] = self.files_dir
        return DriftSettings.model_validate(values)

    async def check(self) -> list[Any]:
        return await check_systems(
            catalogue_for(self.connection), server_url=self.server_url, settings=self.settings(), env=self.env
        )


def _postgres_retype(column: str, kind: str) -> list[str]:
    return [f"alter table contacts alter column {column} type {kind} using 0"]


def _mariadb_retype(column: str, kind: str) -> list[str]:
    return [f"update contacts set {column} = '0'", f"alter table contacts modify {column} {kind}"]


def _sqlite_retype(column: str, kind: str) -> list[str]:
    """SQLite changes no column's type: the table is rebuilt (its columns as they are now)."""
    return [
        "create table contacts_new (id bigint primary key, email text, "
        + ("agent integer" if kind == "integer" else "agent text")
        + ", backup_email text, email_sent text)",
        "insert into contacts_new (id, email, agent, backup_email, email_sent) "
        "select id, email, '0', backup_email, email_sent from contacts",
        "drop table contacts",
        "alter table contacts_new rename to contacts",
    ]


@pytest.fixture(scope="module")
def mariadb(tmp_path_factory: pytest.TempPathFactory) -> Any:
    require_mariadb()
    server = MariaDBServer(tmp_path_factory.mktemp("drift-mariadb"))
    server.start()
    yield server
    server.teardown()


async def _postgres_engine(postgres: EmbeddedPostgres) -> Engine:
    name = f"drift_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(postgres.url())
    try:
        await admin.execute(f"create database {name}")
    finally:
        await admin.close()
    return Engine(
        "postgresql",
        postgres.url(name).replace("postgresql://", "postgresql+asyncpg://"),
        {"database": name},
        server_url=postgres.url(),
        retype=_postgres_retype,
    )


@pytest.fixture(params=["postgresql", "sqlite", "mariadb"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Engine]:
    if request.param == "postgresql":
        found = await _postgres_engine(request.getfixturevalue("postgres"))
    elif request.param == "sqlite":
        file = tmp_path / "drift_crm.sqlite3"
        found = Engine(
            "sqlite",
            f"sqlite+aiosqlite:///{file}",
            {"engine": "sql", "dialect": "sqlite", "database": "drift_crm"},
            files_dir=tmp_path,
            retype=_sqlite_retype,
        )
    else:
        server: MariaDBServer = request.getfixturevalue("mariadb")
        found = Engine(
            "mariadb",
            server.url(),
            {"engine": "sql", "dialect": "mariadb", "env": "DRIFT_CRM_URL"},
            env={"DRIFT_CRM_URL": server.url()},
            retype=_mariadb_retype,
        )
    await found.create()
    yield found


async def _record(pool: asyncpg.Pool, checks: list[Any]) -> store.Recorded:
    async with pool.acquire() as conn, conn.transaction():
        return await store.record(conn, checks, catalogued=["crm"])


async def test_add_drop_and_retype_are_each_reported_once_and_resolve_when_fixed(
    engine: Engine, pool: asyncpg.Pool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    logged: list[str] = []

    async def check() -> Any:
        """One check, with everything logged meanwhile (at any level, any logger) kept."""
        caplog.clear()
        [result] = await engine.check()
        logged.append(caplog.text)
        return result

    baseline = await check()
    assert baseline.outcome is CheckOutcome.checked, baseline
    assert baseline.findings == [], [f.message() for f in baseline.findings]
    assert (await _record(pool, [baseline])).opened == []

    # add a column of emails and one of flags, drop one, add a table
    await engine.run(
        "alter table contacts add column backup_email text",
        "update contacts set backup_email = email where id in (0, 2, 4, 6, 8, 10)",
        "alter table contacts add column email_sent text",
        "update contacts set email_sent = 'yes'",
        "alter table contacts drop column restricted",
        "create table audit_log (id bigint primary key, mail text)",
        f"insert into audit_log values (1, '{EMAILS[0]}'), (2, '{EMAILS[1]}')",
    )
    await engine.run(*engine.retype("agent", "integer"))
    drifted = await check()
    expected = {
        ("undescribed_column", "contacts", "backup_email", True),
        ("undescribed_column", "contacts", "email_sent", False),
        ("missing_column", "contacts", "restricted", False),
        ("type_changed", "contacts", "agent", False),
        ("undescribed_table", "audit_log", None, True),
    }
    got = [(f.kind.value, f.table, f.column, f.personal) for f in drifted.findings]
    assert sorted(got, key=str) == sorted(expected, key=str), got
    assert drifted.undescribed_columns == 4 and drifted.undescribed_personal == 2
    backup = next(f for f in drifted.findings if f.column == "backup_email")
    assert backup.detail["suggestion"]["identifier"] == "email"

    opened = await _record(pool, [drifted])
    assert [(f.kind.value, f.table, f.column, f.personal) for f in opened.opened] == got  # each once

    # a second check: the same drift, nothing new, nothing resolved
    again = await check()
    second = await _record(pool, [again])
    assert second.opened == [] and second.resolved == []
    rows = await pool.fetch("select checks, resolved_at, detail::text from catalogue_drift_findings")
    assert len(rows) == len(expected) and all(r["checks"] == 2 and r["resolved_at"] is None for r in rows)
    async with pool.acquire() as conn:
        assert (await store.system_states(conn))["crm"].undescribed_personal == 2

    # put the schema back: every finding resolves, the system matches again
    await engine.run(*engine.retype("agent", "text"))
    await engine.run(
        "alter table contacts drop column backup_email",
        "alter table contacts drop column email_sent",
        "alter table contacts add column restricted boolean",
        "drop table audit_log",
    )
    fixed = await check()
    assert fixed.findings == [], [f.message() for f in fixed.findings]
    resolved = await _record(pool, [fixed])
    assert len(resolved.resolved) == len(expected) and resolved.opened == []
    async with pool.acquire() as conn:
        assert await store.open_findings(conn) == []

    stored = " ".join(r["detail"] for r in rows)
    assert SECRET not in stored
    assert len(logged) == 4 and all(SECRET not in text for text in logged)
    assert "example.no" not in json.dumps(got)


async def test_a_system_that_does_not_answer_is_unreachable_and_keeps_its_findings(
    postgres: EmbeddedPostgres, pool: asyncpg.Pool
) -> None:
    engine = await _postgres_engine(postgres)
    await engine.create()
    await engine.run(
        "alter table contacts add column backup_email text", "update contacts set backup_email = email"
    )
    [drifted] = await engine.check()
    await _record(pool, [drifted])
    gone = Engine("postgresql", engine.url, {"database": "drift_no_such_database"}, server_url=postgres.url())
    [down] = await gone.check()
    assert down.outcome is CheckOutcome.unreachable and not down.findings
    assert down.reason and "example" not in down.reason
    recorded = await _record(pool, [down])
    assert recorded.resolved == []  # unknown is not fixed
    async with pool.acquire() as conn:
        assert [f.kind for f in await store.open_findings(conn)] == [DriftKind.undescribed_column]
        assert (await store.system_states(conn))["crm"].outcome is CheckOutcome.unreachable
        assert (await store.system_states(conn))["crm"].undescribed_personal == 1  # as last known


async def test_http_and_manual_systems_are_not_checkable_and_unset_variables_unreachable() -> None:
    catalogue = catalogue_for({"engine": "sql", "dialect": "mariadb", "env": "DRIFT_UNSET_VARIABLE"})
    [unset] = await check_systems(catalogue, server_url=None, settings=DriftSettings(), env={})
    assert (unset.outcome, unset.reason) == (CheckOutcome.unreachable, "unresolved_connection")
    manual = catalogue.model_copy(
        update={
            "systems": {
                "crm": catalogue.systems["crm"].model_copy(
                    update={
                        "connection": catalogue.systems["crm"].connection.model_copy(
                            update={"engine": "manual", "env": None, "dialect": None}
                        )
                    }
                )
            }
        }
    )
    [closed] = await check_systems(manual, server_url=None, settings=DriftSettings(), env={})
    assert (closed.outcome, closed.reason) == (CheckOutcome.not_checkable, "manual_system")


async def test_a_slow_system_is_cut_off_at_its_budget(postgres: EmbeddedPostgres) -> None:
    engine = await _postgres_engine(postgres)
    await engine.create()
    blocker = await asyncpg.connect(postgres.url(engine.connection["database"]))
    try:
        await blocker.execute("begin; lock table contacts in access exclusive mode")
        started = asyncio.get_running_loop().time()
        [slow] = await check_systems(
            catalogue_for(engine.connection),
            server_url=postgres.url(),
            settings=DriftSettings(catalogue_drift_timeout=1.0),
            env={},
        )
        assert asyncio.get_running_loop().time() - started < 3
        assert slow.outcome is CheckOutcome.unreachable
    finally:
        await blocker.close()


async def test_hostile_names_and_a_table_the_role_may_not_read_are_reported_without_a_crash(
    postgres: EmbeddedPostgres,
) -> None:
    engine = await _postgres_engine(postgres)
    await engine.create()
    database = engine.connection["database"]
    role = f"drift_reader_{uuid.uuid4().hex[:6]}"
    await engine.run(
        'create table "Kunde ""data"" æøå" (id bigint primary key, "e-post adresse" text, "select" text)',
        f"""insert into "Kunde ""data"" æøå" values (1, '{EMAILS[0]}', 'x'), (2, '{EMAILS[1]}', 'y')""",
        f"create role {role} login",
        f"grant select on contacts to {role}",
        f'grant select on "Kunde ""data"" æøå" to {role}',
    )
    try:
        url = postgres.url(database).replace("postgres@", f"{role}@")
        reader = Engine("postgresql", engine.url, {"env": "DRIFT_READER_URL"}, env={"DRIFT_READER_URL": url})
        [check] = await reader.check()
        assert check.outcome is CheckOutcome.checked
        assert check.unsampled == ("organisations",)  # its schema is compared, its values not read
        [finding] = check.findings
        assert (finding.kind, finding.table, finding.personal) == (
            DriftKind.undescribed_table,
            'Kunde "data" æøå',
            True,
        )
        columns = {c["column"]: c["personal"] for c in finding.detail["columns"]}
        assert columns == {"id": False, "e-post adresse": True, "select": False}
        assert "e-post adresse: email" in finding.message()
    finally:
        await engine.run(f"drop owned by {role}", f"drop role {role}")
