"""The scaffold's drafts as files: refused while unreviewed (by `check` and by every service's load),
valid once a person has reviewed them. The HTTP draft from the demo newsletter API's OpenAPI
document and the commented template. Pure (no server)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.catalogue.loader import DEFAULT_CATALOGUE, CatalogueError, load_catalogue
from services.catalogue.model import ColumnType, IdentifierType
from services.catalogue.scaffold.draft import draft_database, render
from services.catalogue.scaffold.introspect import (
    LiveColumn,
    LiveForeignKey,
    LiveSchema,
    LiveTable,
    Reading,
    Sample,
)
from services.catalogue.scaffold.openapi import OpenApiError, draft_openapi, http_template
from services.demo.newsletter_api import openapi_document


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "catalogue"
    shutil.copytree(DEFAULT_CATALOGUE, root)
    return root


def _problems(root: Path) -> list[str]:
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(root)
    return caught.value.problems


def test_an_unreviewed_entry_or_an_empty_purpose_is_refused_by_name(root: Path) -> None:
    crm = root / "systems" / "crm.yaml"
    crm.write_text(
        crm.read_text()
        .replace(
            "email: {type: text, categories: [user.contact.email], identifier: email, rectifiable: true}",
            "email: {type: text, categories: [user.contact.email], identifier: email, rectifiable: true, "
            'review: suggested, evidence: ["7 of 7 sampled values are email addresses"]}',
        )
        .replace(
            "      en: Managing the relationship with clients, prospects, suppliers and authorities.\n"
            '    legal_basis: ["6(1)(b)"',
            '      en: ""\n    legal_basis: ["6(1)(b)"',
        )
    )
    found = _problems(root)
    assert f"{crm}:tables.contacts.columns.email.review: not reviewed yet" in "\n".join(found)
    assert any("check its type, categories and identifier (email)" in p for p in found)
    assert f"{crm}:tables.contacts.purpose.en: is empty: write the English text" in found
    assert len(found) == 2, found


def _reading() -> Reading:
    """A small live schema, as `read_database` gives it, with hostile-but-valid names."""

    def text(name: str) -> LiveColumn:
        return LiveColumn(name, ColumnType.text, "TEXT", True, True)

    customers = LiveTable(
        "customers",
        (
            LiveColumn("id", ColumnType.bigint, "BIGINT", False, False),
            text("ref"),
            text("on"),
            text("null"),
            LiveColumn("email_sent", ColumnType.boolean, "BOOLEAN", True, False),
            LiveColumn("restricted", ColumnType.boolean, "BOOLEAN", False, False),
        ),
        ("id",),
        unique=(("ref",),),
    )
    letters = LiveTable(
        "letters",
        (
            LiveColumn("id", ColumnType.bigint, "BIGINT", False, False),
            LiveColumn("customer_id", ColumnType.bigint, "BIGINT", False, False),
            text("body"),
            LiveColumn("scan", None, "BLOB", True, False),
        ),
        ("id",),
        foreign_keys=(LiveForeignKey(("customer_id",), "customers", ("id",), None),),
    )
    samples = {
        ("customers", "ref"): Sample(["15076500565", "02013299997", "14837810060"]),
        ("customers", "on"): Sample(["a", "b"]),
        ("customers", "null"): Sample([]),
        ("letters", "body"): Sample(["Vi viser til brevet om kravet fra januar."] * 2),
    }
    return Reading(LiveSchema("sqlite", None, (customers, letters)), samples, (), 3)


def test_a_database_draft_parses_back_to_what_was_suggested() -> None:
    draft = draft_database("shop", _reading(), "SHOP_URL")
    assert draft.identifiers == {("customers", "ref"): IdentifierType.national_id}
    shown = f"{_reading()!r} {_reading()}"  # a reading logged by mistake shows counts, not values
    assert "<Sample of 3 values>" in shown and "15076500565" not in shown
    document = yaml.safe_load(render(draft))
    customers = document["tables"]["customers"]
    assert list(customers["columns"]) == ["id", "ref", "on", "null", "email_sent", "restricted"]
    assert customers["columns"]["ref"]["unique"] is True
    assert customers["columns"]["ref"]["evidence"][0] == "3 of 3 sampled values are valid national ids"
    assert customers["restriction"] == {"column": "restricted"}
    assert "identifier" not in customers["columns"]["email_sent"]
    letters = document["tables"]["letters"]
    assert letters["belongs_to"] == "customer_id"
    assert letters["columns"]["customer_id"]["references"] == "customers.id"
    assert letters["columns"]["body"]["free_text"] is True
    assert "the database type BLOB has no catalogue type" in letters["columns"]["scan"]["evidence"]
    for entry in (document, customers, letters, *customers["columns"].values(), *letters["columns"].values()):
        assert entry["review"] == "suggested"
    for field in ("legal_basis", "recipients", "sources", "retention", "erasure"):
        assert field in customers and not customers[field]
    for text in (customers["description"], customers["purpose"], document["title"], document["description"]):
        assert text == {"nb": "", "en": ""}  # both languages asked for, both empty


def _reviewed(document: dict[str, Any], tables: dict[str, str] | None = None) -> dict[str, Any]:
    """What a person does to a draft: fill in, confirm, delete every `review`."""
    document.pop("review", None)
    document["title"] = {"nb": "Markedsføring", "en": "Marketing"}
    document["description"] = {"nb": "Nyhetsbrev.", "en": "Newsletters."}
    for name, table in document["tables"].items():
        table.pop("review", None)
        personal = any(
            c.startswith("user.") for column in table["columns"].values() for c in column["categories"]
        )
        table["description"] = {"nb": f"Tabellen {name}.", "en": f"The {name}."}
        if personal:
            table |= {
                "purpose": {"nb": "Å sende det personen ba om.", "en": "Sending what the person asked for."},
                "legal_basis": ["6(1)(a)"],
                "retention": {
                    "kind": "purpose",
                    "description": {"nb": "Så lenge abonnementet varer.", "en": "While subscribed."},
                },
                "erasure": {"strategy": "delete_row"},
            }
        else:
            table.pop("purpose")
        for column in table["columns"].values():
            column.pop("review", None)
            column["categories"] = column["categories"] or ["system.processing"]
    return document


def test_the_openapi_draft_of_the_newsletter_api_is_a_valid_system_once_reviewed(root: Path) -> None:
    draft = draft_openapi("marketing", openapi_document(), base_url_env="NEWSLETTER_API_URL")
    marketing = root / "systems" / "marketing.yaml"
    marketing.write_text(render(draft), encoding="utf-8")
    refused = _problems(root)
    assert sum(": not reviewed yet" in p for p in refused) == draft.entries
    document = _reviewed(yaml.safe_load(marketing.read_text(encoding="utf-8")))
    marketing.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")
    system = load_catalogue(root).systems["marketing"]
    assert system.api is not None
    signups = system.api.resources["events_signups"]
    assert [(s.by, s.pagination.kind if s.pagination else None) for s in signups.search] == [
        ("email", "cursor"),
        ("phone", "cursor"),
    ]
    assert signups.fields["email"] == "attendee.email"
    assert system.api.resources["subscribers"].restrict is not None
    assert system.tables["subscribers"].columns["consent_text"].type is ColumnType.text


def test_an_http_system_without_a_document_gets_a_template_refused_until_filled_in(root: Path) -> None:
    (root / "systems" / "crm_saas.yaml").write_text(
        http_template("crm_saas", base_url_env="CRM_API_URL"), encoding="utf-8"
    )
    refused = [p for p in _problems(root) if "crm_saas.yaml" in p]
    assert any(":review: not reviewed yet" in p for p in refused)
    assert any(":tables.contacts.columns.email.review:" in p for p in refused)
    assert any(":title.nb: is empty: write the bokmål text" in p for p in refused)
    assert any(":title.en: is empty: write the English text" in p for p in refused)
    assert any(":tables.contacts.purpose.nb: is empty" in p for p in refused)
    assert all(": not reviewed yet" in p or ": is empty" in p or "must" in p for p in refused), refused


def test_what_is_no_openapi_document_is_said_so() -> None:
    with pytest.raises(OpenApiError, match="not an OpenAPI 3 document"):
        draft_openapi("x", {"swagger": "2.0", "paths": {}}, base_url_env="X_URL")
    with pytest.raises(OpenApiError, match="no collection of records"):
        draft_openapi("x", {"openapi": "3.0.3", "paths": {"/ping": {"get": {}}}}, base_url_env="X_URL")


def test_an_api_title_with_line_breaks_stays_a_comment() -> None:
    document = openapi_document()
    document["info"]["title"] = "Evil\nreview: null\nconnection: {engine: manual}\u2028x: 1"
    written = yaml.safe_load(render(draft_openapi("m", document, base_url_env="M_URL")))
    assert written["review"] == "suggested"
    assert written["connection"] == {"engine": "http", "env": "M_URL"}
    assert "x" not in written
