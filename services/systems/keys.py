"""Keys and identifier values arrive as text; a column holds a type. Turning one into the other,
or saying that no row of the column can hold it (it is then left out of the statement instead of
failing it): a hostile value finds nothing and breaks nothing, on every engine."""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from services.catalogue.model import ColumnType

MAX_TEXT = 4000
"""Longest identifier or key text the engine binds or returns (a cast target on every dialect);
a longer value cannot be an identifier and finds nothing."""

_INTEGER = re.compile(r"\s*[+-]?[0-9]+\s*", re.ASCII)
_NUMERIC = re.compile(r"\s*[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?\s*", re.ASCII)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_INTEGER_LIMIT = {ColumnType.bigint: 2**63, ColumnType.integer: 2**31}
_BOOLEANS = {
    **dict.fromkeys(("t", "true", "y", "yes", "on", "1"), True),
    **dict.fromkeys(("f", "false", "n", "no", "off", "0"), False),
}


def _bindable(text: str) -> bool:
    if len(text) > MAX_TEXT or "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: no database stores it
        return False
    return True


def key_value(kind: ColumnType, text: str) -> Any:
    """`text` (a key or identifier as text) as a value of a `kind` column, or None when no row of
    such a column can hold it (it is then left out of the statement instead of failing it)."""
    if not isinstance(text, str) or not _bindable(text):
        return None
    if kind in _INTEGER_LIMIT:
        if not _INTEGER.fullmatch(text):
            return None
        number = int(text)
        limit = _INTEGER_LIMIT[kind]
        return number if -limit <= number < limit else None
    if kind is ColumnType.numeric:
        if not _NUMERIC.fullmatch(text):
            return None
        try:
            return Decimal(text.strip())
        except InvalidOperation:
            return None
    if kind is ColumnType.boolean:
        return _BOOLEANS.get(text.strip().lower())
    if kind is ColumnType.date:
        try:
            return date.fromisoformat(text) if _DATE.fullmatch(text) else None
        except ValueError:
            return None
    if kind is ColumnType.timestamptz:
        try:
            moment = datetime.fromisoformat(text.strip())
        except ValueError:
            return None
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return text


def key_values(kind: ColumnType, texts: Collection[str]) -> list[Any]:
    """The usable values of `texts` for a `kind` column, without duplicates, in a stable order."""
    values: dict[Any, None] = {}
    for text in sorted(texts):
        value = key_value(kind, text)
        if value is not None:
            values[value] = None
    return list(values)
