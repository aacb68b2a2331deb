"""Inputs at the edges: what the API must refuse cleanly (4xx), never with a 500 or a corrupt row."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.intake.helpers import README_NATIONAL_ID, Submit, assert_field_error, submission

NUL_BUG = (
    "BUG: a NUL character (\\u0000) in a free-text field passes validation (schemas/requests.py, "
    "services/intake/http.py) and PostgreSQL rejects it (text: 'invalid byte sequence 0x00', jsonb: "
    "'unsupported Unicode escape sequence'), so the API answers 500 instead of 422"
)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(submission(subject={"national_id": README_NATIONAL_ID, "name": "Kari\x00"}), id="name"),
        pytest.param(submission(details={"notes": "call after 5\x00"}), id="notes"),
        pytest.param(
            submission(verification={"method": "phone_checks", "checks": [], "verified_by": "agent\x00"}),
            id="verified_by",
        ),
    ],
)
async def test_a_nul_character_in_a_submission_is_a_422(submit: Submit, body: dict[str, Any]) -> None:
    response = await submit(body, expect=None)
    assert response.status_code == 422, response.text


async def test_a_nul_character_in_a_cancellation_reason_is_a_422(
    submit: Submit, api: httpx.AsyncClient
) -> None:
    created = (await submit(submission())).json()
    response = await api.post(f"/v1/requests/{created['id']}/cancel", json={"reason": "withdrawn\x00"})
    assert response.status_code == 422, response.text


async def test_a_nul_character_in_the_idempotency_key_query_is_not_a_500(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/requests", params={"idempotency_key": "key\x00"})
    assert response.status_code in (200, 422), response.text


async def test_a_received_at_at_the_start_of_time_is_a_422(submit: Submit) -> None:
    response = await submit(submission(received_at="0001-01-01T00:30:00+01:00"), expect=None)
    assert_field_error(response, "received_at")


@pytest.mark.parametrize("zero", [0x0660, 0xFF10], ids=["arabic-indic", "full-width"])
async def test_a_national_id_in_non_ascii_digits_is_refused_or_normalised(
    submit: Submit, pool: Any, zero: int
) -> None:
    first = (await submit(submission())).json()
    exotic = "".join(chr(zero + int(c)) for c in README_NATIONAL_ID)

    response = await submit(submission(subject={"national_id": exotic}), expect=None)

    if response.status_code == 422:
        assert_field_error(response, "national_id", "invalid_national_id")
    else:
        assert response.json()["duplicate_of"] == first["reference"]
    values = await pool.fetch("select value from request_identifiers where kind = 'national_id'")
    assert all(v["value"].isascii() for v in values)
