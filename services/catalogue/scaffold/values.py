"""What one sampled value is (the whole of it) or holds (inside free text). Pure.

National ids use the pipeline's own validator (`services.intake.domain.identifiers`): python-stdnum's
`fodselsnummer` covers birth numbers, D- and H-numbers, but (2.2) neither the widened 2032 rule for
the first check digit nor synthetic test numbers, which the pipeline accepts. Bank accounts are
python-stdnum's `kontonr` (11 digits; every valid national id also passes its one check digit, so a
national id is never counted as an account). Phone numbers are `phonenumbers`' (Norway by default).
"""

from __future__ import annotations

import re
from enum import StrEnum

import phonenumbers
from stdnum.no import kontonr, orgnr

from services.intake.domain.identifiers import (
    InvalidIdentifier,
    normalise_email,
    parse_national_id,
)

REGION = "NO"
"""Phone numbers written without a country code are Norwegian."""

MAX_CHARS = 4096
"""Only the start of a long value is looked at (a 10 MB note says as much in its first 4 kB)."""


class Kind(StrEnum):
    """What a value can be: the identifier kinds, and what tells the other categories apart."""

    national_id = "national_id"
    email = "email"
    phone = "phone"
    """A phone number as people write one: `+47 ...`, `0047...`, or digits with separators."""
    bare_phone = "bare_phone"
    """Digits only that happen to be a valid Norwegian number (an 8-digit code may look like one)."""
    bank_account = "bank_account"
    org_number = "org_number"
    address = "address"
    date = "date"
    reference = "reference"
    """Shaped like a case, customer or invoice number: letters, digits, '-', '/', with a digit."""
    flag = "flag"
    """A yes/no written as text."""
    prose = "prose"
    """Words: four or more."""


CONTAINED = (Kind.national_id, Kind.email, Kind.phone, Kind.bank_account)
"""Identifiers looked for inside free text."""

_SEPARATORS = re.compile(r"[\s.\-]")
_PHONE_CHARS = re.compile(r"^\+?[0-9][0-9 ()./-]{5,22}$")
_EMAIL_SHAPE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,63}$")
_EMAIL_INSIDE = re.compile(r"[\w.+%-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+")
_ELEVEN_INSIDE = re.compile(r"(?<![\d])(\d{6}[ ]?\d{5}|\d{4}[ .]\d{2}[ .]\d{5})(?![\d])")
_ACCOUNT = re.compile(r"^(\d{11}|\d{4}([ .])\d{2}\2\d{5})$", re.ASCII)
_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-/]{0,39}$")
_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2}|\d{2}\.\d{2}\.\d{4}|\d{2}/\d{2}/\d{4})([ T].*)?$")
_FLAGS = frozenset({"true", "false", "yes", "no", "ja", "nei", "y", "n", "t", "f", "0", "1", "on", "off"})
_WORD = re.compile(r"[^\W\d_]{2,}")
_ADDRESS = re.compile(
    r"^(?:[^\W\d_][\w.'\- ]*?\s\d{1,4}\s?[A-Za-z]?|(?:postboks|pb\.?|p\.?o\.? box)\s\d{1,6})"
    r"(?:\s*,\s*|\s+)(?:[\w.'\- ]+,\s*)?\d{4}\s+[^\W\d_][\w.'\- ]*$",
    re.IGNORECASE,
)
"""A Norwegian postal address: street and number (or a P.O. box), then a four-digit postcode and place."""


def _national_id(text: str) -> bool:
    try:
        parse_national_id(text, accept_synthetic=True)
    except InvalidIdentifier:
        return False
    return True


def _email(text: str) -> bool:
    if not _EMAIL_SHAPE.match(text):
        return False
    try:
        normalise_email(text)
    except InvalidIdentifier:
        return False
    return True


def _phone(text: str) -> bool:
    digits = sum(c.isdigit() for c in text)
    if not _PHONE_CHARS.match(text) or not 8 <= digits <= 15:
        return False
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(text, REGION))
    except phonenumbers.NumberParseException:
        return False


def _bank_account(text: str) -> bool:
    """11 digits, bare or grouped 4.2.5 (`1503.00.12345`, `1503 00 12345`), with a valid check digit."""
    if not _ACCOUNT.match(text):
        return False
    compact = re.sub(r"[ .]", "", text)
    return kontonr.is_valid(compact) and not _national_id(compact)


def _org_number(text: str) -> bool:
    compact = _SEPARATORS.sub("", text).upper().removeprefix("NO").removesuffix("MVA")
    return len(compact) == 9 and compact.isascii() and orgnr.is_valid(compact)


def kinds(value: str) -> frozenset[Kind]:
    """What the whole value is (several kinds can hold at once: an email is no reference, but a
    bank account number is also shaped like one)."""
    text = value.strip()[:MAX_CHARS]
    if not text:
        return frozenset()
    found: set[Kind] = set()
    if _national_id(text):
        found.add(Kind.national_id)
    elif _bank_account(text):
        found.add(Kind.bank_account)
    if "@" in text and _email(text):
        found.add(Kind.email)
    if _phone(text) and Kind.national_id not in found:
        found.add(Kind.bare_phone if text.isdigit() else Kind.phone)
    if _org_number(text):
        found.add(Kind.org_number)
    if _ADDRESS.match(text):
        found.add(Kind.address)
    if _DATE.match(text):
        found.add(Kind.date)
    if text.lower() in _FLAGS:
        found.add(Kind.flag)
    elif _REFERENCE.match(text) and any(c.isdigit() for c in text):
        found.add(Kind.reference)
    if len(_WORD.findall(text)) >= 4:
        found.add(Kind.prose)
    return frozenset(found)


def contained(value: str) -> frozenset[Kind]:
    """The identifiers inside a text (`CONTAINED`), however much else it says."""
    text = value[:MAX_CHARS]
    found: set[Kind] = set()
    if "@" in text and any(_email(match) for match in _EMAIL_INSIDE.findall(text)):
        found.add(Kind.email)
    for match in _ELEVEN_INSIDE.findall(text):
        compact = _SEPARATORS.sub("", match)
        if _national_id(compact):
            found.add(Kind.national_id)
        elif _bank_account(compact):
            found.add(Kind.bank_account)
    try:
        if any(True for _ in phonenumbers.PhoneNumberMatcher(text, REGION)):
            found.add(Kind.phone)
    except phonenumbers.NumberParseException:  # pragma: no cover - the matcher skips what it cannot parse
        pass
    return frozenset(found)
