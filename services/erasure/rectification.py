"""Rectification (Art. 16) and its proof. Pure: the rows come in read, the changes and the proof go out.

A correction names a column (`address`) or one table's column (`system.table.column`) and the
value it should hold. It applies to the rectifiable columns of that name in every row the locator
found, and follows the old value: another rectifiable column of the same kind of data (categories)
in a found row that holds exactly a value being corrected holds the same fact, so it is corrected
too (a case's `debtor_address` when the `address` is corrected). A new value for an identifier
column is normalised as the locator stores it (E.164 phone, lower-case email); one that is not
valid is not written, and a person decides.

After the corrections every found row is read again, and the proof says, per row and column: the
new value is there, and no old value is left in any rectifiable column of that kind in any found
row. An old value in a column that is not rectifiable (a call log's number, a booked entry) is
named with the catalogue's reason (`kept_as_is`): the subject is told where it stays and why.
Values appear in the proof only as keyed hashes (`fingerprint_value`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.catalogue.model import Catalogue, Column, IdentifierType, Table
from services.catalogue.text import Text
from services.erasure.hashing import keyed_hash
from services.intake.domain.identifiers import InvalidIdentifier, normalise_email, normalise_phone

RowId = tuple[str, str, tuple[str, ...]]
"""(system, table, primary key values as text)."""

FoundRow = tuple[str, str, Mapping[str, Any]]
"""(system, table, primary key column -> value) as the findings hold it."""

UNPROVEN = "rectification_unproven"
"""The reason code of a rectification whose proof failed (status history, audit)."""
NOT_APPLIED = "rectification_not_applied"
"""The reason code of corrections that name no rectifiable column found, or an invalid value."""

NO_REASON_EN = "This record is kept as it was written; it is not corrected here."
NO_REASON_NB = "Opplysningen oppbevares slik den ble skrevet; den rettes ikke her."


def row_id(system: str, table: str, key: Mapping[str, Any]) -> RowId:
    return system, table, tuple(str(v) for v in key.values())


def fingerprint_value(hash_key: bytes, value: Any) -> str:
    """A keyed hash of one value as compared (so the same value has the same print everywhere)."""
    return keyed_hash(hash_key, "value:" + _plain(value))[:32]


def _plain(value: Any) -> str:
    return re.sub(r"\s+", " ", str(value)).strip().casefold()


def comparable(column: Column, value: Any) -> str | None:
    """A value as compared with another: identifiers normalised as stored, text without case and
    runs of spaces; empty is None (holds nothing)."""
    if value is None or str(value).strip() == "":
        return None
    text = str(value)
    try:
        if column.identifier is IdentifierType.phone:
            return normalise_phone(text)
        if column.identifier is IdentifierType.email:
            return normalise_email(text)
    except InvalidIdentifier:
        pass
    if column.identifier is IdentifierType.national_id:
        return re.sub(r"\s", "", text)
    return _plain(text)


def written(column: Column, value: str) -> str:
    """The new value as the column stores it; raises `InvalidIdentifier` for an invalid identifier."""
    if column.identifier is IdentifierType.phone:
        return normalise_phone(value, field="details.corrections")
    if column.identifier is IdentifierType.email:
        return normalise_email(value, field="details.corrections")
    if column.identifier is IdentifierType.national_id:
        digits = re.sub(r"\s", "", value)
        if not re.fullmatch(r"\d{11}", digits):
            raise InvalidIdentifier("details.corrections", "invalid_national_id", "11 digits")
        return digits
    return value.strip()


def _same_kind(a: Column, b: Column) -> bool:
    """Two columns hold the same kind of data: a category of one equals, or is under, one of the other's."""
    return any(
        x == y or x.startswith(y + ".") or y.startswith(x + ".") for x in a.categories for y in b.categories
    )


@dataclass(frozen=True)
class Correction:
    """One column of one row to set."""

    system: str
    table: str
    key: Mapping[str, str]
    column: str
    new: str
    old: Any
    """As read before the change (None: it held nothing)."""
    by: str
    """The correction's name as the request gave it."""
    followed: bool = False
    """Not named by the correction: it held the old value of a column that was (same kind of data)."""

    @property
    def row(self) -> RowId:
        return row_id(self.system, self.table, self.key)


@dataclass(frozen=True)
class CorrectionPlan:
    corrections: tuple[Correction, ...]
    not_applied: tuple[str, ...] = ()
    """Corrections that name no rectifiable column found."""
    invalid: tuple[str, ...] = ()
    """Corrections whose value cannot be written to any column they name (not a valid phone...)."""
    skipped: tuple[str, ...] = ()
    """`system.table.column` a correction also names but whose kind its value is not (`address`
    written to a postal address, not to a column of email addresses of that name): left as it is."""

    def by_system(self) -> dict[str, list[tuple[str, dict[str, str], dict[str, str]]]]:
        """Per system, (table, key, column -> new value) per row, in the order found."""
        rows: dict[RowId, tuple[str, str, dict[str, str], dict[str, str]]] = {}
        for c in self.corrections:
            entry = rows.setdefault(c.row, (c.system, c.table, dict(c.key), {}))
            entry[3][c.column] = c.new
        out: dict[str, list[tuple[str, dict[str, str], dict[str, str]]]] = {}
        for system, table, key, values in rows.values():
            out.setdefault(system, []).append((table, key, values))
        return out


