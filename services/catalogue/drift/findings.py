"""What a drift check says about one system: findings with a stable identity, and the outcome.

A finding names a system, a table and maybe a column, what is wrong, and whether personal data is
left undescribed. Its identity is the same in every check that finds the same drift, so the ledger
keeps one row per drift (first seen, last seen, resolved), the console and the command list it
once, and a drift that is fixed disappears. Details hold names, types and the scaffold's evidence
counts: never a sampled value.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class DriftKind(StrEnum):
    undescribed_table = "undescribed_table"
    """A live table the catalogue does not name (its columns and their suggestions in the detail)."""
    undescribed_column = "undescribed_column"
    """A live column of a catalogued table that the catalogue does not name."""
    missing_table = "missing_table"
    """A catalogued table the live system no longer has."""
    missing_column = "missing_column"
    """A catalogued column the live table no longer has."""
    type_changed = "type_changed"
    """A catalogued column whose live type is no longer the catalogued one."""
    looks_personal_now = "looks_personal_now"
    """A column catalogued as non-personal whose sampled values now look like identifiers."""


KINDS: tuple[str, ...] = tuple(kind.value for kind in DriftKind)


class CheckOutcome(StrEnum):
    checked = "checked"
    unreachable = "unreachable"
    """The system did not answer (or refused the reading role): its findings are unknown, kept as they were."""
    not_checkable = "not_checkable"
    """An HTTP or manual system: no schema to read."""


OUTCOMES: tuple[str, ...] = tuple(outcome.value for outcome in CheckOutcome)


def identity_of(system: str, kind: DriftKind, table: str, column: str | None) -> str:
    """The same drift, the same identity, whatever names it carries (quotes, spaces, Unicode)."""
    key = json.dumps([system, kind.value, table, column], ensure_ascii=False)
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class Finding:
    system: str
    kind: DriftKind
    table: str
    column: str | None
    personal: bool
    """Personal data the catalogue leaves undescribed (an undescribed column or table that looks
    personal, or a column catalogued as non-personal that now looks like an identifier)."""
    detail: Mapping[str, Any] = field(default_factory=dict)
    """JSON: types, the suggestion (identifier, categories, evidence as counts)."""

    @property
    def identity(self) -> str:
        return identity_of(self.system, self.kind, self.table, self.column)

    @property
    def where(self) -> str:
        return f"{self.system}.{self.table}" + (f".{self.column}" if self.column is not None else "")

    @property
    def undescribed_columns(self) -> int:
        """Live columns this finding leaves undescribed (an undescribed table counts all of its own)."""
        if self.kind is DriftKind.undescribed_column:
            return 1
        if self.kind is DriftKind.undescribed_table:
            return len(self.detail.get("columns", ()))
        return 0

    @property
    def undescribed_personal(self) -> int:
        """Of those, the ones that look personal; a catalogued column that now looks personal counts too."""
        if self.kind is DriftKind.undescribed_table:
            return sum(1 for column in self.detail.get("columns", ()) if column.get("personal"))
        if self.kind in (DriftKind.undescribed_column, DriftKind.looks_personal_now):
            return int(self.personal)
        return 0

    def message(self) -> str:
        """One line for a person: what drifted and what the scaffold suggests (counts, never values)."""
        detail = self.detail
        if self.kind is DriftKind.undescribed_table:
            columns = detail.get("columns", [])
            personal = [c for c in columns if c.get("personal")]
            text = f"table not in the catalogue ({len(columns)} column(s)"
            if personal:
                named = ", ".join(f"{c['column']}: {suggestion_text(c.get('suggestion'))}" for c in personal)
                text += f"; looks personal: {named}"
            return text + ")"
        if self.kind is DriftKind.undescribed_column:
            text = f"column not in the catalogue ({detail.get('type', '?')})"
            suggestion = detail.get("suggestion")
            return text + (f"; suggested: {suggestion_text(suggestion)}" if suggestion else "")
        if self.kind is DriftKind.missing_table:
            return "catalogued table no longer exists"
        if self.kind is DriftKind.missing_column:
            return "catalogued column no longer exists"
        if self.kind is DriftKind.type_changed:
            return f"type changed: catalogued {detail.get('catalogued')}, live {detail.get('live')}"
        return (
            f"catalogued as non-personal ({', '.join(detail.get('categories', []))}) but looks like "
            f"{suggestion_text(detail.get('suggestion'))}"
        )


def suggestion_text(suggestion: Mapping[str, Any] | None) -> str:
    """`email (31 of 50 sampled values are valid email addresses)`; categories when no identifier."""
    if not suggestion:
        return "no suggestion"
    what = suggestion.get("identifier") or ", ".join(suggestion.get("categories", [])) or "personal data"
    evidence = suggestion.get("evidence") or []
    return f"{what} ({'; '.join(evidence)})" if evidence else str(what)


@dataclass(frozen=True)
class SystemCheck:
    """One system's check: its outcome and, when checked, every finding."""

    system: str
    outcome: CheckOutcome
    findings: Sequence[Finding] = ()
    reason: str | None = None
    """Why not checked: a short cause code (`http_system`, `manual_system`, `unresolved_connection`,
    `driver_missing`, an exception's type name), never a message that could carry data."""
    unsampled: tuple[str, ...] = ()
    """Tables (or `table.column`s) whose values the reading role could not sample: a column there
    that now holds identifiers cannot be told."""

    @property
    def undescribed_columns(self) -> int:
        return sum(finding.undescribed_columns for finding in self.findings)

    @property
    def undescribed_personal(self) -> int:
        return sum(finding.undescribed_personal for finding in self.findings)

    @property
    def personal(self) -> bool:
        """Anything personal undescribed: `dsr catalogue drift` exits non-zero."""
        return any(finding.personal for finding in self.findings)
