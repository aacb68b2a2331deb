"""The scaffold's classifier: a column's identifier and categories by value as much as by name,
the evidence as counts (never a value). Pure; examples and properties."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from services.catalogue.model import ColumnType, IdentifierType
from services.catalogue.scaffold.classify import ColumnFacts, Suggestion, classify
from services.catalogue.scaffold.names import Hint, hints, tokens
from services.catalogue.scaffold.values import Kind, contained, kinds
from services.demo.mod11 import bank_account, national_id, organisation_number


def _text(name: str, sample: list[str] | None, table: str = "things") -> Suggestion:
    return classify(ColumnFacts(table=table, name=name, type=ColumnType.text), sample)


def _ids(count: int, *, start: int = 0) -> list[str]:
    found: list[str] = []
    individual = start
    while len(found) < count:
        value = national_id(
            date(1980 + individual % 20, 1 + individual % 12, 1 + individual % 28), individual % 500
        )
        if value is not None:
            found.append(value)
        individual += 1
    return found


# ------------------------------------------------------------------------------------ by value


def test_a_column_called_ref_that_holds_national_ids_is_an_identifier() -> None:
    suggestion = _text("ref", _ids(20))
    assert suggestion.identifier is IdentifierType.national_id
    assert suggestion.categories == ("user.identity.national_id",)
    assert "20 of 20 sampled values are valid national ids" in suggestion.evidence.sentences()


def test_a_boolean_called_email_sent_is_no_identifier() -> None:
    boolean = classify(ColumnFacts(table="letters", name="email_sent", type=ColumnType.boolean), None)
    assert boolean.identifier is None
    assert "user.contact.email" not in boolean.categories
    # ... nor the same column holding yes/no as text, nor a text `email` column of flags.
    assert _text("email_sent", ["yes", "no"] * 10).identifier is None
    flags = _text("email", ["true", "false", "true", "1", "0"] * 4)
    assert flags.identifier is None
    assert any("but only 0 of 20 sampled values fit" in s for s in flags.evidence.sentences())


def test_values_overrule_a_name_that_suggests_a_postal_address() -> None:
    emails = [f"person{n}@eksempel.no" for n in range(20)]
    suggestion = _text("address", emails, table="emails")
    assert suggestion.identifier is IdentifierType.email
    postal = _text("address", [f"Storgata {n}, 0155 Oslo" for n in range(1, 21)])
    assert postal.identifier is None
    assert postal.categories == ("user.contact.address",)


def test_phone_numbers_as_written_and_bare_ones_only_with_the_name() -> None:
    written = [f"+47 4{n:07d}" for n in range(1, 21)]
    assert _text("contact", written).identifier is IdentifierType.phone
    bare = [f"4{n:07d}" for n in range(1, 21)]  # 8-digit codes that happen to be valid numbers
    assert _text("code", bare).identifier is None
    assert _text("mobile", bare).identifier is IdentifierType.phone


def test_reference_numbers_by_name_with_values_shaped_like_references() -> None:
    cases = [f"2025-{n:07d}" for n in range(20)]
    assert _text("case_number", cases).identifier is IdentifierType.case_number
    assert _text("saksnr", cases).identifier is IdentifierType.case_number
    assert _text("kundenummer", [f"K{n:03d}-0000001" for n in range(20)]).identifier is (
        IdentifierType.customer_number
    )
    assert (
        _text("invoice_no", [f"2026{n:08d}" for n in range(20)]).identifier is IdentifierType.invoice_number
    )
    assert _text("voucher_number", [f"B{n:09d}" for n in range(20)]).identifier is None
    prose = ["Saken gjelder en faktura som ble sendt i fjor"] * 3 + ["Ring kunden tilbake"] * 2
    assert _text("case_ref", prose).identifier is None


def test_non_personal_numbers_are_no_identifiers() -> None:
    organisations = [n for serial in range(100, 140) if (n := organisation_number(serial))][:20]
    suggestion = _text("org_number", organisations, table="organisations")
    assert suggestion.identifier is None
    assert suggestion.categories == ("organisation.identifier",)
    accounts = [a for number in range(1, 60) if (a := bank_account(1503, number))][:20]
    account = _text("payer_account", accounts)
    assert account.identifier is None
    assert account.categories == ("user.financial.account",)
    ledger = _text("account", ["1920", "3000", "1500", "2400"] * 5)
    assert ledger.identifier is None and not ledger.categories


def test_free_text_is_marked_and_what_it_holds_is_counted() -> None:
    notes = [
        "Skyldner ringte og ba om betalingsutsettelse til neste måned.",
        f"Kona ringte fra 912 34 567 og ga sin e-post kari@eksempel.no, fnr {_ids(1)[0]}.",
        "Avtalt nedbetalingsplan over telefon med kunden.",
    ] * 4
    suggestion = _text("note", notes)
    assert suggestion.identifier is None
    assert suggestion.free_text
    said = suggestion.evidence.sentences()
    assert "4 of 12 sampled values contain a valid national id" in said
    assert "4 of 12 sampled values contain an email address" in said
    assert "4 of 12 sampled values contain a phone number" in said
    health = _text("health_note", notes)
    assert health.free_text and health.categories == ("user.health",)
    # The same consent wording on every row is a fixed text, not people's own words.
    consent = _text("consent_text", ["Jeg samtykker til å motta nyhetsbrev på e-post."] * 12)
    assert not consent.free_text


def test_keys_dates_of_birth_and_typed_columns() -> None:
    key = classify(ColumnFacts(table="cases", name="id", type=ColumnType.bigint, primary_key=True), None)
    assert key.categories == ("system.key",) and key.identifier is None
    born = classify(ColumnFacts(table="customers", name="born_on", type=ColumnType.date), None)
    assert born.categories == ("user.identity",)
    numeric = classify(ColumnFacts(table="customers", name="customer_number", type=ColumnType.integer), None)
    assert numeric.identifier is None
    assert numeric.categories == ("user.case.reference",)
    assert any("searches text identifier columns only" in s for s in numeric.evidence.sentences())
    empty = _text("email", [])
    assert empty.identifier is IdentifierType.email
    assert "no values to sample (the column is empty)" in empty.evidence.sentences()


def test_names_are_read_in_english_and_norwegian_and_any_case() -> None:
    assert tokens("debtorNationalID") == ("debtor", "national", "id")
    assert tokens("Fødselsnummer") == ("fodselsnummer",)
    assert hints("debtorNationalId") == [Hint.national_id]
    assert hints("Fødselsnummer") == [Hint.national_id]
    assert hints("e_post") == [Hint.email]
    assert hints("email_verified_at") == []
    assert hints("name", "organisations") == [Hint.organisation_name]
    assert hints("name", "contacts") == [Hint.person_name]
    assert hints("list_name") == []


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("02013299997", Kind.national_id),  # the official 2032-rule example (stdnum 2.2 refuses it)
        ("14837810060", Kind.national_id),  # a synthetic test number (month + 80)
        ("41016512345", None),  # a D-number with wrong check digits
        ("15030012345", Kind.bank_account),
        ("1503.00.12345", Kind.bank_account),
        ("2025-0000001", Kind.reference),
        ("Postboks 123, 0101 Oslo", Kind.address),
    ],
)
def test_what_one_value_is(value: str, kind: Kind | None) -> None:
    found = kinds(value)
    if kind is None:
        assert Kind.national_id not in found
    else:
        assert kind in found


def test_d_and_h_numbers_are_national_ids() -> None:
    d_number = national_id(date(1965, 7, 15), 123, d_number=True)
    assert d_number is not None and Kind.national_id in kinds(d_number)
    # An H-number adds 4 to the third digit (month + 40): built here with the classic check digits.
    for individual in range(100, 200):
        base = f"1547{65}{individual:03d}"
        h_number = _with_check_digits(base)
        if h_number:
            break
    assert h_number is not None and Kind.national_id in kinds(h_number)
    assert Kind.national_id in contained(f"H-nummer {h_number} i notatet")


def _with_check_digits(base: str) -> str | None:
    k1 = (11 - sum(w * int(d) for w, d in zip((3, 7, 6, 1, 8, 9, 4, 5, 2), base, strict=True)) % 11) % 11
    if k1 == 10:
        return None
    k2 = (
        11 - sum(w * int(d) for w, d in zip((5, 4, 3, 2, 7, 6, 5, 4, 3, 2), base + str(k1), strict=True)) % 11
    ) % 11
    return None if k2 == 10 else f"{base}{k1}{k2}"


# ---------------------------------------------------------------------------------- properties

names = st.text(
    alphabet=st.characters(codec="utf-8", categories=("L", "N", "Pc", "Zs")), min_size=1, max_size=40
)
samples = st.lists(st.text(max_size=60), max_size=30)


@given(names, st.integers(min_value=1, max_value=30), st.integers(min_value=0, max_value=10_000))
def test_mostly_national_ids_is_a_national_id_column_whatever_its_name(
    name: str, count: int, start: int
) -> None:
    suggestion = _text(name, _ids(count, start=start))
    assert suggestion.identifier is IdentifierType.national_id
    assert not suggestion.free_text


@settings(max_examples=40)  # st.emails() and the validator are slow; the examples above pin the rule
@given(st.lists(st.emails(), min_size=1, max_size=12), names)
def test_mostly_email_addresses_is_an_email_column(emails: list[str], name: str) -> None:
    assume(all("@" in e and len(e) < 200 for e in emails))
    suggestion = _text(name, emails)
    valid = sum(Kind.email in kinds(e) for e in emails)
    if valid * 2 >= len(emails):
        assert suggestion.identifier is not None  # an email, unless most are also national ids
    else:
        assert suggestion.identifier is not IdentifierType.email or Hint.email in suggestion.evidence.name


@given(names, st.sampled_from([t for t in ColumnType if t is not ColumnType.text]), st.booleans())
def test_a_column_that_is_not_text_is_never_an_identifier(name: str, kind: ColumnType, key: bool) -> None:
    suggestion = classify(ColumnFacts(table="t", name=name, type=kind, primary_key=key), None)
    assert suggestion.identifier is None
    assert not suggestion.free_text


@given(names, samples)
def test_the_evidence_never_holds_a_sampled_value(name: str, values: list[str]) -> None:
    marked = [f"§{value}¤" for value in values]  # characters no sentence of ours uses
    said = " ".join(_text(name, marked).evidence.sentences())
    assert "§" not in said and "¤" not in said


@given(names, samples, st.randoms(use_true_random=False))
def test_the_suggestion_does_not_depend_on_the_order_of_the_sample(
    name: str, values: list[str], rng: object
) -> None:
    shuffled = list(values)
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    first, second = _text(name, values), _text(name, shuffled)
    assert (first.identifier, first.categories, first.free_text) == (
        second.identifier,
        second.categories,
        second.free_text,
    )
    assert first.evidence.sentences() == second.evidence.sentences()


@given(st.lists(st.integers(min_value=100_000_000, max_value=999_999_999), min_size=5, max_size=25), names)
def test_nine_digit_numbers_are_never_national_ids_nor_phones(numbers: list[int], name: str) -> None:
    suggestion = _text(name, [str(n) for n in numbers])
    assert suggestion.identifier not in (IdentifierType.national_id, IdentifierType.phone)


def test_a_text_key_holding_national_ids_is_an_identifier_an_integer_key_is_a_key() -> None:
    text_key = classify(
        ColumnFacts(table="persons", name="fnr", type=ColumnType.text, primary_key=True), _ids(5)
    )
    assert text_key.identifier is IdentifierType.national_id
    code = classify(ColumnFacts(table="c", name="code", type=ColumnType.text, primary_key=True), ["A1", "B2"])
    assert code.identifier is None and code.categories == ("system.key",)
    reference = classify(
        ColumnFacts(table="c", name="case_id", type=ColumnType.bigint, references="cases.id"), None
    )
    assert reference.categories == ("system.key",)
