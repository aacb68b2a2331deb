"""Art. 15(4) inside free text: another person's identifiers never survive a scan, the subject's
are never withheld, a scan of a scanned text changes nothing, and a name no identifier gives away
makes the text uncertain (a person decides)."""

from __future__ import annotations

import typing

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.no import fodselsnummer

from schemas.extract import Redaction
from services.catalogue.model import IdentifierType
from services.demo import vocabulary
from services.fulfilment.free_text import SubjectTerms, Withheld, e164, scan, uncertain_mentions
from services.fulfilment.texts import MARKER_PATTERN, TEXTS, texts
from tests.unit.strategies import digits_of, formatted_national_ids, national_ids, phones

OLA = SubjectTerms.build(
    [
        (IdentifierType.national_id, "14837810060"),
        (IdentifierType.phone, "+4740000001"),
        (IdentifierType.email, "ola.nordmann@eksempel.no"),
        (IdentifierType.case_number, "2025-0000001"),
        (IdentifierType.customer_number, "K003-0000042"),
        (IdentifierType.case_number, "INK-2025-000011"),
    ],
    names=["Ola Nordmann"],
    accounts=["15030012345"],
    reference_examples=[(IdentifierType.case_number, "INK-2025-000011")],
)
"""Ola's terms; his case system also writes case numbers as `INK-2025-000011` (a shape to look for)."""

WIFE_ID, WIFE_PHONE, WIFE_EMAIL = "02887410189", "+4740000012", "kari.nordmann@eksempel.no"


def _marker(kind: Withheld, language: str = "nb") -> str:
    words = texts(language)
    return words.withheld_marker.format(what=words.withheld_kinds[kind.value])


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("Kona ringte fra 400 00 012.", {Withheld.phone: 1}),
        ("Hennes nummer er +47 412 34 567 eller 0047 41234568.", {Withheld.phone: 2}),
        (f"Fnr. {WIFE_ID[:6]} {WIFE_ID[6:]} oppgitt.", {Withheld.national_id: 1}),
        ("D-nummer 41018012345 gjelder ikke ham.", {}),  # bad check digits: no identifier
        ("Kausjonist 42018012051 ble kontaktet.", {Withheld.d_number: 1}),
        (f"Skriv til {WIFE_EMAIL} i stedet.", {Withheld.email: 1}),
        ("Betalt fra konto 9710.12.34561.", {Withheld.bank_account: 1}),
        ("Gjelder også sak 2025-0000777 og INK-2024-000999.", {Withheld.case_number: 2}),
        ("Kundenummer K004-0001234 er naboens.", {Withheld.customer_number: 1}),
        ("Faktura 202500000012 er betalt.", {Withheld.invoice_number: 1}),
    ],
)
def test_another_persons_identifiers_become_markers_saying_what_and_why(
    text: str, kinds: dict[Withheld, int]
) -> None:
    result = scan(text, OLA, "nb")
    assert dict(result.withheld) == kinds
    assert result.text.count("[holdt tilbake: ") == sum(kinds.values())
    for kind in kinds:
        assert _marker(kind) in result.text and "art. 15 nr. 4" in result.text
    again = scan(result.text, OLA, "nb")
    assert (again.text, again.withheld, again.uncertain) == (result.text, (), result.uncertain)


def test_the_subjects_own_identifiers_stay_in_any_form_they_are_written() -> None:
    text = (
        "Ola ringte fra 400 00 001 (+47 40000001), fnr. 148378 10060, e-post Ola.Nordmann@Eksempel.no, "
        "om sak 2025-0000001 og INK-2025-000011? Nei: kunde K003-0000042, konto 1503 00 12345."
    )
    result = scan(text, OLA, "en")
    assert result.text == text and result.withheld == () and result.uncertain == 0


def test_markers_are_in_the_extracts_language_and_never_scanned_again() -> None:
    english = scan(f"Wife: {WIFE_PHONE}, {WIFE_EMAIL}", OLA, "en")
    assert english.text == (f"Wife: {_marker(Withheld.phone, 'en')}, {_marker(Withheld.email, 'en')}")
    assert "[withheld: another person's phone number — Art. 15(4)]" in english.text
    for language in TEXTS:
        words = texts(language)
        for kind in Withheld:
            marker = words.withheld_marker.format(what=words.withheld_kinds[kind.value])
            assert MARKER_PATTERN.fullmatch(marker)
            assert scan(f"x {marker} y", OLA, language).text == f"x {marker} y"
        assert MARKER_PATTERN.fullmatch(words.withheld_text)
    assert (
        TEXTS["nb"].withheld_kinds.keys() == TEXTS["en"].withheld_kinds.keys() == {k.value for k in Withheld}
    )


def test_the_extracts_schema_names_every_kind_the_scan_withholds() -> None:
    kinds = typing.get_args(typing.get_args(Redaction.model_fields["withheld"].annotation)[0])
    assert set(kinds) == {kind.value for kind in Withheld}


