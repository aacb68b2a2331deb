"""The extract's formats from one model: JSON (valid against its published schema), HTML in both
languages, PDF with the same content, and the portability zip."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import date

import jsonschema
import pytest
from pypdf import PdfReader

from schemas.extract import Extract
from schemas.generate import GENERATED_DIR, extract_schema
from services.catalogue.model import Catalogue, IdentifierType
from services.fulfilment.extract import HeldRecord, Referral, SpecialRelease, assemble, learn_subject
from services.fulfilment.formats import to_html, to_json, to_pdf, to_portability_zip
from services.fulfilment.keeping import Anchor
from services.fulfilment.texts import TEXTS, texts
from tests.fulfilment.conftest import COMPANY, RECEIVED, case_row, ledger_row, note_row
from tests.support.catalogue_texts import leaked


def _credit_report() -> HeldRecord:
    data = {
        "id": 4,
        "national_id": "14837810060",
        "name": "Ola Nordmann",
        "case_number": "INK-2025-000011",
        "requested_at": RECEIVED,
        "score": 64,
        "payment_remarks": 0,
        "declared_income": 540000,
        "total_debt": 210000,
        "decision": "instalment_plan",
        "restricted": False,
    }
    return HeldRecord("credit_bureau", "credit_reports", {"id": "4"}, ("user.financial.credit",), data)


def _newsletter() -> HeldRecord:
    data = {
        "id": 9,
        "email": "ola.nordmann@eksempel.no",
        "name": "Ola Nordmann",
        "newsletter": "Kundeavisen",
        "subscribed_at": RECEIVED,
        "consent_text": "Ja takk",
        "unsubscribed_at": None,
    }
    return HeldRecord("marketing", "newsletter_subscriptions", {"id": "9"}, ("user.marketing",), data)


def _extract(catalogue: Catalogue, language: str = "en", **options: object) -> Extract:
    cases = catalogue.systems["debt_collection"].tables["cases"]
    assert cases.retention is not None
    records = [
        case_row(),
        ledger_row("Ola Nordmann"),
        ledger_row("Per Bakkebø", entry=6, amount="250.00"),
        note_row("Langvarig sykemelding."),
        _credit_report(),
        _newsletter(),
    ]
    records[3] = HeldRecord(**{**records[3].__dict__, "anchor": Anchor(cases.retention, date(2026, 6, 1))})
    return assemble(
        catalogue,
        reference="DSR-2026-000042",
        received_at=RECEIVED,
        records=records,
        generated_at=RECEIVED,
        company=COMPANY,
        language=language,
        identity=learn_subject(catalogue, {IdentifierType.national_id: ["14837810060"]}, records),
        referrals=[Referral("invoicing", ("Fiber Nord AS", "Trening AS"), 2)],
        **options,  # type: ignore[arg-type]
    )


def test_the_json_validates_against_the_published_schema(catalogue: Catalogue) -> None:
    published = json.loads((GENERATED_DIR / "extract.json").read_text())
    assert published == extract_schema()
    validator = jsonschema.Draft202012Validator(published)
    for options in (
        {"special": SpecialRelease.release},
        {"special": SpecialRelease.withhold},
        {"portability": True},
    ):
        document = json.loads(to_json(_extract(catalogue, **options)))
        assert list(validator.iter_errors(document)) == []
    broken = json.loads(to_json(_extract(catalogue)))
    del broken["records"][0]["purpose"]
    assert list(validator.iter_errors(broken))


def test_every_record_says_why_how_long_and_from_where(catalogue: Catalogue) -> None:
    extract = _extract(catalogue, special=SpecialRelease.release)
    assert extract.record_count == 6 and len(extract.rights) == 6
    for record in extract.records:
        assert record.purpose and record.legal_basis and record.retention.rule
        assert record.retention.date or record.retention.until
        assert record.source or record.collected_from_subject
    tables = {r.table: r for r in extract.records}
    assert tables["cases"].retention.until == texts("en").until_case_closed
    assert tables["case_notes"].retention.date == date(2029, 6, 1)
    assert tables["case_notes"].special_category == ["health_note"]
    assert tables["credit_reports"].automated_decision is not None
    assert tables["credit_reports"].source == ["A credit bureau (credit information and tax data)"]
    assert extract.complaint.authority == "Datatilsynet"
    assert extract.data_protection_officer.email == COMPANY.dpo_email
    withheld = {r.table: r for r in _extract(catalogue, special=SpecialRelease.withhold).records}
    assert "health_note" not in withheld["case_notes"].data
    assert withheld["case_notes"].withheld_special_category == ["health_note"]


@pytest.mark.parametrize("language", ["nb", "en"])
def test_the_html_and_the_pdf_say_the_same_in_the_requests_language(
    catalogue: Catalogue, language: str
) -> None:
    extract = _extract(catalogue, language, special=SpecialRelease.release)
    words = TEXTS[language]  # type: ignore[index]
    html = to_html(extract)
    assert f'<html lang="{language}">' in html and words.title in html
    assert html.count('<section class="record"') == extract.record_count
    pdf = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(to_pdf(extract))).pages)
    flat = " ".join(pdf.split())
    for expected in (
        extract.reference,
        words.title,
        words.summary(6),
        "Datatilsynet",
        COMPANY.dpo_email,
        "INK-2025-000011",
        "Fiber Nord AS",
        words.labels["automated"],
        words.labels["redacted"],
    ):
        assert " ".join(expected.split()) in flat, expected
        assert expected in html or expected.replace("'", "&#39;") in html, expected
    assert "Per Bakkebø" not in flat and "Per Bakkebø" not in html


def test_portability_is_the_subjects_own_data_on_consent_or_contract_as_json_and_csv(
    catalogue: Catalogue,
) -> None:
    extract = _extract(catalogue, portability=True)
    assert extract.kind == "portability"
    assert {(r.system, r.table) for r in extract.records} == {
        ("debt_collection", "cases"),  # 6(1)(b), partly given by the subject
        ("marketing", "newsletter_subscriptions"),  # 6(1)(a), given by the subject
    }
    archive = zipfile.ZipFile(io.BytesIO(to_portability_zip(extract)))
    assert sorted(archive.namelist()) == [
        "debt_collection.cases.csv",
        "extract.json",
        "marketing.newsletter_subscriptions.csv",
    ]
    assert json.loads(archive.read("extract.json"))["kind"] == "portability"
    [row] = list(
        csv.DictReader(
            io.StringIO(archive.read("marketing.newsletter_subscriptions.csv").decode("utf-8-sig"))
        )
    )
    assert row["email"] == "ola.nordmann@eksempel.no" and row["newsletter"] == "Kundeavisen"
    assert to_portability_zip(extract) == to_portability_zip(extract)  # same bytes for the same extract


def test_both_languages_say_everything() -> None:
    nb, en = texts("nb"), texts("en")
    assert nb.labels.keys() == en.labels.keys() and nb.rights.keys() == en.rights.keys()
    assert texts("se") is nb  # an unknown language falls back to Norwegian


@pytest.mark.parametrize("language", ["nb", "en"])
def test_the_catalogues_texts_are_in_the_requests_language_and_only_in_it(
    catalogue: Catalogue, language: str
) -> None:
    """A bokmål extract says the purposes, descriptions, retention rules, categories, recipients,
    sources and automated-decision logic in bokmål and no catalogue text in English (and the
    English one the other way round), in the JSON, the HTML and the PDF alike."""
    extract = _extract(catalogue, language, special=SpecialRelease.release)
    document = to_json(extract).decode()
    html = to_html(extract).replace("&#39;", "'")
    pdf = " ".join(
        " ".join(page.extract_text() for page in PdfReader(io.BytesIO(to_pdf(extract))).pages).split()
    )
    cases = catalogue.systems["debt_collection"].tables["cases"]
    credit = catalogue.systems["credit_bureau"].tables["credit_reports"]
    assert cases.purpose is not None and cases.retention is not None and credit.automated_decision
    flat = catalogue.taxonomy.flatten()
    said = [
        catalogue.systems["debt_collection"].title.in_(language),
        cases.description.in_(language),
        cases.purpose.in_(language),
        cases.retention.description.in_(language),
        flat["user.contact.email"].description.in_(language).rstrip("."),
        flat["user.identity.national_id"].description.in_(language).rstrip("."),
        catalogue.parties.recipients["creditor"].name.in_(language),
        catalogue.parties.sources["population_register"].name.in_(language),
        credit.automated_decision.significance.in_(language),
        catalogue.systems["invoicing"].title.in_(language),  # the referral to the controllers
    ]
    for text in said:
        assert text in document, text
        assert text in html, text
        assert text in pdf, text
    records = {r.table: r for r in extract.records}
    assert records["cases"].purpose == cases.purpose.in_(language)
    assert records["cases"].category_names[: len(records["cases"].categories)] == [
        flat[c].description.in_(language).rstrip(".") for c in records["cases"].categories
    ]
    assert leaked(catalogue, language, document, html, pdf) == []
    if language == "nb":
        assert "Den personlige koblingen til saken anonymiseres senest 3 år" in html
        assert "Oppdragsgiveren (kreditor) som kravet innfordres for" in pdf
