"""The access extract (Art. 15) as the subject receives it: the machine-readable document.

Its JSON Schema is published in `schemas/generated/extract.json` (`python -m schemas.generate`), so
that a subject, a lawyer or the data protection authority can check what every field means. The
HTML and PDF versions are rendered from this same model.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

EXTRACT_SCHEMA_VERSION = "1.1"


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RetentionView(_Part):
    """How long the record is kept: the rule in words and, where one can be computed, the date."""

    rule: str = Field(
        description="The retention rule, as the data catalogue states it, in the extract's language."
    )
    date: dt.date | None = Field(
        None, description="The day the record is erased or anonymised at the latest, when it is known."
    )
    until: str | None = Field(
        None,
        description="When no date can be computed yet, what it waits for (e.g. 'while the case is open').",
    )


class AutomatedDecisionView(_Part):
    """Art. 15(1)(h) and Art. 22: the logic involved and what it means for the subject."""

    logic: str
    significance: str


class Redaction(_Part):
    """Something about another person left out of a field (Art. 15(4)): the whole field
    (`another_person`), identifiers inside a free text, each replaced by a marker saying what was
    withheld (`another_persons_identifier`, one entry per kind with its count), or a whole free text
    a reviewer withheld because it is about someone else (`mentions_another_person`). Never the value."""

    field: str
    reason: Literal["another_person", "another_persons_identifier", "mentions_another_person"] = (
        "another_person"
    )
    withheld: (
        Literal[
            "national_id",
            "d_number",
            "phone",
            "email",
            "bank_account",
            "case_number",
            "customer_number",
            "invoice_number",
        ]
        | None
    ) = Field(None, description="For `another_persons_identifier`: the kind of identifier withheld.")
    count: int | None = Field(
        None, ge=1, description="For `another_persons_identifier`: how many of that kind the text held."
    )


class PurposeStopped(_Part):
    """A purpose that no longer uses the record, since when and why (Art. 7(3): a withdrawn
    consent stops what rests on it, and only that)."""

    on: dt.datetime = Field(description="When the purpose stopped for the record.")
    because: Literal["consent_withdrawn"] = Field(description="Why: the subject withdrew their consent.")
    because_text: str = Field(description="The reason in the extract's language.")
    request_reference: str | None = Field(
        None,
        description="The request that stopped it (the subject's withdrawal); left out of an extract "
        "answered on a confirmed email alone.",
    )


class RecordPurpose(_Part):
    """One purpose a register's records are processed for, on the one legal basis it rests on."""

    purpose: str = Field(
        description="The purpose, as the data catalogue states it, in the extract's language."
    )
    legal_basis: str = Field(description="The GDPR article it rests on, e.g. 'GDPR Art. 6(1)(f)'.")
    basis: str = Field(description="That basis in words, in the extract's language.")
    stopped: PurposeStopped | None = Field(
        None, description="Set when the purpose no longer uses this record; absent, the purpose goes on."
    )


