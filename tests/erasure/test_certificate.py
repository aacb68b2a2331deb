"""The plan's order, the re-scan check and the certificate in JSON, HTML and PDF, from facts alone."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime
from typing import Any

import pypdf
import pytest

from services.catalogue.loader import load_catalogue
from services.erasure.certificate import certificate, check_rescan
from services.erasure.plan import ErasurePlan, build_plan
from services.erasure.render import certificate_html, certificate_pdf
from services.erasure.retention import Action, RecordFacts
from tests.support.catalogue_texts import leaked

CATALOGUE = load_catalogue("catalogue")
TODAY = date(2026, 11, 24)
CLOSED = {"status": "closed", "legal_claim": False, "closed_on": date(2020, 5, 15)}


def _plan(case: dict[str, object]) -> ErasurePlan:
    facts = [
        RecordFacts("debt_collection", "cases", ("1",), case),
        RecordFacts(
            "debt_collection",
            "claims",
            ("5",),
            {"case_id": 1, "case_id.status": case["status"], "case_id.legal_claim": case["legal_claim"]},
        ),
        RecordFacts(
            "debt_collection",
            "case_notes",
            ("7",),
            {"case_id": 1, "case_id.legal_claim": case["legal_claim"]},
        ),
        RecordFacts("accounting", "ledger_entries", ("9",), {"booked_on": date(2020, 5, 14)}),
        RecordFacts("marketing", "newsletter_subscriptions", ("3",), {"email": "x"}),
    ]
    return build_plan(CATALOGUE, facts, today=TODAY)


def test_the_plan_runs_children_before_parents_and_followers_before_the_followed() -> None:
    plan = _plan(CLOSED)
    order = [(s, [r.table for r in records]) for s, records in plan.by_system()]
    systems = [s for s, _ in order]
    assert systems.index("debt_collection") == len(systems) - 1
    tables = dict(order)["debt_collection"]
    assert tables.index("case_notes") < tables.index("cases")
    assert ErasurePlan.from_json(plan.to_json()) == plan


def test_a_claim_of_a_kept_case_is_kept_with_it() -> None:
    held = _plan({**CLOSED, "legal_claim": True})
    claim = next(r for r in held.records if r.table == "claims")
    assert claim.decision.action is Action.restrict and claim.decision.while_ is not None
    free = _plan(CLOSED)
    assert next(r for r in free.records if r.table == "claims").decision.action is Action.anonymise


def test_the_rescan_allows_only_what_the_plan_kept() -> None:
    plan = _plan(CLOSED)
    kept = [("accounting", "ledger_entries", {"id": "9"}, [{"via": "case_number"}])]
    assert check_rescan(plan, kept).clean
    via_parent = [("debt_collection", "claims", {"id": "5"}, [{"via": "request"}, {"via": "belongs_to"}])]
    checked = {("debt_collection", "claims", ("5",)): ()}  # read after the plan: nothing personal left
    result = check_rescan(plan, via_parent, residue=checked)
    assert result.clean  # anonymised with its case, reached only through it
    assert [e.reason.code for e in result.expected] == ["found_through_parent"]
    assert not check_rescan(plan, via_parent).clean  # not read after the plan: never excused
    erased_back = [("marketing", "newsletter_subscriptions", {"id": "3"}, [{"via": "email"}])]
    result = check_rescan(plan, kept + erased_back)
    assert not result.clean and result.unexpected == (("marketing", "newsletter_subscriptions", ("3",)),)
    anonymised_found_directly = [("debt_collection", "cases", {"id": "1"}, [{"via": "national_id"}])]
    assert not check_rescan(plan, anonymised_found_directly).clean


def _certificate(plan: ErasurePlan, language: str) -> dict[str, Any]:
    return certificate(
        CATALOGUE,
        plan,
        reference="DSR-2026-000001",
        request_type="erasure",
        executed_at=datetime(2026, 11, 24, 12, tzinfo=UTC),
        rescan=check_rescan(plan, []),
        recipients=[CATALOGUE.parties.recipients["auditor"].name],
        language=language,
    )


def test_the_certificate_says_what_went_and_what_stays_until_when_in_both_languages() -> None:
    plan = _plan(CLOSED)
    content = _certificate(plan, "nb")
    assert content["summary"] == {"erased": 2, "anonymised": 2, "kept": 1, "referred": 0}
    [books] = content["kept"]
    assert books["until"] == "2030-05-14" and books["reason"]["legal_basis"] == ["GDPR Art. 17(3)(b)"]
    html_nb = certificate_html(content, "nb")
    assert "Sletteattest" in html_nb and "Regnskapsloven" in html_nb and "2030-05-14" in html_nb
    assert "The accounting act" in certificate_html(_certificate(plan, "en"), "en")
    pdf = pypdf.PdfReader(io.BytesIO(certificate_pdf(content, "nb")))
    text = "\n".join(page.extract_text() for page in pdf.pages)
    assert "Sletteattest DSR-2026-000001" in text and "2030-05-14" in text and "24. november 2026" in text


@pytest.mark.parametrize("language", ["nb", "en"])
def test_the_certificate_names_systems_tables_and_recipients_in_the_requests_language(language: str) -> None:
    """A bokmål certificate says the catalogue's titles, descriptions, reasons and recipients in
    bokmål and none in English (and the English one the other way round): JSON, HTML and PDF."""
    content = _certificate(_plan(CLOSED), language)
    assert content["language"] == language
    document = json.dumps(content, ensure_ascii=False)
    html = certificate_html(content, language).replace("&#39;", "'")  # type: ignore[arg-type]
    pdf = " ".join(
        " ".join(
            page.extract_text()
            for page in pypdf.PdfReader(io.BytesIO(certificate_pdf(content, language))).pages  # type: ignore[arg-type]
        ).split()
    )
    ledger = CATALOGUE.systems["accounting"]
    erasure = ledger.tables["ledger_entries"].erasure
    assert erasure is not None and erasure.reason is not None
    for said in (
        ledger.title.in_(language),
        ledger.tables["ledger_entries"].description.in_(language),
        CATALOGUE.systems["debt_collection"].tables["case_notes"].description.in_(language)[:40],
        erasure.reason.in_(language),
        CATALOGUE.parties.recipients["auditor"].name.in_(language),
    ):
        assert said in html and said in pdf, said
        assert said in document or said[:40] in document, said
    assert leaked(CATALOGUE, language, html, pdf) == []
