"""Art. 15(4): the subject's extract must not disclose other people. Pure.

A record can describe more than one person: a ledger entry on the subject's case names whoever
paid it (a guarantor, a relative), an invoice names its recipient, a case its debtor. The catalogue
says which columns describe a person (identity and contact categories, bank accounts) and which
identifiers they are; the column names group them into *parties* (`debtor_name`,
`debtor_national_id` are one party; `counterparty_name`, `counterparty_account` another; unprefixed
`name`, `email` the row's own party).

Who the subject is comes from the request's identifiers, widened party by party: a party holding
one of the subject's identifiers is the subject, and teaches their other identifiers and names.
A party whose identifiers are not the subject's, or that has no identifier and a name that is not
one of the subject's, is another person: its fields are left out and listed. When in doubt the
field is left out; a reviewer can release it, a disclosure cannot be undone.

Columns of prose (`free_text: true`: call notes, letters, messages) say whose they are nowhere;
`free_text.py` scans them for other people's identifiers and names instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from services.catalogue.model import IdentifierType, Table

K = TypeVar("K")
V = TypeVar("V")

PERSON_KINDS = (IdentifierType.national_id, IdentifierType.email, IdentifierType.phone)

PERSON_CATEGORIES = ("user.identity", "user.contact", "user.financial.account")
"""Categories that say who a person is or how to reach or pay them: the fields of a party."""

_FIELD_STEMS = ("previous_address", "national_id", "address", "account", "email", "phone", "name")
"""Column name endings that name the field; what comes before is the party (`debtor_`)."""


@dataclass(frozen=True)
class PartyColumns:
    """The columns of one party in a table: its identifiers by kind, its names, all its fields."""

    identifiers: dict[str, IdentifierType]
    names: tuple[str, ...]
    fields: tuple[str, ...]


def _describes_a_person(categories: Iterable[str]) -> bool:
    return any(c == p or c.startswith(p + ".") for c in categories for p in PERSON_CATEGORIES)


def party_of(column: str) -> str:
    """`debtor_national_id` -> `debtor`; `name` -> `` (the row's own party)."""
    for stem in _FIELD_STEMS:
        if column == stem:
            return ""
        if column.endswith("_" + stem):
            return column[: -len(stem) - 1]
    return ""


def by_identity(fn: Callable[[K], V]) -> Callable[[K], V]:
    """Memoise a function of one long-lived catalogue object (a table, the taxonomy) by identity:
    catalogue models hold dicts, so they are not hashable, and they never change once loaded."""
    cache: dict[int, tuple[K, V]] = {}

    def cached(key: K) -> V:
        hit = cache.get(id(key))
        if hit is None or hit[0] is not key:
            hit = cache[id(key)] = (key, fn(key))
        return hit[1]

    return cached


@by_identity
def parties(table: Table) -> dict[str, PartyColumns]:
    """The table's parties, from its column names and categories."""
    grouped: dict[str, dict[str, Any]] = {}
    for name, column in table.columns.items():
        if not _describes_a_person(column.categories):
            continue
        party = grouped.setdefault(party_of(name), {"identifiers": {}, "names": [], "fields": []})
        party["fields"].append(name)
        if column.identifier in PERSON_KINDS:
            party["identifiers"][name] = column.identifier
        if "user.identity.name" in column.categories:
            party["names"].append(name)
    return {
        key: PartyColumns(value["identifiers"], tuple(value["names"]), tuple(value["fields"]))
        for key, value in grouped.items()
    }


def _norm(value: Any) -> str:
    return " ".join(str(value).split()).casefold()


@dataclass
class Identity:
    """What the subject is known by: identifier values per kind, and names."""

    values: dict[IdentifierType, set[str]] = field(default_factory=dict)
    names: set[str] = field(default_factory=set)

    def knows(self, kind: IdentifierType, value: Any) -> bool:
        return _norm(value) in self.values.get(kind, set())

    def add(self, kind: IdentifierType, value: Any) -> bool:
        known = self.values.setdefault(kind, set())
        before = len(known)
        known.add(_norm(value))
        return len(known) != before

    def add_name(self, value: Any) -> bool:
        before = len(self.names)
        self.names.add(_norm(value))
        return len(self.names) != before


Row = tuple[Table, Mapping[str, Any]]


def learn_identity(seeds: Mapping[IdentifierType, Iterable[str]], rows: Iterable[Row]) -> Identity:
    """The subject's identifiers and names: the request's, widened through every party that holds one."""
    identity = Identity()
    for kind, values in seeds.items():
        for value in values:
            identity.add(kind, value)
    pending = [(parties(table), data) for table, data in rows]
    grown = True
    while grown:
        grown = False
        for table_parties, data in pending:
            for party in table_parties.values():
                present = {c: k for c, k in party.identifiers.items() if data.get(c) not in (None, "")}
                if not any(identity.knows(kind, data[column]) for column, kind in present.items()):
                    continue
                if any(
                    not identity.knows(kind, data[column]) and identity.values.get(kind)
                    for column, kind in present.items()
                ):
                    continue  # a second national id (or email, phone) of its kind: not learned from
                for column, kind in present.items():
                    grown |= identity.add(kind, data[column])
                for column in party.names:
                    if data.get(column) not in (None, ""):
                        grown |= identity.add_name(data[column])
    return identity


def another_persons_fields(table: Table, data: Mapping[str, Any], identity: Identity) -> list[str]:
    """The row's fields that describe someone other than the subject (to leave out)."""
    hidden: list[str] = []
    for party in parties(table).values():
        present = {c: k for c, k in party.identifiers.items() if data.get(c) not in (None, "")}
        names = [data[c] for c in party.names if data.get(c) not in (None, "")]
        if present:
            other = any(not identity.knows(kind, data[column]) for column, kind in present.items())
        elif names:
            other = any(_norm(name) not in identity.names for name in names)
        else:
            other = False  # nothing says whose it is: it is the row's, and the row is the subject's
        if other:
            hidden.extend(f for f in party.fields if data.get(f) not in (None, ""))
    return hidden
