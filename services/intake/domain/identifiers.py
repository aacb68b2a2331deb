"""Identifier validation and normalisation (BRIEF §6). Pure.

National ids: python-stdnum validates the classic fødselsnummer, D- and H-numbers, but (2.2) not
the widened 2032 rule for the first check digit, nor synthetic test numbers (month + 80), and it
refuses birth dates in the future, which the official 2032 example has. So the check digits are
computed here and stdnum is the reference the tests compare against.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from enum import StrEnum

import phonenumbers
from email_validator import EmailNotValidError, validate_email

_K1_WEIGHTS = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_K2_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
# From 2032 the weighted sum including k1 may leave these remainders mod 11 (before: only 0).
_K1_REMAINDERS = frozenset({0, 1, 2, 3})
_SEPARATORS = re.compile(r"[\s.\-]")
_ELEVEN_DIGITS = re.compile(r"[0-9]{11}")


REASON_CODES = (
    "invalid_national_id",
    "synthetic_national_id",
    "invalid_phone",
    "invalid_email",
    "invalid_reference",
    "field_forbidden_for_channel",
    "received_at_too_old",
    "received_at_in_future",
    "missing_corrections",
    "missing_objection_grounds",
)
"""Every `InvalidIdentifier.reason_code` (here and in `submission.py`): an unusable submission on
the intake topic is dead-lettered with one of them, so they are its dead-letter reason codes too."""


class InvalidIdentifier(ValueError):
    """A field that cannot be used; `reason_code` and `message` never quote the value."""

    def __init__(self, field: str, reason_code: str, message: str):
        super().__init__(message)
        self.field = field
        self.reason_code = reason_code
        self.message = message


class NationalIdKind(StrEnum):
    birth_number = "birth_number"
    d_number = "d_number"
    h_number = "h_number"
    synthetic = "synthetic"


@dataclass(frozen=True)
class NationalId:
    value: str
    kind: NationalIdKind


def _check_digits_valid(digits: str) -> bool:
    numbers = [int(d) for d in digits]
    k1_sum = sum(w * n for w, n in zip(_K1_WEIGHTS, numbers, strict=False)) + numbers[9]
    if k1_sum % 11 not in _K1_REMAINDERS:
        return False
    k2 = (11 - sum(w * n for w, n in zip(_K2_WEIGHTS, numbers, strict=False)) % 11) % 11
    return k2 != 10 and k2 == numbers[10]


def _plausible_date(day: int, month: int, individual: int, year: int) -> bool:
    if not 1 <= month <= 12:
        return False
    # Century from the individual number (Skatteverket's ranges); unknown: assume a leap year.
    if individual < 500:
        full_year = 1900 + year
    elif individual < 750 and year >= 54:
        full_year = 1800 + year
    elif year < 40:
        full_year = 2000 + year
    elif individual >= 900:
        full_year = 1900 + year
    else:
        full_year = 2000
    return 1 <= day <= calendar.monthrange(full_year, month)[1]


def parse_national_id(raw: str, *, accept_synthetic: bool, field: str = "subject.national_id") -> NationalId:
    digits = _SEPARATORS.sub("", raw)
    if not _ELEVEN_DIGITS.fullmatch(
        digits
    ):  # ASCII digits only: str.isdigit() also accepts Arabic-Indic and full-width digits
        raise InvalidIdentifier(field, "invalid_national_id", "a national identity number has 11 digits")
    if not _check_digits_valid(digits):
        raise InvalidIdentifier(
            field, "invalid_national_id", "the check digits of the national identity number do not match"
        )
    day, month, year, individual = int(digits[0:2]), int(digits[2:4]), int(digits[4:6]), int(digits[6:9])
    kind = NationalIdKind.birth_number
    if day > 40:
        kind, day = NationalIdKind.d_number, day - 40
    if month >= 80:
        if not accept_synthetic:
            raise InvalidIdentifier(
                field, "synthetic_national_id", "synthetic test numbers are not accepted here"
            )
        kind, month = NationalIdKind.synthetic, month - 80
    elif month > 40:
        kind, month = NationalIdKind.h_number, month - 40
    if not _plausible_date(day, month, individual, year):
        raise InvalidIdentifier(
            field, "invalid_national_id", "the national identity number holds no valid date"
        )
    return NationalId(digits, kind)


def normalise_phone(raw: str, *, region: str = "NO", field: str = "subject.phone") -> str:
    """E.164, with Norway as the default country."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise InvalidIdentifier(field, "invalid_phone", "not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidIdentifier(field, "invalid_phone", "not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(raw: str, *, field: str = "subject.email") -> str:
    """Syntax-checked, domain in lower case (IDNA), local part lower-cased: mailboxes here are
    case-insensitive in practice, and two spellings of one address must match one person."""
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError:
        raise InvalidIdentifier(field, "invalid_email", "not a valid email address") from None
    return f"{result.local_part.lower()}@{result.ascii_domain.lower()}"


_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-/]{0,39}$")


def normalise_reference(raw: str, *, field: str) -> str:
    """Case, customer and invoice numbers: trimmed, upper-cased, separators kept."""
    value = raw.strip().upper()
    if not _REFERENCE.match(value):
        raise InvalidIdentifier(field, "invalid_reference", "letters, digits, '-' and '/' only, at most 40")
    return value
