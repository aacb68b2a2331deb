"""A column's suggested identifier type and categories, from its name, its type and a sample of its
values, with the evidence as counts. Pure.

By value as much as by name:
- a text column is an identifier when at least half of its sampled values are national ids, email
  addresses or phone numbers written as such, whatever it is called (`ref` holding national ids);
- a name that suggests an identifier is believed unless the values contradict it (fewer than one in
  five of them fit): `email_sent` holding `yes`/`no` is no email column, and a column that is not
  text is never an identifier (a boolean `email_sent`; the catalogue searches text columns only);
- case, customer and invoice numbers have no shape of their own: the name says so, the values only
  have to look like references;
- free text (prose, or a column called `note`, `message`, ...) is never an identifier; what it holds
  is counted ("4 of 20 sampled values contain a phone number"), and it is marked `free_text`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from services.catalogue.model import ColumnType, IdentifierType
from services.catalogue.scaffold.names import Hint, hints, tokens
from services.catalogue.scaffold.values import CONTAINED, Kind, contained, kinds

MAJORITY = 0.5
"""At least this share of the sampled values makes the column what they are."""

CONTRADICTED = 0.2
"""Below this share, the values overrule what the name suggests."""

BOILERPLATE_DISTINCT = 3
"""Prose with at most this many distinct values in a sample of ten or more is a fixed text (a
consent wording, a template), not people's own words."""

CATEGORY = {
    IdentifierType.national_id: "user.identity.national_id",
    IdentifierType.email: "user.contact.email",
    IdentifierType.phone: "user.contact.phone",
    IdentifierType.case_number: "user.case.reference",
    IdentifierType.customer_number: "user.case.reference",
    IdentifierType.invoice_number: "user.case.reference",
}
"""The taxonomy's category of each identifier type."""

HINT_CATEGORY = {
    Hint.birth_date: "user.identity",
    Hint.address: "user.contact.address",
    Hint.bank_account: "user.financial.account",
    Hint.person_name: "user.identity.name",
    Hint.org_number: "organisation.identifier",
    Hint.health: "user.health",
    Hint.processing: "system.processing",
    Hint.organisation_name: "organisation.name",
}

_TYPE_ALLOWS: dict[Hint, set[ColumnType | None]] = {
    Hint.birth_date: {ColumnType.date, ColumnType.timestamptz},
    Hint.bank_account: {ColumnType.integer, ColumnType.bigint, ColumnType.numeric},
    Hint.processing: {ColumnType.boolean, ColumnType.timestamptz},
}
"""The hints a column that is not text can still carry (a boolean `email_sent` is no email)."""

FREE_TEXT_CATEGORY = "user.communication.message"
KEY_CATEGORY = "system.key"

_VALUE_IDENTIFIERS = {
    IdentifierType.national_id: Kind.national_id,
    IdentifierType.email: Kind.email,
    IdentifierType.phone: Kind.phone,
}

_NOUN = {
    Kind.national_id: ("a valid national id", "valid national ids"),
    Kind.email: ("an email address", "email addresses"),
    Kind.phone: ("a phone number", "valid phone numbers"),
    Kind.bare_phone: ("a bare number valid as a phone number", "bare numbers valid as phone numbers"),
    Kind.bank_account: ("a valid bank account number", "valid bank account numbers"),
    Kind.org_number: ("a valid organisation number", "valid organisation numbers"),
    Kind.address: ("a postal address", "postal addresses"),
    Kind.date: ("a date", "dates"),
    Kind.reference: ("shaped like a reference number", "shaped like reference numbers"),
    Kind.flag: ("a yes/no", "yes/no values"),
    Kind.prose: ("prose", "prose (four words or more)"),
}

_HINT_NOUN = {
    Hint.national_id: "a national id",
    Hint.email: "an email address",
    Hint.phone: "a phone number",
    Hint.case_number: "a case number",
    Hint.customer_number: "a customer number",
    Hint.invoice_number: "an invoice number",
    Hint.birth_date: "a date of birth",
    Hint.address: "a postal address",
    Hint.bank_account: "a bank account number",
    Hint.person_name: "a person's name",
    Hint.org_number: "an organisation number",
    Hint.health: "health information",
    Hint.free_text: "free text",
    Hint.processing: "a processing marker",
    Hint.organisation_name: "an organisation's name",
}


