"""Whose earlier notices an extract lists (Art. 19), and how the extract shows them: the rule is
pure and checked with properties; the JSON validates, the HTML and the PDF say it in both languages."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st
from markupsafe import escape
from pypdf import PdfReader

from schemas.generate import extract_schema
from services.catalogue.model import Catalogue
from services.fulfilment.formats import to_html, to_json, to_pdf
from services.fulfilment.texts import TEXTS
from services.fulfilment.told import recipients_notified, same_subject
from tests.fulfilment.test_formats import _extract

KINDS = ("national_id", "email", "phone", "case_number", "customer_number")
identifiers = st.dictionaries(st.sampled_from(KINDS), st.sampled_from(["a", "b", "c"]), max_size=5)
WHEN = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


@given(identifiers, identifiers)
def test_a_different_national_id_is_never_the_subject(ours: dict[str, str], theirs: dict[str, str]) -> None:
    if "national_id" in ours and "national_id" in theirs:
        assert same_subject(ours, theirs) == (ours["national_id"] == theirs["national_id"])


@given(identifiers, identifiers)
def test_a_match_needs_a_shared_person_identifier_and_no_conflicting_one(
    ours: dict[str, str], theirs: dict[str, str]
) -> None:
    person = ("national_id", "email", "phone")
    shared = [k for k in person if k in ours and ours.get(k) == theirs.get(k)]
    conflicting = [k for k in person if k in ours and k in theirs and ours[k] != theirs[k]]
    if same_subject(ours, theirs):
        assert shared
        assert not conflicting or ours.get("national_id") == theirs.get("national_id") is not None
    elif "national_id" not in ours or "national_id" not in theirs:
        assert not shared or conflicting
    assert same_subject(ours, theirs) == same_subject(theirs, ours)


def test_a_shared_case_number_or_mailbox_alone_is_not_the_subject() -> None:
    debtor = {"national_id": "1", "email": "home@x", "case_number": "INK-1"}
    assert not same_subject(debtor, {"national_id": "2", "case_number": "INK-1"})  # the guarantor
    assert not same_subject(debtor, {"case_number": "INK-1"})
    assert not same_subject(debtor, {"national_id": "2", "email": "home@x"})  # a family's mailbox
    assert not same_subject({"email": "home@x", "phone": "9"}, {"email": "home@x", "phone": "8"})
    assert same_subject(debtor, {"national_id": "1", "email": "new@x"})  # a new address, same person
    assert same_subject({"email": "home@x"}, {"email": "home@x", "phone": "9"})


def _notice(recipient: str, change: str, tables: list[str], at: datetime, **ids: str) -> dict[str, Any]:
    return {
        "reference": "DSR-2026-000007",
        "recipient": recipient,
        "change": change,
        "tables": tables,
        "record_count": 2,
        "created_at": at,
        "identifiers": ids,
    }


def _notified(catalogue: Catalogue, language: str) -> list[Any]:
    rows = [
        _notice("postal_distribution", "erased", ["crm.contacts"], WHEN + timedelta(days=1), national_id="1"),
        _notice("creditor", "restricted", ["debt_collection.case_parties"], WHEN, national_id="1"),
        _notice("auditor", "erased", ["accounting.ledger_entries"], WHEN, national_id="2"),  # not hers
    ]
    return recipients_notified(catalogue, {"national_id": "1", "email": "a@x"}, rows, language)


def test_notices_are_the_subjects_oldest_first_named_as_the_catalogue_names_them(
    catalogue: Catalogue,
) -> None:
    recipients = catalogue.parties.recipients
    for language in ("nb", "en"):
        notified = _notified(catalogue, language)
        changes = TEXTS[language].changes
        assert [(n.recipient, n.change, n.change_text) for n in notified] == [
            (recipients["creditor"].name.in_(language), "restricted", changes["restricted"]),
            (recipients["postal_distribution"].name.in_(language), "erased", changes["erased"]),
        ]
        assert notified[0].tables[0].system_title == catalogue.systems["debt_collection"].title.in_(language)
    assert notified[0].recipient == "The creditor (our client) whose claim is being collected"
    assert _notified(catalogue, "nb")[0].tables[0].system_title == "Inkasso"
    assert (
        notified[0].tables[0].table == "case_parties" and notified[0].request_reference == "DSR-2026-000007"
    )


@pytest.mark.parametrize("language", ["nb", "en"])
def test_the_extract_lists_them_in_json_html_and_pdf(catalogue: Catalogue, language: str) -> None:
    words = TEXTS[language]  # type: ignore[index]
    extract = _extract(catalogue, language, notified=_notified(catalogue, language))
    document = json.loads(to_json(extract))
    assert list(jsonschema.Draft202012Validator(extract_schema()).iter_errors(document)) == []
    assert [n["change"] for n in document["recipients_notified"]] == ["restricted", "erased"]
    html = to_html(extract)
    assert words.labels["notified"] in html and str(escape(words.notified_intro)) in html
    assert html.count('<tr class="notice"') == 2
    pdf = " ".join(
        " ".join(page.extract_text() for page in PdfReader(io.BytesIO(to_pdf(extract))).pages).split()
    )
    for expected in (
        words.labels["notified"],
        words.changes["restricted"],
        words.changes["erased"],
        "case_parties",
        catalogue.parties.recipients["creditor"].name.in_(language),  # in the extract's language
    ):
        assert expected in pdf and str(escape(expected)) in html
    other = catalogue.parties.recipients["creditor"].name.in_("en" if language == "nb" else "nb")
    assert other not in html and other not in pdf
    assert "DSR-2026-000007" in pdf
    assert _extract(catalogue, language, notified=[], portability=False).recipients_notified == []
    assert (
        _extract(
            catalogue, language, notified=extract.recipients_notified, portability=True
        ).recipients_notified
        == []
    )
    assert words.labels["notified"] not in to_html(_extract(catalogue, language))
