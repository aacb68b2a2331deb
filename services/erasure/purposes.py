"""A withdrawn consent on a table that also rests on another basis: which purposes stop, which go
on, and how the stop is made in the row. Pure.

A table on consent alone is erased as an erasure would erase it (`scopes.py`). A table whose
catalogue entry joins consent to another basis lists its `purposes`, each on one basis: the
purposes on consent stop (Art. 7(3)) and the row stays for the others. A consent purpose stops
by its own means, as the catalogue says: the columns held for it alone are emptied, and its own
restriction mark is set (never the table's `restriction`, which would stop every purpose). What
the subject is told lists both sides, each purpose with its basis in words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.catalogue.model import CONSENT, Table
from services.catalogue.text import Text, stored_text

BASIS_WORDS: dict[str, tuple[str, str]] = {
    "6(1)(a)": ("consent", "samtykke"),
    "6(1)(b)": ("a contract with you", "en avtale med deg"),
    "6(1)(c)": ("a legal obligation", "en rettslig forpliktelse"),
    "6(1)(d)": ("your vital interests", "dine vitale interesser"),
    "6(1)(e)": ("a task in the public interest", "en oppgave i allmennhetens interesse"),
    "6(1)(f)": ("our legitimate interest", "vår berettigede interesse"),
}
"""Each Art. 6(1) basis in the words a notice uses (English, bokmål)."""


def basis_words(basis: str) -> dict[str, str]:
    en, nb = BASIS_WORDS.get(basis, (f"GDPR Art. {basis}", f"personvernforordningen art. {basis}"))
    return {"en": en, "nb": nb}


def is_mixed(table: Table) -> bool:
    """The table rests on consent and on another Art. 6 basis."""
    bases = {b for b in table.legal_basis if b.startswith("6(")}
    return CONSENT in bases and len(bases) > 1


@dataclass(frozen=True)
class PurposeView:
    """One purpose as the outcome names it: the catalogue's words (both languages, as the plan and
    the ledger keep them) and the basis it rests on."""

    purpose: Text
    legal_basis: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "purpose": self.purpose.as_dict(),
            "legal_basis": self.legal_basis,
            "basis": basis_words(self.legal_basis),
        }

    def told(self, language: str) -> dict[str, Any]:
        """As the subject is told it: the purpose in the request's language."""
        return {**self.as_dict(), "purpose": self.purpose.in_(language)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PurposeView:
        return cls(stored_text(data["purpose"]), data["legal_basis"])


@dataclass(frozen=True)
class PurposeStop:
    """What a withdrawn consent does to one row of a table on consent and another basis."""

    stopped: tuple[PurposeView, ...]
    continuing: tuple[PurposeView, ...]
    columns: tuple[str, ...] = ()
    """Columns held for the stopped purposes alone, emptied."""
    marks: tuple[str, ...] = ()
    """The stopped purposes' own restriction marks (boolean columns), set."""
    held_by: str | None = None
    """A legal hold's reason code that keeps the row as it is: its columns are not emptied then."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "stopped": [p.as_dict() for p in self.stopped],
            "continuing": [p.as_dict() for p in self.continuing],
            "columns": list(self.columns),
            "marks": list(self.marks),
            "held_by": self.held_by,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PurposeStop:
        return cls(
            tuple(PurposeView.from_dict(p) for p in data["stopped"]),
            tuple(PurposeView.from_dict(p) for p in data["continuing"]),
            tuple(data.get("columns", ())),
            tuple(data.get("marks", ())),
            data.get("held_by"),
        )


def consent_stop(table: Table, *, held_by: str | None = None) -> PurposeStop:
    """The stop the catalogue declares for `table` (one on consent and another basis). Under a legal
    hold (`held_by`) the row is kept as it is: only the marks are set, no column is emptied."""
    stopped = table.consent_purposes()
    columns = tuple(dict.fromkeys(c for p in stopped for c in p.columns)) if held_by is None else ()
    marks = tuple(dict.fromkeys(p.restriction.column for p in stopped if p.restriction is not None))
    return PurposeStop(
        tuple(PurposeView(p.purpose, p.legal_basis) for p in stopped),
        tuple(PurposeView(p.purpose, p.legal_basis) for p in table.other_purposes()),
        columns,
        marks,
        held_by,
    )


def unstopped(stop: PurposeStop, values: Mapping[str, Any] | None) -> tuple[str, ...]:
    """What the row, read after the plan ran, still shows of the stopped purposes: emptied columns
    that hold a value again, marks that are not set. A row no longer there holds nothing; a column
    the row lacks counts as not proven (never assume)."""
    if values is None:
        return ()
    left = [c for c in stop.columns if c not in values or values[c] not in (None, "")]
    left += [m for m in stop.marks if values.get(m) is not True]
    return tuple(left)


def outcome_by_table(
    entries: Sequence[tuple[str, Text, str, Text, PurposeStop]], language: str
) -> list[dict[str, Any]]:
    """One line per (system, table) for the certificate and the notice, in the request's language:
    purposes stopped and going on with their bases, how many rows, what was emptied and marked.
    `entries`: (system, system title, table, table description, stop) per row."""
    grouped: dict[tuple[str, str], dict[str, Any]] = {}
    for system, title, table, description, stop in entries:
        line = grouped.setdefault(
            (system, table),
            {
                "system": system,
                "system_title": title.in_(language),
                "table": table,
                "description": description.in_(language),
                "records": 0,
                "stopped": [p.told(language) for p in stop.stopped],
                "continuing": [p.told(language) for p in stop.continuing],
                "columns_emptied": list(stop.columns),
                "marks_set": list(stop.marks),
                "held": stop.held_by is not None,
            },
        )
        line["records"] += 1
        line["held"] = line["held"] or stop.held_by is not None
    return [grouped[k] for k in sorted(grouped)]
