"""What the API refuses: field-level 422s that never echo the input, 401/403, 413."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.intake.helpers import README_NATIONAL_ID, Submit, assert_field_error, auth, submission

EMAIL = "kari.nordmann@example.no"
PHONE = "41234567"
BAD_CHECK_DIGITS = README_NATIONAL_ID[:-1] + str((int(README_NATIONAL_ID[-1]) + 1) % 10)


def _in_future() -> str:
    return (datetime.now(UTC) + timedelta(hours=2)).isoformat()


def _past() -> str:
    return (datetime.now(UTC) - timedelta(days=3)).isoformat()


# (body, field the first error names, its type or None for pydantic's own)
INVALID: dict[str, tuple[dict[str, Any], str, str | None]] = {
    "bad-check-digits": (
        submission(subject={"national_id": BAD_CHECK_DIGITS, "email": EMAIL, "phone": PHONE}),
        "national_id",
        "invalid_national_id",
    ),
    "national-id-too-short": (
        submission(subject={"national_id": README_NATIONAL_ID[:10]}),
        "national_id",
        "invalid_national_id",
    ),
    "national-id-no-date": (
        # 32 January: valid check digits would not save it; use 2032-rule digits with a bad day.
        submission(subject={"national_id": "32013299997"}),
        "national_id",
        "invalid_national_id",
    ),
    "name-only": (submission(subject={"name": "Kari Nordmann"}), "subject", None),
    "no-subject-at-all": (submission(subject={}), "subject", None),
    "unknown-type": (submission(type="forget_me_maybe"), "type", "enum"),
    "unknown-channel": (submission(channel="pigeon"), "channel", "enum"),
    "received-at-in-future": (
        submission(received_at=_in_future()),
        "received_at",
        "received_at_in_future",
    ),
    "received-at-on-web-form": (
        submission(channel="web_form", received_at=_past()),
        "received_at",
        "field_forbidden_for_channel",
    ),
    "received-at-on-plan-and-pay": (
        submission(channel="plan_and_pay", received_at=_past()),
        "received_at",
        "field_forbidden_for_channel",
    ),
    "received-at-without-zone": (
        submission(received_at="2026-01-05T10:00:00"),
        "received_at",
        "timezone_aware",
    ),
    "bankid-on-phone": (
        submission(verification={"method": "bankid", "verified_by": "agent-ola"}),
        "method",
        "field_forbidden_for_channel",
    ),
    "bankid-on-web-form": (
        submission(channel="web_form", verification={"method": "bankid", "verified_by": "web"}),
        "method",
        "field_forbidden_for_channel",
    ),
    "rectification-without-corrections": (
        submission(type="rectification"),
        "corrections",
        "missing_corrections",
    ),
    "rectification-with-empty-corrections": (
        submission(type="rectification", details={"corrections": {}}),
        "corrections",
        "missing_corrections",
    ),
    "objection-without-grounds": (
        submission(type="objection"),
        "objection_grounds",
        "missing_objection_grounds",
    ),
    "invalid-email": (
        submission(subject={"national_id": README_NATIONAL_ID, "email": "kari.nordmann@@example"}),
        "email",
        "invalid_email",
    ),
    "invalid-phone": (
        submission(subject={"phone": "12", "email": EMAIL}),
        "phone",
        "invalid_phone",
    ),
    "unknown-field": (submission(colour="blue"), "colour", "extra_forbidden"),
    "unknown-check": (
        submission(verification={"method": "phone_checks", "checks": ["shoe_size"], "verified_by": "a"}),
        "0",
        "enum",
    ),
}


@pytest.mark.parametrize("case", INVALID.values(), ids=INVALID.keys())
async def test_an_invalid_submission_gets_a_field_level_422(
    submit: Submit, pool: Any, case: tuple[dict[str, Any], str, str | None]
) -> None:
    body, field, kind = case

    response = await submit(body, expect=422)

    assert_field_error(response, field, kind)
    assert await pool.fetchval("select count(*) from requests") == 0


async def test_a_422_never_echoes_the_identifiers_it_was_sent(submit: Submit) -> None:
    """Every refusal above, with personal data in every identifier field: none comes back."""
    subject = {"national_id": BAD_CHECK_DIGITS, "email": EMAIL, "phone": PHONE, "name": "Kari Nordmann"}
    bodies = [
        submission(subject=subject),
        submission(subject={**subject, "national_id": README_NATIONAL_ID, "email": "kari@@x"}),
        submission(subject={**subject, "national_id": README_NATIONAL_ID, "phone": "41234"}),
        submission(subject={**subject, "national_id": README_NATIONAL_ID}, type="rectification"),
        submission(subject={**subject, "national_id": README_NATIONAL_ID}, received_at=_in_future()),
        submission(subject={**subject, "national_id": README_NATIONAL_ID + "0" * 10}),  # max_length
        submission(subject={**subject, "national_id": 15076500565}),  # wrong type
        submission(subject={**subject, "email": "x" * 300}),
        submission(subject={**subject, "phone": PHONE * 9}),
        {"type": "access", "channel": "phone", "subject": subject, "received_at": README_NATIONAL_ID},
    ]
    for body in bodies:
        response = await submit(body, expect=422)
        for value in (BAD_CHECK_DIGITS, README_NATIONAL_ID, "kari@@x", EMAIL, PHONE, "41234", "Kari"):
            assert value not in response.text, (value, response.text)


async def test_malformed_json_is_a_422(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/v1/requests",
        content=b'{"type": "access", "subject": {"national_id": "15076500565"',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert README_NATIONAL_ID not in response.text


async def test_without_a_valid_api_key_the_answer_is_401(intake_url: str) -> None:
    async with httpx.AsyncClient(base_url=intake_url) as anonymous:
        for headers in (
            {},
            {"Authorization": "Bearer not-a-key-at-all-0123456789"},
            {"Authorization": "Bearer"},
            {"Authorization": f"Basic {auth('agent')['Authorization'].split()[1]}"},
        ):
            for method, path, body in (
                ("POST", "/v1/requests", submission()),
                ("GET", "/v1/requests?idempotency_key=k", None),
                ("GET", "/v1/requests/00000000-0000-0000-0000-000000000000", None),
            ):
                response = await anonymous.request(method, path, json=body, headers=headers)
                assert response.status_code == 401, (headers, path, response.text)
                assert response.headers["www-authenticate"] == "Bearer"


async def test_the_ops_key_cannot_submit(submit: Submit, pool: Any) -> None:
    response = await submit(submission(), expect=403, headers=auth("ops"))
    assert "ops" in response.json()["detail"]
    assert await pool.fetchval("select count(*) from requests") == 0


async def test_system_and_agent_keys_can_submit(submit: Submit) -> None:
    for role in ("system", "agent"):
        await submit(submission(type="erasure" if role == "system" else "access"), headers=auth(role))


async def test_a_body_over_64_kib_with_content_length_is_413(api: httpx.AsyncClient, pool: Any) -> None:
    body = submission(details={"notes": "x" * 3000})
    body["padding"] = "y" * (65 * 1024)
    response = await api.post("/v1/requests", json=body)
    assert response.status_code == 413, response.text
    assert await pool.fetchval("select count(*) from requests") == 0


async def test_a_body_of_just_64_kib_is_not_refused_for_its_size(api: httpx.AsyncClient) -> None:
    raw = b'{"type": "access", "channel": "phone", "subject": {"national_id": "15076500565"}}'
    raw = raw[:-1] + b" " * (64 * 1024 - len(raw)) + b"}"
    assert len(raw) == 64 * 1024
    response = await api.post("/v1/requests", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 202, response.text


async def test_a_chunked_body_over_64_kib_is_413(api: httpx.AsyncClient, pool: Any) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"type": "access", "channel": "phone", "subject": {"national_id": "15076500565"}, '
        yield b'"details": {"notes": "'
        for _ in range(9):
            yield b"x" * 8192
        yield b'"}}'

    response = await api.post("/v1/requests", content=chunks(), headers={"content-type": "application/json"})
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in response.request.headers
    assert response.status_code == 413, response.text
    assert await pool.fetchval("select count(*) from requests") == 0


async def test_a_422_does_not_echo_a_national_id_sent_as_a_key(submit: Submit) -> None:
    body = submission(subject={"national_id": "15076500565", README_NATIONAL_ID: "Kari"})
    response = await submit(body, expect=422)
    assert README_NATIONAL_ID not in response.text, response.text
