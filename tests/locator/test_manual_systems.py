"""A system without an interface is declared in the catalogue and searched by an agent's task."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from services.catalogue.loader import CatalogueError, load_catalogue
from services.locator.locate import Locator
from services.locator.settings import LocatorSettings
from services.runtime.settings import Settings
from services.systems.postgresql import PostgresSystem


def _catalogue_with(tmp_path: Path, connection: dict[str, object]) -> Path:
    copy = tmp_path / "catalogue"
    shutil.copytree(Settings().catalogue_dir, copy)
    crm = copy / "systems" / "crm.yaml"
    document = yaml.safe_load(crm.read_text())
    document["connection"] = connection
    crm.write_text(yaml.safe_dump(document, sort_keys=False))
    return copy


def test_a_manual_system_gets_a_manual_adapter_and_the_others_stay_postgresql(tmp_path: Path) -> None:
    catalogue = load_catalogue(_catalogue_with(tmp_path, {"engine": "manual"}))
    locator = Locator.from_catalogue(
        catalogue, server_url="postgresql://postgres@127.0.0.1:1/dsr", settings=LocatorSettings(), env={}
    )
    assert locator.systems["crm"].engine == "manual" and not locator.systems["crm"].interface
    assert isinstance(locator.systems["debt_collection"], PostgresSystem)


def test_a_manual_system_with_a_database_is_refused_with_its_file_and_path(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError) as error:
        load_catalogue(_catalogue_with(tmp_path, {"engine": "manual", "database": "crm"}))
    assert any("crm.yaml" in problem and "connection" in problem for problem in error.value.problems)
