"""Random Norwegian people: unique synthetic national ids, phones and emails, never a showcase one.

National ids are synthetic test numbers (month + 80, some D-numbers) with valid mod-11 check digits,
drawn until unused. Phones walk an affine permutation of the valid mobile ranges, so every person
gets a different number without remembering the ones given out. Emails carry the person's index,
so they are unique too, and never look like a showcase email (those have no digits).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from datetime import date

from services.demo import vocabulary
from services.demo.mod11 import national_id
from services.demo.people import Person

PHONE_BLOCKS = (
    (40_001_000, 42_000_000),
    (45_000_000, 45_360_000),
    (45_370_000, 49_000_000),
    (90_000_000, 100_000_000),
)
"""Norwegian mobile ranges (4[015-8]x, 9xx) without 4536 xxxx (not valid) and 4000 0000-4000 0999
(the showcase subjects' block)."""

_FOLD = str.maketrans({"æ": "ae", "ø": "o", "å": "aa", "é": "e", "ü": "u"})
_FIRST_BIRTH = date(1940, 1, 1).toordinal()
_LAST_BIRTH = date(2006, 12, 31).toordinal()


def email_local(text: str) -> str:
    """`Bjørn Åse` -> `bjorn.aase`: what people type for their mailbox name."""
    return text.lower().translate(_FOLD).replace(" ", ".")


class PhoneNumbers:
    """Index -> a distinct mobile number in E.164 (a seeded affine permutation of PHONE_BLOCKS)."""

    def __init__(self, rng: random.Random) -> None:
        self._size = sum(end - start for start, end in PHONE_BLOCKS)
        self._step = rng.randrange(self._size // 3, self._size)
        while math.gcd(self._step, self._size) != 1:
            self._step += 1
        self._offset = rng.randrange(self._size)

    @property
    def capacity(self) -> int:
        return self._size

    def __call__(self, index: int) -> str:
        if not 0 <= index < self._size:
            raise ValueError("no distinct phone number left")
        position = (self._step * index + self._offset) % self._size
        for start, end in PHONE_BLOCKS:
            if position < end - start:
                return f"+47{start + position}"
            position -= end - start
        raise AssertionError("unreachable")


class IdentityFactory:
    """Makes the people at indexes 0, 1, 2, ...: each call draws from the shared seeded `rng`."""

    def __init__(self, rng: random.Random, reserved_national_ids: Iterable[str]) -> None:
        self._rng = rng
        self._used = {int(value) for value in reserved_national_ids}
        self._phones = PhoneNumbers(rng)
        self._first = [(name, email_local(name)) for name in vocabulary.FIRST_NAMES]
        self._last = [(name, email_local(name)) for name in vocabulary.LAST_NAMES]

    def national_id(self) -> str:
        rng = self._rng
        while True:
            birth = date.fromordinal(rng.randint(_FIRST_BIRTH, _LAST_BIRTH))
            individual = rng.randint(0, 499) if birth.year < 2000 else rng.randint(500, 999)
            value = national_id(birth, individual, d_number=rng.random() < 0.04, synthetic=True)
            if value is not None and int(value) not in self._used:
                self._used.add(int(value))
                return value

    def address(self) -> str:
        rng = self._rng
        postcode, place = rng.choice(vocabulary.POSTAL_PLACES)
        number = rng.randint(1, 140)
        suffix = rng.choice(("", "", "", "", "A", "B"))
        return f"{rng.choice(vocabulary.STREETS)} {number}{suffix}, {postcode} {place}"

    def person(self, index: int) -> Person:
        rng = self._rng
        first, first_local = rng.choice(self._first)
        last, last_local = rng.choice(self._last)
        pattern = rng.random()
        if pattern < 0.6:
            local = f"{first_local}.{last_local}{index}"
        elif pattern < 0.85:
            local = f"{first_local}{last_local[:1]}{index}"
        else:
            local = f"{first_local}_{index}"
        return Person(
            national_id=self.national_id(),
            name=f"{first} {last}",
            address=self.address(),
            phone=self._phones(index),
            email=f"{local}@{rng.choice(vocabulary.EMAIL_DOMAINS)}",
        )
