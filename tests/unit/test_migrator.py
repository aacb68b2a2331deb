"""Loading the numbered SQL migrations shipped with the runtime."""

from __future__ import annotations

import hashlib
import re
import sys
import uuid
from pathlib import Path

import pytest

from services.runtime.migrator import Migration, MigrationError, load_migrations


def test_migrations_are_numbered_unique_and_sorted() -> None:
    migrations = load_migrations()
    assert migrations
    versions = [m.version for m in migrations]
    assert versions == sorted(versions)
    assert len(set(versions)) == len(versions)
    assert versions[0] == 1
    for m in migrations:
        assert re.fullmatch(r"\d{4}_[a-z0-9_]+\.sql", m.name)
        assert int(m.name[:4]) == m.version
        assert m.sql.strip()


def test_migrations_are_numbered_without_gaps() -> None:
    versions = [m.version for m in load_migrations()]
    assert versions == list(range(1, len(versions) + 1))


def test_the_checksum_is_the_sha256_of_the_sql_and_stable_across_loads() -> None:
    first, second = load_migrations(), load_migrations()
    assert [m.checksum for m in first] == [m.checksum for m in second]
    for m in first:
        assert m.checksum == hashlib.sha256(m.sql.encode()).hexdigest()
        assert re.fullmatch(r"[0-9a-f]{64}", m.checksum)


def test_the_checksum_depends_only_on_the_sql() -> None:
    a = Migration(1, "0001_a.sql", "create table t ();")
    assert a.checksum == Migration(2, "0002_b.sql", "create table t ();").checksum
    assert a.checksum != Migration(1, "0001_a.sql", "create table t ( );").checksum


def test_the_sql_is_the_file_content_exactly() -> None:
    folder = Path(sys.modules["services.runtime.migrator"].__file__ or "").parent / "migrations"
    for m in load_migrations():
        assert m.sql == (folder / m.name).read_text("utf-8")


@pytest.fixture
def migrations_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path]:
    name = f"unit_migrations_{uuid.uuid4().hex[:8]}"
    folder = tmp_path / name
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    return name, folder


def test_files_are_ordered_by_number_and_other_files_are_ignored(
    migrations_package: tuple[str, Path],
) -> None:
    package, folder = migrations_package
    for file in (
        "0010_later.sql",
        "0002_second.sql",
        "0001_first.sql",
        "README.md",
        "0003-bad-name.sql",
        "0004_Upper.sql",
        "003_short.sql",
        "0005_notes.sql.bak",
    ):
        (folder / file).write_text(f"-- {file}\n")
    assert [m.name for m in load_migrations(package)] == [
        "0001_first.sql",
        "0002_second.sql",
        "0010_later.sql",
    ]


def test_two_migrations_with_one_number_are_refused(migrations_package: tuple[str, Path]) -> None:
    package, folder = migrations_package
    (folder / "0001_first.sql").write_text("select 1;")
    (folder / "0001_other.sql").write_text("select 2;")
    with pytest.raises(MigrationError, match="share a number"):
        load_migrations(package)
