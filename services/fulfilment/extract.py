"""The access extract (Art. 15): every record held on the subject, each with why it is held. Pure.

Each record carries `system`, `table`, `data` (the subject's own fields), `categories`, `purpose`,
`legal_basis`, `recipients`, `retention` (rule and, where one can be computed, the date) and
`source` (who the data came from when not from the subject, Art. 15(1)(g)). A register processed
for several purposes on different bases lists each purpose with its own basis, and says of the
record which purposes an earlier withdrawal of consent stopped, when, and which go on. Fields about other
people are left out (Art. 15(4), `redaction.py`), and so are other people's identifiers inside free
text (`free_text.py`); special-category fields, and free text that may name someone else, are only
released after a person's review.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
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
    PurposeStopped,
    RecipientNotice,
    RecordPurpose,
    Redaction,
    Right,
)
from services.catalogue.model import (
    Catalogue,
    FlatCategory,
    IdentifierType,
    RetentionKind,
    Table,
    Taxonomy,
)
from services.catalogue.text import Text, language_of
from services.erasure.purposes import basis_words
from services.fulfilment.free_text import SubjectTerms, scan
from services.fulfilment.keeping import Anchor, as_date, retention_view
from services.fulfilment.redaction import Identity, another_persons_fields, by_identity, learn_identity
from services.fulfilment.texts import DATATILSYNET, DATATILSYNET_URL, RIGHT_ARTICLES, texts

SUBJECT_SOURCE = "the_subject"
PORTABLE_BASES = ("6(1)(a)", "6(1)(b)")
"""Art. 20(1)(a): portability covers data processed on consent or on a contract."""


RecordKey = tuple[str, str, tuple[tuple[str, str], ...]]
"""A row as the ledger names it: system, table and its primary key's (column, value) pairs, sorted."""


def record_key(system: str, table: str, primary_key: Mapping[str, Any]) -> RecordKey:
    """The same key however the ledger or the findings spell the key's values (text or number)."""
    return system, table, tuple(sorted((column, str(value)) for column, value in primary_key.items()))


@dataclass(frozen=True)
class EarlierStop:
    """What an earlier withdrawal of consent stopped for one row (the ledger's `stopped_purposes`):
    the purposes as they were named then, each with its basis, when, and on which request."""

    stopped: tuple[tuple[Text, str], ...]
    """(purpose, legal basis) per purpose stopped, the purpose in both languages as stored."""
    on: datetime
    request_reference: str | None = None


@dataclass(frozen=True)
class HeldRecord:
    """One row found for the subject, with its content as read from the source system.

    `anchor` is the date its retention counts from when that date is not on the row itself (the
    case's closing date for a letter of the case), read by the source reader. `stop` is what an
    earlier withdrawal of consent stopped for the row, read from the ledger.
    """

    system: str
    table: str
    primary_key: dict[str, str]
    categories: tuple[str, ...]
    data: dict[str, Any]
    anchor: Anchor | None = None
    stop: EarlierStop | None = None

    @property
    def key(self) -> RecordKey:
        return record_key(self.system, self.table, self.primary_key)


def with_stops(
    records: Iterable[HeldRecord], stops: Mapping[RecordKey, EarlierStop], *, references: bool = True
) -> list[HeldRecord]:
    """The records with what earlier withdrawals stopped for them; `references=False` leaves the
    withdrawal's request reference out (an extract answered on a confirmed email alone: a shared
    mailbox must not learn whose request it was)."""
    out = []
    for record in records:
        stop = stops.get(record.key)
        if stop is not None and not references:
            stop = replace(stop, request_reference=None)
        out.append(record if stop is None else replace(record, stop=stop))
    return out


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


def _article(basis: str) -> str:
    return f"GDPR Art. {basis}"


