"""Loading the demo systems (PostgreSQL databases, an SQLite file, a newsletter SaaS account):
schema, showcase record, determinism."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Mapping

import asyncpg
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from services.catalogue.loader import DEFAULT_CATALOGUE, load_catalogue
from services.catalogue.model import Catalogue, IdentifierType
from services.demo.cli import app as demo_app
from services.demo.loader import DemoSystems, create_demo_systems, drop_demo_systems
from services.demo.newsletter_api import KINDS
from services.demo.placement import NEWSLETTER_SYSTEMS, POSTGRES_SYSTEMS, SQLITE_SYSTEMS
from services.demo.rows import RowRef
from services.demo.showcase import SHARED_PHONE, ShowcaseSubject, showcase_subjects
from services.demo.tables import TABLES
from services.intake.domain.identifiers import normalise_phone, parse_national_id
from services.launcher.embedded_postgres import EmbeddedPostgres
from tests.demo.oracle import Snapshot, identifier_columns, owned_rows, row, rows_with, snapshot

SUBJECTS = 500
SEED = 11

Connections = Mapping[str, asyncpg.Connection]


def _prefix() -> str:
    return f"t{uuid.uuid4().hex[:8]}_"


@pytest.fixture(scope="module")
async def demo(postgres: EmbeddedPostgres) -> AsyncIterator[DemoSystems]:
    prefix = _prefix()
    loaded = await create_demo_systems(postgres.url(), subjects=SUBJECTS, seed=SEED, prefix=prefix)
    yield loaded
    await drop_demo_systems(postgres.url(), prefix=prefix)


@pytest.fixture(scope="module")
async def conns(demo: DemoSystems) -> AsyncIterator[Connections]:
    connections = {system: await asyncpg.connect(demo.url(system)) for system in POSTGRES_SYSTEMS}
    yield connections
    for conn in connections.values():
        await conn.close()


@pytest.fixture(scope="module")
async def rows(demo: DemoSystems) -> Snapshot:
    return await snapshot(demo)


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(DEFAULT_CATALOGUE)


def _identifiers(subject: ShowcaseSubject, *, phone: bool = True) -> dict[IdentifierType, str]:
    values = {IdentifierType.national_id: subject.national_id, IdentifierType.email: subject.email}
    if phone:
        values[IdentifierType.phone] = subject.phone
    return values


async def test_every_database_matches_the_catalogue(conns: Connections, catalogue: Catalogue) -> None:
    for system_name in POSTGRES_SYSTEMS:
        system = catalogue.systems[system_name]
        conn = conns[system_name]
        for table_name, table in system.tables.items():
            columns = await conn.fetch(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = 'public' and table_name = $1 order by ordinal_position",
                table_name,
            )
            assert [(c["column_name"], c["data_type"]) for c in columns] == [
                (name, column.type.sql_name) for name, column in table.columns.items()
            ], table_name
            primary_key = await conn.fetch(
                "select a.attname from pg_index i join pg_attribute a on a.attrelid = i.indrelid "
                "and a.attnum = any(i.indkey) where i.indrelid = $1::regclass and i.indisprimary",
                table_name,
            )
            assert [row["attname"] for row in primary_key] == table.primary_key
            indexed = await conn.fetch(
                "select a.attname, i.indisunique from pg_index i join pg_attribute a "
                "on a.attrelid = i.indrelid and a.attnum = i.indkey[0] where i.indrelid = $1::regclass",
                table_name,
            )
            unique = {row["attname"] for row in indexed if row["indisunique"]}
            for name, column in table.columns.items():
                if column.identifier or column.references:
                    assert name in {row["attname"] for row in indexed}, f"{table_name}.{name} has no index"
                if column.unique:
                    assert name in unique, f"{table_name}.{name} has no unique index"
        tables = await conn.fetch("select tablename from pg_tables where schemaname = 'public'")
        assert {row["tablename"] for row in tables} == set(system.tables)


def test_the_sqlite_system_matches_the_catalogue_and_indexes_its_identifiers(
    demo: DemoSystems, catalogue: Catalogue
) -> None:
    for system_name in SQLITE_SYSTEMS:
        system = catalogue.systems[system_name]
        engine = sa.create_engine(f"sqlite:///{demo.sources.sqlite_file(system_name, demo.prefix)}")
        try:
            inspector = sa.inspect(engine)
            assert set(inspector.get_table_names()) == set(system.tables)
            for table_name, table in system.tables.items():
                assert [c["name"] for c in inspector.get_columns(table_name)] == list(table.columns)
                assert inspector.get_pk_constraint(table_name)["constrained_columns"] == table.primary_key
                indexed = {i["column_names"][0] for i in inspector.get_indexes(table_name)}
                for name, column in table.columns.items():
                    if column.identifier:
                        assert name in indexed, f"{table_name}.{name} has no index"
        finally:
            engine.dispose()


def test_the_newsletter_account_holds_every_marketing_table(rows: Snapshot, catalogue: Catalogue) -> None:
    for system_name in NEWSLETTER_SYSTEMS:
        assert set(rows[system_name]) == set(catalogue.systems[system_name].tables) <= set(KINDS)


async def test_row_counts_are_what_the_generator_reported(demo: DemoSystems, rows: Snapshot) -> None:
    for table in TABLES:
        assert len(rows[table.system][table.name]) == demo.row_counts[table.system][table.name], table.name
    assert demo.loaded and set(demo.timings) == {"databases", "load", "indexes", "total"}


async def test_each_showcase_subjects_rows_are_exactly_where_the_record_says(
    demo: DemoSystems, rows: Snapshot, catalogue: Catalogue
) -> None:
    placements = demo.placements
    for subject in showcase_subjects():
        recorded = set(placements[subject.key])
        for ref in recorded:
            assert row(rows, ref)["id"] == ref.id
        shared = subject.phone == SHARED_PHONE
        found = owned_rows(rows, catalogue, _identifiers(subject, phone=not shared))
        assert found == recorded, subject.key


async def test_the_shared_phone_pair_shares_the_phone_and_nothing_else(
    demo: DemoSystems, rows: Snapshot, catalogue: Catalogue
) -> None:
    a, b = (
        next(s for s in showcase_subjects() if s.key == key) for key in ("shared_phone_a", "shared_phone_b")
    )
    assert a.phone == b.phone == SHARED_PHONE
    assert a.national_id != b.national_id and a.email != b.email and a.name != b.name
    by_phone = rows_with(rows, catalogue, {IdentifierType.phone: {SHARED_PHONE}})
    assert by_phone & demo.placements[a.key] and by_phone & demo.placements[b.key]
    assert by_phone <= demo.placements[a.key] | demo.placements[b.key]

    async def values(refs: frozenset[RowRef]) -> dict[str, set[object]]:
        """Every value (not key, flag or date) in a subject's rows, by identifier type or 'other'."""
        out: dict[str, set[object]] = {}
        for ref in refs:
            table = catalogue.systems[ref.system].tables[ref.table]
            values = row(rows, ref)
            for name, column in table.columns.items():
                if column.type.value == "text" and values[name] is not None and name not in table.primary_key:
                    out.setdefault(column.identifier or "other", set()).add(values[name])
        return out

    values_a, values_b = await values(demo.placements[a.key]), await values(demo.placements[b.key])
    assert values_a["phone"] == values_b["phone"] == {SHARED_PHONE}
    for kind in ("national_id", "email", "case_number", "invoice_number", "customer_number"):
        assert not values_a.get(kind, set()) & values_b.get(kind, set()), kind
    personal = {a.name, a.person.address, b.name, b.person.address}
    assert not values_a.get("other", set()) & values_b.get("other", set()) & personal


