"""What an extract says of a register processed for several purposes on different bases, without
I/O: each purpose with its own basis in words, and for a row an earlier withdrawal of consent
reached, which purposes stopped (when, why, on which request) and which go on, in JSON, HTML and
PDF, in bokmål and English."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

import jsonschema
from hypothesis import given
from hypothesis import strategies as st
from pypdf import PdfReader

from schemas.extract import Extract, ExtractRecord
from schemas.generate import extract_schema
from services.catalogue.model import CONSENT, Catalogue, Table
from services.catalogue.text import Text, stored_text
from services.erasure.purposes import basis_words
from services.fulfilment.extract import (
    EarlierStop,
    HeldRecord,
    assemble,
    current_bases,
    record_key,
    record_purposes,
    with_stops,
)
from services.fulfilment.formats import to_html, to_json, to_pdf
from tests.fulfilment.conftest import COMPANY, RECEIVED

STOPPED_AT = datetime(2026, 11, 24, 10, 15, tzinfo=UTC)
RUNNING = Text(
    nb="Å gjennomføre arrangementet du meldte deg på, og følge opp etterpå.",
    en="Running the event you signed up for, and following up on it afterwards.",
)
CALLING = Text(
    nb="Å ringe deg om senere arrangementer og webinarer som passer for virksomheten din.",
    en="Calling you about later events and webinars, suited to your organisation.",
)
FOLLOW_UP = Text(
    nb="Å følge opp på e-post om dokumentet du lastet ned.",
    en="Following up by email on the material you downloaded.",
)
KNOWING = Text(
    nb="Å se hvilke dokumenter som lastes ned, og når, for å gjøre dem bedre.",
    en="Knowing which material is downloaded, and when, to improve it.",
)


def _signup(key: int = 41, **changes: object) -> HeldRecord:
    data: dict[str, object] = {
        "id": key,
        "event": "Webinar",
        "email": "eva.sorbotten@eksempel.no",
        "name": "Eva Sørbotten",
        "phone": None,
        "organisation": None,
        "signed_up_at": RECEIVED,
        "attended": True,
        "restricted": False,
    }
    data.update(changes)
    return HeldRecord("marketing", "event_signups", {"id": str(key)}, ("user.marketing.event",), data)


def _download() -> HeldRecord:
    data = {"id": 7, "email": None, "asset": "Guide", "downloaded_at": RECEIVED, "restricted": False}
    return HeldRecord("marketing", "downloads", {"id": "7"}, ("user.marketing.download",), data)


def _stop(*purposes: tuple[Text, str], reference: str | None = "DSR-2026-000031") -> EarlierStop:
    return EarlierStop(purposes or ((CALLING, CONSENT),), STOPPED_AT, reference)


def _assemble(catalogue: Catalogue, records: list[HeldRecord], language: str) -> Extract:
    return assemble(
        catalogue,
        reference="DSR-2026-000040",
        received_at=RECEIVED,
        records=records,
        generated_at=RECEIVED,
        company=COMPANY,
        language=language,
    )


def _by_table(extract: Extract) -> dict[tuple[str, str], ExtractRecord]:
    return {(r.table, r.data.get("event") or r.data.get("asset") or ""): r for r in extract.records}


def test_a_stopped_consent_purpose_is_named_with_its_date_and_the_rest_go_on_with_their_bases(
    catalogue: Catalogue,
) -> None:
    records = with_stops(
        [_signup(), _signup(42, event="Seminar", phone="+4740000010"), _download()],
        {
            record_key("marketing", "event_signups", {"id": 41}): _stop(),
            record_key("marketing", "downloads", {"id": "7"}): _stop((FOLLOW_UP, CONSENT)),
        },
    )
    for language, stopped_words, continuing_words in (
        ("nb", "du trakk tilbake samtykket", "vår berettigede interesse"),
        ("en", "you withdrew your consent", "our legitimate interest"),
    ):
        extract = _assemble(catalogue, records, language)
        jsonschema.validate(json.loads(to_json(extract)), extract_schema())
        by = _by_table(extract)
        stopped = by[("event_signups", "Webinar")]
        [running, calling] = stopped.purposes
        assert (running.purpose, running.legal_basis, running.basis) == (
            RUNNING.in_(language),
            "GDPR Art. 6(1)(f)",
            continuing_words,
        )
        assert running.stopped is None
        assert calling.purpose == CALLING.in_(language) and calling.legal_basis == "GDPR Art. 6(1)(a)"
        assert calling.basis == basis_words(CONSENT)[language]
        assert calling.stopped is not None and calling.stopped.on == STOPPED_AT
        assert calling.stopped.because == "consent_withdrawn"
        assert calling.stopped.because_text == stopped_words
        assert calling.stopped.request_reference == "DSR-2026-000031"
        # the record is processed on the basis that goes on, no longer on consent
        assert stopped.legal_basis == ["GDPR Art. 6(1)(f)"]

        # the same register, a row no withdrawal reached: every purpose goes on, on its own basis
        untouched = by[("event_signups", "Seminar")]
        assert [(p.legal_basis, p.stopped) for p in untouched.purposes] == [
            ("GDPR Art. 6(1)(f)", None),
            ("GDPR Art. 6(1)(a)", None),
        ]
        assert untouched.legal_basis == ["GDPR Art. 6(1)(a)", "GDPR Art. 6(1)(f)"]

        download = by[("downloads", "Guide")]
        assert [(p.purpose, p.stopped is not None) for p in download.purposes] == [
            (KNOWING.in_(language), False),
            (FOLLOW_UP.in_(language), True),
        ]


def test_a_register_without_purposes_keeps_its_one_purpose_and_bases(catalogue: Catalogue) -> None:
    cases = catalogue.systems["debt_collection"].tables["cases"]
    assert record_purposes(cases, _stop(), "nb") == []
    assert current_bases(cases, []) == [f"GDPR Art. {b}" for b in cases.legal_basis]


def test_a_purpose_stopped_under_words_the_catalogue_no_longer_has_is_still_said(
    catalogue: Catalogue,
) -> None:
    """The catalogue rewords its consent purpose after the withdrawal: what stopped then is listed
    in its words of then, and the consent purpose as worded today does not run for the row either."""
    table = catalogue.systems["marketing"].tables["event_signups"]
    old = Text(nb="Å invitere deg til senere arrangementer.", en="Inviting you to later events.")
    for language in ("nb", "en"):
        said = record_purposes(table, _stop((old, CONSENT), (CALLING, CONSENT)), language)
        assert [(p.purpose, p.stopped is not None) for p in said] == [
            (RUNNING.in_(language), False),
            (CALLING.in_(language), True),
            (old.in_(language), True),
        ]
        assert current_bases(table, said) == ["GDPR Art. 6(1)(f)"]
    # A ledger row written before the catalogue was bilingual keeps its English words in both.
    legacy = record_purposes(table, _stop((stored_text(old.en), CONSENT)), "nb")
    assert [p.purpose for p in legacy if p.stopped] == [CALLING.nb, old.en]


def test_an_extract_on_an_email_alone_leaves_the_withdrawals_reference_out(catalogue: Catalogue) -> None:
    key = record_key("marketing", "event_signups", {"id": "41"})
    [record] = with_stops([_signup()], {key: _stop()}, references=False)
    assert record.stop is not None and record.stop.request_reference is None and record.stop.on == STOPPED_AT
    [entry] = _assemble(catalogue, [record], "en").records
    assert entry.purposes[1].stopped is not None and entry.purposes[1].stopped.request_reference is None
    assert "DSR-2026-000031" not in to_html(_assemble(catalogue, [record], "en"))
    [unreached] = with_stops([_signup()], {record_key("marketing", "event_signups", {"id": "40"}): _stop()})
    assert unreached.stop is None


def _pdf_text(extract: Extract) -> str:
    return " ".join(
        " ".join(page.extract_text() for page in PdfReader(io.BytesIO(to_pdf(extract))).pages).split()
    )


def test_the_html_and_the_pdf_list_each_purpose_with_its_basis_and_what_stopped(
    catalogue: Catalogue,
) -> None:
    records = with_stops(
        [_signup(), _signup(42, event="Seminar")],
        {record_key("marketing", "event_signups", {"id": "41"}): _stop()},
    )
    expected = {
        "nb": (
            "Formål og rettslig grunnlag",
            "GDPR Art. 6(1)(f): vår berettigede interesse",
            "GDPR Art. 6(1)(a): samtykke",
            "Stanset 24. november 2026: du trakk tilbake samtykket (forespørsel DSR-2026-000031)",
            "Fortsetter",
        ),
        "en": (
            "Purposes and legal bases",
            "GDPR Art. 6(1)(f): our legitimate interest",
            "GDPR Art. 6(1)(a): consent",
            "Stopped on 24 November 2026: you withdrew your consent (request DSR-2026-000031)",
            "Continues",
        ),
    }
    for language, (heading, going, consent, stopped, continues) in expected.items():
        extract = _assemble(catalogue, records, language)
        html = to_html(extract)
        assert heading in html and going in html and consent in html
        assert html.count(stopped) == 1  # the one row the withdrawal reached
        assert html.count('data-stopped="true"') == 1 and html.count('data-stopped="false"') == 3
        assert html.count(f"<td>{continues}</td>") == 3
        flat = catalogue.systems["marketing"].tables["event_signups"].purpose
        assert flat is not None and flat.in_(language) not in html  # per purpose, no flat line
        assert RUNNING.in_(language) in html and CALLING.in_(language) in html
        other = "nb" if language == "en" else "en"
        assert RUNNING.in_(other) not in html and CALLING.in_(other) not in html
        pdf = _pdf_text(extract)
        assert going in pdf and consent in pdf and stopped in pdf
        assert f"{continues}: {RUNNING.in_(language)[:40]}" in pdf


BASES = ("6(1)(a)", "6(1)(b)", "6(1)(c)", "6(1)(f)")


@st.composite
def tables(draw: st.DrawFn) -> Table:
    """A register with one to four purposes, each on one of the table's bases (consent purposes
    stop by a mark of their own)."""
    bases = draw(st.lists(st.sampled_from(BASES), min_size=1, max_size=4, unique=True))
    on = draw(st.lists(st.sampled_from(bases), min_size=len(bases), max_size=len(bases) + 2))
    on = list(dict.fromkeys(bases)) + on[len(bases) :]
    purposes: list[dict[str, Any]] = [
        {
            "purpose": {"nb": f"Formål {i}.", "en": f"Purpose {i}."},
            "legal_basis": basis,
            **({"restriction": {"column": "mark"}} if basis == CONSENT else {}),
        }
        for i, basis in enumerate(on)
    ]
    return Table.model_validate(
        {
            "description": {"nb": "Et register.", "en": "A register."},
            "purpose": {"nb": "Flere ting.", "en": "Several things."},
            "legal_basis": bases,
            "primary_key": ["id"],
            "columns": {
                "id": {"type": "bigint", "categories": ["system.key"]},
                "mark": {"type": "boolean", "categories": ["system.processing"]},
            },
            "purposes": purposes,
        }
    )


@given(tables(), st.booleans(), st.sampled_from(["nb", "en"]))
def test_a_withdrawal_stops_exactly_the_consent_purposes_and_the_bases_follow(
    table: Table, withdrawn: bool, language: str
) -> None:
    first = Text(nb="Formål 0.", en="Purpose 0.")
    said = record_purposes(table, _stop((first, CONSENT)) if withdrawn else None, language)
    current = [p for p in said if p.purpose in {q.purpose.in_(language) for q in table.purposes}]
    assert [p.purpose for p in current] == [p.purpose.in_(language) for p in table.purposes]  # its order
    for view, purpose in zip(current, table.purposes, strict=True):
        assert view.legal_basis == f"GDPR Art. {purpose.legal_basis}"
        assert view.basis == basis_words(purpose.legal_basis)[language]
        assert (view.stopped is not None) == (withdrawn and purpose.on_consent)
    bases = current_bases(table, said)
    others = [f"GDPR Art. {b}" for b in table.legal_basis if b != CONSENT]
    assert bases, "a record always says what it is processed on"
    if withdrawn and others:
        assert bases == others  # consent is no basis for the row any more; every other one is
    else:
        assert bases == [f"GDPR Art. {b}" for b in table.legal_basis]