def _targets(name: str, system: str, table_name: str, table: Table) -> str | None:
    """The column a correction named `name` sets in this table, if it names one of it."""
    column = name.rsplit(".", 1)[-1]
    if name.count(".") == 2 and name != f"{system}.{table_name}.{column}":
        return None
    if name.count(".") not in (0, 2):
        return None
    spec = table.columns.get(column)
    return column if spec is not None and spec.rectifiable else None


def plan_corrections(
    catalogue: Catalogue,
    corrections: Mapping[str, str],
    rows: Iterable[tuple[FoundRow, Mapping[str, Any] | None]],
) -> CorrectionPlan:
    """The changes the request's corrections make to the found rows, as read now (`None`: the row
    could not be read: it is left out, and the proof reads it again)."""
    read = [(found, values) for found, values in rows if values is not None]
    named: list[Correction] = []
    used: set[str] = set()
    refused: dict[str, set[str]] = {}
    for (system, table_name, key), values in read:
        table = catalogue.systems[system].tables[table_name]
        for name, value in corrections.items():
            column = _targets(name, system, table_name, table)
            if column is None:
                continue
            used.add(name)
            try:
                new = written(table.columns[column], value)
            except InvalidIdentifier:
                refused.setdefault(name, set()).add(f"{system}.{table_name}.{column}")
                continue
            named.append(Correction(system, table_name, dict(key), column, new, values.get(column), name))
    taken = {(c.row, c.column) for c in named}
    followed: list[Correction] = []
    for (system, table_name, key), values in read:
        table = catalogue.systems[system].tables[table_name]
        for column_name, spec in table.columns.items():
            if not spec.rectifiable or (row_id(system, table_name, key), column_name) in taken:
                continue
            held = comparable(spec, values.get(column_name))
            if held is None:
                continue
            for c in named:
                source = catalogue.systems[c.system].tables[c.table].columns[c.column]
                if (
                    _same_kind(source, spec)
                    and comparable(source, c.old) == held
                    and comparable(source, c.new) != held
                ):
                    try:
                        new = written(spec, c.new)
                    except InvalidIdentifier:
                        continue
                    followed.append(
                        Correction(
                            system,
                            table_name,
                            dict(key),
                            column_name,
                            new,
                            values.get(column_name),
                            c.by,
                            True,
                        )
                    )
                    taken.add((row_id(system, table_name, key), column_name))
                    break
    written_by = {c.by for c in named}
    return CorrectionPlan(
        tuple(named + followed),
        tuple(sorted(set(corrections) - used)),
        tuple(sorted(name for name in refused if name not in written_by)),
        tuple(
            sorted(column for name, columns in refused.items() if name in written_by for column in columns)
        ),
    )


@dataclass(frozen=True)
class KeptAsIs:
    """A column that is not rectifiable and still holds an old value: named to the subject."""

    system: str
    system_title: Text
    table: str
    description: Text
    column: str
    reason: dict[str, str]
    rows: int = 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "system_title": self.system_title.as_dict(),
            "table": self.table,
            "description": self.description.as_dict(),
            "column": self.column,
            "reason": self.reason,
            "rows": self.rows,
        }