async def test_the_unknown_person_is_nowhere(rows: Snapshot, catalogue: Catalogue) -> None:
    unknown = next(s for s in showcase_subjects() if s.key == "unknown_person")
    assert rows_with(rows, catalogue, {k: {v} for k, v in _identifiers(unknown).items()}) == set()
    for system_name, system in catalogue.systems.items():
        for table_name, table in system.tables.items():
            for name, column in table.columns.items():
                if column.type.value == "text":
                    hits = [
                        r
                        for r in rows[system_name][table_name]
                        if r[name] in (unknown.name, unknown.person.address)
                    ]
                    assert hits == [], f"{table_name}.{name}"


async def test_every_national_id_and_phone_is_valid(rows: Snapshot, catalogue: Catalogue) -> None:
    seen = 0
    for system, table, column, kind in identifier_columns(catalogue):
        if kind in (IdentifierType.national_id, IdentifierType.phone):
            for value in {r[column] for r in rows[system][table] if r[column] is not None}:
                seen += 1
                if kind is IdentifierType.national_id:
                    parse_national_id(value, accept_synthetic=True)
                else:
                    assert normalise_phone(value) == value
    assert seen > SUBJECTS


async def test_no_two_people_share_a_phone_but_the_showcase_pair(conns: Connections) -> None:
    shared = await conns["debt_collection"].fetch(
        "select phone from (select debtor_phone as phone, debtor_national_id as nid from cases "
        "union select phone, national_id from case_parties) p where phone is not null "
        "group by phone having count(distinct nid) > 1"
    )
    assert shared == []


async def test_the_same_seed_loads_the_same_rows(postgres: EmbeddedPostgres, demo: DemoSystems) -> None:
    prefix = _prefix()
    again = await create_demo_systems(postgres.url(), subjects=SUBJECTS, seed=SEED, prefix=prefix)
    try:
        assert again.row_counts == demo.row_counts
        assert await snapshot(again) == await snapshot(demo)
    finally:
        await drop_demo_systems(postgres.url(), prefix=prefix)


async def test_asking_for_the_same_load_again_reuses_it(
    postgres: EmbeddedPostgres, demo: DemoSystems
) -> None:
    again = await create_demo_systems(postgres.url(), subjects=SUBJECTS, seed=SEED, prefix=demo.prefix)
    assert not again.loaded
    assert again.row_counts == demo.row_counts


async def test_two_loaders_at_once_load_once(postgres: EmbeddedPostgres) -> None:
    prefix = _prefix()
    try:
        results = await asyncio.gather(
            *(create_demo_systems(postgres.url(), subjects=20, seed=5, prefix=prefix) for _ in range(2))
        )
        assert sorted(result.loaded for result in results) == [False, True]
    finally:
        await drop_demo_systems(postgres.url(), prefix=prefix)


def test_the_subjects_command_prints_the_showcase_as_json() -> None:
    result = CliRunner().invoke(demo_app, ["subjects", "--json"])
    assert result.exit_code == 0, result.output
    subjects = json.loads(result.output)
    assert [s["key"] for s in subjects] == [s.key for s in showcase_subjects()]
    assert all(set(s) == {"key", "national_id", "email", "phone", "name", "expect"} for s in subjects)


def test_the_load_command_loads_and_reports(postgres: EmbeddedPostgres) -> None:
    prefix = _prefix()
    try:
        result = CliRunner().invoke(
            demo_app,
            ["load", "--subjects", "50", "--seed", "3", "--server-url", postgres.url(), "--prefix", prefix],
        )
        assert result.exit_code == 0, result.output
        assert "Loaded 50 subjects" in result.output
    finally:
        asyncio.run(drop_demo_systems(postgres.url(), prefix=prefix))