def record_purposes(table: Table, stop: EarlierStop | None, language: str) -> list[RecordPurpose]:
    """Each of the register's purposes with its own basis, in words; for a row an earlier
    withdrawal reached, every purpose on consent is stopped (the consent was withdrawn for the
    row, whatever a purpose is called today), and a purpose stopped then that the catalogue no
    longer names is still listed as stopped, in the words it had then. Empty for a register with
    no `purposes` (its `purpose` and `legal_basis` say it for every row)."""
    if not table.purposes:
        return []
    words = texts(language)
    halted = (
        None
        if stop is None
        else PurposeStopped(
            on=stop.on,
            because="consent_withdrawn",
            because_text=words.stop_reasons["consent_withdrawn"],
            request_reference=stop.request_reference,
        )
    )
    lang = "en" if language == "en" else "nb"

    def view(purpose: Text, basis: str, stopped: bool) -> RecordPurpose:
        return RecordPurpose(
            purpose=purpose.in_(lang),
            legal_basis=_article(basis),
            basis=basis_words(basis)[lang],
            stopped=halted if stopped else None,
        )

    listed = [view(p.purpose, p.legal_basis, halted is not None and p.on_consent) for p in table.purposes]
    named_en, named_nb = {p.purpose.en for p in table.purposes}, {p.purpose.nb for p in table.purposes}
    gone = dict.fromkeys(
        (purpose, basis)
        for purpose, basis in (stop.stopped if stop else ())
        if purpose.en not in named_en and purpose.nb not in named_nb
    )
    return listed + [view(purpose, basis, True) for purpose, basis in gone]


def current_bases(table: Table, purposes: list[RecordPurpose]) -> list[str]:
    """The table's bases the record is processed on now: a basis whose every purpose has stopped
    for it is left out (never all of them: then the table's list stands as it is)."""
    going = {p.legal_basis for p in purposes if p.stopped is None}
    stopped = {p.legal_basis for p in purposes if p.stopped is not None} - going
    bases = [_article(b) for b in table.legal_basis if _article(b) not in stopped]
    return bases or [_article(b) for b in table.legal_basis]


def learn_subject(
    catalogue: Catalogue, seeds: Mapping[IdentifierType, list[str]], records: list[HeldRecord]
) -> Identity:
    return learn_identity(seeds, [(catalogue.systems[r.system].tables[r.table], r.data) for r in records])


def subject_terms(catalogue: Catalogue, identity: Identity, records: list[HeldRecord]) -> SubjectTerms:
    """What a free text may say about the subject without being withheld: the identity's
    identifiers and names, and every identifier, account and name the subject's records show them
    (their fields about other people aside); every reference number in the records teaches the
    shape of such numbers, whoever's it is."""
    identifiers: list[tuple[IdentifierType, str]] = [
        (kind, value) for kind, values in identity.values.items() for value in values
    ]
    names, accounts = set(identity.names), set()
    examples: list[tuple[IdentifierType, str]] = []
    for record in records:
        table = catalogue.systems[record.system].tables[record.table]
        hidden = set(another_persons_fields(table, record.data, identity))
        for column, spec in table.columns.items():
            value = record.data.get(column)
            if value in (None, "") or spec.free_text:
                continue
            if spec.identifier is not None:
                examples.append((spec.identifier, str(value)))
            if column in hidden:
                continue
            if spec.identifier is not None:
                identifiers.append((spec.identifier, str(value)))
            if "user.financial.account" in spec.categories:
                accounts.add(str(value))
            if "user.identity.name" in spec.categories:
                names.add(str(value))
    return SubjectTerms.build(identifiers, names=names, accounts=accounts, reference_examples=examples)


def _free_text(
    table: Table,
    data: dict[str, Any],
    terms: SubjectTerms,
    language: str,
    release: SpecialRelease | None,
) -> list[Redaction]:
    """Scan the record's free text in place: other people's identifiers become markers; a text that
    may name someone else is withheld whole unless a reviewer released it."""
    redacted: list[Redaction] = []
    for column, spec in table.columns.items():
        value = data.get(column)
        if not spec.free_text or not isinstance(value, str) or not value:
            continue
        scanned = scan(value, terms, language)
        if scanned.uncertain and release is not SpecialRelease.release:
            data[column] = texts(language).withheld_text
            redacted.append(Redaction(field=column, reason="mentions_another_person"))
            continue
        data[column] = scanned.text
        redacted += [
            Redaction(field=column, reason="another_persons_identifier", withheld=kind.value, count=count)
            for kind, count in scanned.withheld
        ]
    return redacted


