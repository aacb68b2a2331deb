"""Identity assurance from the channel and the recorded evidence (BRIEF §3). Pure."""

from __future__ import annotations

from enum import IntEnum, StrEnum

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


# --- A confirmed email link (issue 11) ---------------------------------------------------------


class IdentityScope(StrEnum):
    """Which records the proven identity opens; stored on the request, honoured by the locator."""

    email_direct = "email_direct"
    """Only records found directly by the confirmed email that name no national id and no case."""


EMAIL_CONFIRMATION_PROVES = "control of the email address given in the request"


def email_confirmed(request_type: RequestType, current: Assurance) -> tuple[Assurance, IdentityScope | None]:
    """What a confirmed email link is worth for this type.

    Enough on its own where the type needs little (newsletter, marketing, consent); otherwise it
    counts as substantial only for records found directly by that email, because a mailbox can be
    shared by a family: records reached from it through other identifiers need Plan & Pay or an
    agent's checks. Evidence already stronger keeps its full scope.
    """
    if current >= REQUIRED[request_type]:
        return current, None
    if REQUIRED[request_type] <= Assurance.low:
        return max(current, Assurance.low), None
    return Assurance.substantial, IdentityScope.email_direct
