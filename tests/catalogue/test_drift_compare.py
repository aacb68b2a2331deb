"""The drift comparison, pure: a catalogue entry against a live schema and the scaffold's suggestions.

Every kind of drift is found once, with a stable identity (so a repeated check reports nothing new
and a fixed drift disappears), personal data is told from the rest by the scaffold's classifier
(by value as much as by name), and no sampled value reaches a finding.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from services.catalogue.drift import report
from services.catalogue.drift.compare import compare
from services.catalogue.drift.findings import CheckOutcome, DriftKind, Finding, SystemCheck, identity_of
from services.catalogue.drift.suggest import suggest
from services.catalogue.loader import DEFAULT_CATALOGUE
from services.catalogue.model import ColumnType, FlatCategory, System, Taxonomy
from services.catalogue.scaffold.introspect import LiveColumn, LiveSchema, LiveTable, Sample

CATEGORIES: Mapping[str, FlatCategory] = Taxonomy.model_validate(
    yaml.safe_load((DEFAULT_CATALOGUE / "taxonomy.yaml").read_text())
).flatten()

SPEC = System.model_validate(
    {
        "title": {"nb": "Kunderegister", "en": "CRM"},
        "description": {"nb": "Kontakter.", "en": "Contacts."},
        "connection": {"database": "crm"},
        "role": {"kind": "controller"},
        "tables": {
            "contacts": {
                "description": {"nb": "Kontaktpersoner.", "en": "Contact persons."},
                "primary_key": ["id"],
                "columns": {
                    "id": {"type": "bigint", "categories": ["system.key"]},
                    "email": {"type": "text", "categories": ["user.contact.email"], "identifier": "email"},
                    "agent": {"type": "text", "categories": ["system.processing"]},
                    "restricted": {"type": "boolean", "categories": ["system.processing"]},
                },
            },
            "organisations": {
                "description": {"nb": "Virksomheter.", "en": "Organisations."},
                "primary_key": ["id"],
                "columns": {
                    "id": {"type": "bigint", "categories": ["system.key"]},
                    "name": {"type": "text", "categories": ["organisation.name"]},
                },
            },
        },
    }
)

EMAILS = [f"person{i}@example.no" for i in range(20)]
AGENTS = [f"agent-{name}" for name in ("ola", "kari", "per", "nina")] * 5
ORGANISATIONS = [f"Firma {i} AS" for i in range(20)]


def col(name: str, kind: ColumnType | None, db_type: str = "") -> LiveColumn:
    return LiveColumn(
        name, kind, db_type or (kind.value.upper() if kind else "BYTEA"), True, kind is ColumnType.text
    )


def live_crm(
    *,
    contacts: Sequence[LiveColumn] | None = None,
    extra_tables: Sequence[LiveTable] = (),
    organisations: bool = True,
    dialect: str = "postgresql",
) -> LiveSchema:
    contact_columns = contacts or (
        col("id", ColumnType.bigint),
        col("email", ColumnType.text),
        col("agent", ColumnType.text),
        col("restricted", ColumnType.boolean),
    )
    tables = [LiveTable("contacts", tuple(contact_columns), ("id",))]
    if organisations:
        tables.append(
            LiveTable("organisations", (col("id", ColumnType.bigint), col("name", ColumnType.text)), ("id",))
        )
    return LiveSchema(dialect, None, (*tables, *extra_tables))


def samples_for(
    schema: LiveSchema, values: Mapping[tuple[str, str], Sequence[str]]
) -> dict[tuple[str, str], Sample]:
    base = {
        ("contacts", "email"): EMAILS,
        ("contacts", "agent"): AGENTS,
        ("organisations", "name"): ORGANISATIONS,
    }
    merged = {**base, **values}
    return {
        (table.name, column.name): Sample(merged.get((table.name, column.name), ()))
        for table in schema.tables
        for column in table.columns
        if column.text_like
    }


def drift(schema: LiveSchema, values: Mapping[tuple[str, str], Sequence[str]] | None = None) -> list[Finding]:
    return compare("crm", SPEC, schema, suggest(schema, samples_for(schema, values or {})), CATEGORIES)


def kinds(findings: Sequence[Finding]) -> list[tuple[str, str, str | None, bool]]:
    return [(f.kind.value, f.table, f.column, f.personal) for f in findings]


def test_a_schema_as_catalogued_has_no_drift() -> None:
    assert drift(live_crm()) == []


def test_a_column_of_emails_the_catalogue_does_not_name_is_undescribed_personal_data() -> None:
    schema = live_crm(
        contacts=(*live_crm().tables[0].columns, col("backup_email", ColumnType.text)),
    )
    findings = drift(schema, {("contacts", "backup_email"): EMAILS[:10]})
    assert kinds(findings) == [("undescribed_column", "contacts", "backup_email", True)]
    suggestion = findings[0].detail["suggestion"]
    assert suggestion["identifier"] == "email"
    assert "10 of 10 sampled values are email addresses" in suggestion["evidence"]
    assert findings[0].undescribed_columns == 1 and findings[0].undescribed_personal == 1


def test_a_column_called_ref_holding_national_ids_is_personal_and_email_sent_holding_flags_is_not() -> None:
    schema = live_crm(
        contacts=(
            *live_crm().tables[0].columns,
            col("ref", ColumnType.text),
            col("email_sent", ColumnType.text),
        )
    )
    national_ids = ["15076500565", "01010750160"] * 5
    findings = drift(
        schema, {("contacts", "ref"): national_ids, ("contacts", "email_sent"): ["yes", "no"] * 5}
    )
    assert kinds(findings) == [
        ("undescribed_column", "contacts", "email_sent", False),
        ("undescribed_column", "contacts", "ref", True),
    ]
    assert findings[1].detail["suggestion"]["identifier"] == "national_id"


def test_a_new_table_is_one_finding_listing_its_columns_and_which_look_personal() -> None:
    audit_log = LiveTable(
        "audit_log",
        (
            col("id", ColumnType.bigint),
            col("happened_at", ColumnType.timestamptz),
            col("mail", ColumnType.text),
        ),
        ("id",),
    )
    findings = drift(live_crm(extra_tables=[audit_log]), {("audit_log", "mail"): EMAILS})
    assert kinds(findings) == [("undescribed_table", "audit_log", None, True)]
    columns = {c["column"]: c for c in findings[0].detail["columns"]}
    assert set(columns) == {"id", "happened_at", "mail"}
    assert columns["mail"]["personal"] and not columns["id"]["personal"]
    assert findings[0].undescribed_columns == 3 and findings[0].undescribed_personal == 1
    assert "looks personal: mail: email" in findings[0].message()


def test_a_dropped_table_is_one_finding_not_one_per_column() -> None:
    findings = drift(live_crm(organisations=False))
    assert kinds(findings) == [("missing_table", "organisations", None, False)]


def test_a_dropped_and_a_retyped_column_are_reported_with_both_types() -> None:
    schema = live_crm(
        contacts=(
            col("id", ColumnType.bigint),
            col("email", ColumnType.text),
            col("agent", ColumnType.integer),
        )
    )
    findings = drift(schema)
    assert kinds(findings) == [
        ("type_changed", "contacts", "agent", False),
        ("missing_column", "contacts", "restricted", False),
    ]
    assert findings[0].detail == {"catalogued": "text", "live": "integer", "db_type": "INTEGER"}
    assert findings[0].message() == "type changed: catalogued text, live integer"


def test_a_type_the_catalogue_has_no_name_for_is_a_change_naming_the_database_type() -> None:
    schema = live_crm(
        contacts=(
            col("id", ColumnType.bigint),
            col("email", ColumnType.text),
            col("agent", None, "BYTEA"),
            col("restricted", ColumnType.boolean),
        )
    )
    assert drift(schema)[0].detail["live"] == "BYTEA"


def test_a_non_personal_column_whose_values_are_now_emails_looks_personal_now() -> None:
    findings = drift(live_crm(), {("contacts", "agent"): EMAILS})
    assert kinds(findings) == [("looks_personal_now", "contacts", "agent", True)]
    assert findings[0].detail["categories"] == ["system.processing"]
    assert findings[0].detail["suggestion"]["identifier"] == "email"


def test_a_name_alone_does_not_make_a_catalogued_non_personal_column_personal_now() -> None:
    """The catalogue's reviewer saw the name; only values overrule them."""
    findings = drift(live_crm(), {("contacts", "agent"): ["agent-ola"] * 3 + EMAILS[:2]})
    assert findings == []


