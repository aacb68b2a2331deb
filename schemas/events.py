"""Payloads of every event type, named in the past tense (what happened).

Events carry references and counts, not personal data: a consumer that needs the subject's
identifiers reads them from the ledger by `request_id`.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from schemas.requests import Channel, RequestStatus, RequestSubmission, RequestType


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RequestSubmitted(RequestSubmission):
    """An integrated system or the Plan & Pay portal submits a request (`dsr.intake.v1`)."""


class RequestAccepted(_Payload):
    """Intake stored the submission (or found the original of a retried one)."""

    request_id: str
    reference: str
    status: RequestStatus
    due_date: date
    duplicate_of: str | None = Field(
        default=None, description="Reference of the open request this one joined"
    )


class RequestRejected(_Payload):
    """Intake refused the submission; the reason names no personal data."""

    reason_code: str = Field(pattern=r"^[a-z][a-z0-9_.]*$")
    field_path: str | None = Field(default=None, description="Dotted path of the offending field")


class RequestReceived(_Payload):
    reference: str
    type: RequestType
    channel: Channel
    status: RequestStatus
    due_date: date


class VerificationRequested(_Payload):
    reference: str
    due_date: date
    required_assurance: str


class RequestVerified(_Payload):
    """Identity assurance is sufficient: the request is ready to locate."""

    reference: str
    type: RequestType
    due_date: date


class RequestCancelled(_Payload):
    reference: str
    reason: str = Field(max_length=200)


class RequestRefused(_Payload):
    """Refused before fulfilment (identity not confirmed in time); the reason is a code."""

    reference: str
    reason_code: str = Field(pattern=r"^[a-z][a-z0-9_.]*$")


class DeadlineExtended(_Payload):
    reference: str
    due_date: date


class SubjectLocated(_Payload):
    """The locator finished searching; counts only."""

    type: RequestType
    finding_count: int = Field(ge=0)
    systems_searched: int = Field(ge=0)
    findings_by_system: dict[str, int] = Field(default_factory=dict)


class ReviewRequired(_Payload):
    """A human must decide; the reason is a code with counts, never personal data."""

    stage: str
    reason_code: str = Field(pattern=r"^[a-z][a-z0-9_.]*$")
    counts: dict[str, int] = Field(
        default_factory=dict,
        description="What the reason counted, e.g. distinct national ids or emails found (since 1.1)",
    )
    systems: list[str] = Field(
        default_factory=list, description="Systems the reason is about, e.g. one that stayed down (since 1.1)"
    )


class RequestFulfilled(_Payload):
    """The request reached a terminal status after fulfilment."""

    type: RequestType
    status: RequestStatus
    artifact_count: int = Field(default=0, ge=0)


class ReferredToController(_Payload):
    """Data about the subject is held only as a processor for this client: the client (the
    controller) must answer the request. One event per controller; names the organisation, not
    the subject (the notifier reads the request from the ledger)."""

    reference: str
    type: RequestType
    system: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="The catalogue system holding the data")
    controller: str = Field(min_length=1, description="The client's name (an organisation)")
    controller_org_number: str | None = Field(default=None, description="The client's organisation number")
    record_count: int = Field(ge=1)


class DeadlineAtRisk(_Payload):
    """A request has at most the configured number of days left (SLA tracking)."""

    reference: str
    due_date: date
    days_left: int


class DeadlineMissed(_Payload):
    """A request is still open after its due date."""

    reference: str
    due_date: date
    days_overdue: int = Field(ge=1)


class DeadLetterRecorded(_Payload):
    """A message a consumer could not handle; `reason_code` never holds personal data."""

    reason_code: str = Field(pattern=r"^[a-z][a-z0-9_.]*$")
    consumer: str
    source_topic: str
    source_partition: int
    source_offset: int
    original_key_b64: str | None = None
    original_value_b64: str = Field(description="The message exactly as received, for re-drive")


class RecipientNotified(_Payload):
    """Art. 19: a recipient the catalogue lists for the affected tables is to be told that data it
    received was erased, anonymised, rectified or restricted (the notifier sends it)."""

    reference: str
    recipient: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="The recipient's key in parties.yaml")
    change: str = Field(pattern=r"^(erased|anonymised|rectified|restricted)$")
    tables: list[str] = Field(description="`system.table` of every affected table the recipient receives")
    record_count: int = Field(ge=0)


class RestrictionLifting(_Payload):
    """Art. 18(3): the subject is told, before it happens, that a restriction will be lifted."""

    reference: str
    record_count: int = Field(ge=0)
    lifted_by: str
