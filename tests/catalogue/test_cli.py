"""`dsr catalogue check`: a summary and exit 0, or every problem with file and path and exit 1."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.catalogue.cli import app
from services.catalogue.loader import DEFAULT_CATALOGUE
from services.systems import drivers


def test_check_prints_a_summary_of_a_valid_catalogue() -> None:
    result = CliRunner().invoke(app, ["check", str(DEFAULT_CATALOGUE)])
    assert result.exit_code == 0, result.output
    assert "10 systems, 24 tables" in result.output


def test_check_lists_every_problem_and_fails(tmp_path: Path) -> None:
    root = tmp_path / "catalogue"
    shutil.copytree(DEFAULT_CATALOGUE, root)
    crm = root / "systems" / "crm.yaml"
    crm.write_text(
        crm.read_text()
        .replace("database: demo_crm", "env: postgresql://crm:hunter2@db/crm")
        .replace("categories: [user.contact.email]", "categories: [user.contact.mail]")
    )
    result = CliRunner().invoke(app, ["check", str(root)])
    assert result.exit_code == 1
    assert f"{crm}:connection.env: looks like" in result.output
    assert f"{crm}:tables.contacts.columns.email.categories[0]: unknown data category" in result.output


def test_check_names_a_missing_driver_and_the_extra_that_brings_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "catalogue"
    shutil.copytree(DEFAULT_CATALOGUE, root)
    crm = root / "systems" / "crm.yaml"
    crm.write_text(
        crm.read_text().replace("database: demo_crm", "engine: sql\n  dialect: mssql\n  env: CRM_URL")
    )
    # A dialect whose driver this installation lacks (the real mssql one may be installed here).
    monkeypatch.setitem(
        drivers.DIALECT_DRIVERS, "mssql", drivers.Driver("dsr_absent_driver", "mssql", "mssql")
    )
    result = CliRunner().invoke(app, ["check", str(root)])
    assert result.exit_code == 1, result.output
    assert f"{crm}:connection: needs the Python package 'dsr_absent_driver'" in result.output
    assert "pip install 'dsr-pipeline[mssql]'" in result.output
