"""Identity assurance from the channel and the recorded evidence (BRIEF §3). Pure."""

from __future__ import annotations

from enum import IntEnum

from schemas.requests import Channel, RequestType, Verification, VerificationCheck, VerificationMethod


class Assurance(IntEnum):
    low = 1
    substantial = 2
    high = 3


# Stopping marketing or a newsletter, or withdrawing consent, must be as easy as signing up.
REQUIRED: dict[RequestType, Assurance] = {
    RequestType.access: Assurance.substantial,
    RequestType.portability: Assurance.substantial,
    RequestType.rectification: Assurance.substantial,
    RequestType.erasure: Assurance.substantial,
    RequestType.restriction: Assurance.substantial,
    RequestType.objection: Assurance.substantial,
    RequestType.marketing_opt_out: Assurance.low,
    RequestType.newsletter_unsubscribe: Assurance.low,
    RequestType.consent_withdrawal: Assurance.low,
}

_PHONE_CHECKS_FOR_SUBSTANTIAL = {
    VerificationCheck.case_number,
    VerificationCheck.national_id,
    VerificationCheck.address,
}


def assess(channel: Channel, verification: Verification | None) -> Assurance:
    """The assurance a request carries when it arrives."""
    level = Assurance.high if channel is Channel.plan_and_pay else Assurance.low
    if verification is None:
        return level
    if verification.method in (VerificationMethod.bankid, VerificationMethod.id_document):
        evidence = (
            Assurance.high if verification.method is VerificationMethod.bankid else Assurance.substantial
        )
    elif verification.method is VerificationMethod.phone_checks:
        checks = set(verification.checks)
        evidence = Assurance.substantial if checks >= _PHONE_CHECKS_FOR_SUBSTANTIAL else Assurance.low
    else:  # a confirmed email link proves control of an address, not who the person is
        evidence = Assurance.low
    return max(level, evidence)


def sufficient(request_type: RequestType, assurance: Assurance) -> bool:
    return assurance >= REQUIRED[request_type]


def admission_status(request_type: RequestType, level: Assurance) -> tuple[str, str]:
    """The status a new request takes, and why: ready to locate, or waiting for proof."""
    if sufficient(request_type, level):
        return "verified", f"assurance {level.name}"
    return "awaiting_verification", f"assurance {level.name} below {REQUIRED[request_type].name}"
