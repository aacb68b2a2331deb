"""Synthetic identifiers: valid, distinct, and never a showcase subject's."""

from __future__ import annotations

import random

import phonenumbers

from services.demo.identities import PHONE_BLOCKS, IdentityFactory, PhoneNumbers
from services.demo.mod11 import bank_account, national_id_check_digits_valid, organisation_number
from services.demo.showcase import showcase_subjects
from services.intake.domain.identifiers import NationalIdKind, normalise_phone, parse_national_id


def test_generated_people_have_valid_distinct_synthetic_national_ids() -> None:
    factory = IdentityFactory(
        random.Random(3), reserved_national_ids=[s.national_id for s in showcase_subjects()]
    )
    people = [factory.person(index) for index in range(20_000)]
    ids = [person.national_id for person in people]
    assert len(set(ids)) == len(ids)
    assert not set(ids) & {subject.national_id for subject in showcase_subjects()}
    for value in ids:
        assert national_id_check_digits_valid(value)
        assert parse_national_id(value, accept_synthetic=True).kind is NationalIdKind.synthetic
    d_numbers = [value for value in ids if int(value[0]) >= 4]
    assert 0.02 < len(d_numbers) / len(ids) < 0.06


def test_generated_people_never_share_a_phone_or_an_email() -> None:
    factory = IdentityFactory(random.Random(4), reserved_national_ids=[])
    people = [factory.person(index) for index in range(20_000)]
    assert len({person.phone for person in people}) == len(people)
    assert len({person.email for person in people}) == len(people)
    showcase = showcase_subjects()
    assert not {p.phone for p in people} & {s.phone for s in showcase}
    assert not {p.email for p in people} & {s.email for s in showcase}
    assert all(any(ch.isdigit() for ch in person.email) for person in people)


def test_phone_numbers_are_a_permutation_of_valid_mobile_numbers_outside_the_showcase_block() -> None:
    phones = PhoneNumbers(random.Random(5))
    assert phones.capacity == sum(end - start for start, end in PHONE_BLOCKS)
    sample = [phones(index) for index in range(0, phones.capacity, 997)]
    assert len(set(sample)) == len(sample)
    for number in sample[:3000]:
        assert normalise_phone(number) == number
        assert phonenumbers.number_type(phonenumbers.parse(number)) == phonenumbers.PhoneNumberType.MOBILE
        assert not number.startswith("+4740000")
    for subject in showcase_subjects():
        assert normalise_phone(subject.phone) == subject.phone


def test_showcase_national_ids_are_valid_synthetic_numbers() -> None:
    for subject in showcase_subjects():
        assert parse_national_id(subject.national_id, accept_synthetic=True).kind is NationalIdKind.synthetic


def test_other_mod11_numbers() -> None:
    assert bank_account(1503, 1234) == "15030012345"  # weights 5 4 3 2 7 6 5 4 3 2
    assert organisation_number(1_000_000) is None or len(organisation_number(1_000_000) or "") == 9
