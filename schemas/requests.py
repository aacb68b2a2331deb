"""The data subject request as integrators submit it (HTTP body and Kafka payload alike)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator


class RequestType(StrEnum):
    access = "access"
    portability = "portability"
    rectification = "rectification"
    erasure = "erasure"
    restriction = "restriction"
    objection = "objection"
    marketing_opt_out = "marketing_opt_out"
    consent_withdrawal = "consent_withdrawal"
    newsletter_unsubscribe = "newsletter_unsubscribe"


class Channel(StrEnum):
    web_form = "web_form"
    plan_and_pay = "plan_and_pay"
    phone = "phone"
    email = "email"
    letter = "letter"
    system = "system"


class RequestStatus(StrEnum):
    received = "received"
    awaiting_verification = "awaiting_verification"
    verified = "verified"
    locating = "locating"
    needs_review = "needs_review"
    fulfilling = "fulfilling"
    completed = "completed"
    referred = "referred"
    refused = "refused"
    cancelled = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset(
    {RequestStatus.completed, RequestStatus.referred, RequestStatus.refused, RequestStatus.cancelled}
)


class VerificationMethod(StrEnum):
    bankid = "bankid"
    phone_checks = "phone_checks"
    id_document = "id_document"
    email_link = "email_link"


class VerificationCheck(StrEnum):
    national_id = "national_id"
    address = "address"
    case_number = "case_number"
    security_question = "security_question"


class Language(StrEnum):
    nb = "nb"
    en = "en"


class ReplyBy(StrEnum):
    email = "email"
    post = "post"


def _without_nul(value: Any) -> Any:
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("text must not contain the NUL character")
    if isinstance(value, dict):
        for key, item in value.items():
            _without_nul(key)
            _without_nul(item)
    if isinstance(value, list):
        for item in value:
            _without_nul(item)
    return value


class ContractInput(BaseModel):
    """Base of every model a caller sends: unknown fields refused, text trimmed, no NUL
    characters (PostgreSQL cannot store them, and no human wrote one)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return _without_nul(value)


class Subject(ContractInput):
    """Who the request is about: at least one identifier; a name alone identifies nobody."""

    national_id: str | None = Field(default=None, max_length=20, description="Fødselsnummer, D- or H-number")
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=32)
    name: str | None = Field(default=None, max_length=200)
    case_number: str | None = Field(default=None, max_length=40)
    customer_number: str | None = Field(default=None, max_length=40)
    invoice_number: str | None = Field(default=None, max_length=40)

    @model_validator(mode="after")
    def _at_least_one_identifier(self) -> Subject:
        identifiers = (
            self.national_id,
            self.email,
            self.phone,
            self.case_number,
            self.customer_number,
            self.invoice_number,
        )
        if not any(identifiers):
            raise ValueError("at least one identifier is required (a name alone is not an identifier)")
        return self


class Verification(ContractInput):
    method: VerificationMethod
    checks: list[VerificationCheck] = Field(default_factory=list, max_length=4)
    verified_by: str = Field(min_length=1, max_length=100, description="The agent or system that checked")


class Requester(ContractInput):
    kind: str = Field(default="subject", pattern=r"^(subject|representative)$")
    name: str | None = Field(default=None, max_length=200)
    power_of_attorney: bool = False


class Details(ContractInput):
    corrections: dict[str, str] | None = Field(default=None, max_length=50, description="For rectification")
    objection_grounds: str | None = Field(default=None, max_length=4000)
    language: Language = Language.nb
    notes: str | None = Field(default=None, max_length=4000)
    reply_by: ReplyBy | None = Field(
        default=None, description="How the subject wants notices: by email or by post"
    )
    postal_address: str | None = Field(
        default=None, max_length=500, description="Where letters go, when notices are sent by post"
    )


class RequestSubmission(ContractInput):
    """The body of `POST /v1/requests` and the payload of `request.submitted`."""

    type: RequestType
    channel: Channel
    subject: Subject
    received_at: AwareDatetime | None = Field(
        default=None,
        description="When the request actually reached the company (phone, email, letter, system)",
    )
    verification: Verification | None = None
    details: Details = Field(default_factory=Details)
    requester: Requester = Field(default_factory=Requester)


class RequestView(BaseModel):
    """What the API answers about a request: no personal data beyond what the caller sent."""

    id: str
    reference: str
    type: RequestType
    channel: Channel
    status: RequestStatus
    received_at: datetime
    due_date: str
    paused_days: int = 0
    extended: bool = False
