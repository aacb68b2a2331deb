"""`free_text: true` marks prose columns: only on text columns, never on an identifier, and a
mistake is named with its file and path like every other."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.catalogue.loader import DEFAULT_CATALOGUE, CatalogueError, load_catalogue


def _problems_after(
    tmp_path: Path, relative: str, change: dict[str, Any], table: str, column: str
) -> list[str]:
    root = tmp_path / "catalogue"
    shutil.copytree(DEFAULT_CATALOGUE, root)
    file = root / relative
    document = yaml.safe_load(file.read_text())
    document["tables"][table]["columns"][column].update(change)
    file.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False))
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(root)
    return [p.removeprefix(f"{file}:") for p in caught.value.problems]


@pytest.mark.parametrize(
    ("relative", "table", "column", "change", "expected"),
    [
        (
            "systems/telephony.yaml",
            "call_logs",
            "duration_seconds",
            {"free_text": True},
            "tables.call_logs.columns.duration_seconds: `free_text` marks a text column; "
            "this one is 'integer'",
        ),
        (
            "systems/telephony.yaml",
            "call_logs",
            "phone",
            {"free_text": True},
            "tables.call_logs.columns.phone: a `free_text` column is prose, not an identifier",
        ),
        (
            "systems/debt_collection.yaml",
            "case_notes",
            "note",
            {"free_text": "yes please"},
            "tables.case_notes.columns.note.free_text: Input should be a valid boolean",
        ),
    ],
    ids=["not-text", "identifier", "not-boolean"],
)
def test_a_misplaced_marker_is_named_with_its_path(
    tmp_path: Path, relative: str, table: str, column: str, change: dict[str, Any], expected: str
) -> None:
    problems = _problems_after(tmp_path, relative, change, table, column)
    assert any(problem.startswith(expected) for problem in problems), problems


def test_the_shipped_catalogue_and_its_examples_mark_their_prose() -> None:
    catalogue = load_catalogue(DEFAULT_CATALOGUE)
    assert catalogue.systems["telephony"].tables["call_logs"].columns["summary"].free_text
    assert not catalogue.systems["telephony"].tables["call_logs"].columns["agent"].free_text
    for example in sorted((DEFAULT_CATALOGUE / "examples").glob("*.yaml")):
        system = yaml.safe_load(example.read_text())
        for table in system["tables"].values():
            for name, column in table["columns"].items():
                if name in ("summary", "note", "health_note", "message", "body", "answers"):
                    assert column.get("free_text") is True, (example.name, name)