@dataclass(frozen=True)
class ColumnFacts:
    """What the schema says about a column (no values)."""

    table: str
    name: str
    type: ColumnType | None
    """The catalogue's type, or None when the database's type has none (`db_type` says which)."""
    db_type: str = ""
    primary_key: bool = False
    references: str | None = None
    """`table.column` of a single-column foreign key."""
    unique: bool = False
    parents: tuple[str, ...] = ()
    """An API field's enclosing objects (`attendee` for `attendee.email`)."""


@dataclass(frozen=True)
class Evidence:
    """Why: counts of sampled values by what they are or hold, and what the name suggests."""

    sampled: int | None
    """Non-empty values sampled; None when the column was not sampled (not text, or an API)."""
    whole: dict[Kind, int] = field(default_factory=dict)
    """Values that are, as a whole, of each kind."""
    inside: dict[Kind, int] = field(default_factory=dict)
    """Values that contain an identifier of each kind (free text)."""
    name: tuple[Hint, ...] = ()
    notes: tuple[str, ...] = ()

    def sentences(self) -> list[str]:
        """The evidence as the draft states it: counts and hints, never a value."""
        said: list[str] = []
        if self.name:
            said.append("the name suggests " + " and ".join(_HINT_NOUN[hint] for hint in self.name))
        if self.sampled == 0:
            said.append("no values to sample (the column is empty)")
        elif self.sampled:
            shown = [kind for kind in Kind if self.whole.get(kind)]
            for kind in shown:
                if kind is Kind.reference and len(shown) > 1:
                    continue  # every national id is also "shaped like a reference"
                said.append(f"{self.whole[kind]} of {self.sampled} sampled values are {_NOUN[kind][1]}")
            if not shown:
                said.append(f"none of {self.sampled} sampled values is an identifier, an address or a date")
            for kind in CONTAINED:
                whole = self.whole.get(kind, 0) + (
                    self.whole.get(Kind.bare_phone, 0) if kind is Kind.phone else 0
                )
                if self.inside.get(kind, 0) > whole:  # inside longer text, not the value itself
                    said.append(
                        f"{self.inside[kind]} of {self.sampled} sampled values contain {_NOUN[kind][0]}"
                    )
        said.extend(self.notes)
        return said


@dataclass(frozen=True)
class Suggestion:
    """What the scaffold suggests for one column; every part is a suggestion for a person to review."""

    column: ColumnFacts
    identifier: IdentifierType | None
    categories: tuple[str, ...]
    """Empty: nothing says what the column holds (the reviewer chooses)."""
    free_text: bool
    evidence: Evidence

    @property
    def personal(self) -> bool:
        return any(c.startswith("user.") for c in self.categories)


def classify(column: ColumnFacts, sample: Sequence[str] | None, *, notes: Sequence[str] = ()) -> Suggestion:
    """The suggestion for `column`, given its sampled values (None: not sampled)."""
    named = hints(column.name, column.table, column.parents)
    values = [v for v in sample or () if v.strip()] if sample is not None else None
    whole: Counter[Kind] = Counter()
    inside: Counter[Kind] = Counter()
    for value in values or ():
        whole.update(kinds(value))
        inside.update(contained(value))
    evidence_notes = list(notes)
    n = len(values) if values is not None else 0

    def share(kind: Kind) -> float:
        return whole[kind] / n if n else 0.0

    identifier: IdentifierType | None = None
    categories: list[str] = []
    free_text = False
    is_text = column.type is ColumnType.text

    keyed = bool(column.primary_key or column.references)
    if is_text:
        identifier = _identifier(named, whole, n, values is not None, evidence_notes)
        prose = share(Kind.prose) >= MAJORITY or Hint.free_text in named
        boilerplate = (
            n >= 10
            and len(set(values or ())) <= BOILERPLATE_DISTINCT
            and Hint.free_text not in named
            and not inside
        )
        if identifier is not None:  # a text key can be an identifier (a `fnr` primary key)
            categories.append(CATEGORY[identifier])
        elif keyed:
            categories.append(KEY_CATEGORY)
        elif prose and not boilerplate:
            free_text = True
            categories.append(HINT_CATEGORY[Hint.health] if Hint.health in named else FREE_TEXT_CATEGORY)
        else:
            categories.extend(_other_categories(named, whole, n))
        if prose and boilerplate and identifier is None and not keyed:
            evidence_notes.append(
                f"only {len(set(values or ()))} distinct values: a fixed text, not free text"
            )
    elif keyed or (column.type in (ColumnType.integer, ColumnType.bigint) and _key_name(column.name)):
        categories.append(KEY_CATEGORY)
    else:
        categories.extend(_typed_categories(column, named, evidence_notes))
    evidence = Evidence(
        sampled=n if values is not None else None,
        whole=dict(whole),
        inside=dict(inside),
        name=tuple(named),
        notes=tuple(evidence_notes),
    )
    return Suggestion(column, identifier, tuple(dict.fromkeys(categories)), free_text, evidence)


