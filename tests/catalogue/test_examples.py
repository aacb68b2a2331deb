"""The example system files in `catalogue/examples/` (one per engine the README documents) are
valid: each loads when put into a copy of the catalogue in place of the system it describes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from services.catalogue.loader import DEFAULT_CATALOGUE, load_catalogue

EXAMPLES = sorted((DEFAULT_CATALOGUE / "examples").glob("*.yaml"))


def test_there_is_an_example_per_documented_engine() -> None:
    connections = [yaml.safe_load(path.read_text(encoding="utf-8"))["connection"] for path in EXAMPLES]
    assert {"mariadb", "mssql", "oracle"} <= {c.get("dialect") for c in connections}


@pytest.mark.parametrize("example", EXAMPLES, ids=[path.stem for path in EXAMPLES])
def test_an_example_loads_in_place_of_its_system(example: Path, tmp_path: Path) -> None:
    root = tmp_path / "catalogue"
    shutil.copytree(DEFAULT_CATALOGUE, root, ignore=shutil.ignore_patterns("examples"))
    system = example.stem.rsplit("_", 1)[0]
    target = root / "systems" / f"{system}.yaml"
    if not target.exists():  # an example of a system the demo does not have
        target = root / "systems" / f"{example.stem}.yaml"
    shutil.copy(example, target)
    catalogue = load_catalogue(root)
    assert catalogue.systems[target.stem].connection.engine in ("sql", "http")
