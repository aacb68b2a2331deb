"""Request bodies and identifiers for the intake API tests."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

# Secrets of the keys `tests/conftest.py` configures (names test-system, test-agent, test-ops, test-dpo).
SECRETS = {
    "system": "system-secret-0123456789",
    "agent": "agent-secret-0123456789",
    "ops": "ops-secret-01234567890",
    "dpo": "dpo-secret-01234567890",
}
REFERENCE = re.compile(r"^DSR-\d{4}-\d{6}$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
PHONE_CHECKS = {
    "method": "phone_checks",
    "checks": ["national_id", "address", "case_number"],
    "verified_by": "agent-ola",
}
# From the README's quick start; a valid classic fødselsnummer.
README_NATIONAL_ID = "15076500565"
# The official example of the 2032 rule (first check digit leaves remainder != 0).
NATIONAL_ID_2032 = "02013299997"

_K1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_K2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {SECRETS[role]}"}


def national_id(day: int, month: int, year: int, start: int = 100) -> str:
    """A number with classic (pre-2032) check digits: `day`+40 makes a D-number, `month`+40 an
    H-number, `month`+80 a synthetic one. Searches individual numbers from `start`."""
    for individual in range(start, 1000):
        base = [int(c) for c in f"{day:02d}{month:02d}{year % 100:02d}{individual:03d}"]
        k1 = (11 - sum(w * d for w, d in zip(_K1, base, strict=True)) % 11) % 11
        if k1 == 10:
            continue
        k2 = (11 - sum(w * d for w, d in zip(_K2, [*base, k1], strict=True)) % 11) % 11
        if k2 == 10:
            continue
        return "".join(map(str, [*base, k1, k2]))
    raise AssertionError("no individual number gives valid check digits")


def person(n: int) -> str:
    """The n-th distinct valid fødselsnummer (born in 1980-something, individual 100+)."""
    return national_id(1 + n % 28, 1 + (n // 28) % 12, 80 + n // 336, start=100 + n % 7)


def submission(
    *,
    type: str = "access",
    channel: str = "phone",
    subject: dict[str, Any] | None = None,
    verification: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": type,
        "channel": channel,
        "subject": subject if subject is not None else {"national_id": README_NATIONAL_ID},
    }
    if verification is not None:
        body["verification"] = verification
    elif channel == "phone":
        body["verification"] = PHONE_CHECKS
    body.update(extra)
    return body


def idempotency(key: str | None = None) -> dict[str, str]:
    return {"Idempotency-Key": key or f"key-{uuid.uuid4().hex}"}


def assert_field_error(response: httpx.Response, field: str, kind: str | None = None) -> dict[str, Any]:
    """A 422 whose first error names `field` (the last element of `loc`) and, if given, `kind`."""
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, list) and detail, detail
    first = detail[0]
    assert set(first) >= {"loc", "msg", "type"}, first
    assert first["loc"][0] == "body", first
    assert str(first["loc"][-1]) == field, first
    if kind is not None:
        assert first["type"] == kind, first
    return first  # type: ignore[no-any-return]


Submit = Callable[..., Awaitable[httpx.Response]]
