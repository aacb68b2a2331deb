"""The catalogue loads; every kind of mistake is reported with its file and path, all at once."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.catalogue.loader import DEFAULT_CATALOGUE, CatalogueError, load_catalogue
from services.catalogue.summary import summarise

Mutation = Callable[[dict[str, Any]], None]


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "catalogue"
    shutil.copytree(DEFAULT_CATALOGUE, root)
    return root


def _mutate(root: Path, relative: str, *mutations: Mutation) -> Path:
    file = root / relative
    document = yaml.safe_load(file.read_text())
    for mutation in mutations:
        mutation(document)
    file.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False))
    return file


def _problems(root: Path) -> list[str]:
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(root)
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


def _unknown_category(doc: dict[str, Any]) -> None:
    doc["tables"]["cases"]["columns"]["debtor_email"]["categories"] = ["user.contact.mail"]


def _missing_pk_column(doc: dict[str, Any]) -> None:
    doc["tables"]["cases"]["primary_key"] = ["case_id"]


def _unknown_reference(doc: dict[str, Any]) -> None:
    doc["tables"]["payments"]["columns"]["case_id"]["references"] = "case.id"


def _unknown_retention_kind(doc: dict[str, Any]) -> None:
    doc["tables"]["letters"]["retention"]["kind"] = "forever"


def _secret_dsn(doc: dict[str, Any]) -> None:
    doc["connection"] = {"env": "postgresql://crm:hunter2@db.internal:5432/crm"}


def _processor_without_controller(doc: dict[str, Any]) -> None:
    del doc["role"]["controller"]


DEBT = "systems/debt_collection.yaml"


def test_the_shipped_catalogue_loads() -> None:
    catalogue = load_catalogue(DEFAULT_CATALOGUE)
    summary = summarise(catalogue)
    assert summary.systems == 10
    assert summary.tables == 24
    assert summary.special_category_columns == 1  # the debtor's health note
    assert catalogue.systems["invoicing"].role.kind == "processor"


@pytest.mark.parametrize(
    ("relative", "mutation", "expected"),
    [
        (
            DEBT,
            _unknown_category,
            "tables.cases.columns.debtor_email.categories[0]: unknown data category 'user.contact.mail'",
        ),
        (
            DEBT,
            _missing_pk_column,
            "tables.cases.primary_key[0]: primary key column 'case_id' is not a column of the table",
        ),
        (
            DEBT,
            _unknown_reference,
            "tables.payments.columns.case_id.references: reference to unknown table 'case'",
        ),
        (DEBT, _unknown_retention_kind, "tables.letters.retention.kind: Input should be 'after_date', "),
        ("systems/crm.yaml", _secret_dsn, "connection.env: looks like a connection string with a password"),
        (
            "systems/invoicing.yaml",
            _processor_without_controller,
            "role: a processor system must name the rule that finds its controller",
        ),
    ],
    ids=[
        "unknown-category",
        "missing-pk-column",
        "unknown-table",
        "retention-kind",
        "secret-dsn",
        "processor",
    ],
)
def test_each_kind_of_error_is_reported_with_file_and_path(
    tmp_path: Path, relative: str, mutation: Mutation, expected: str
) -> None:
    root = _copy(tmp_path)
    file = _mutate(root, relative, mutation)
    problems = _problems(root)
    assert any(problem.startswith(f"{file}:{expected}") for problem in problems), problems


def test_every_error_is_reported_at_once(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    debt = _mutate(
        root, DEBT, _unknown_category, _missing_pk_column, _unknown_reference, _unknown_retention_kind
    )
    crm = _mutate(root, "systems/crm.yaml", _secret_dsn)
    invoicing = _mutate(root, "systems/invoicing.yaml", _processor_without_controller)
    problems = _problems(root)
    expected = [
        f"{debt}:tables.cases.columns.debtor_email.categories[0]:",
        f"{debt}:tables.cases.primary_key[0]:",
        f"{debt}:tables.payments.columns.case_id.references:",
        f"{debt}:tables.letters.retention.kind:",
        f"{crm}:connection.env:",
        f"{invoicing}:role:",
    ]
    for prefix in expected:
        assert any(problem.startswith(prefix) for problem in problems), (prefix, problems)
    # the secret also breaks the variable-name rule; nothing else is reported (no knock-on errors)
    assert len(problems) == len(expected) + 1, problems


def test_cross_checks_still_run_on_valid_systems_when_one_file_is_broken(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    invoicing = _mutate(root, "systems/invoicing.yaml", _processor_without_controller)
    crm = _mutate(
        root, "systems/crm.yaml", lambda doc: doc["tables"]["contacts"].update(recipients=["nobody"])
    )
    problems = _problems(root)
    assert any(p.startswith(f"{invoicing}:role:") for p in problems)
    assert f"{crm}:tables.contacts.recipients[0]: unknown recipient 'nobody' (parties.yaml)" in problems


@pytest.mark.parametrize(
    ("relative", "mutation", "expected"),
    [
        (
            "systems/crm.yaml",
            lambda doc: doc["connection"].update(dsn="postgresql://crm:hunter2@db/crm", database=None),
            "connection.dsn: looks like a connection string or secret",
        ),
        (
            DEBT,
            lambda doc: doc["tables"]["cases"].update(retention_period="P3Y"),
            "tables.cases.retention_period: Extra inputs are not permitted",
        ),
        (
            DEBT,
            lambda doc: doc["tables"]["case_notes"].update(legal_basis=["6(1)(f)"]),
            "tables.case_notes.legal_basis: column 'health_note' holds a special category: name an Art. 9(2)",
        ),
        (
            DEBT,
            lambda doc: doc["tables"]["claims"]["retention"].update(anchor="case_id.closed"),
            "tables.claims.retention.anchor: no column 'closed' in table 'cases'",
        ),
        (
            DEBT,
            lambda doc: doc["tables"]["cases"]["erasure"]["holds"][0].update(column="state"),
            "tables.cases.erasure.holds[0].column: no column 'state' in table 'cases'",
        ),
        (
            DEBT,
            lambda doc: doc["tables"]["cases"]["restriction"].update(column="status"),
            "tables.cases.restriction.column: the restriction marker must be a boolean column",
        ),
        (
            DEBT,
            lambda doc: doc["tables"]["cases"]["retention"].update(period="3 years"),
            "tables.cases.retention.period: String should match pattern",
        ),
        (
            "systems/population_register.yaml",
            lambda doc: doc["tables"]["address_updates"]["retention"].update(follows="debt_collection.case"),
            "tables.address_updates.retention.follows: unknown table 'debt_collection.case'",
        ),
        (
            "systems/marketing.yaml",
            lambda doc: doc["tables"]["downloads"].update(legal_basis=["6(1)(g)"]),
            "tables.downloads.legal_basis[0]: String should match pattern",
        ),
        (
            "systems/telephony.yaml",
            lambda doc: doc["tables"]["call_logs"]["erasure"].update(strategy="refer_to_controller"),
            "tables.call_logs.erasure.strategy: only a processor refers erasure to the controller",
        ),
        (
            "systems/aml.yaml",
            lambda doc: doc.update(connection={"database": "demo_crm"}),
            "connection.database: database 'demo_crm' is also the database of 'crm'",
        ),
    ],
    ids=[
        "dsn-key",
        "unknown-key",
        "special-without-art9",
        "anchor",
        "hold",
        "restriction",
        "period",
        "follows",
        "legal-basis",
        "refer",
        "shared-database",
    ],
)
def test_more_mistakes_are_named_precisely(
    tmp_path: Path, relative: str, mutation: Mutation, expected: str
) -> None:
    root = _copy(tmp_path)
    file = _mutate(root, relative, mutation)
    problems = _problems(root)
    assert any(problem.startswith(f"{file}:{expected}") for problem in problems), problems


def test_a_malformed_field_does_not_hide_other_problems_in_its_table(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    debt = _mutate(
        root,
        DEBT,
        lambda doc: doc["tables"]["cases"]["retention"].update(kind="forever"),
        lambda doc: doc["tables"]["cases"]["columns"]["debtor_phone"].update(type="varchar"),
        _unknown_category,
    )
    problems = _problems(root)
    assert problems == [
        f"{debt}:tables.cases.columns.debtor_phone.type: Input should be 'bigint', 'integer', 'numeric', 'text', "
        "'boolean', 'date' or 'timestamptz'",
        f"{debt}:tables.cases.retention.kind: Input should be 'after_date', 'on_event', 'follows', 'purpose' "
        "or 'controller'",
        f"{debt}:tables.cases.columns.debtor_email.categories[0]: unknown data category 'user.contact.mail' "
        "(taxonomy.yaml)",
    ]


def test_a_system_file_that_cannot_be_read_causes_no_knock_on_errors(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    debt = root / DEBT
    debt.write_text("title: [unclosed\n")
    problems = _problems(root)
    assert len(problems) == 1 and problems[0].startswith(f"{debt}:line "), problems


def test_yaml_mistakes_name_the_line(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    file = root / "systems" / "telephony.yaml"
    text = file.read_text()
    file.write_text(text.replace("tables:\n", "title: Again\ntables:\n", 1))
    problems = _problems(root)
    assert any(p.startswith(f"{file}:line ") and "duplicate key 'title'" in p for p in problems), problems


def test_a_new_system_is_a_new_file(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    (root / "systems" / "debt_collection_archive.yaml").write_text(
        (root / DEBT).read_text().replace("database: demo_debt_collection", "env: DSR_ARCHIVE_DSN")
    )
    catalogue = load_catalogue(root)
    assert catalogue.systems["debt_collection_archive"].connection.env == "DSR_ARCHIVE_DSN"
