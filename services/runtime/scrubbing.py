"""Removes national ids, email addresses and phone numbers from text before it is logged.

Log lines are written by code that should never pass personal data in the first place; this is
the net under that rule, so it errs on the side of redacting too much. Known harmless shapes
(UUIDs, timestamps, addresses with ports, request references, short decimals) are set aside first;
then every run of 8 to 15 digits, with single spaces, dots or dashes between them, that has no
digit right before or after it is masked, whatever letters or punctuation surround it.
"""

from __future__ import annotations

import re
from typing import Any

_EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_HARMLESS = re.compile(
    r"""
      [0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}   # UUID
    | \d{4}-\d{2}-\d{2}(?:[T\ ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?  # ISO date/time
    | (?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?(?![\d.])                    # IPv4[:port]
    | DSR-\d{4}-\d{1,12}                                                         # request reference
    | (?<![\d.])\d{1,7}\.\d{1,9}(?![\d.])                                        # a short decimal
    """,
    re.VERBOSE,
)
_PHONE_LIKE_ADDRESS = re.compile(r"\d{2}(?:\.\d{2}){3}")
_DIGITS = re.compile(r"(?<!\d)\+?\d(?:[ .\-]?\d){7,14}(?!\d)")
# One pass: at each position a harmless shape is tried first and kept whole; a digit run is masked.
_SCAN = re.compile(f"(?P<harmless>{_HARMLESS.pattern})|(?P<digits>{_DIGITS.pattern})", re.VERBOSE)

EMAIL_MASK = "[email]"
NUMBER_MASK = "[number]"


def _replace(match: re.Match[str]) -> str:
    text = match.group(0)
    # "22.33.44.55" looks like an address but is far likelier a phone number
    if match.group("harmless") is not None and not _PHONE_LIKE_ADDRESS.fullmatch(text):
        return text
    return NUMBER_MASK


def scrub(text: str) -> str:
    """Return `text` with every email address and every long digit run masked."""
    if not text:
        return text
    return _SCAN.sub(_replace, _EMAIL.sub(EMAIL_MASK, text))


def scrub_value(value: Any) -> Any:
    """Scrub strings, numbers and keys inside any JSON-like value."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if abs(value) < 10_000_000 else NUMBER_MASK
    if isinstance(value, dict):
        return {scrub(str(k)): scrub_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_value(v) for v in value]
    return value
