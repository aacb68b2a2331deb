"""Norwegian mod-11 check digits: national ids, bank account and organisation numbers. Pure."""

from __future__ import annotations

from datetime import date

NATIONAL_ID_K1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
NATIONAL_ID_K2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
_ACCOUNT = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
_ORGANISATION = (3, 2, 7, 6, 5, 4, 3, 2)


def check_digit(digits: str, weights: tuple[int, ...]) -> int | None:
    """The mod-11 check digit of `digits`, or None where the rule gives 10 (no valid number)."""
    k = (11 - sum(w * int(d) for w, d in zip(weights, digits, strict=True)) % 11) % 11
    return None if k == 10 else k


def national_id(
    birth: date, individual: int, *, d_number: bool = False, synthetic: bool = False
) -> str | None:
    """`DDMMYY iii k1 k2` (D-number: day + 40; synthetic test number: month + 80), or None when
    this birth date and individual number have no valid check digits."""
    day = birth.day + 40 if d_number else birth.day
    month = birth.month + 80 if synthetic else birth.month
    base = f"{day:02d}{month:02d}{birth.year % 100:02d}{individual:03d}"
    k1 = check_digit(base, NATIONAL_ID_K1)
    if k1 is None:
        return None
    k2 = check_digit(f"{base}{k1}", NATIONAL_ID_K2)
    return None if k2 is None else f"{base}{k1}{k2}"


def national_id_check_digits_valid(value: str) -> bool:
    """Both check digits match (the classic rule: k1 leaves remainder 0)."""
    if len(value) != 11 or not value.isdigit():
        return False
    k1 = check_digit(value[:9], NATIONAL_ID_K1)
    k2 = check_digit(value[:10], NATIONAL_ID_K2)
    return k1 == int(value[9]) and k2 == int(value[10])


def bank_account(bank: int, number: int) -> str | None:
    """An 11-digit account number: 4-digit bank code, 6 digits, check digit."""
    base = f"{bank:04d}{number:06d}"
    k = check_digit(base, _ACCOUNT)
    return None if k is None else f"{base}{k}"


def organisation_number(serial: int) -> str | None:
    """A 9-digit organisation number starting with 9 (as most companies' do)."""
    base = f"9{serial:07d}"
    k = check_digit(base, _ORGANISATION)
    return None if k is None else f"{base}{k}"