def test_names_are_matched_exactly_on_postgresql_and_case_insensitively_elsewhere() -> None:
    shouting = live_crm(
        contacts=(
            col("ID", ColumnType.bigint),
            col("Email", ColumnType.text),
            col("agent", ColumnType.text),
            col("restricted", ColumnType.boolean),
        ),
        dialect="sqlite",
    )
    assert drift(shouting) == []
    postgres = live_crm(contacts=shouting.tables[0].columns, dialect="postgresql")
    assert {(f.kind.value, f.column) for f in drift(postgres)} == {
        ("undescribed_column", "ID"),
        ("undescribed_column", "Email"),
        ("missing_column", "id"),
        ("missing_column", "email"),
    }


def test_no_sampled_value_reaches_a_finding_or_the_report() -> None:
    secret = ["kari.nordmann.hemmelig@example.no"] * 10
    schema = live_crm(contacts=(*live_crm().tables[0].columns, col("private_mail", ColumnType.text)))
    findings = drift(schema, {("contacts", "private_mail"): secret, ("contacts", "agent"): secret})
    assert {f.kind for f in findings} == {DriftKind.undescribed_column, DriftKind.looks_personal_now}
    check = SystemCheck("crm", CheckOutcome.checked, findings)
    text = json.dumps(report.as_json([check])) + "\n".join(report.lines([check]))
    assert "kari.nordmann" not in text and "example.no" not in text