def uncertain_free_text(
    catalogue: Catalogue, records: list[HeldRecord], identity: Identity, *, portability: bool = False
) -> int:
    """How many free-text values the extract would release that may name another person: a person
    reviews them first (special-category ones included, whatever the review decides about those)."""
    ours = released(catalogue, records, portability=portability)
    terms = subject_terms(catalogue, identity, ours)
    uncertain = 0
    for record in ours:
        table = catalogue.systems[record.system].tables[record.table]
        hidden = set(another_persons_fields(table, record.data, identity))
        for column, spec in table.columns.items():
            value = record.data.get(column)
            if spec.free_text and column not in hidden and isinstance(value, str) and value:
                uncertain += scan(value, terms).uncertain > 0
    return uncertain


def released(
    catalogue: Catalogue, records: list[HeldRecord], *, portability: bool = False
) -> list[HeldRecord]:
    """The records an extract releases as ours: not a processor's, and for portability only Art. 20's."""
    ours = [r for r in records if not is_processor_data(catalogue, r.system)]
    if portability:
        ours = [r for r in ours if is_portable(catalogue.systems[r.system].tables[r.table])]
    return ours


def _record(
    catalogue: Catalogue,
    record: HeldRecord,
    identity: Identity,
    special: SpecialRelease | None,
    language: str,
    terms: SubjectTerms,
    free_text: SpecialRelease | None,
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
    in_text = _free_text(table, data, terms, language, free_text)
    anchor = record.anchor or own_row_anchor(table, record.data)
    categories = sorted(
        {c for column, spec in table.columns.items() if column in data for c in spec.categories}
    ) or list(record.categories)
    purposes = record_purposes(table, record.stop, language)
    flat = _flat(catalogue.taxonomy)
    automated = table.automated_decision
    return ExtractRecord(
        system=record.system,
        system_title=catalogue.systems[record.system].title.in_(language),
        table=record.table,
        description=table.description.in_(language),
        data=data,
        categories=categories,
        category_names=[
            flat[c].description.in_(language).rstrip(".") if c in flat else c for c in categories
        ],
        purpose=(table.purpose or table.description).in_(language),
        legal_basis=current_bases(table, purposes) or ["GDPR Art. 28"],
        purposes=purposes,
        recipients=[
            parties.recipients[r].name.in_(language) if r in parties.recipients else r
            for r in table.recipients
        ],
        retention=retention_view(table.retention, anchor, words, language),
        source=[
            parties.sources[s].name.in_(language) if s in parties.sources else s
            for s in table.sources
            if s != SUBJECT_SOURCE
        ],
        collected_from_subject=SUBJECT_SOURCE in table.sources,
        automated_decision=AutomatedDecisionView(
            logic=automated.logic.in_(language), significance=automated.significance.in_(language)
        )
        if automated
        else None,
        special_category=held_special if not withheld else [],
        withheld_special_category=withheld,
        redacted=[Redaction(field=column) for column in hidden] + in_text,
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
    free_text: SpecialRelease | None = None,
) -> Extract:
    """The extract; rows held as a processor are named by their controllers, not released.

    `identity` (who the subject is, for Art. 15(4)) defaults to what the records themselves say;
    `special` is the reviewer's decision, without which special-category fields are left out.
    `portability` keeps only the records Art. 20 covers. `notified` are the recipients told of
    the subject's earlier changes (Art. 19, `told.py`); an access extract lists them. `free_text` is
    the reviewer's decision on free text that may name someone else: without a release such a text
    is withheld whole; other people's identifiers in free text are withheld whatever it says.
    """
    language = language_of(language)  # an unknown one falls back to bokmål, as `texts` does
    words = texts(language)
    identity = identity or learn_subject(catalogue, {}, records)
    ours = released(catalogue, records, portability=portability)
    terms = subject_terms(catalogue, identity, ours)
    entries = [
        _record(catalogue, record, identity, special, language, terms, free_text)
        for record in sorted(ours, key=lambda r: (r.system, r.table, sorted(r.primary_key.items())))
    ]
    referred = [
        ControllerReferral(
            system=referral.system,
            system_title=catalogue.systems[referral.system].title.in_(language),
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