def _key_name(name: str) -> bool:
    """`id`, `case_id`, `caseId`: a surrogate key or a reference to one."""
    words = tokens(name)
    return bool(words) and words[-1] == "id"


def _identifier(
    named: Sequence[Hint], whole: Counter[Kind], n: int, sampled: bool, notes: list[str]
) -> IdentifierType | None:
    """The identifier type of a text column, or None."""
    if n:
        for kind in (IdentifierType.national_id, IdentifierType.email, IdentifierType.phone):
            if whole[_VALUE_IDENTIFIERS[kind]] / n >= MAJORITY:
                if kind is IdentifierType.national_id and _accounts(whole):
                    continue
                return kind
        bare = (whole[Kind.phone] + whole[Kind.bare_phone]) / n
        if Hint.phone in named and bare >= MAJORITY:
            return IdentifierType.phone
    for hint in named:
        if hint.value not in IdentifierType.__members__:
            continue
        kind = IdentifierType(hint.value)
        if not n:
            if sampled:
                notes.append("suggested by its name alone")
            return kind
        fits = (
            whole[_VALUE_IDENTIFIERS[kind]] + (whole[Kind.bare_phone] if kind is IdentifierType.phone else 0)
            if kind in _VALUE_IDENTIFIERS
            else whole[Kind.reference]
        )
        if fits / n >= CONTRADICTED:
            return kind
        notes.append(
            f"named like {_HINT_NOUN[hint]}, but only {fits} of {n} sampled values fit: not suggested as one"
        )
    return None


def _accounts(whole: Counter[Kind]) -> bool:
    """Bank account numbers, some of which pass as national ids: every valid national id passes the
    account number's check digit too, and an account whose first six digits read as a date (bank
    1503, group 00) has a one in three chance of passing the national id's as well (the 2032 rule
    accepts four remainders for the first check digit). A column of national ids has (next to)
    no valid account that is not also a national id."""
    return whole[Kind.bank_account] * 4 > whole[Kind.national_id]


def _other_categories(named: Sequence[Hint], whole: Counter[Kind], n: int) -> list[str]:
    """A text column that is no identifier: what its values, then its name, say it holds."""
    found: list[str] = []
    by_value = {
        Kind.bank_account: "user.financial.account",
        Kind.address: "user.contact.address",
        Kind.org_number: "organisation.identifier",
    }
    for kind, category in by_value.items():
        count = whole[kind] + (
            whole[Kind.national_id] if kind is Kind.bank_account and _accounts(whole) else 0
        )
        if n and count / n >= MAJORITY:
            found.append(category)
    for hint in named:
        hinted = HINT_CATEGORY.get(hint)
        if hinted is None or hinted in found:
            continue
        if hint is Hint.address and n and whole[Kind.address] / n < CONTRADICTED:
            continue
        if hint is Hint.bank_account and n and whole[Kind.bank_account] / n < CONTRADICTED:
            continue
        if hint is Hint.birth_date and n and whole[Kind.date] / n < CONTRADICTED:
            continue
        found.append(hinted)
    if "user.identity.name" in found and len(found) > 1:
        found.remove("user.identity.name")  # `name` next to a stronger word (`bank_account_name`)
    return found


def _typed_categories(column: ColumnFacts, named: Sequence[Hint], notes: list[str]) -> list[str]:
    """A column that is not text (never sampled): only what its name says and its type allows."""
    kind = column.type
    found: list[str] = []
    numeric = kind in (ColumnType.integer, ColumnType.bigint, ColumnType.numeric)
    for hint in named:
        if hint.value in IdentifierType.__members__ and numeric:
            found.append(CATEGORY[IdentifierType(hint.value)])
            notes.append(
                f"named like {_HINT_NOUN[hint]}, but a {kind.value if kind else 'non-text'} column: the "
                "pipeline searches text identifier columns only"
            )
        elif _TYPE_ALLOWS.get(hint, set()) & {kind}:
            found.append(HINT_CATEGORY[hint])
    if kind is None:
        notes.append(f"the database type {column.db_type or '(none)'} has no catalogue type")
    return found
