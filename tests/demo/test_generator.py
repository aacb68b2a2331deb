"""The generator is deterministic, and its showcase record is fixed and consistent with the catalogue."""

from __future__ import annotations

from collections import defaultdict

from services.catalogue.loader import DEFAULT_CATALOGUE, load_catalogue
from services.catalogue.model import IdentifierType
from services.demo import vocabulary
from services.demo.generator import DemoGenerator, showcase_placements
from services.demo.placement import (
    NEWSLETTER_SYSTEMS,
    NEWSLETTER_URL_ENV,
    POSTGRES_SYSTEMS,
    SQLITE_SYSTEMS,
)
from services.demo.rows import Row, RowRef
from services.demo.showcase import SHARED_PHONE, showcase_subjects
from services.demo.tables import SYSTEMS, TABLES, TableSpec


def _all_rows(seed: int, subjects: int, chunk_size: int = 1_000) -> dict[TableSpec, list[Row]]:
    rows: dict[TableSpec, list[Row]] = defaultdict(list)
    for chunk in DemoGenerator(seed=seed, subjects=subjects, chunk_size=chunk_size).chunks():
        for table, table_rows in chunk.rows.items():
            rows[table].extend(table_rows)
    return rows


def test_the_same_seed_gives_the_same_rows_and_another_seed_does_not() -> None:
    first = _all_rows(seed=9, subjects=2_500)
    assert first == _all_rows(seed=9, subjects=2_500)
    assert first != _all_rows(seed=10, subjects=2_500)


def test_showcase_rows_are_the_same_for_every_seed_and_size() -> None:
    generator = DemoGenerator(seed=123, subjects=1_500, chunk_size=700)
    for _ in generator.chunks():
        pass
    assert generator.placements == showcase_placements()
    placements = showcase_placements()
    assert [s.key for s in showcase_subjects()] == list(placements)
    assert placements["unknown_person"] == frozenset()
    assert all(placements[key] for key in placements if key != "unknown_person")
    every = [ref for refs in placements.values() for ref in refs]
    assert len(every) == len(set(every)), "a row belongs to one showcase subject"


def test_ids_are_unique_per_table_and_numbered_from_one() -> None:
    for table, rows in _all_rows(seed=1, subjects=3_000).items():
        ids = [row[0] for row in rows]
        assert ids == list(range(1, len(ids) + 1)), table.name


def test_random_people_never_use_showcase_identifiers_nor_share_a_phone() -> None:
    catalogue = load_catalogue(DEFAULT_CATALOGUE)
    rows = _all_rows(seed=2, subjects=5_000)
    showcase_rows = {ref for refs in showcase_placements().values() for ref in refs}
    showcase_values = {value for s in showcase_subjects() for value in (s.national_id, s.email, s.phone)}
    phone_owner: dict[str, set[str]] = defaultdict(set)
    for table, table_rows in rows.items():
        columns = catalogue.systems[table.system].tables[table.name].columns
        kinds = {i: columns[name].identifier for i, name in enumerate(table.columns)}
        nid = next((i for i, kind in kinds.items() if kind is IdentifierType.national_id), None)
        phone = next((i for i, kind in kinds.items() if kind is IdentifierType.phone), None)
        for row in table_rows:
            if RowRef(table.system, table.name, row[0]) in showcase_rows:  # type: ignore[arg-type]
                continue
            assert not {row[i] for i, kind in kinds.items() if kind} & showcase_values, (table.name, row)
            if nid is not None and phone is not None and row[nid] and row[phone]:
                phone_owner[str(row[phone])].add(str(row[nid]))
    assert phone_owner, "some rows hold both a national id and a phone"
    assert all(len(owners) == 1 for owners in phone_owner.values())
    assert SHARED_PHONE not in phone_owner


def test_showcase_names_cannot_come_from_the_random_name_lists() -> None:
    for subject in showcase_subjects():
        assert subject.name.split()[-1] not in vocabulary.LAST_NAMES


def test_the_generator_writes_exactly_the_catalogued_tables_and_columns() -> None:
    catalogue = load_catalogue(DEFAULT_CATALOGUE)
    assert list(catalogue.systems) == sorted(SYSTEMS)
    catalogued = {(system, table) for system, s in catalogue.systems.items() for table in s.tables}
    assert catalogued == {(t.system, t.name) for t in TABLES}
    for table in TABLES:
        assert tuple(catalogue.systems[table.system].tables[table.name].columns) == table.columns
    # Each system where the demo puts it (services/demo/placement.py): the catalogue agrees.
    engines = {name: (s.connection.engine, s.connection.dialect) for name, s in catalogue.systems.items()}
    assert engines == {
        **dict.fromkeys(POSTGRES_SYSTEMS, ("postgresql", None)),
        **dict.fromkeys(SQLITE_SYSTEMS, ("sql", "sqlite")),
        **dict.fromkeys(NEWSLETTER_SYSTEMS, ("http", None)),
    }
    assert {s: catalogue.systems[s].connection.database for s in POSTGRES_SYSTEMS + SQLITE_SYSTEMS} == {
        s: f"demo_{s}" for s in POSTGRES_SYSTEMS + SQLITE_SYSTEMS
    }
    assert all(catalogue.systems[s].connection.env == NEWSLETTER_URL_ENV for s in NEWSLETTER_SYSTEMS)