def test_the_exit_code_says_personal_first_then_unreachable() -> None:
    personal = Finding("crm", DriftKind.undescribed_column, "t", "c", True, {})
    other = Finding("crm", DriftKind.missing_column, "t", "d", False, {})
    checked = SystemCheck("crm", CheckOutcome.checked, [other])
    assert report.exit_code([checked]) == 0
    assert report.exit_code([checked, SystemCheck("marketing", CheckOutcome.not_checkable)]) == 0
    down = SystemCheck("aml", CheckOutcome.unreachable, reason="timed out")
    assert report.exit_code([checked, down]) == report.UNREACHABLE
    assert (
        report.exit_code([SystemCheck("crm", CheckOutcome.checked, [personal]), down])
        == report.PERSONAL_UNDESCRIBED
    )
    lines = report.lines([SystemCheck("crm", CheckOutcome.checked, [other, personal]), down])
    assert lines[1].startswith("  PERSONAL undescribed_column crm.t.c")
    assert "aml: UNREACHABLE (timed out): drift unknown" in lines


_NAMES = st.text(min_size=1, max_size=12).filter(lambda s: s.strip() != "")


@given(_NAMES, _NAMES, st.one_of(st.none(), _NAMES), st.sampled_from(list(DriftKind)))
def test_an_identity_is_the_same_for_the_same_drift_and_differs_for_another(
    table: str, other: str, column: str | None, kind: DriftKind
) -> None:
    assert identity_of("crm", kind, table, column) == identity_of("crm", kind, table, column)
    if other != table:
        assert identity_of("crm", kind, table, column) != identity_of("crm", kind, other, column)
    # a table "a.b" is not the column b of table a
    assert identity_of("crm", kind, f"{table}.x", None) != identity_of("crm", kind, table, "x")


_HOSTILE = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=20
).filter(lambda s: s.casefold() not in {"id", "email", "agent", "restricted"})


@settings(max_examples=40)  # each example classifies a whole schema
@given(st.lists(_HOSTILE, min_size=1, max_size=6, unique=True), st.booleans())
def test_every_added_column_is_reported_once_and_a_repeat_check_finds_the_same(
    added: list[str], postgres: bool
) -> None:
    dialect = "postgresql" if postgres else "sqlite"
    if not postgres and len({name.casefold() for name in added}) != len(added):
        return  # `A` and `a` are one column there
    columns = (*live_crm().tables[0].columns, *(col(name, ColumnType.integer) for name in added))
    schema = live_crm(contacts=columns, dialect=dialect)
    first, second = drift(schema), drift(schema)
    assert sorted(f.column or "" for f in first) == sorted(added)
    assert all(f.kind is DriftKind.undescribed_column for f in first)
    assert [f.identity for f in first] == [f.identity for f in second]
    assert len({f.identity for f in first}) == len(added)
    assert drift(live_crm(dialect=dialect)) == []  # the columns dropped again: nothing left


@pytest.mark.parametrize("kind", list(DriftKind))
def test_every_kind_has_a_message(kind: DriftKind) -> None:
    assert Finding("crm", kind, "t", "c", False, {}).message()