@pytest.mark.parametrize(
    ("text", "uncertain"),
    [
        ("Kari Hansen ringte og ba om utsettelse.", 1),
        ("Skyldner ringte sammen med Kari Hansen.", 1),
        ("Ola Nordmann ringte selv.", 0),
        ("Skyldner Ola ringte.", 0),  # a capitalised first word is no name by itself
        ("Kari Nordmann ringte for ham.", 1),  # ... but before his surname it is someone's given name
        ("Ola Nordmann og Kari Nordmann ringte.", 1),
        ("Snakket med kona hans, Kari, i dag.", 1),
        ("Kona hans ringte; hun ønsker kopi.", 0),  # a relation without a name gives no one away
        ("Kausjonist Per ble varslet.", 1),
        ("Spoke to his wife Anne on the phone.", 1),
        ("Kari, samboeren, betaler.", 1),
        ("Mrs Berg called back.", 1),
        ("Hei Ola, takk for sist. Mvh Nordlys Strøm AS", 0),  # an organisation, not a person
        ("Betalt via Vipps og BankID-signert; sendt til Nav.", 0),
        ("Fornøyd: 3; Kommentar: vanskelig å finne saksnummer", 0),
        ("Webinar: Ny inkassolov 2026", 0),
    ],
)
def test_a_name_no_identifier_gives_away_makes_the_text_uncertain(text: str, uncertain: int) -> None:
    assert uncertain_mentions(text, OLA) == uncertain
    assert scan(text, OLA).text == text  # names are a person's call, never rewritten by the scan


def test_every_text_the_demo_generates_scans_clean() -> None:
    """The random population's notes and messages name nobody: their extracts never wait for review."""
    generated = [
        *vocabulary.CASE_NOTES,
        *vocabulary.HEALTH_NOTES,
        *vocabulary.FORM_MESSAGES,
        *vocabulary.EMAIL_SUBJECTS,
        *(s for s in vocabulary.CALL_SUMMARIES if s),
        *vocabulary.SURVEY_ANSWERS,
    ]
    nobody = SubjectTerms.build()
    for text in generated:
        result = scan(text, nobody)
        assert (result.text, result.withheld, result.uncertain) == (text, (), 0), text


# ------------------------------------------------------------------------------------- properties

_SEPARATORS = st.sampled_from([" ", ", ", ": ", " (", "\n", " - ", "; "])
_FILLER = st.text(
    st.characters(codec="utf-8", categories=["L", "Nd", "Zs", "P"], exclude_characters="[]@+"),
    max_size=40,
).map(lambda text: text.strip(" 0123456789-.()/"))
"""Arbitrary words and punctuation around the identifier (not digits touching it: `5 40000012`
is not a phone number a reader can tell apart either)."""


def _embedded(value: str) -> st.SearchStrategy[str]:
    return st.builds(
        lambda a, s1, s2, b: f"{a}{s1}{value}{s2}{b}", _FILLER, _SEPARATORS, _SEPARATORS, _FILLER
    )


def _others() -> st.SearchStrategy[tuple[str, str]]:
    emails = st.from_regex(r"[a-z][a-z0-9._]{0,12}[a-z0-9]@[a-z]{2,10}\.(no|com|net)", fullmatch=True)
    return st.one_of(
        formatted_national_ids().map(lambda v: ("national_id", v)),
        phones().filter(lambda v: e164(v) is not None).map(lambda v: ("phone", v)),
        emails.map(lambda v: ("email", v)),
    )


def _survives(value: str, text: str) -> bool:
    if "@" in value:
        return value.casefold() in text.casefold()
    return digits_of(value)[-8:] in digits_of(text)


@given(other=_others(), data=st.data())
def test_another_persons_valid_identifier_never_survives(other: tuple[str, str], data: st.DataObject) -> None:
    _, value = other
    text = data.draw(_embedded(value))
    result = scan(text, OLA, data.draw(st.sampled_from(["nb", "en"])))
    assert not _survives(value, result.text), (text, result.text)
    assert sum(count for _, count in result.withheld) >= 1


@given(
    value=st.sampled_from(
        [
            "14837810060",
            "148378 10060",
            "+47 400 00 001",
            "400 00 001",
            "40000001",
            "0047 40 00 00 01",
            "ola.nordmann@eksempel.no",
            "OLA.NORDMANN@eksempel.no",
            "2025-0000001",
            "K003-0000042",
            "1503.00.12345",
        ]
    ),
    data=st.data(),
)
def test_the_subjects_own_identifiers_are_never_withheld(value: str, data: st.DataObject) -> None:
    text = data.draw(_embedded(value))
    result = scan(text, OLA, "en")
    assert value in result.text, (text, result.text)


@given(
    text=st.lists(
        st.one_of(_FILLER, _others().map(lambda o: o[1]), st.sampled_from(["400 00 001", "14837810060"])),
        max_size=6,
    ).map(" ".join),
    language=st.sampled_from(["nb", "en"]),
)
def test_a_scan_is_idempotent(text: str, language: str) -> None:
    once = scan(text, OLA, language)
    assert scan(once.text, OLA, language).text == once.text
    assert scan(once.text, OLA, language).uncertain == once.uncertain


@given(number=national_ids())
def test_every_national_id_python_stdnum_accepts_is_withheld(number: str) -> None:
    assert fodselsnummer.is_valid(number) or number[0] >= "4"  # stdnum 2.2: D-numbers too
    result = scan(f"Fnr {number}.", OLA)
    assert number not in result.text
    kind = Withheld.d_number if number[0] >= "4" else Withheld.national_id
    assert dict(result.withheld) == {kind: 1}
