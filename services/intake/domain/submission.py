"""The rules a submission must meet before it is stored, and who counts as the same subject. Pure."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime

from schemas.requests import Channel, RequestSubmission, RequestType, VerificationMethod
from services.intake.domain.identifiers import (
    InvalidIdentifier,
    normalise_email,
    normalise_phone,
    normalise_reference,
    parse_national_id,
)

# Channels where the company, not the sender, says when the request arrived.
BACKDATABLE = frozenset({Channel.phone, Channel.email, Channel.letter, Channel.system})
# A backlog may be migrated, but nothing this company holds predates this.
EARLIEST_RECEIPT = datetime(2000, 1, 1, tzinfo=UTC)
# Only a signed-in portal session or a system that checked it may claim BankID.
BANKID_CHANNELS = frozenset({Channel.plan_and_pay, Channel.system})


@dataclass(frozen=True)
class Identifiers:
    """A subject's identifiers, normalised so that two spellings of one value compare equal."""

    national_id: str | None = None
    email: str | None = None
    phone: str | None = None
    case_number: str | None = None
    customer_number: str | None = None
    invoice_number: str | None = None

    def pairs(self) -> list[tuple[str, str]]:
        return [(name, v) for name in _IDENTIFIER_KINDS if (v := getattr(self, name)) is not None]


_IDENTIFIER_KINDS = tuple(f.name for f in fields(Identifiers))


def check_submission(submission: RequestSubmission, *, now: datetime, accept_synthetic: bool) -> Identifiers:
    """Validate what pydantic cannot (it depends on the channel, the clock, configuration)."""
    if submission.received_at is not None:
        if submission.channel not in BACKDATABLE:
            raise InvalidIdentifier(
                "received_at",
                "field_forbidden_for_channel",
                f"received_at is not accepted on the {submission.channel} channel",
            )
        if submission.received_at < EARLIEST_RECEIPT:
            raise InvalidIdentifier(
                "received_at", "received_at_too_old", "received_at cannot be before 2000-01-01"
            )
        if submission.received_at > now:
            raise InvalidIdentifier(
                "received_at", "received_at_in_future", "received_at cannot be in the future"
            )
    verification = submission.verification
    claims_bankid = verification is not None and verification.method is VerificationMethod.bankid
    if claims_bankid and submission.channel not in BANKID_CHANNELS:
        raise InvalidIdentifier(
            "verification.method",
            "field_forbidden_for_channel",
            f"bankid cannot be declared on the {submission.channel} channel",
        )
    if submission.type is RequestType.rectification and not submission.details.corrections:
        raise InvalidIdentifier(
            "details.corrections", "missing_corrections", "a rectification needs the corrections"
        )
    if submission.type is RequestType.objection and not submission.details.objection_grounds:
        raise InvalidIdentifier(
            "details.objection_grounds", "missing_objection_grounds", "an objection needs its grounds"
        )
    return normalise_subject(submission, accept_synthetic=accept_synthetic)


def normalise_subject(submission: RequestSubmission, *, accept_synthetic: bool) -> Identifiers:
    subject = submission.subject
    return Identifiers(
        national_id=parse_national_id(subject.national_id, accept_synthetic=accept_synthetic).value
        if subject.national_id
        else None,
        email=normalise_email(subject.email) if subject.email else None,
        phone=normalise_phone(subject.phone) if subject.phone else None,
        case_number=normalise_reference(subject.case_number, field="subject.case_number")
        if subject.case_number
        else None,
        customer_number=normalise_reference(subject.customer_number, field="subject.customer_number")
        if subject.customer_number
        else None,
        invoice_number=normalise_reference(subject.invoice_number, field="subject.invoice_number")
        if subject.invoice_number
        else None,
    )


def same_subject(a: Identifiers, b: Identifiers) -> bool:
    """True only when the two certainly name one person: never merge two people.

    They must not disagree on any identifier both have, and must share the national id or
    else have exactly the same identifiers. A phone or an email alone can be shared by a
    household, so sharing one is not enough.
    """
    mine, theirs = dict(a.pairs()), dict(b.pairs())
    if any(mine[k] != theirs[k] for k in mine.keys() & theirs.keys()):
        return False
    if a.national_id is not None and a.national_id == b.national_id:
        return True
    return bool(mine) and mine == theirs
