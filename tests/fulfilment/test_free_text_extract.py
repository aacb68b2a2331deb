"""The extract scans every `free_text` column the catalogue marks: other people's identifiers are
withheld with a marker and listed by kind and count (never the value) in JSON, HTML and PDF, in
the request's language; a text that may name someone else is withheld whole until a reviewer
releases it."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime

import jsonschema
import pytest
from pypdf import PdfReader

from schemas.extract import Extract
from schemas.generate import extract_schema
from services.catalogue.model import Catalogue, ColumnType, IdentifierType
from services.fulfilment.extract import (
    HeldRecord,
    SpecialRelease,
    assemble,
    learn_subject,
    uncertain_free_text,
)
from services.fulfilment.formats import to_html, to_json, to_pdf, to_portability_zip
from services.fulfilment.texts import texts
from tests.fulfilment.conftest import COMPANY, RECEIVED, case_row, note_row

OLA = {IdentifierType.national_id: ["14837810060"]}
WIFE_ID, WIFE_PHONE = "02887410189", "400 00 012"
NOTE = (
    f"Skyldner ringte fra 400 00 001 om sak INK-2025-000011. Kona vil bli ringt på {WIFE_PHONE}; "
    f"fødselsnummeret hennes er {WIFE_ID}."
)


def _call(summary: str, *, id: int = 7) -> HeldRecord:
    data = {
        "id": id,
        "started_at": datetime(2026, 4, 14, 13, 20, tzinfo=UTC),
        "phone": "+4740000001",
        "direction": "inbound",
        "duration_seconds": 515,
        "agent": "agent-fatima",
        "case_number": "INK-2025-000011",
        "summary": summary,
        "restricted": False,
    }
    return HeldRecord("telephony", "call_logs", {"id": str(id)}, ("user.communication.call",), data)


def _extract(
    catalogue: Catalogue, records: list[HeldRecord], language: str = "nb", **options: object
) -> Extract:
    return assemble(
        catalogue,
        reference="DSR-2026-000077",
        received_at=RECEIVED,
        records=records,
        generated_at=RECEIVED,
        company=COMPANY,
        language=language,
        identity=learn_subject(catalogue, OLA, records),
        **options,  # type: ignore[arg-type]
    )


def test_the_catalogue_marks_the_free_text_columns_and_only_text_ones(catalogue: Catalogue) -> None:
    marked = {
        (system, table, column)
        for system, s in catalogue.systems.items()
        for table, t in s.tables.items()
        for column, c in t.columns.items()
        if c.free_text
    }
    assert marked == {
        ("telephony", "call_logs", "summary"),
        ("debt_collection", "case_notes", "note"),
        ("debt_collection", "case_notes", "health_note"),
        ("correspondence", "form_submissions", "message"),
        ("correspondence", "emails", "subject"),
        ("correspondence", "emails", "body"),
        ("crm", "contact_activities", "summary"),
        ("marketing", "survey_responses", "answers"),
    }
    for system, table, column in marked:
        spec = catalogue.systems[system].tables[table].columns[column]
        assert spec.type is ColumnType.text and spec.identifier is None


@pytest.mark.parametrize("language", ["nb", "en"])
def test_a_call_note_keeps_the_subjects_identifiers_and_withholds_the_wifes(
    catalogue: Catalogue, language: str
) -> None:
    extract = _extract(catalogue, [case_row(), _call(NOTE)], language)
    [call] = [r for r in extract.records if r.table == "call_logs"]
    words = texts(language)
    summary = call.data["summary"]
    assert "400 00 001" in summary and "INK-2025-000011" in summary  # his own
    assert WIFE_PHONE not in summary and WIFE_ID not in summary
    for kind in ("phone", "national_id"):
        assert words.withheld_marker.format(what=words.withheld_kinds[kind]) in summary
    assert [(r.field, r.reason, r.withheld, r.count) for r in call.redacted] == [
        ("summary", "another_persons_identifier", "national_id", 1),
        ("summary", "another_persons_identifier", "phone", 1),
    ]
    document = json.loads(to_json(extract))
    assert list(jsonschema.Draft202012Validator(extract_schema()).iter_errors(document)) == []
    html = to_html(extract)
    pdf = " ".join(
        " ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(to_pdf(extract))).pages
    )
    said = f"{words.labels['redacted_in_text']}: summary: {words.withheld_kinds['national_id']} (1)"
    for rendered in (html.replace("&#39;", "'"), pdf):
        assert said in rendered
        for value in (WIFE_ID, WIFE_PHONE, WIFE_PHONE.replace(" ", ""), "+4740000012"):
            assert value not in rendered
    assert WIFE_ID not in json.dumps(document) and WIFE_PHONE not in json.dumps(document)


def test_a_name_no_identifier_gives_away_waits_for_a_person_and_is_withheld_without_one(
    catalogue: Catalogue,
) -> None:
    records = [case_row(), _call("Kona, Kari Hansen, ringte fra 400 00 012 og vil betale.")]
    identity = learn_subject(catalogue, OLA, records)
    assert uncertain_free_text(catalogue, records, identity) == 1
    assert uncertain_free_text(catalogue, [case_row(), _call(NOTE)], identity) == 0
    for decision in (None, SpecialRelease.withhold):
        [call] = [
            r
            for r in _extract(catalogue, records, "en", free_text=decision).records
            if r.table == "call_logs"
        ]
        assert call.data["summary"] == texts("en").withheld_text
        assert [(r.field, r.reason) for r in call.redacted] == [("summary", "mentions_another_person")]
    released = _extract(catalogue, records, "en", free_text=SpecialRelease.release)
    [call] = [r for r in released.records if r.table == "call_logs"]
    assert call.data["summary"].startswith("Kona, Kari Hansen, ringte fra [withheld: another person's phone")
    assert "Kari Hansen" in to_html(released)  # the reviewer released the name; the phone stays withheld


def test_other_people_in_a_case_note_are_withheld_also_after_a_special_category_release(
    catalogue: Catalogue,
) -> None:
    note = note_row(f"Skyldner er syk; kona ({WIFE_PHONE}) tar seg av saken.")
    extract = _extract(catalogue, [case_row(), note], special=SpecialRelease.release)
    [notes] = [r for r in extract.records if r.table == "case_notes"]
    assert WIFE_PHONE not in notes.data["health_note"] and notes.special_category == ["health_note"]
    assert [(r.field, r.withheld) for r in notes.redacted] == [("health_note", "phone")]


def test_a_phone_the_subjects_records_give_another_party_is_withheld_from_the_text(
    catalogue: Catalogue,
) -> None:
    """The structured redaction and the text scan agree: a guarantor's number is not his."""
    guarantor = case_row(id=12, debtor_national_id="23875910027", debtor_phone="+4740000003")
    extract = _extract(catalogue, [case_row(), guarantor, _call("Ring kausjonisten på 400 00 003.")])
    [call] = [r for r in extract.records if r.table == "call_logs"]
    assert "400 00 003" not in call.data["summary"]


def test_portability_csv_carries_the_markers_not_the_values(catalogue: Catalogue) -> None:
    form = HeldRecord(
        "correspondence",
        "form_submissions",
        {"id": "3"},
        ("user.communication.message",),
        {
            "id": 3,
            "submitted_at": RECEIVED,
            "form": "contact",
            "name": "Ola Nordmann",
            "email": "ola.nordmann@eksempel.no",
            "phone": "+4740000001",
            "case_number": None,
            "message": "Send kopi til naboen min: per.berg@example.no.",
            "restricted": False,
        },
    )
    extract = _extract(catalogue, [case_row(), form], portability=True)
    archive = zipfile.ZipFile(io.BytesIO(to_portability_zip(extract)))
    csv_text = archive.read("correspondence.form_submissions.csv").decode("utf-8-sig")
    assert "per.berg@example.no" not in csv_text and "en annen persons e-postadresse" in csv_text
