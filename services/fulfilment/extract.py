"""The access extract (Art. 15): every record held on the subject, each with why it is held. Pure.

Each record carries `system`, `table`, `data` (the subject's own fields), `categories`, `purpose`,
`legal_basis`, `recipients`, `retention` (rule and, where one can be computed, the date) and
`source` (who the data came from when not from the subject, Art. 15(1)(g)); fields about other
people are left out (Art. 15(4), `redaction.py`); special-category fields are listed, and only
released after a person's review.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from schemas.extract import (
    AutomatedDecisionView,
    Complaint,
    Contact,
    ControllerReferral,
    Extract,
    ExtractRecord,
    RecipientNotice,
    Redaction,
    Right,
)
from services.catalogue.model import Catalogue, FlatCategory, IdentifierType, RetentionKind, Table, Taxonomy
from services.fulfilment.keeping import Anchor, as_date, retention_view
from services.fulfilment.redaction import Identity, another_persons_fields, by_identity, learn_identity
from services.fulfilment.texts import DATATILSYNET, DATATILSYNET_URL, RIGHT_ARTICLES, texts

SUBJECT_SOURCE = "the_subject"
PORTABLE_BASES = ("6(1)(a)", "6(1)(b)")
"""Art. 20(1)(a): portability covers data processed on consent or on a contract."""


@dataclass(frozen=True)
class HeldRecord:
    """One row found for the subject, with its content as read from the source system.

    `anchor` is the date its retention counts from when that date is not on the row itself (the
    case's closing date for a letter of the case), read by the source reader.
    """

    system: str
    table: str
    primary_key: dict[str, str]
    categories: tuple[str, ...]
    data: dict[str, Any]
    anchor: Anchor | None = None


@dataclass(frozen=True)
class Referral:
    """A processor system's records and the controllers their rows name."""

    system: str
    controllers: tuple[str, ...]
    record_count: int


class SpecialRelease(StrEnum):
    """What a reviewer decided about special-category data (Art. 9)."""

    release = "release"
    withhold = "withhold"


@dataclass(frozen=True)
class Company:
    """Who answers: the controller and its data protection officer (from configuration)."""

    controller: str
    dpo_name: str
    dpo_email: str
    dpo_phone: str = ""
    dpo_address: str = ""


def plain(value: Any) -> Any:
    """A value as JSON has it: dates as ISO strings, amounts as exact decimal strings."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _internal(categories: list[str]) -> bool:
    return all(category.startswith("system.") for category in categories)


def subject_fields(table: Table, data: Mapping[str, Any]) -> dict[str, Any]:
    """The row's fields without internal keys and processing flags (categories under `system.`)."""
    return {
        column: plain(data.get(column))
        for column, spec in table.columns.items()
        if not _internal(spec.categories)
    }


@by_identity
def _flat(taxonomy: Taxonomy) -> dict[str, FlatCategory]:
    return taxonomy.flatten()


def special_fields(catalogue: Catalogue, record: HeldRecord) -> list[str]:
    """The record's Art. 9 fields (health, ...) that hold a value."""
    flat = _flat(catalogue.taxonomy)
    table = catalogue.systems[record.system].tables[record.table]
    return [
        column
        for column, spec in table.columns.items()
        if any(flat[c].special for c in spec.categories if c in flat)
        and record.data.get(column) not in (None, "")
    ]


def holds_special_category(catalogue: Catalogue, records: list[HeldRecord]) -> bool:
    """Art. 9 data with a value in it: a person must confirm its release."""
    return any(special_fields(catalogue, r) for r in records if not is_processor_data(catalogue, r.system))


def is_processor_data(catalogue: Catalogue, system: str) -> bool:
    """Held for a client as its processor: not released as ours, the request goes to the client."""
    return catalogue.systems[system].role.kind == "processor"


def is_portable(table: Table) -> bool:
    """Art. 20: provided by the subject and processed on consent or a contract."""
    return SUBJECT_SOURCE in table.sources and any(b in PORTABLE_BASES for b in table.legal_basis)


def own_row_anchor(table: Table, data: Mapping[str, Any]) -> Anchor | None:
    """The anchor when the row holds its own date (the case's `closed_on`)."""
    rule = table.retention
    if rule is None or rule.anchor is None or "." in rule.anchor:
        return None
    if rule.kind not in (RetentionKind.after_date, RetentionKind.on_event):
        return None
    return Anchor(rule, as_date(data.get(rule.anchor)))


def learn_subject(
    catalogue: Catalogue, seeds: Mapping[IdentifierType, list[str]], records: list[HeldRecord]
) -> Identity:
    return learn_identity(seeds, [(catalogue.systems[r.system].tables[r.table], r.data) for r in records])


def _record(
    catalogue: Catalogue,
    record: HeldRecord,
    identity: Identity,
    special: SpecialRelease | None,
    language: str,
) -> ExtractRecord:
    words = texts(language)
    parties = catalogue.parties
    table = catalogue.systems[record.system].tables[record.table]
    data = subject_fields(table, record.data)
    hidden = another_persons_fields(table, record.data, identity)
    for column in hidden:
        data.pop(column, None)
    held_special = special_fields(catalogue, record)
    withheld: list[str] = []
    if held_special and special is not SpecialRelease.release:
        withheld = held_special
        for column in withheld:
            data.pop(column, None)
    anchor = record.anchor or own_row_anchor(table, record.data)
    categories = sorted(
        {c for column, spec in table.columns.items() if column in data for c in spec.categories}
    ) or list(record.categories)
    return ExtractRecord(
        system=record.system,
        system_title=catalogue.systems[record.system].title,
        table=record.table,
        data=data,
        categories=categories,
        purpose=table.purpose or table.description,
        legal_basis=[f"GDPR Art. {basis}" for basis in table.legal_basis] or ["GDPR Art. 28"],
        recipients=[parties.recipients[r].name if r in parties.recipients else r for r in table.recipients],
        retention=retention_view(table.retention, anchor, words),
        source=[
            parties.sources[s].name if s in parties.sources else s
            for s in table.sources
            if s != SUBJECT_SOURCE
        ],
        collected_from_subject=SUBJECT_SOURCE in table.sources,
        automated_decision=AutomatedDecisionView(**table.automated_decision.model_dump())
        if table.automated_decision
        else None,
        special_category=held_special if not withheld else [],
        withheld_special_category=withheld,
        redacted=[Redaction(field=column) for column in hidden],
    )


def assemble(
    catalogue: Catalogue,
    *,
    reference: str,
    received_at: datetime,
    records: list[HeldRecord],
    generated_at: datetime,
    company: Company,
    language: str = "nb",
    identity: Identity | None = None,
    referrals: list[Referral] | None = None,
    special: SpecialRelease | None = None,
    portability: bool = False,
    notified: list[RecipientNotice] | None = None,
) -> Extract:
    """The extract; rows held as a processor are named by their controllers, not released.

    `identity` (who the subject is, for Art. 15(4)) defaults to what the records themselves say;
    `special` is the reviewer's decision, without which special-category fields are left out.
    `portability` keeps only the records Art. 20 covers. `notified` are the recipients told of
    the subject's earlier changes (Art. 19, `told.py`); an access extract lists them.
    """
    words = texts(language)
    identity = identity or learn_subject(catalogue, {}, records)
    ours = [r for r in records if not is_processor_data(catalogue, r.system)]
    if portability:
        ours = [r for r in ours if is_portable(catalogue.systems[r.system].tables[r.table])]
    entries = [
        _record(catalogue, record, identity, special, language)
        for record in sorted(ours, key=lambda r: (r.system, r.table, sorted(r.primary_key.items())))
    ]
    referred = [
        ControllerReferral(
            system=referral.system,
            system_title=catalogue.systems[referral.system].title,
            controllers=sorted(referral.controllers),
            record_count=referral.record_count,
            why=words.referral_why,
        )
        for referral in sorted(referrals or [], key=lambda r: r.system)
        if referral.controllers
    ]
    return Extract(
        kind="portability" if portability else "access",
        reference=reference,
        language="en" if language == "en" else "nb",
        controller=company.controller,
        received_at=received_at,
        generated_at=generated_at,
        record_count=len(entries),
        summary=words.summary(len(entries)),
        records=entries,
        referred_to_controllers=referred,
        recipients_notified=[] if portability else list(notified or []),
        rights=[
            Right(name=name, article=RIGHT_ARTICLES[name], text=text) for name, text in words.rights.items()
        ],
        complaint=Complaint(authority=DATATILSYNET, url=DATATILSYNET_URL, text=words.complaint),
        data_protection_officer=Contact(
            name=company.dpo_name,
            email=company.dpo_email,
            phone=company.dpo_phone or None,
            address=company.dpo_address or None,
        ),
    )
