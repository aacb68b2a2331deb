"""POST /v1/requests and GET /v1/requests/{id}: admission status, reference, due date, history."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from services.intake.domain.deadline import OSLO, due_date, is_working_day
from services.runtime.settings import Settings
from tests.intake.conftest import running_intake
from tests.intake.helpers import (
    ISO_DATE,
    NATIONAL_ID_2032,
    PHONE_CHECKS,
    REFERENCE,
    Submit,
    assert_field_error,
    auth,
    national_id,
    person,
    submission,
)


async def test_a_phone_request_with_the_three_checks_is_verified_with_a_reference_and_a_due_date(
    submit, api
) -> None:
    before = datetime.now(UTC)
    body = (await submit(submission())).json()

    assert body["status"] == "verified"
    assert REFERENCE.match(body["reference"]), body["reference"]
    assert body["reference"][4:8] in {str(before.astimezone(OSLO).year), str(datetime.now(OSLO).year)}
    assert ISO_DATE.match(body["due_date"]), body["due_date"]
    received = datetime.fromisoformat(body["received_at"])
    assert before - timedelta(seconds=5) <= received <= datetime.now(UTC) + timedelta(seconds=5)
    due = date.fromisoformat(body["due_date"])
    assert due == due_date(received)
    assert is_working_day(due)
    assert timedelta(days=27) <= due - received.date() <= timedelta(days=31 + 6)
    assert body["type"] == "access" and body["channel"] == "phone"
    assert body["paused_days"] == 0 and body["extended"] is False and body["duplicate_of"] is None


async def test_get_returns_the_request_with_its_status_history(
    submit: Submit, api: httpx.AsyncClient
) -> None:
    created = (await submit(submission())).json()

    response = await api.get(f"/v1/requests/{created['id']}")

    assert response.status_code == 200, response.text
    detail = response.json()
    assert {k: detail[k] for k in ("id", "reference", "status", "due_date")} == {
        k: created[k] for k in ("id", "reference", "status", "due_date")
    }
    assert [h["status"] for h in detail["history"]] == ["received", "verified"]
    assert all(h["actor"] == "test-agent" for h in detail["history"])
    # Every staff role may read it; a system only the requests it submitted (this one the agent did).
    for role in ("ops", "dpo"):
        assert (await api.get(f"/v1/requests/{created['id']}", headers=auth(role))).status_code == 200
    refused = await api.get(f"/v1/requests/{created['id']}", headers=auth("system"))
    assert refused.status_code == 403 and "submitted" in refused.json()["detail"]


async def test_a_web_form_request_waits_for_verification(submit: Submit, api: httpx.AsyncClient) -> None:
    body = (await submit(submission(channel="web_form", subject={"email": "kari@example.no"}))).json()

    assert body["status"] == "awaiting_verification"
    history = (await api.get(f"/v1/requests/{body['id']}")).json()["history"]
    assert [h["status"] for h in history] == ["received", "awaiting_verification"]


async def test_a_phone_request_with_too_few_checks_waits_for_verification(submit: Submit) -> None:
    weak = {**PHONE_CHECKS, "checks": ["national_id", "security_question"]}
    body = (await submit(submission(verification=weak))).json()
    assert body["status"] == "awaiting_verification"


async def test_a_plan_and_pay_request_is_verified(submit: Submit) -> None:
    body = (await submit(submission(channel="plan_and_pay"), headers=auth("system"))).json()
    assert body["status"] == "verified"


@pytest.mark.parametrize(
    "request_type", ["marketing_opt_out", "newsletter_unsubscribe", "consent_withdrawal"]
)
async def test_stopping_marketing_on_the_web_form_needs_no_proof(submit: Submit, request_type: str) -> None:
    body = (
        await submit(submission(type=request_type, channel="web_form", subject={"email": "ola@example.no"}))
    ).json()
    assert body["status"] == "verified"
    assert body["type"] == request_type


async def test_a_phone_request_received_two_months_ago_gets_its_already_passed_due_date(
    submit: Submit,
) -> None:
    received = (datetime.now(UTC) - timedelta(days=61)).replace(microsecond=0)

    body = (await submit(submission(received_at=received.isoformat()))).json()

    assert datetime.fromisoformat(body["received_at"]) == received
    due = date.fromisoformat(body["due_date"])
    assert due == due_date(received)
    assert due < datetime.now(UTC).date()


@pytest.mark.parametrize(
    "number",
    [
        pytest.param(national_id(55, 7, 65), id="d-number"),
        pytest.param(national_id(15, 47, 65), id="h-number"),
        pytest.param(NATIONAL_ID_2032, id="2032-rule"),
        pytest.param("150765 00565", id="with-space"),
    ],
)
async def test_national_id_kinds_are_accepted(submit: Submit, number: str) -> None:
    body = (await submit(submission(subject={"national_id": number}))).json()
    assert body["status"] == "verified"


async def test_a_synthetic_national_id_is_refused_by_default(submit: Submit) -> None:
    synthetic = national_id(15, 87, 65)
    response = await submit(submission(subject={"national_id": synthetic}), expect=422)
    assert_field_error(response, "national_id", "synthetic_national_id")
    assert synthetic not in response.text


async def test_a_synthetic_national_id_is_accepted_when_configured(
    settings: Settings, unused_tcp_port: int
) -> None:
    demo = settings.model_copy(update={"accept_synthetic_ids": True})
    async with (
        running_intake(demo, unused_tcp_port) as url,
        httpx.AsyncClient(base_url=url, headers=auth("agent")) as client,
    ):
        response = await client.post(
            "/v1/requests", json=submission(subject={"national_id": national_id(15, 87, 65)})
        )
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "verified"


async def test_identifiers_other_than_a_national_id_are_enough(submit: Submit) -> None:
    for subject in [
        {"email": "Kari.Nordmann@Example.NO"},
        {"phone": "+47 412 34 567"},
        {"case_number": "sak-2024/17"},
        {"customer_number": "C-1", "name": "Kari"},
        {"invoice_number": "INV-99"},
        {"national_id": person(1), "email": "x@example.no", "phone": "41234567"},
    ]:
        await submit(submission(subject=subject))