class ExtractRecord(_Part):
    """One record held on the subject, with why, how long and from where (Art. 15(1)(a)-(h))."""

    system: str = Field(description="The system that holds the record (catalogue name).")
    system_title: str = Field(description="The system's name, in the extract's language.")
    table: str
    description: str = Field(
        "", description="What the register holds, as the data catalogue says it, in the extract's language."
    )
    data: dict[str, Any] = Field(description="The subject's own fields of the record, by column name.")
    categories: list[str] = Field(description="The data categories of those fields (taxonomy names).")
    category_names: list[str] = Field(
        default_factory=list,
        description="The same categories in words, in the extract's language, in the order of `categories`.",
    )
    purpose: str = Field(description="Why the record is held, in the extract's language.")
    legal_basis: list[str] = Field(
        min_length=1,
        description="GDPR articles the record is processed on, e.g. 'GDPR Art. 6(1)(b)'; a basis whose "
        "every purpose has stopped for the record (see `purposes`) is left out.",
    )
    purposes: list[RecordPurpose] = Field(
        default_factory=list,
        description="For a register processed for several purposes on different bases: each purpose "
        "with its own basis, and for this record which have stopped (a withdrawn consent) and which "
        "go on. Empty when `purpose` and `legal_basis` say it for the whole register.",
    )
    recipients: list[str]
    retention: RetentionView
    source: list[str] = Field(
        description="Where the data came from when it was not collected from the subject (Art. 15(1)(g)); "
        "empty when it came from the subject only."
    )
    collected_from_subject: bool
    automated_decision: AutomatedDecisionView | None = None
    special_category: list[str] = Field(
        default_factory=list,
        description="Fields holding special-category data (Art. 9), released after a person's review.",
    )
    withheld_special_category: list[str] = Field(
        default_factory=list,
        description="Special-category fields a reviewer withheld (the review's reason is on file).",
    )
    redacted: list[Redaction] = Field(
        default_factory=list,
        description="What was left out because it is about another person (Art. 15(4)): fields, and "
        "identifiers inside free text (replaced there by a marker).",
    )


class ControllerReferral(_Part):
    """Data held only as a processor for a client: the client is the controller to ask."""

    system: str
    system_title: str
    controllers: list[str] = Field(min_length=1)
    record_count: int = Field(ge=0)
    why: str


class Right(_Part):
    name: Literal["access", "rectification", "erasure", "restriction", "objection", "portability"]
    article: str
    text: str


class Contact(_Part):
    """The data protection officer's contact (from configuration)."""

    name: str
    email: str
    phone: str | None = None
    address: str | None = None


class Complaint(_Part):
    """The right to complain to the supervisory authority (Art. 15(1)(f))."""

    authority: str
    url: str
    text: str


class ExtractScope(_Part):
    """What an extract answered on a confirmed email alone is limited to, and how to get the rest."""

    scope: Literal["email_direct"]
    limited_to: str
    left_out: str
    how_to_get: str


class NoticeTable(_Part):
    """A register whose records the change touched."""

    system: str = Field(description="The system (catalogue name).")
    system_title: str
    table: str


class RecipientNotice(_Part):
    """A recipient we told of a change made on one of the subject's earlier requests (Art. 19):
    the subject may ask who they are, so the extract of a later access request lists them."""

    recipient: str = Field(
        description="The recipient, as the data catalogue names it, in the extract's language."
    )
    change: Literal["rectified", "erased", "anonymised", "restricted"] = Field(
        description="What was done to the records: rectified (Art. 16), erased or anonymised "
        "(Art. 17), restricted (Art. 18)."
    )
    change_text: str = Field(description="The change in the extract's language.")
    tables: list[NoticeTable] = Field(min_length=1, description="The registers the change touched.")
    record_count: int = Field(ge=0, description="How many of the subject's records the notice concerned.")
    notified_at: dt.datetime = Field(description="When the recipient was told.")
    request_reference: str = Field(description="The reference of the earlier request that made the change.")


class Extract(_Part):
    """An access extract: every record held on the subject, the subject's rights and whom to ask."""

    schema_version: str = EXTRACT_SCHEMA_VERSION
    kind: Literal["access", "portability"] = "access"
    reference: str = Field(description="The request's reference (e.g. DSR-2026-000123).")
    language: Literal["nb", "en"]
    controller: str = Field(description="The company answering the request.")
    received_at: dt.datetime
    generated_at: dt.datetime
    record_count: int = Field(ge=0)
    summary: str
    records: list[ExtractRecord]
    referred_to_controllers: list[ControllerReferral] = []
    rights: list[Right]
    complaint: Complaint
    data_protection_officer: Contact
    recipients_notified: list[RecipientNotice] = Field(
        default_factory=list,
        description="Recipients told of a rectification, erasure or restriction made on the "
        "subject's earlier requests (Art. 19), oldest first.",
    )
    scope: ExtractScope | None = Field(
        default=None, description="Set when only records found directly by a confirmed email are included."
    )
