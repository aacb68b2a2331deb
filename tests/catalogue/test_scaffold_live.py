"""`dsr catalogue scaffold` against real servers: every demo database (PostgreSQL, the SQLite
telephony file), the MariaDB fixture and the demo newsletter API's OpenAPI document.

Precision and recall of the suggested identifier columns against the hand-written catalogue are
printed per system; every catalogued identifier must be found (recall 1.0), and no column the
catalogue holds non-personal may be suggested as one. Sampled values must never reach the output,
the logs or the draft.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from typer.testing import CliRunner

from services.catalogue.cli import app
from services.catalogue.loader import DEFAULT_CATALOGUE, CatalogueError, load_catalogue
from services.catalogue.model import Catalogue, FlatCategory, IdentifierType, System
from services.catalogue.scaffold.draft import SystemDraft, draft_database, problems, render
from services.catalogue.scaffold.introspect import read_database
from services.catalogue.scaffold.openapi import draft_openapi
from services.demo.loader import DemoSystems, create_demo_systems, drop_demo_systems
from services.demo.placement import POSTGRES_SYSTEMS, SQLITE_SYSTEMS
from services.launcher.embedded_postgres import EmbeddedPostgres
from services.systems.sample import ROWS, ddl_tables, fixture_system, insert_rows
from tests.demo.oracle import snapshot
from tests.support.mariadb import MariaDBServer, require_mariadb

SUBJECTS = 40
SEED = 19


@pytest.fixture(scope="module")
async def demo(postgres: EmbeddedPostgres) -> AsyncIterator[DemoSystems]:
    prefix = f"s{uuid.uuid4().hex[:8]}_"
    loaded = await create_demo_systems(postgres.url(), subjects=SUBJECTS, seed=SEED, prefix=prefix)
    yield loaded
    await drop_demo_systems(postgres.url(), prefix=prefix)


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(DEFAULT_CATALOGUE)


def _sqlite_url(demo: DemoSystems, system: str) -> str:
    return f"sqlite:///{demo.sources.sqlite_file(system, demo.prefix)}"


# ------------------------------------------------------------------------------------- scoring


@dataclass(frozen=True)
class Score:
    system: str
    truth: int
    suggested: int
    right: int
    false_on_non_personal: tuple[str, ...]
    missed: tuple[str, ...]

    @property
    def precision(self) -> float:
        return self.right / self.suggested if self.suggested else 1.0

    @property
    def recall(self) -> float:
        return self.right / self.truth if self.truth else 1.0

    def line(self) -> str:
        return (
            f"scaffold {self.system:<20} identifiers: {self.truth:>2} catalogued, {self.suggested:>2} suggested, "
            f"precision {self.precision:.2f}, recall {self.recall:.2f}"
        )


def score(
    name: str,
    draft: SystemDraft,
    system: System,
    categories: Mapping[str, FlatCategory],
    tables: Mapping[str, str] | None = None,
) -> Score:
    """The draft's identifier suggestions against the hand-written system; `tables` maps the
    draft's table names to the catalogue's where they differ (an API's paths)."""
    tables = tables or {}
    truth = {
        (table_name, column_name): column.identifier
        for table_name, table in system.tables.items()
        for column_name, column in table.columns.items()
        if column.identifier is not None
    }
    suggested = {(tables.get(t, t), c): kind for (t, c), kind in draft.identifiers.items()}
    right = sum(1 for key, kind in suggested.items() if truth.get(key) is kind)

    def non_personal(key: tuple[str, str]) -> bool:
        table = system.tables.get(key[0])
        column = table.columns.get(key[1]) if table else None
        return column is not None and not any(categories[c].personal for c in column.categories)

    return Score(
        name,
        len(truth),
        len(suggested),
        right,
        tuple(sorted(".".join(k) for k in suggested if non_personal(k))),
        tuple(sorted(".".join(k) for k, kind in truth.items() if suggested.get(k) is not kind)),
    )


def _report(capsys: pytest.CaptureFixture[str], scores: list[Score]) -> None:
    with capsys.disabled():
        print()
        for s in scores:
            print(s.line())


def _types_match(draft: SystemDraft, system: System) -> list[str]:
    """Columns whose drafted type, reference or primary key differs from the catalogue's."""
    wrong: list[str] = []
    drafted = {table.name: table for table in draft.tables}
    assert set(drafted) == set(system.tables)
    for name, table in system.tables.items():
        assert list(drafted[name].primary_key) == table.primary_key, name
        columns = {c.name: c for c in drafted[name].columns}
        assert list(columns) == list(table.columns), name
        for column_name, column in table.columns.items():
            if columns[column_name].type is not column.type:
                wrong.append(f"{name}.{column_name}: {columns[column_name].type} != {column.type}")
    return wrong


# ------------------------------------------------------------------------------ demo databases


async def test_scaffolding_every_demo_database_finds_every_catalogued_identifier(
    demo: DemoSystems, catalogue: Catalogue, capsys: pytest.CaptureFixture[str]
) -> None:
    categories = catalogue.taxonomy.flatten()
    urls = {system: demo.url(system) for system in POSTGRES_SYSTEMS}
    urls |= {system: _sqlite_url(demo, system) for system in SQLITE_SYSTEMS}
    readings = await asyncio.gather(*(read_database(url, sample=20) for url in urls.values()))
    scores: list[Score] = []
    for system, reading in zip(urls, readings, strict=True):
        assert problems(reading) == [], system
        draft = draft_database(system, reading, "SOURCE_URL")
        spec = catalogue.systems[system]
        assert _types_match(draft, spec) == [], system
        references = {
            f"{t.name}.{c.name}": c.references for t in draft.tables for c in t.columns if c.references
        }
        expected = {
            f"{t}.{c}": column.references
            for t, table in spec.tables.items()
            for c, column in table.columns.items()
            if column.references
        }
        if system in POSTGRES_SYSTEMS:
            assert references == expected, system  # the demo's foreign keys are the catalogue's references
        scores.append(score(system, draft, spec, categories))
    _report(capsys, scores)
    for s in scores:
        assert s.recall == 1.0, f"{s.system} missed {s.missed}"
        assert s.false_on_non_personal == (), f"{s.system}: {s.false_on_non_personal}"


async def test_scaffolding_the_mariadb_fixture_finds_every_catalogued_identifier(
    tmp_path_factory: pytest.TempPathFactory, catalogue: Catalogue, capsys: pytest.CaptureFixture[str]
) -> None:
    require_mariadb()
    server = MariaDBServer(tmp_path_factory.mktemp("scaffold-mariadb"))
    await asyncio.to_thread(server.start)
    try:
        system = fixture_system({"engine": "sql", "dialect": "mariadb", "env": "FIXTURE_URL"})
        metadata, tables = ddl_tables(system)
        engine = create_async_engine(server.url(), poolclass=NullPool)
        try:
            async with engine.begin() as conn:
                await conn.run_sync(metadata.create_all)
                await insert_rows(conn, tables, ROWS)
        finally:
            await engine.dispose()
        reading = await read_database(server.url(), sample=20)
    finally:
        await asyncio.to_thread(server.teardown)
    assert reading.schema.dialect == "mariadb"
    assert problems(reading) == []
    draft = draft_database("fixture", reading, "FIXTURE_URL")
    assert _types_match(draft, system) == []
    result = score("fixture (mariadb)", draft, system, catalogue.taxonomy.flatten())
    _report(capsys, [result])
    assert result.recall == 1.0, result.missed
    assert result.false_on_non_personal == ()
    assert draft.connection == {"engine": "sql", "dialect": "mariadb", "env": "FIXTURE_URL"}


async def test_scaffolding_the_newsletter_api_from_its_openapi_document(
    demo: DemoSystems, catalogue: Catalogue, capsys: pytest.CaptureFixture[str]
) -> None:
    document_url = f"{demo.env['NEWSLETTER_API_URL']}/v1/openapi.json"
    token = demo.sources.newsletter_token
    assert token is not None
    async with httpx.AsyncClient() as client:
        answer = await client.get(document_url, headers={"Authorization": f"Bearer {token}"})
        refused = await client.get(document_url)
    assert answer.status_code == 200 and refused.status_code == 401
    draft = draft_openapi("marketing", answer.json(), base_url_env="NEWSLETTER_API_URL")
    spec = catalogue.systems["marketing"]
    assert spec.api is not None and draft.api is not None
    # The draft names tables after the API's paths; the catalogue after what they hold.
    by_path = {resource.read.path: name for name, resource in spec.api.resources.items() if resource.read}
    names = {name: by_path[resource["read"]["path"]] for name, resource in draft.api["resources"].items()}
    assert sorted(names.values()) == sorted(spec.tables)
    result = score("marketing (openapi)", draft, spec, catalogue.taxonomy.flatten(), names)
    _report(capsys, [result])
    assert result.recall == 1.0, result.missed
    assert result.false_on_non_personal == ()
    # Every search the hand-written file has, the draft has: by the same column, path and paging.
    for name, resource in draft.api["resources"].items():
        hand = spec.api.resources[names[name]]
        assert {(s["by"], s["path"], s["pagination"]["kind"]) for s in resource["search"]} == {
            (s.by, s.path, s.pagination.kind if s.pagination else None) for s in hand.search
        }
    # The command fetches the document itself, with the token from the variable it is named.
    cli = await asyncio.to_thread(
        _cli,
        "marketing",
        "--openapi",
        document_url,
        "--token-env",
        "NL_TOKEN",
        "--base-url-env",
        "NEWSLETTER_API_URL",
        "--out",
        "-",
        env={"NL_TOKEN": token},
    )
    assert cli.exit_code == 0, cli.output
    written = yaml.safe_load(cli.stdout)
    assert written["connection"] == {"engine": "http", "env": "NEWSLETTER_API_URL"}
    assert written["api"]["auth"] == {"kind": "bearer", "token_env": "NL_TOKEN"}
    assert token not in cli.output


# ------------------------------------------------------------------------ the draft and `check`


def _cli(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(app, ["scaffold", *args], env=env)


def test_the_draft_is_refused_until_reviewed_and_then_loads(demo: DemoSystems, tmp_path: Path) -> None:
    root = tmp_path / "catalogue"
    shutil.copytree(DEFAULT_CATALOGUE, root)
    (root / "systems" / "telephony.yaml").unlink()
    url = _sqlite_url(demo, "telephony")
    result = _cli("telephony", "--url-env", "CALLS_URL", "--out", str(root), env={"CALLS_URL": url})
    assert result.exit_code == 0, result.output
    assert "1 table, 9 columns read from sqlite" in result.output
    draft = root / "systems" / "telephony.yaml"
    # A hand-written file is never replaced without --force.
    again = _cli("telephony", "--url-env", "CALLS_URL", "--out", str(root), env={"CALLS_URL": url})
    assert again.exit_code == 1 and "exists" in again.output

    checked = CliRunner().invoke(app, ["check", str(root)])
    assert checked.exit_code == 1
    prefix = f"{draft}:"
    refused = [line for line in checked.output.splitlines() if line.startswith(prefix)]
    assert f"{prefix}review: not reviewed yet" in "\n".join(refused)
    for column in ("id", "started_at", "phone", "direction", "duration_seconds", "agent", "case_number"):
        assert any(
            line.startswith(f"{prefix}tables.call_logs.columns.{column}.review: not reviewed")
            for line in refused
        )
    for empty in ("title", "description", "tables.call_logs.description", "tables.call_logs.purpose"):
        for code, language in (("nb", "bokmål"), ("en", "English")):  # each language named
            expected = f"{prefix}{empty}.{code}: is empty: write the {language} text"
            assert expected in refused, expected
    for missing in ("retention", "erasure", "legal_basis"):
        assert any(line.startswith(f"{prefix}tables.call_logs.{missing}:") for line in refused), missing
    # The services load the catalogue the same way: a draft is never used by accident.
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(root)
    assert any("review: not reviewed yet" in p for p in caught.value.problems)

    # A person reviews it: fills in what is empty, confirms each suggestion, deletes `review`.
    document = yaml.safe_load(draft.read_text(encoding="utf-8"))
    _review(document)
    draft.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")
    reviewed = load_catalogue(root)
    columns = reviewed.systems["telephony"].tables["call_logs"].columns
    assert columns["phone"].identifier is IdentifierType.phone
    assert columns["case_number"].identifier is IdentifierType.case_number
    assert columns["summary"].free_text
    assert reviewed.systems["telephony"].tables["call_logs"].restriction is not None


def _review(document: dict[str, Any]) -> None:
    """What a reviewer does to the telephony draft (the hand-written file's answers)."""
    document.pop("review")
    document["title"] = {"nb": "Samtalelogg for telefon", "en": "Phone call logs"}
    document["description"] = {
        "nb": "Samtaler til og fra kundeservice.",
        "en": "Calls to and from customer service.",
    }
    for table in document["tables"].values():
        table.pop("review")
        table |= {
            "description": {"nb": "Én telefonsamtale.", "en": "One phone call."},
            "purpose": {
                "nb": "Å dokumentere hva som ble avtalt på telefon.",
                "en": "Documenting what was agreed on the phone.",
            },
            "legal_basis": ["6(1)(f)"],
            "retention": {
                "kind": "purpose",
                "description": {
                    "nb": "Lagres til henvendelsen er fulgt opp.",
                    "en": "Kept until followed up.",
                },
            },
            "erasure": {"strategy": "delete_row"},
        }
        for name, column in table["columns"].items():
            column.pop("review")
            if not column["categories"]:
                column["categories"] = [
                    "system.processing" if name != "direction" else "user.communication.call"
                ]


def test_sampled_values_never_reach_the_output_the_logs_or_the_draft(
    demo: DemoSystems, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rows = asyncio.run(snapshot(demo))
    secret: set[str] = set()
    for system in ("debt_collection", "correspondence", "telephony"):
        for table_rows in rows[system].values():
            for row in table_rows:
                for value in row.values():
                    # People's values: with a digit, an @, a space or a capital (not `open`, `post`).
                    if (
                        isinstance(value, str)
                        and len(value) >= 5
                        and any(c.isdigit() or c in "@ " or c.isupper() for c in value)
                    ):
                        secret.add(value)
    assert len(secret) > 150
    caplog.set_level(logging.DEBUG)
    said: list[str] = []
    for system, url in (
        ("debt_collection", demo.url("debt_collection")),
        ("correspondence", demo.url("correspondence")),
        ("telephony", _sqlite_url(demo, "telephony")),
    ):
        to_file = _cli(
            system,
            "--url-env",
            "SOURCE_URL",
            "--out",
            str(tmp_path),
            "--sample",
            "50",
            env={"SOURCE_URL": url},
        )
        to_stdout = _cli(
            system, "--url-env", "SOURCE_URL", "--out", "-", "--sample", "50", env={"SOURCE_URL": url}
        )
        assert to_file.exit_code == 0 and to_stdout.exit_code == 0, to_file.output + to_stdout.output
        said += [to_file.output, to_stdout.output, (tmp_path / "systems" / f"{system}.yaml").read_text()]
    said.append(caplog.text)
    everything = "\n".join(said)
    assert "sampled values are valid national ids" in everything  # the counts are there ...
    leaked = sorted(value for value in secret if value in everything)
    assert leaked == []  # ... and not one value


# ----------------------------------------------------------------------------- hostile schemas


@pytest.fixture
def hostile_sqlite(tmp_path: Path) -> Iterator[Path]:
    file = tmp_path / "hostile.db"
    engine = sa.create_engine(f"sqlite:///{file}")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            'create table "weird ""quoted"" table" (id integer primary key, "naïve col" text)'
        )
        conn.exec_driver_sql('create table "Kunder" (id integer primary key, "E-post" text)')
        conn.exec_driver_sql(
            'create table "order" (id integer primary key, "select" text, "on" text, "null" boolean, '
            '"from" text, "group" integer references "order"(id))'
        )
        conn.exec_driver_sql('insert into "weird ""quoted"" table" values (1, \'x\'\'); drop table t; --\')')
        conn.exec_driver_sql("insert into \"Kunder\" values (1, 'kari@eksempel.no')")
        for n in range(1, 6):
            conn.exec_driver_sql(
                f"insert into \"order\" values ({n}, 'x', 'y', 0, 'person{n}@eksempel.no', null)"
            )
    engine.dispose()
    yield file


def test_names_the_catalogue_cannot_hold_are_each_named_and_nothing_is_written(
    hostile_sqlite: Path, tmp_path: Path
) -> None:
    out = tmp_path / "catalogue"
    out.mkdir()
    env = {"HOSTILE_URL": f"sqlite:///{hostile_sqlite}"}
    result = _cli("hostile", "--url-env", "HOSTILE_URL", "--out", str(out), env=env)
    assert result.exit_code == 1, result.output
    assert "table 'weird \"quoted\" table': the catalogue's names are lower case" in result.output
    assert "table 'Kunder': the catalogue's names are lower case" in result.output
    assert "2 problem(s): nothing written" in result.output
    assert not (out / "systems").exists()
    # Left out, the rest is drafted; reserved words are names like any other (quoted in YAML).
    result = _cli(
        "hostile",
        "--url-env",
        "HOSTILE_URL",
        "--out",
        str(out),
        "--exclude",
        'weird "quoted" table',
        "--exclude",
        "Kunder",
        env=env,
    )
    assert result.exit_code == 0, result.output
    document = yaml.safe_load((out / "systems" / "hostile.yaml").read_text(encoding="utf-8"))
    columns = document["tables"]["order"]["columns"]
    assert list(columns) == ["id", "select", "on", "null", "from", "group"]
    assert columns["from"]["identifier"] == "email"
    assert columns["null"]["type"] == "boolean"
    assert columns["group"]["references"] == "order.id"


def test_ten_thousand_columns_are_read_quickly(tmp_path: Path) -> None:
    file = tmp_path / "wide.db"
    engine = sa.create_engine(f"sqlite:///{file}")
    with engine.begin() as conn:
        for table in range(5):  # SQLite allows 2,000 columns a table
            columns = ", ".join(f"c{n:04d} text" for n in range(1999))
            conn.exec_driver_sql(f"create table wide_{table} (id integer primary key, {columns})")
            values = ", ".join(f"'p{n}@eksempel.no'" if n == 7 else "null" for n in range(1999))
            conn.exec_driver_sql(f"insert into wide_{table} values (1, {values})")
    engine.dispose()
    reading = asyncio.run(read_database(f"sqlite:///{file}", sample=5))
    assert sum(len(t.columns) for t in reading.schema.tables) == 10_000
    assert reading.seconds < 15, reading.seconds
    draft = draft_database("wide", reading, "WIDE_URL")
    assert {k for k, v in draft.identifiers.items()} == {(f"wide_{t}", "c0007") for t in range(5)}
    text = render(draft)
    assert sum(line.strip() == "review: suggested" for line in text.splitlines()) == 1 + 5 + 10_000


async def test_a_table_the_role_may_not_select_is_named_and_nothing_is_written(
    postgres: EmbeddedPostgres, tmp_path: Path
) -> None:
    database, role = f"scaffold_{uuid.uuid4().hex[:8]}", f"reader_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(postgres.url())
    try:
        await admin.execute(f"create database {database}")
        await admin.execute(f"create role {role} login")
    finally:
        await admin.close()
    conn = await asyncpg.connect(postgres.url(database))
    try:
        await conn.execute(
            "create table customers (id bigint primary key, email text); "
            "insert into customers values (1, 'kari@eksempel.no'); "
            "create table secrets (id bigint primary key, national_id text); "
            'create table "Bad ""Name""" (id bigint primary key, "from" text); '
            f"grant select on customers to {role}"
        )
    finally:
        await conn.close()
    url = postgres.url(database).replace("postgres@", f"{role}@", 1)
    try:
        reading = await read_database(url, sample=10)
        found = problems(reading)
        assert any(
            p.startswith(
                "table 'secrets': cannot sample its values (permission denied: the role may not read it)"
            )
            for p in found
        ), found
        assert any(p.startswith("table 'Bad \"Name\"': the catalogue's names") for p in found), found
        out = tmp_path / "catalogue"
        out.mkdir()
        result = await asyncio.to_thread(
            _cli, "shop", "--url-env", "SHOP_URL", "--out", str(out), env={"SHOP_URL": url}
        )
        assert result.exit_code == 1
        assert "'secrets'" in result.output and "grant the role SELECT on it" in result.output
        assert not (out / "systems").exists()
        # Readable, the same database drafts, its one readable table sampled (read-only throughout).
        reading = await read_database(url, sample=10, exclude=["secrets", 'Bad "Name"'])
        assert problems(reading) == []
        assert draft_database("shop", reading, "SHOP_URL").identifiers == {
            ("customers", "email"): IdentifierType.email
        }
    finally:
        admin = await asyncpg.connect(postgres.url())
        try:
            await admin.execute(f"drop database if exists {database} with (force)")
            await admin.execute(f"drop role if exists {role}")
        finally:
            await admin.close()


def test_a_statement_past_its_timeout_is_named_not_waited_for(tmp_path: Path) -> None:
    file = tmp_path / "slow.db"
    engine = sa.create_engine(f"sqlite:///{file}")
    with engine.begin() as conn:
        conn.exec_driver_sql("create table notes (id integer primary key, email text, note text)")
        conn.exec_driver_sql(
            "with recursive n(i) as (select 1 union all select i + 1 from n where i < 1000000) "
            "insert into notes select i, null, 'x' from n"
        )
    engine.dispose()
    reading = asyncio.run(read_database(f"sqlite:///{file}", sample=5, timeout=0.02))
    assert [(u.table, u.column, u.reason) for u in reading.unreadable] == [
        ("notes", "email", "timed out: the statement ran past the timeout")
    ]
    assert "raise --timeout" in problems(reading)[0]


def test_usage_errors_name_the_option() -> None:
    assert "exactly one of --url-env" in _cli("crm").output
    assert _cli("Not-A-Name", "--url-env", "X").exit_code == 2
    unset = _cli("crm", "--url-env", "DSR_SCAFFOLD_UNSET", "--out", "-", env={"DSR_SCAFFOLD_UNSET": ""})
    assert unset.exit_code == 1 and "DSR_SCAFFOLD_UNSET is not set" in unset.output
    missing = _cli("crm", "--url-env", "X", "--out", "-", env={"X": "sqlite:////nonexistent/dir/x.db"})
    assert missing.exit_code == 1 and "the database file cannot be opened" in missing.output
    template = _cli("crm_saas", "--http-template", "--out", "-")
    assert template.exit_code == 0
    assert "engine: http" in template.output and "review: suggested" in template.output