@dataclass(frozen=True)
class Proof:
    """What the read-back shows. `verified`: every correction holds its new value, no rectifiable
    column of a found row holds an old value, and no corrected row is gone."""

    verified: bool
    rows_checked: int
    systems: tuple[str, ...]
    tables: tuple[str, ...]
    corrected: tuple[dict[str, Any], ...]
    old_value_left: tuple[dict[str, Any], ...] = ()
    new_value_missing: tuple[dict[str, Any], ...] = ()
    rows_gone: tuple[dict[str, Any], ...] = ()
    kept_as_is: tuple[KeptAsIs, ...] = ()
    unreadable: tuple[str, ...] = ()
    """Systems whose rows could not be read back (no interface): an agent corrects them."""
    not_applied: tuple[str, ...] = ()
    invalid: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    problems: tuple[str, ...] = field(default=())
    """`system.table.column` where the proof failed, for the review reason (no values)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "verified": self.verified,
            "rows_checked": self.rows_checked,
            "systems": list(self.systems),
            "tables": list(self.tables),
            "corrected": list(self.corrected),
            "old_value_left": list(self.old_value_left),
            "new_value_missing": list(self.new_value_missing),
            "rows_gone": list(self.rows_gone),
            "kept_as_is": [k.as_dict() for k in self.kept_as_is],
            "unreadable": list(self.unreadable),
            "not_applied": list(self.not_applied),
            "invalid": list(self.invalid),
            "skipped": list(self.skipped),
            "problems": list(self.problems),
        }


def kept_reason(column: Column) -> dict[str, str]:
    """Why a column keeps an old value, in both languages (the catalogue's words, else a general one)."""
    if column.kept_as_is is None:
        return {"en": NO_REASON_EN, "nb": NO_REASON_NB}
    return column.kept_as_is.as_dict()


def prove(
    catalogue: Catalogue,
    plan: CorrectionPlan,
    found: Sequence[FoundRow],
    after: Mapping[RowId, Mapping[str, Any]],
    hash_key: bytes,
    *,
    old_values: Iterable[tuple[str, str, str, Any]] = (),
    unreadable: Sequence[str] = (),
) -> Proof:
    """Judge the rows as read back after the corrections (`after`, by row; a row missing is gone).

    `old_values`: (system, table, column, value) replaced, beyond the plan's own `old` (what the
    systems reported replacing: a value written between the read and the change counts too)."""
    olds: list[tuple[Column, str]] = []
    for c in plan.corrections:
        spec = catalogue.systems[c.system].tables[c.table].columns[c.column]
        if (held := comparable(spec, c.old)) is not None and held != comparable(spec, c.new):
            olds.append((spec, held))
    for system, table_name, column_name, value in old_values:
        spec = catalogue.systems[system].tables[table_name].columns[column_name]
        held = comparable(spec, value)
        news = {
            comparable(spec, c.new)
            for c in plan.corrections
            if (c.system, c.table, c.column) == (system, table_name, column_name)
        }
        if held is not None and held not in news:
            olds.append((spec, held))
    corrected, missing, gone, problems = [], [], [], []
    for c in plan.corrections:
        spec = catalogue.systems[c.system].tables[c.table].columns[c.column]
        values = after.get(c.row)
        entry = {
            "system": c.system,
            "table": c.table,
            "key": dict(c.key),
            "column": c.column,
            "by": c.by,
            "followed": c.followed,
            "old": None if c.old in (None, "") else fingerprint_value(hash_key, comparable(spec, c.old)),
            "new": fingerprint_value(hash_key, comparable(spec, c.new)),
        }
        if values is None:
            gone.append({k: entry[k] for k in ("system", "table", "key")})
            problems.append(f"{c.system}.{c.table}: a corrected record is gone")
            continue
        holds_new = comparable(spec, values.get(c.column)) == comparable(spec, c.new)
        corrected.append({**entry, "holds_new": holds_new})
        if not holds_new:
            missing.append({k: entry[k] for k in ("system", "table", "key", "column")})
            problems.append(f"{c.system}.{c.table}.{c.column}: the new value is not there")
    left: list[dict[str, Any]] = []
    kept: dict[tuple[str, str, str], KeptAsIs] = {}
    checked = 0
    systems, tables = set(), set()
    for system, table_name, key in found:
        values = after.get(row_id(system, table_name, key))
        if values is None:
            continue
        checked += 1
        systems.add(system)
        tables.add(f"{system}.{table_name}")
        table = catalogue.systems[system].tables[table_name]
        for column_name, spec in table.columns.items():
            if column_name in table.primary_key or spec.references:
                continue
            held = comparable(spec, values.get(column_name))
            if held is None or not any(held == old and _same_kind(source, spec) for source, old in olds):
                continue
            if spec.rectifiable:
                left.append(
                    {
                        "system": system,
                        "table": table_name,
                        "key": dict(key),
                        "column": column_name,
                        "old": fingerprint_value(hash_key, held),
                    }
                )
                problems.append(f"{system}.{table_name}.{column_name}: the old value is still there")
                continue
            at = (system, table_name, column_name)
            if at in kept:
                k = kept[at]
                kept[at] = KeptAsIs(
                    k.system, k.system_title, k.table, k.description, k.column, k.reason, k.rows + 1
                )
            else:
                kept[at] = KeptAsIs(
                    system,
                    catalogue.systems[system].title,
                    table_name,
                    table.description,
                    column_name,
                    kept_reason(spec),
                )
    return Proof(
        verified=not left and not missing and not gone,
        rows_checked=checked,
        systems=tuple(sorted(systems)),
        tables=tuple(sorted(tables)),
        corrected=tuple(corrected),
        old_value_left=tuple(left),
        new_value_missing=tuple(missing),
        rows_gone=tuple(gone),
        kept_as_is=tuple(kept[k] for k in sorted(kept)),
        unreadable=tuple(sorted(unreadable)),
        not_applied=plan.not_applied,
        invalid=plan.invalid,
        skipped=plan.skipped,
        problems=tuple(dict.fromkeys(problems)),
    )
