"""Identity assurance from channel and evidence, and what each request type needs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.requests import Channel, RequestType, Verification, VerificationCheck, VerificationMethod
from services.intake.domain.assurance import REQUIRED, Assurance, assess, sufficient

C = VerificationCheck
PHONE_FULL = [C.national_id, C.address, C.case_number]


def verification(method: VerificationMethod, checks: list[VerificationCheck] | None = None) -> Verification:
    return Verification(method=method, checks=checks or [], verified_by="agent-7")


def test_plan_and_pay_is_high_assurance_on_its_own() -> None:
    assert assess(Channel.plan_and_pay, None) is Assurance.high


@pytest.mark.parametrize("channel", [c for c in Channel if c is not Channel.plan_and_pay])
def test_every_other_channel_without_verification_is_low(channel: Channel) -> None:
    assert assess(channel, None) is Assurance.low


@pytest.mark.parametrize(
    "checks",
    [PHONE_FULL, [C.case_number, C.address, C.national_id], [*PHONE_FULL, C.security_question]],
)
def test_phone_checks_of_national_id_address_and_case_number_are_substantial(
    checks: list[VerificationCheck],
) -> None:
    assert (
        assess(Channel.phone, verification(VerificationMethod.phone_checks, checks)) is Assurance.substantial
    )


@given(st.lists(st.sampled_from(list(C)), max_size=4).filter(lambda cs: not set(PHONE_FULL) <= set(cs)))
def test_phone_checks_missing_any_of_the_three_are_low(checks: list[VerificationCheck]) -> None:
    assert assess(Channel.phone, verification(VerificationMethod.phone_checks, checks)) is Assurance.low


@pytest.mark.parametrize(
    ("method", "level"),
    [
        (VerificationMethod.bankid, Assurance.high),
        (VerificationMethod.id_document, Assurance.substantial),
        (VerificationMethod.email_link, Assurance.low),
    ],
)
def test_each_verification_method_gives_its_level(method: VerificationMethod, level: Assurance) -> None:
    assert assess(Channel.web_form, verification(method)) is level


@given(
    st.sampled_from(list(Channel)),
    st.sampled_from(list(VerificationMethod)),
    st.lists(st.sampled_from(list(C)), max_size=4),
)
def test_verification_never_lowers_what_the_channel_gives(
    channel: Channel, method: VerificationMethod, checks: list[VerificationCheck]
) -> None:
    assert assess(channel, verification(method, checks)) >= assess(channel, None)


def test_assurance_levels_are_ordered_low_substantial_high() -> None:
    assert Assurance.low < Assurance.substantial < Assurance.high


@pytest.mark.parametrize(
    ("request_type", "needed"),
    [
        (RequestType.access, Assurance.substantial),
        (RequestType.portability, Assurance.substantial),
        (RequestType.rectification, Assurance.substantial),
        (RequestType.erasure, Assurance.substantial),
        (RequestType.restriction, Assurance.substantial),
        (RequestType.objection, Assurance.substantial),
        (RequestType.marketing_opt_out, Assurance.low),
        (RequestType.newsletter_unsubscribe, Assurance.low),
        (RequestType.consent_withdrawal, Assurance.low),
    ],
)
def test_each_request_type_needs_its_assurance_level(request_type: RequestType, needed: Assurance) -> None:
    assert REQUIRED[request_type] is needed
    assert all(sufficient(request_type, level) == (level >= needed) for level in Assurance)


def test_every_request_type_has_a_requirement() -> None:
    assert set(REQUIRED) == set(RequestType)


@pytest.mark.parametrize(
    "request_type",
    [RequestType.marketing_opt_out, RequestType.newsletter_unsubscribe, RequestType.consent_withdrawal],
)
def test_stopping_marketing_or_withdrawing_consent_is_possible_at_any_level(
    request_type: RequestType,
) -> None:
    assert all(sufficient(request_type, level) for level in Assurance)


def test_an_email_link_alone_is_not_enough_to_see_or_erase_data() -> None:
    level = assess(Channel.email, verification(VerificationMethod.email_link))
    assert not sufficient(RequestType.access, level)
    assert not sufficient(RequestType.erasure, level)
    assert sufficient(RequestType.newsletter_unsubscribe, level)
