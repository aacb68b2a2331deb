"""Removes national ids, email addresses and phone numbers from text before it is logged.

Log lines are written by code that should never pass personal data in the first place; this is
the net under that rule, so it errs on the side of redacting too much.
"""

from __future__ import annotations

import re
from typing import Any

_EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# A run of 8-15 digits, optionally with a leading + and single separators between digits:
# national ids (11), Norwegian phones (8), E.164 numbers. Bounded so that UUID groups,
# identifiers like `DSR-2026-000123` and decimals are left alone.
_DIGITS = re.compile(r"(?<![\w.:/-])(\+?\d(?:[ .-]?\d){7,14})(?![\w:/]|-\w)")
# Dates and decimals are not personal data and are everywhere in logs.
_HARMLESS = re.compile(r"^(\d{4}-\d{2}-\d{2}|\d+\.\d+)$")

EMAIL_MASK = "[email]"
NUMBER_MASK = "[number]"


def _mask_number(match: re.Match[str]) -> str:
    text = match.group(1)
    if _HARMLESS.match(text):
        return text
    return NUMBER_MASK


def scrub(text: str) -> str:
    """Return `text` with every email address and every long digit run masked."""
    if not text:
        return text
    text = _EMAIL.sub(EMAIL_MASK, text)
    return _DIGITS.sub(_mask_number, text)


def scrub_value(value: Any) -> Any:
    """Scrub strings inside any JSON-like value."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {str(k): scrub_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_value(v) for v in value]
    return value
