"""Hypothesis strategies for Norwegian personal data, shared by the unit tests."""

from __future__ import annotations

from datetime import date

from hypothesis import strategies as st

_K1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_K2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def _check_digit(digits: str, weights: tuple[int, ...]) -> int | None:
    k = (11 - sum(w * int(d) for w, d in zip(weights, digits, strict=True)) % 11) % 11
    return None if k == 10 else k


def fodselsnummer(birth: date, individual: int, *, d_number: bool = False) -> str | None:
    """The 11-digit national id for `birth` and a three-digit individual number (None if no valid one)."""
    day = birth.day + 40 if d_number else birth.day
    base = f"{day:02d}{birth.month:02d}{birth.year % 100:02d}{individual:03d}"
    k1 = _check_digit(base, _K1)
    if k1 is None:
        return None
    k2 = _check_digit(base + str(k1), _K2)
    if k2 is None:
        return None
    return f"{base}{k1}{k2}"


@st.composite
def national_ids(draw: st.DrawFn, *, d_numbers: bool = True) -> str:
    """Valid fødselsnummer (and D-numbers): check digits by mod 11, individual number by century."""
    if draw(st.booleans()):
        birth, first = draw(st.dates(date(1900, 1, 1), date(1999, 12, 31))), 0
    else:
        birth, first = draw(st.dates(date(2000, 1, 1), date(2024, 12, 31))), 500
    start = draw(st.integers(0, 499))
    d_number = d_numbers and draw(st.booleans())
    # About one in five individual numbers has no valid check digit: take the next one that does.
    for offset in range(500):
        number = fodselsnummer(birth, first + (start + offset) % 500, d_number=d_number)
        if number is not None:
            break
    assert number is not None
    return number


def formatted_national_ids() -> st.SearchStrategy[str]:
    """As written: `01019912345` or `010199 12345`."""
    return st.tuples(national_ids(), st.booleans()).map(lambda t: f"{t[0][:6]} {t[0][6:]}" if t[1] else t[0])


def phone_digits() -> st.SearchStrategy[str]:
    """Eight-digit Norwegian subscriber numbers (mobile 4/9, landlines 2-7)."""
    return st.tuples(st.sampled_from("2345679"), st.text("0123456789", min_size=7, max_size=7)).map("".join)


def _format_phone(digits: str, style: int) -> str:
    match style:
        case 0:
            return digits  # 41234567
        case 1:
            return f"{digits[:3]} {digits[3:5]} {digits[5:]}"  # 412 34 567
        case 2:
            return f"+47 {digits[:3]} {digits[3:5]} {digits[5:]}"  # +47 412 34 567
        case 3:
            return f"+47{digits}"  # +4741234567
        case 4:
            return " ".join(digits[i : i + 2] for i in range(0, 8, 2))  # 22 33 44 55
        case _:
            return "+47 " + " ".join(digits[i : i + 2] for i in range(0, 8, 2))  # +47 22 33 44 55


def phones() -> st.SearchStrategy[str]:
    return st.builds(_format_phone, phone_digits(), st.integers(0, 5))


def personal_numbers() -> st.SearchStrategy[str]:
    """Any national id or phone number, as written in free text."""
    return st.one_of(formatted_national_ids(), phones())


def digits_of(text: str) -> str:
    return "".join(c for c in text if c.isdigit())
