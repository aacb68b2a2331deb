"""Retries with an Idempotency-Key create nothing new; an open request for the same subject is not doubled."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.intake.helpers import Submit, auth, idempotency, person, submission


async def _count(pool: Any, table: str = "requests") -> int:
    return await pool.fetchval(f"select count(*) from {table}")  # type: ignore[no-any-return]


async def test_a_retry_with_the_same_key_returns_the_original_and_creates_nothing(
    submit: Submit, pool: Any
) -> None:
    key = idempotency()
    first = await submit(submission(), headers=key)
    rows = await _count(pool)
    events = await _count(pool, "outbox")

    again = await submit(submission(), headers=key)

    assert again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert (rows, events) == (1, 2)
    assert await _count(pool) == rows
    assert await _count(pool, "outbox") == events
    assert await _count(pool, "request_status_history") == 2


async def test_the_same_key_from_two_key_owners_is_two_requests(submit: Submit, pool: Any) -> None:
    key = idempotency()
    mine = await submit(submission(subject={"national_id": person(1)}), headers=key)
    theirs = await submit(submission(subject={"national_id": person(2)}), headers={**key, **auth("system")})
    assert mine.json()["id"] != theirs.json()["id"]
    assert "Idempotent-Replayed" not in theirs.headers
    assert await _count(pool) == 2


async def test_ten_concurrent_retries_create_exactly_one_request(submit: Submit, pool: Any) -> None:
    key = idempotency()
    responses = await asyncio.gather(*(submit(submission(), headers=key) for _ in range(10)))

    assert {r.json()["id"] for r in responses} == {responses[0].json()["id"]}
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 9
    assert await _count(pool) == 1
    assert await _count(pool, "outbox") == 2


async def test_concurrent_submissions_for_one_subject_without_keys_make_one_request(
    submit: Submit, pool: Any
) -> None:
    responses = await asyncio.gather(*(submit(submission()) for _ in range(6)))

    bodies = [r.json() for r in responses]
    assert len({b["id"] for b in bodies}) == 1
    assert sum(b["duplicate_of"] is None for b in bodies) == 1
    assert await pool.fetchval("select count(*) from requests where duplicate_of is null") == 1


async def test_find_by_idempotency_key_is_scoped_to_the_key_owner(
    submit: Submit, api: httpx.AsyncClient
) -> None:
    key = idempotency()
    created = (await submit(submission(), headers=key)).json()
    query = {"idempotency_key": key["Idempotency-Key"]}

    found = await api.get("/v1/requests", params=query)
    other = await api.get("/v1/requests", params=query, headers=auth("system"))
    unknown = await api.get("/v1/requests", params={"idempotency_key": "never-used"})

    assert found.status_code == 200
    assert [r["id"] for r in found.json()] == [created["id"]]
    assert found.json()[0]["reference"] == created["reference"]
    assert other.status_code == 200 and other.json() == []
    assert unknown.status_code == 200 and unknown.json() == []
    assert (await api.get("/v1/requests")).status_code == 422


async def test_a_malformed_idempotency_key_is_a_422(submit: Submit, pool: Any) -> None:
    for bad in ("has space", "x" * 201, "æøå".encode()):
        response = await submit(submission(), headers={"Idempotency-Key": bad}, expect=None)
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    assert await _count(pool) == 0


async def test_a_second_open_access_request_for_the_same_national_id_answers_with_the_first(
    submit: Submit, pool: Any
) -> None:
    first = (await submit(submission())).json()
    # The same person, another channel (of no more assurance), the number written differently, one
    # identifier more that is no contact detail (a new email would make it stand on its own:
    # tests/abuse/test_request_hijack.py).
    second = await submit(
        submission(
            channel="web_form",
            subject={"national_id": "150765 00565", "case_number": "SAK-4711"},
        )
    )

    assert second.status_code == 202
    body = second.json()
    assert body["reference"] == first["reference"]
    assert body["id"] == first["id"]
    assert body["duplicate_of"] == first["reference"]
    assert "Idempotent-Replayed" not in second.headers
    # The duplicate is recorded (for the audit trail) but announces nothing.
    assert await pool.fetchval("select count(*) from requests where duplicate_of is null") == 1
    assert await _count(pool, "outbox") == 2


async def test_a_request_of_another_type_is_not_a_duplicate(submit: Submit) -> None:
    access = (await submit(submission(type="access"))).json()
    erasure = (await submit(submission(type="erasure"))).json()
    assert erasure["reference"] != access["reference"]
    assert erasure["duplicate_of"] is None


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(
            {"national_id": person(1), "phone": "41234567"},
            {"national_id": person(2), "phone": "+47 412 34 567"},
            id="two-national-ids",
        ),
        pytest.param(
            {"email": "kari@example.no", "phone": "41234567"},
            {"email": "ola@example.no", "phone": "41234567"},
            id="two-emails",
        ),
        pytest.param({"phone": "41234567"}, {"national_id": person(2), "phone": "41234567"}, id="one-more"),
    ],
)
async def test_two_people_who_share_only_a_phone_number_are_not_merged(
    submit: Submit, first: dict[str, str], second: dict[str, str]
) -> None:
    a = (await submit(submission(subject=first))).json()
    b = (await submit(submission(subject=second))).json()
    assert a["reference"] != b["reference"]
    assert b["duplicate_of"] is None


async def test_the_same_email_written_differently_is_the_same_subject(submit: Submit) -> None:
    a = (await submit(submission(subject={"email": "Kari.Nordmann@Example.no"}))).json()
    b = (await submit(submission(subject={"email": "kari.nordmann@EXAMPLE.NO"}))).json()
    assert b["duplicate_of"] == a["reference"]


async def test_after_the_first_is_cancelled_a_new_request_is_new(
    submit: Submit, api: httpx.AsyncClient
) -> None:
    first = (await submit(submission())).json()
    cancelled = await api.post(f"/v1/requests/{first['id']}/cancel", json={"reason": "withdrawn by phone"})
    assert cancelled.status_code == 200, cancelled.text

    again = (await submit(submission())).json()

    assert again["reference"] != first["reference"]
    assert again["duplicate_of"] is None
    assert again["status"] == "verified"


async def _duplicate_submission(submit: Submit) -> tuple[dict[str, Any], dict[str, str], dict[str, Any]]:
    """A first request, then a keyed submission answered as its duplicate: (first, key, answer)."""
    first = (await submit(submission())).json()
    key = idempotency()
    answer = (await submit(submission(), headers=key)).json()
    assert answer["id"] == first["id"] and answer["duplicate_of"] == first["reference"]
    return first, key, answer


async def test_a_retry_of_a_duplicate_submission_replays_the_first_answer(submit: Submit, pool: Any) -> None:
    _, key, answer = await _duplicate_submission(submit)
    rows = await _count(pool)

    replay = await submit(submission(), headers=key)

    assert replay.json() == answer
    assert await _count(pool) == rows


async def test_a_retry_of_a_duplicate_submission_is_marked_as_replayed(submit: Submit) -> None:
    _, key, _ = await _duplicate_submission(submit)
    replay = await submit(submission(), headers=key)
    assert replay.headers.get("Idempotent-Replayed") == "true"


async def test_find_by_key_of_a_duplicate_submission_finds_the_request_it_joined(
    submit: Submit, api: httpx.AsyncClient
) -> None:
    first, key, _ = await _duplicate_submission(submit)
    found = (await api.get("/v1/requests", params={"idempotency_key": key["Idempotency-Key"]})).json()
    assert [r["id"] for r in found] == [first["id"]]
